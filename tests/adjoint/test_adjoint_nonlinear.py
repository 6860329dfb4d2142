"""The reduced functional with a state equation nonlinear in u: Newton (SNES) forward, tangent adjoint."""

import numpy as np
import pytest

pytest.importorskip("fem")  # loads MPI before dolfinx
pytest.importorskip("dolfinx")

import adjoint_cases  # noqa: E402
import dolfinx  # noqa: E402
import dolfinx.fem.petsc  # noqa: E402
import ufl  # noqa: E402
from mpi4py import MPI  # noqa: E402
from petsc4py import PETSc  # noqa: E402

import adjoint  # noqa: E402

# a ≈ 1 and f = 10 give u up to ≈ 0.6: u² and u³ are not small next to 1 (with the a ≈ 6 of
# adjoint_cases, u ≈ 0.1 and the problem would be nearly linear).
ADVECTION = (5.0, 2.5)
REGULARIZATION = (adjoint.H1Seminorm(weight=1e-3),)


def a_true(x: np.ndarray) -> np.ndarray:
    return 1.0 + 0.5 * x[0] * x[1]


def a_probe(x: np.ndarray) -> np.ndarray:
    return 1.0 + 0.3 * np.sin(3.0 * x[0]) * np.cos(2.0 * x[1])


def nonlinear_diffusion(u, a, v):  # −∇·(a(1 + u²)∇u) = 10: the tangent is not symmetric
    return (a * (1 + u**2) * ufl.inner(ufl.grad(u), ufl.grad(v)) - 10.0 * v) * ufl.dx


def reaction_advection(u, a, v):  # −∇·(a∇u) + u³ + b·∇u = 10
    b = ufl.as_vector(ADVECTION)
    return (ufl.inner(a * ufl.grad(u), ufl.grad(v)) + u**3 * v + ufl.dot(b, ufl.grad(u)) * v
            - 10.0 * v) * ufl.dx


def make_problem(space, residual, *, n=12, regularization=REGULARIZATION, solver=None):
    """Nodal observation on an n×n unit square, noise-free data from ``a_true``."""
    msh = dolfinx.mesh.create_unit_square(MPI.COMM_WORLD, n, n)
    V = dolfinx.fem.functionspace(msh, ("Lagrange", 1))
    B = adjoint.nodal_observation(V)
    common = dict(observation=B, coefficient_space=space, residual=residual, source=None, solver=solver)
    clean = adjoint.ReducedFunctional(msh, data=np.zeros(B.getLocalSize()[0]), **common)
    data = clean.observe(clean.parameter_from_coefficient(a_true))
    rf = adjoint.ReducedFunctional(msh, data=data, regularization=regularization, **common)
    return rf, rf.parameter_from_coefficient(a_probe)


CASES = [("P1", nonlinear_diffusion), ("DG0", reaction_advection)]


@pytest.mark.parametrize(("space", "residual"), CASES, ids=["P1-diffusion", "DG0-reaction-advection"])
def test_taylor_second_order(space, residual):
    rf, m = make_problem(space, residual)
    assert rf.nonlinear
    dm = adjoint_cases.direction(rf)
    # eps0 = 1e-2 keeps a = m + εδm > 0.6 and the smallest remainder ≈ 1e-5 J (measured: 1.0e-5 J
    # for P1, 1.6e-5 J for DG0), far above the round-off of J (≈ 1e-16 J) and the Newton
    # tolerances (rtol 1e-12, from a warm start).
    rates, residuals = adjoint.taylor_test(rf.J, rf.derivative, m, dm, eps0=1e-2, n=4)
    J = rf.J(m)
    assert residuals.min() > 1e-12 * J, residuals
    # measured on 1 rank: 1.99984 1.99991 1.99995 (P1), 2.0016 2.0008 2.0004 (DG0)
    assert rates.min() >= 1.9, rates
    assert not rf._symmetric  # the tangent at the solution: the adjoint solve is a transposed one
    # control: with the derivative replaced by zero the remainder is first order
    rates_0, _ = adjoint.taylor_test(rf.J, lambda m: np.zeros(rf.n_local), m, dm, eps0=1e-4)
    assert np.all(np.abs(rates_0 - 1.0) < 0.1), rates_0


@pytest.mark.parametrize(("space", "residual"), CASES, ids=["P1-diffusion", "DG0-reaction-advection"])
def test_state_satisfies_residual(space, residual):
    rf, m = make_problem(space, residual)
    u = rf.state(m)
    a = rf.coefficient_function(m)
    V = rf.V
    F = dolfinx.fem.form(residual(u, a, ufl.TestFunction(V)))
    r = dolfinx.fem.petsc.assemble_vector(F)
    r.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
    interior = np.setdiff1d(np.arange(V.dofmap.index_map.size_local), rf._bc_dofs_owned)
    local = float(np.sum(r.array[interior] ** 2))
    norm = np.sqrt(rf.comm.allreduce(local, op=MPI.SUM))
    assert norm < 1e-9, norm
    assert np.abs(u.x.array).max() > 0.3  # u is O(1): a nonlinear problem, not a near-linear one
    boundary = rf._bc_dofs_owned
    assert np.all(u.x.array[boundary] == 0.0)


def test_newton_counters_and_linear_detection():
    rf, m = make_problem("P1", nonlinear_diffusion)
    rf.derivative(m)
    rf.J(m + 1e-3)
    assert rf.n_forward == 2 and rf.n_adjoint == 1
    assert rf.n_newton > rf.n_forward  # more than one Newton iteration per solve
    n_newton = rf.n_newton
    rf.J(m + 1e-3)  # cached: no solve
    assert (rf.n_forward, rf.n_newton) == (2, n_newton)

    def linear(u, a, v):  # −∇·(a∇u) + u = 10: affine in u
        return (ufl.inner(a * ufl.grad(u), ufl.grad(v)) + u * v - 10.0 * v) * ufl.dx

    rf_lin, m_lin = make_problem("P1", linear)
    assert rf_lin.nonlinear is False
    rf_lin.J(m_lin)
    assert (rf_lin.n_forward, rf_lin.n_newton) == (1, 0)
    rf_default, _ = adjoint_cases.make_problem("P1")
    assert rf_default.nonlinear is False


def test_newton_failure_raises():
    def strongly_nonlinear(u, a, v):  # u ≈ 5: Newton from 0 needs many iterations
        return (a * (1 + u**2) * ufl.inner(ufl.grad(u), ufl.grad(v)) - 500.0 * v) * ufl.dx

    msh = dolfinx.mesh.create_unit_square(MPI.COMM_WORLD, 8, 8)
    V = dolfinx.fem.functionspace(msh, ("Lagrange", 1))
    B = adjoint.nodal_observation(V)
    config = adjoint.SolverConfig(newton_options={**adjoint.SolverConfig().newton_options, "snes_max_it": 1})
    rf = adjoint.ReducedFunctional(msh, observation=B, data=np.zeros(B.getLocalSize()[0]),
                                   residual=strongly_nonlinear, source=None, solver=config)
    m = rf.parameter_from_coefficient(1.0)
    with pytest.raises(RuntimeError, match="Newton|SNES") as info:
        rf.J(m)
    assert "1 iterations" in str(info.value) and "DIVERGED_MAX_IT" in str(info.value)
    assert rf.n_forward == 0 and np.all(rf.u.x.array == 0.0)  # the next solve starts from 0
    with pytest.raises(RuntimeError, match="Newton"):  # no stale cache: it solves (and fails) again
        rf.J(m)


def test_newton_options_pass_through_and_do_not_leak():
    rf, m = make_problem("P1", nonlinear_diffusion, n=6)
    snes = rf._newton.solver
    ksp = snes.getKSP()
    assert snes.getOptionsPrefix() == "adjoint_state_newton_"
    assert (snes.getType(), snes.getLineSearch().getType()) == ("newtonls", "basic")
    assert snes.getTolerances() == (1e-12, 1e-13, 0.0, 50)
    # the linear solver of the Newton steps comes from state_options: MUMPS LU by default
    assert (ksp.getType(), ksp.getPC().getType(), ksp.getPC().getFactorSolverType()) == ("preonly", "lu",
                                                                                         "mumps")
    assert not [k for k in PETSc.Options().getAll() if k.startswith("adjoint_state_")]
    # an option already in the database wins over the config
    opts = PETSc.Options()
    opts["nl_cmdline_newton_snes_max_it"] = 7
    try:
        rf_cmd, _ = make_problem("P1", nonlinear_diffusion, n=6,
                                 solver=adjoint.SolverConfig(prefix="nl_cmdline_"))
        assert rf_cmd._newton.solver.getTolerances()[3] == 7
    finally:
        opts.delValue("nl_cmdline_newton_snes_max_it")
    assert not [k for k in PETSc.Options().getAll() if k.startswith("nl_cmdline_")]
    rf_cmd.J(m)
    assert rf.J(m) == pytest.approx(rf_cmd.J(m), rel=1e-12)
