"""Forward solvers: manufactured solutions (declared order, polynomial exactness) and input checks."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest

fem = pytest.importorskip("fem")
pytest.importorskip("dolfinx")
import dolfinx.fem  # noqa: E402
import ufl  # noqa: E402
from mpi4py import MPI  # noqa: E402

COMM = MPI.COMM_WORLD


def l2_error(uh: dolfinx.fem.Function, exact: Callable) -> float:
    """||uh - exact||_L2 with ``exact`` a function of the UFL spatial coordinate."""
    x = ufl.SpatialCoordinate(uh.function_space.mesh)
    e = dolfinx.fem.assemble_scalar(dolfinx.fem.form((uh - exact(x)) ** 2 * ufl.dx))
    return float(np.sqrt(COMM.allreduce(e)))


# ---------------------------------------------------------------- manufactured problems


def elliptic_1d(degree: int) -> Callable[[int], tuple[float, int]]:
    def run(n: int) -> tuple[float, int]:
        md = fem.interval(COMM, n)
        x = ufl.SpatialCoordinate(md.mesh)
        u_ex = ufl.sin(np.pi * x[0]) + x[0]
        a_ex = 1 + x[0] ** 2
        f = -ufl.div(a_ex * ufl.grad(u_ex)) + 2.0 * u_ex
        sol = fem.solve_elliptic(md, a=lambda y: 1 + y[0] ** 2, c=2.0, f=f,
                                 g=lambda y: np.sin(np.pi * y[0]) + y[0], degree=degree)
        return l2_error(sol.u, lambda y: ufl.sin(np.pi * y[0]) + y[0]), sol.order
    return run


def elliptic_2d(degree: int, cell: str) -> Callable[[int], tuple[float, int]]:
    def run(n: int) -> tuple[float, int]:
        md = fem.rectangle(COMM, (n, n), cell=cell)
        x = ufl.SpatialCoordinate(md.mesh)
        u_ex = ufl.sin(np.pi * x[0]) * ufl.sin(np.pi * x[1])
        a = 3 + x[0] * x[1]  # a UFL coefficient
        sol = fem.solve_elliptic(md, a=a, f=-ufl.div(a * ufl.grad(u_ex)), degree=degree)
        return l2_error(sol.u, lambda y: ufl.sin(np.pi * y[0]) * ufl.sin(np.pi * y[1])), sol.order
    return run


def heat_1d(degree: int, dt_exponent: float = 1.0) -> Callable[[int], tuple[float, int]]:
    """dt ~ h^dt_exponent, so the declared order is min(time_order * dt_exponent, space_order)."""
    D, T = 0.5, 0.5

    def run(n: int) -> tuple[float, int]:
        # u = exp(-t) cos(x): u_t = -u, D u_xx = -D u, so f = (D - 1) u; time-dependent Dirichlet data
        def exact(x, t):
            return np.exp(-t) * np.cos(x[0])
        n_steps = round(n**dt_exponent)
        ts = fem.solve_heat(fem.interval(COMM, n), D=D, u0=lambda x: exact(x, 0.0), t_end=T, n_steps=n_steps,
                            f=lambda x, t: (D - 1) * exact(x, t), g=exact, degree=degree)
        error = l2_error(ts.final(), lambda y: np.exp(-T) * ufl.cos(y[0]))
        return error, min(ts.time_order * dt_exponent, ts.space_order)
    return run


def fisher_1d(degree: int, dim: int = 1) -> Callable[[int], tuple[float, int]]:
    D, rho, T = 0.1, 2.0, 0.5

    def run(n: int) -> tuple[float, int]:
        # u = exp(-t) s(x) with s = prod sin(pi x_i) / 2: f = u_t - D lap u - rho u (1 - u)
        def exact(x, t):
            return 0.5 * np.exp(-t) * np.prod([np.sin(np.pi * x[i]) for i in range(dim)], axis=0)

        def source(x, t):
            u = exact(x, t)
            return -u + D * dim * np.pi**2 * u - rho * u * (1 - u)
        md = fem.interval(COMM, n) if dim == 1 else fem.rectangle(COMM, (n, n))
        ts = fem.solve_fisher_kpp(md, D=D, rho=rho, u0=lambda x: exact(x, 0.0), t_end=T, n_steps=n,
                                  f=source, degree=degree)

        def exact_ufl(y):
            return 0.5 * np.exp(-T) * ufl.sin(np.pi * y[0]) * (ufl.sin(np.pi * y[1]) if dim == 2 else 1)
        return l2_error(ts.final(), exact_ufl), min(ts.time_order, ts.space_order)
    return run


@dataclass(frozen=True)
class Case:
    run: Callable[[int], tuple[float, int]]
    refinements: tuple[int, int, int]


CASES = {
    "elliptic-1d-P1": Case(elliptic_1d(1), (8, 16, 32)),
    "elliptic-1d-P2": Case(elliptic_1d(2), (8, 16, 32)),
    "elliptic-2d-P1-triangle": Case(elliptic_2d(1, "triangle"), (8, 16, 32)),
    "elliptic-2d-P2-quadrilateral": Case(elliptic_2d(2, "quadrilateral"), (4, 8, 16)),
    "heat-1d-P1": Case(heat_1d(1), (8, 16, 32)),
    "heat-1d-P2-dt~h^1.5": Case(heat_1d(2, dt_exponent=1.5), (8, 16, 32)),  # order min(2 * 1.5, 3) = 3
    "fisher-kpp-1d-P1": Case(fisher_1d(1), (8, 16, 32)),
    "fisher-kpp-2d-P1": Case(fisher_1d(1, dim=2), (4, 8, 16)),
}


@pytest.mark.parametrize("name", CASES)
def test_declared_convergence_order(name):
    """Refine h (and dt with it) three times; the fitted L2 rate must be the declared order +- 0.2."""
    case = CASES[name]
    results = [case.run(n) for n in case.refinements]
    errors = np.array([e for e, _ in results])
    order = results[0][1]
    rate = -np.polyfit(np.log(case.refinements), np.log(errors), 1)[0]
    assert abs(rate - order) < 0.2, f"{name}: errors {errors}, observed order {rate:.3f}, declared {order}"


def test_p2_reproduces_a_quadratic():
    md = fem.rectangle(COMM, (3, 2), cell="triangle")
    x = ufl.SpatialCoordinate(md.mesh)
    u_ex = x[0] ** 2 + x[0] * x[1] - 0.5 * x[1] ** 2
    a = 1 + x[0]
    sol = fem.solve_elliptic(md, a=a, c=1.0, f=-ufl.div(a * ufl.grad(u_ex)) + u_ex, degree=2,
                             g=lambda y: y[0] ** 2 + y[0] * y[1] - 0.5 * y[1] ** 2)
    assert l2_error(sol.u, lambda y: y[0] ** 2 + y[0] * y[1] - 0.5 * y[1] ** 2) < 1e-10


def test_heat_p2_bdf2_is_exact_for_linear_in_time_quadratic_in_space():
    # u = (1 + t) x^2: u_t = x^2, D u_xx = 2 D (1 + t)
    D = 0.3
    ts = fem.solve_heat(fem.interval(COMM, 3), D=D, u0=lambda x: x[0] ** 2, t_end=1.0, n_steps=4, degree=2,
                        f=lambda x, t: x[0] ** 2 - 2 * D * (1 + t), g=lambda x, t: (1 + t) * x[0] ** 2)
    assert l2_error(ts.final(), lambda y: 2 * y[0] ** 2) < 1e-10


def test_dirichlet_only_on_a_tag_and_neumann_elsewhere(tmp_path):
    """On the plate with a hole: u = 1 on the hole, u = 0 outside; the maximum principle holds."""
    from fem_mpi_checks import HOLE, OUTER, write_plate_msh

    md = fem.load_mesh(write_plate_msh(tmp_path / "plate.msh", COMM))
    sol = fem.solve_elliptic(md, g=lambda x: np.where(np.hypot(x[0] - 0.5, x[1] - 0.5) < 0.3, 1.0, 0.0),
                             tags=(OUTER, HOLE))
    assert sol.u.x.array.min() > -1e-10 and sol.u.x.array.max() < 1 + 1e-10
    assert sol.converged_reason > 0 and sol.iterations > 0


@pytest.mark.parametrize("a, match", [
    (-1.0, "'a' must be positive, but its minimum is -1"),
    (0.0, "'a' must be positive"),
    (float("nan"), "'a' has NaN or inf"),
    (lambda x: np.where(x[0] > 0.5, np.inf, 1.0), "'a' has NaN or inf"),
    (lambda x: x[0] - 0.5, "'a' must be positive"),
])
def test_bad_coefficients_are_rejected(a, match):
    with pytest.raises(ValueError, match=match):
        fem.solve_elliptic(fem.interval(COMM, 4), a=a, f=1.0)


def test_bad_time_dependent_inputs():
    md = fem.interval(COMM, 4)
    with pytest.raises(ValueError, match="'D' must be positive"):
        fem.solve_heat(md, D=-0.1, u0=0.0, t_end=1.0, n_steps=2)
    with pytest.raises(ValueError, match="t_end > t0"):
        fem.solve_fisher_kpp(md, D=0.1, rho=1.0, u0=0.0, t_end=0.0, n_steps=2)
    with pytest.raises(ValueError, match="rho must be finite"):
        fem.solve_fisher_kpp(md, D=0.1, rho=np.nan, u0=0.0, t_end=1.0, n_steps=2)
    with pytest.raises(fem.MeshError, match="not found"):
        fem.solve_heat(md, D=0.1, u0=0.0, t_end=1.0, n_steps=2, tags=5)


def test_time_series_sampling_is_exact_at_steps_and_linear_between():
    ts = fem.solve_heat(fem.interval(COMM, 8), D=0.1, u0=lambda x: np.sin(np.pi * x[0]), t_end=0.4, n_steps=4)
    np.testing.assert_allclose(ts.times, [0.0, 0.1, 0.2, 0.3, 0.4], atol=1e-15)
    x = np.array([[0.3], [0.5]])
    ev = fem.PointEvaluator(ts.V, x)
    at_steps = np.array([ev.evaluate(v) for v in ts.values])
    U = ts.sample(x, ts.times)
    np.testing.assert_array_equal(U, at_steps)
    mid = ts.sample(x, [0.05, 0.35])
    expected = [(at_steps[0] + at_steps[1]) / 2, (at_steps[3] + at_steps[4]) / 2]
    np.testing.assert_allclose(mid, expected, atol=1e-15)
    np.testing.assert_allclose(ts.final().x.array, ts.values[-1])
    with pytest.raises(ValueError, match=r"sample times must lie in \[0.0, 0.4"):
        ts.sample(x, [0.5])
    with pytest.raises(fem.PointsOutsideError):
        ts.sample(np.array([[1.5]]), [0.1])


def test_store_every_keeps_last_step():
    ts = fem.solve_heat(fem.interval(COMM, 4), D=0.1, u0=0.0, t_end=1.0, n_steps=5, store_every=2)
    np.testing.assert_allclose(ts.times, [0.0, 0.4, 0.8, 1.0])


def test_fisher_kpp_usage_target_is_fast():
    """The call the Fisher-KPP comparison makes: 400 P2 cells, 400 BDF2 steps, sampled on a 51 x 51 grid."""
    x_grid, t_grid = np.linspace(0, 1, 51), np.linspace(0, 1, 51)
    start = time.perf_counter()
    ts = fem.solve_fisher_kpp(fem.interval(COMM, 400), D=0.02, rho=2.0,
                              u0=lambda x: 0.5 * np.sin(np.pi * x[0]) ** 2, t_end=1.0, n_steps=400, degree=2)
    U = ts.sample(points=x_grid[:, None], times=t_grid)
    elapsed = time.perf_counter() - start
    assert U.shape == (51, 51)
    np.testing.assert_allclose(U[0], 0.5 * np.sin(np.pi * x_grid) ** 2, atol=1e-12)
    assert np.abs(U[:, [0, -1]]).max() < 1e-12  # Dirichlet u = 0
    assert 0 < U.max() < 1  # logistic growth stays below the carrying capacity
    assert np.all(U[-1, 20:31] > U[0, 20:31])  # grows in the middle
    assert elapsed < 30, f"{elapsed:.1f} s"
