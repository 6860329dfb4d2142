"""Classical adjoint baseline assembled with DOLFINx/PETSc.

The coefficient problem −∇·(a∇u) = f with a = g(m), m in P1 or DG0, observed through a
PETSc matrix B, J(m) = ½‖Bu − d‖² + Σ R_k(m). Forward and adjoint solves share one
assembled operator and KSP; the derivative dJ (dual vector) and the gradient M⁻¹dJ
(Riesz representative) are kept apart; solves are counted. Usage::

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
    rates, _ = adjoint.taylor_test(rf.J, rf.derivative, m0, dm)   # ≈ 2
    result = adjoint.minimize_tao(rf, m0, adjoint.TaoConfig(max_iter=300))
    result.coefficient, result.J_history, result.n_forward, result.n_adjoint
    result = adjoint.gradient_descent(rf, m0, adjoint.GradientDescentConfig(step=1e-2))

Problems are declared in ``comparisons/<name>.py`` (e.g. the 1D variable-diffusion Poisson
experiment in ``comparisons/poisson.py``, with D fixed to 1 at both ends through
``FixedCoefficient``); observation operators at points come from ``fem.PointEvaluator``.
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
