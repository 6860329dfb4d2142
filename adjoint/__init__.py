"""Classical adjoint baseline assembled with DOLFINx/PETSc.

Every reduced functional J(m) = misfit(u(m)) + R(m) implements one interface
(:class:`AbstractReducedFunctional`): ``J``, ``derivative`` (the dual vector dJ), ``gradient``
(its Riesz representative), ``riesz``, and counters of forward and adjoint solves. Two
implementations, both derived from the problem's one weak residual with ``ufl.derivative``:

* :class:`ReducedFunctional`, stationary: F(u, a(m); v) = 0 with a P1 or DG0 coefficient
  a = g(m) (identity, sigmoid or exp map; H1/TV regularisers); one linear solve when F is affine
  in u, Newton (PETSc SNES) otherwise; the adjoint solves with the transposed tangent.
* :class:`TransientReducedFunctional`, time dependent: ∫u_t v + G(u, θ, t; v) = 0 stepped with
  the project's BDF2 (first step backward Euler) and Newton per step; named scalars θ or the
  initial condition u⁰ as the controls; the discrete adjoint runs backward through the same
  steps (states kept in memory).
* :class:`ObservedLossFunctional`: any loss L(y, q) of a transient state's observations y(θ)
  with parameters q of its own (e.g. segmentation thresholds); dL/dθ by one backward sweep with
  ∂L/∂y as its source (``TransientReducedFunctional.observation_vjp``).

Usage::

    import adjoint, dolfinx
    from mpi4py import MPI

    msh = dolfinx.mesh.create_unit_square(MPI.COMM_WORLD, 50, 50)
    V = dolfinx.fem.functionspace(msh, ("Lagrange", 1))
    B = adjoint.nodal_observation(V)                   # or fem.PointEvaluator(V, pts).matrix()
    rf = adjoint.ReducedFunctional(
        msh, observation=B, data=d_local, source=1.0,  # u = 0 on the whole boundary
        coefficient_space="P1", coefficient_map=adjoint.SigmoidMap(lo=3.0, hi=12.0),
        regularization=[adjoint.TotalVariation(weight=1e-8, eps=1e-2)])
    m0 = rf.parameter_from_coefficient(a0_local)       # constant, callable or owned values
    J, dJ, g = rf.J(m0), rf.derivative(m0), rf.gradient(m0)
    check = adjoint.taylor_check(rf.J, rf.derivative, m0, dm)   # rates ≈ 2, round-off flagged
    assert check.check() is None
    result = adjoint.minimize_tao(rf, m0, adjoint.TaoConfig(max_iter=300))   # BLMVM
    result = adjoint.minimize_tao(rf, m0, adjoint.TaoConfig(tao_type="bnls")) # Newton, H·v by
    result.coefficient, result.J_history, result.n_forward, result.n_adjoint  # adjoint differences
    result = adjoint.gradient_descent(rf, m0, adjoint.GradientDescentConfig(step=1e-2))

Problems are declared in ``comparisons/<name>.py``; ``inverse.adjoint_bridge`` builds these
functionals from a problem declaration (``reduced_functional``, ``transient_functional``);
observation operators at points come from ``fem.PointEvaluator``.
"""
from fem import _loader as _loader  # noqa: F401

# isort: split

from adjoint.gradient import CoefficientError as CoefficientError
from adjoint.gradient import ReducedFunctional as ReducedFunctional
from adjoint.maps import AbstractCoefficientMap as AbstractCoefficientMap
from adjoint.maps import ExpMap as ExpMap
from adjoint.maps import IdentityMap as IdentityMap
from adjoint.maps import SigmoidMap as SigmoidMap
from adjoint.observation import nodal_observation as nodal_observation
from adjoint.observed import ObservationLoss as ObservationLoss
from adjoint.observed import ObservedLossFunctional as ObservedLossFunctional
from adjoint.optimize import GradientDescentConfig as GradientDescentConfig
from adjoint.optimize import OptimizationResult as OptimizationResult
from adjoint.optimize import TaoConfig as TaoConfig
from adjoint.optimize import gradient_descent as gradient_descent
from adjoint.optimize import minimize_tao as minimize_tao
from adjoint.problem import DirichletData as DirichletData
from adjoint.problem import FixedCoefficient as FixedCoefficient
from adjoint.problem import SolverConfig as SolverConfig
from adjoint.reduced import AbstractReducedFunctional as AbstractReducedFunctional
from adjoint.regularization import AbstractRegularization as AbstractRegularization
from adjoint.regularization import H1Seminorm as H1Seminorm
from adjoint.regularization import TotalVariation as TotalVariation
from adjoint.taylor import TaylorResult as TaylorResult
from adjoint.taylor import taylor_check as taylor_check
from adjoint.taylor import taylor_test as taylor_test
from adjoint.transient import TransientReducedFunctional as TransientReducedFunctional
