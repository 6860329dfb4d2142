"""Weak-form solvers: manufactured solutions (observed orders), wrapper equivalence and user errors."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

fem = pytest.importorskip("fem")
pytest.importorskip("dolfinx")
import dolfinx.fem  # noqa: E402
import ufl  # noqa: E402
from mpi4py import MPI  # noqa: E402

COMM = MPI.COMM_WORLD
B = (5.0, 2.5)  # advection velocity: makes the linear problem non-symmetric


def l2_error(uh: dolfinx.fem.Function, exact: Callable) -> float:
    """||uh - exact||_L2 with ``exact`` a function of the UFL spatial coordinate."""
    x = ufl.SpatialCoordinate(uh.function_space.mesh)
    e = dolfinx.fem.assemble_scalar(dolfinx.fem.form((uh - exact(x)) ** 2 * ufl.dx))
    return float(np.sqrt(COMM.allreduce(e)))


def observed_order(refinements, errors) -> float:
    return float(-np.polyfit(np.log(refinements), np.log(errors), 1)[0])


def exact_2d(x):
    """Not zero on the boundary, so the Dirichlet data matter; works on numpy and UFL coordinates."""
    exp, sin = (np.exp, np.sin) if isinstance(x, np.ndarray) else (ufl.exp, ufl.sin)
    return exp(x[0]) * sin(np.pi * x[1]) + x[0] * x[1]


# ---------------------------------------------------------------- stationary


def advection_diffusion(n: int, degree: int) -> float:
    md = fem.rectangle(COMM, (n, n))
    x = ufl.SpatialCoordinate(md.mesh)
    b = ufl.as_vector(B)
    u_ex = exact_2d(x)
    f = -ufl.div(ufl.grad(u_ex)) + ufl.dot(b, ufl.grad(u_ex))

    def residual(u, v):
        return (ufl.inner(ufl.grad(u), ufl.grad(v)) + ufl.dot(b, ufl.grad(u)) * v - f * v) * ufl.dx

    sol = fem.solve_stationary(md, residual, degree=degree, g=exact_2d,
                               petsc_options={"ksp_type": "gmres", "pc_type": "bjacobi", "ksp_rtol": 1e-12})
    assert sol.converged_reason > 0 and sol.order == degree + 1
    return l2_error(sol.u, exact_2d)


def nonlinear_diffusion(n: int, degree: int) -> tuple[float, int]:
    md = fem.rectangle(COMM, (n, n))
    x = ufl.SpatialCoordinate(md.mesh)
    u_ex = exact_2d(x)
    f = -ufl.div((1 + u_ex**2) * ufl.grad(u_ex))

    def residual(u, v):
        return (ufl.inner((1 + u**2) * ufl.grad(u), ufl.grad(v)) - f * v) * ufl.dx

    sol = fem.solve_stationary(md, residual, degree=degree, g=exact_2d, linear=False)
    assert sol.converged_reason > 0
    return l2_error(sol.u, exact_2d), sol.iterations


@pytest.mark.parametrize("degree, refinements", [(1, (8, 16, 32)), (2, (4, 8, 16))])
def test_nonsymmetric_linear_residual_converges_at_degree_plus_one(degree, refinements):
    errors = [advection_diffusion(n, degree) for n in refinements]
    rate = observed_order(refinements, errors)
    assert abs(rate - (degree + 1)) < 0.2, f"errors {errors}, observed order {rate:.3f}"


@pytest.mark.parametrize("degree, refinements", [(1, (8, 16, 32)), (2, (4, 8, 16))])
def test_nonlinear_residual_with_newton_converges_at_degree_plus_one(degree, refinements):
    results = [nonlinear_diffusion(n, degree) for n in refinements]
    errors = [e for e, _ in results]
    rate = observed_order(refinements, errors)
    assert abs(rate - (degree + 1)) < 0.2, f"errors {errors}, observed order {rate:.3f}"
    assert all(1 < it <= 15 for _, it in results)  # really nonlinear, and Newton converges fast


def test_stationary_solution_samples_at_points():
    md = fem.rectangle(COMM, (3, 2))
    x = ufl.SpatialCoordinate(md.mesh)
    u_ex = x[0] ** 2 + x[0] * x[1]  # in P2: reproduced exactly
    sol = fem.solve_stationary(
        md, lambda u, v: (ufl.inner(ufl.grad(u), ufl.grad(v)) + ufl.div(ufl.grad(u_ex)) * v) * ufl.dx,
        degree=2, g=lambda y: y[0] ** 2 + y[0] * y[1])
    pts = np.array([[0.3, 0.2], [0.7, 0.9]])
    np.testing.assert_allclose(sol.sample(pts), pts[:, 0] ** 2 + pts[:, 0] * pts[:, 1], atol=1e-10)


@pytest.mark.parametrize("linear", [True, False])
def test_a_stationary_solver_resolves_when_its_coefficients_change(linear):
    # compiled once, solved at three coefficient values: each solve equals a fresh solve_stationary,
    # and (Newton) does not depend on the solve before it
    md = fem.rectangle(COMM, (8, 8))
    Q = dolfinx.fem.functionspace(md.mesh, ("DG", 0))
    k = dolfinx.fem.Function(Q)
    c = dolfinx.fem.Constant(md.mesh, 0.0)

    def residual(u, v):
        kappa = k if linear else k + c * u**2
        return (kappa * ufl.inner(ufl.grad(u), ufl.grad(v)) - v) * ufl.dx

    solver = fem.StationarySolver(md, residual, linear=linear)
    points = np.array([[0.5, 0.5], [0.25, 0.7]]) if COMM.rank == 0 else np.zeros((0, 2))
    for value, nonlin in ((1.0, 0.0), (3.0, 2.0), (1.0, 0.0)):
        k.x.array[:] = value
        c.value = nonlin
        got = solver.solve().sample(points)
        fresh = fem.solve_stationary(md, residual, linear=linear).sample(points)
        np.testing.assert_allclose(got, fresh, rtol=1e-9, atol=1e-12)
    # the last solve is the first's: k = 1, c = 0 (−Δu = 1 at its centre value ≈ 0.0737)
    assert COMM.rank != 0 or got[0] == pytest.approx(0.0737, abs=2e-3)


def test_natural_boundary_terms_with_no_dirichlet_facets():
    """tags=() leaves the boundary terms of F in charge: u - lap u = f with u_n = h from F's ds term."""
    md = fem.interval(COMM, 16)
    x = ufl.SpatialCoordinate(md.mesh)
    n = ufl.FacetNormal(md.mesh)
    u_ex = ufl.cos(x[0]) + x[0]

    def residual(u, v):
        f = u_ex - ufl.div(ufl.grad(u_ex))
        return ((ufl.inner(ufl.grad(u), ufl.grad(v)) + u * v - f * v) * ufl.dx
                - ufl.dot(ufl.grad(u_ex), n) * v * ufl.ds)

    sol = fem.solve_stationary(md, residual, degree=2, tags=())
    assert l2_error(sol.u, lambda y: ufl.cos(y[0]) + y[0]) < 1e-4


# ---------------------------------------------------------------- transient


def transient_1d(n_steps: int) -> float:
    """u_t - (D u_x)_x + u^2 = f on (0, 1), t in (0, 1], with u = exact on the boundary."""
    D, T = 0.5, 1.0

    def exact(x, t):
        return np.sin(np.pi * x[0]) * np.cos(2 * t) + x[0] * (1 + t**2)

    def residual(u, v, t):
        x = ufl.SpatialCoordinate(u.function_space.mesh)
        tv = ufl.variable(t)
        u_ex = ufl.sin(np.pi * x[0]) * ufl.cos(2 * tv) + x[0] * (1 + tv**2)
        f = ufl.diff(u_ex, tv) - D * ufl.div(ufl.grad(u_ex)) + u_ex**2
        return (D * ufl.inner(ufl.grad(u), ufl.grad(v)) + u**2 * v - f * v) * ufl.dx

    ts = fem.solve_transient(fem.interval(COMM, 48), residual, u0=lambda x: exact(x, 0.0), t_end=T,
                             n_steps=n_steps, degree=2, g=exact)
    assert ts.time_order == 2 and ts.space_order == 3 and ts.newton_iterations > n_steps
    np.testing.assert_allclose(ts.times[-1], T)
    return l2_error(ts.final(), lambda y: ufl.sin(np.pi * y[0]) * np.cos(2 * T) + y[0] * (1 + T**2))


def test_transient_residual_with_time_dependent_solution_is_second_order_in_time():
    steps = (8, 16, 32)
    errors = [transient_1d(k) for k in steps]
    rate = observed_order(steps, errors)
    assert abs(rate - 2) < 0.2, f"errors {errors}, observed order {rate:.3f}"


def test_fisher_kpp_is_solve_transient_with_its_residual():
    D, rho = (lambda x: 0.02 + 0.01 * x[0]), 2.0
    kwargs = dict(u0=lambda x: 0.5 * np.sin(np.pi * x[0]) ** 2, t_end=0.5, n_steps=20, degree=2, g=0.1)
    md = fem.interval(COMM, 30)
    ts_kpp = fem.solve_fisher_kpp(md, D=D, rho=rho, **kwargs)

    def residual(u, v, t):
        D_h = dolfinx.fem.Function(u.function_space)
        D_h.interpolate(D)
        return (ufl.inner(D_h * ufl.grad(u), ufl.grad(v)) - rho * u * (1 - u) * v) * ufl.dx

    ts = fem.solve_transient(md, residual, **kwargs)
    np.testing.assert_array_equal(ts.times, ts_kpp.times)
    assert np.abs(ts.values - ts_kpp.values).max() < 1e-14
    assert ts.newton_iterations == ts_kpp.newton_iterations


# ---------------------------------------------------------------- user errors


def _md():
    return fem.interval(COMM, 4)


@pytest.mark.parametrize("residual, match", [
    (lambda u, v: ufl.inner(ufl.grad(u), ufl.grad(v)), r"must return a ufl.Form, got .*forget '\* ufl.dx'"),
    (lambda u, v: 0.0, "must return a ufl.Form, got float"),
    (lambda u, v: ufl.TrialFunction(u.function_space) * v * ufl.dx, "no TrialFunction"),
    (lambda u, v: 1.0 * v * ufl.dx, "does not depend on the unknown u"),
    (lambda u, v: (u**2 * v + ufl.inner(ufl.grad(u), ufl.grad(v))) * ufl.dx, "not affine in u"),
    (lambda u, v: (ufl.exp(u) - 1.0) * v * ufl.dx, "not affine in u"),
])
def test_bad_stationary_residuals_are_rejected(residual, match):
    with pytest.raises(ValueError, match=match):
        fem.solve_stationary(_md(), residual)


def test_bad_transient_residual_is_rejected():
    with pytest.raises(ValueError, match=r"residual\(u, v, t\) must return a ufl.Form"):
        fem.solve_transient(_md(), lambda u, v, t: u * v, u0=0.0, t_end=1.0, n_steps=2)


def test_solver_failures_name_the_petsc_reason():
    md = fem.interval(COMM, 16)

    def laplace(u, v):
        return (ufl.inner(ufl.grad(u), ufl.grad(v)) - v) * ufl.dx

    with pytest.raises(RuntimeError, match=r"KSP reason -3 \(DIVERGED_MAX_IT\).*CG needs a symmetric"):
        fem.solve_stationary(md, laplace, petsc_options={"ksp_max_it": 1, "pc_type": "jacobi"})

    def nonlinear(u, v):
        return (ufl.inner((1 + u**2) * ufl.grad(u), ufl.grad(v)) - 10 * v) * ufl.dx

    with pytest.raises(RuntimeError, match=r"Newton did not converge \(SNES reason -5 \(DIVERGED_MAX_IT\)"):
        fem.solve_stationary(md, nonlinear, linear=False, petsc_options={"snes_max_it": 1})

    def transient(u, v, t):
        return (ufl.inner((1 + u**2) * ufl.grad(u), ufl.grad(v)) - 10 * v) * ufl.dx

    with pytest.raises(RuntimeError, match=r"transient step 1 \(t=0.5\): .*SNES reason -5 \(DIVERGED_MAX"):
        fem.solve_transient(md, transient, u0=0.0, t_end=1.0, n_steps=2, petsc_options={"snes_max_it": 1})
