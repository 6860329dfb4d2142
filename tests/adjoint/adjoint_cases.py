"""Small problems shared by the serial adjoint tests and ``adjoint_mpi_checks.py``."""

from __future__ import annotations

import fem  # noqa: F401  (loads MPI before dolfinx)

# isort: split

from types import SimpleNamespace
from typing import Any

import dolfinx
import numpy as np
import ufl
from mpi4py import MPI

import adjoint
from fem.evaluation import PointEvaluator


def a_true(x: np.ndarray) -> np.ndarray:
    """A smooth coefficient in (5, 9), inside every map's range."""
    return 5.0 + 4.0 * x[0] * x[1]


def a_probe(x: np.ndarray) -> np.ndarray:
    """A generic point at which to expand J (not the truth)."""
    return 6.0 + np.sin(3.0 * x[0]) * np.cos(2.0 * x[1])


def make_mesh(dim: int, n: int, comm: MPI.Comm = MPI.COMM_WORLD) -> dolfinx.mesh.Mesh:
    if dim == 1:
        return dolfinx.mesh.create_unit_interval(comm, n)
    if dim == 2:
        return dolfinx.mesh.create_unit_square(comm, n, n)
    return dolfinx.mesh.create_unit_cube(comm, n, n, n)


def make_problem(space: str, regularization=(), coefficient_map=None, *, dim: int = 2, n: int = 6,
                 comm: MPI.Comm = MPI.COMM_WORLD, **kwargs) -> tuple[adjoint.ReducedFunctional, np.ndarray]:
    """Nodal observation of u on a unit interval/square/cube, data from ``a_true`` (noise-free).

    Returns the reduced functional and the true parameter (owned values).
    """
    msh = make_mesh(dim, n, comm)
    V = dolfinx.fem.functionspace(msh, ("Lagrange", 1))
    B = adjoint.nodal_observation(V)
    # f = 50 makes u = O(1), so that the misfit and the regularisation are of comparable size.
    kwargs.setdefault("source", 50.0)
    common: dict[str, Any] = dict(observation=B, coefficient_space=space, coefficient_map=coefficient_map,
                                  **kwargs)
    clean = adjoint.ReducedFunctional(msh, data=np.zeros(B.getLocalSize()[0]), **common)
    m_true = clean.parameter_from_coefficient(a_true)
    data = clean.observe(m_true)
    rf = adjoint.ReducedFunctional(msh, data=data, regularization=regularization, **common)
    return rf, m_true


def hat(x: np.ndarray) -> np.ndarray:
    """1 + 0.5(1 − 2|x − 0.5|) for x of shape (3, N): a kinked coefficient equal to 1 at both ends."""
    return 1.0 + 0.5 * (1.0 - 2.0 * np.abs(x[0] - 0.5))


def poisson_1d(n_cells: int, n_obs: int, weight: float, comm: MPI.Comm = MPI.COMM_WORLD) -> SimpleNamespace:
    """−(D u')' = π² sin(πx), u(0) = u(1) = 0, D fixed to 1 at both ends, H1 weight ``weight``.

    ``n_obs`` equispaced point observations (rank 0 holds them all) through
    ``fem.PointEvaluator``; noise-free data from the same P1 discretisation at D = ``hat``.
    A small stand-in for the comparison's problem (``comparisons/poisson.py``) that keeps the
    adjoint tests free of the comparison layer.
    """
    msh = dolfinx.mesh.create_unit_interval(comm, n_cells)
    V = dolfinx.fem.functionspace(msh, ("Lagrange", 1))
    points = np.linspace(0.0, 1.0, n_obs)[:, None]
    B = PointEvaluator(V, points if comm.rank == 0 else points[:0]).matrix()
    common: dict[str, Any] = dict(observation=B, coefficient_space="P1",
                                  fixed_coefficient=adjoint.FixedCoefficient(),
                                  source=lambda x: np.pi**2 * ufl.sin(np.pi * x[0]))
    n_rows = B.getLocalSize()[0]
    clean = adjoint.ReducedFunctional(msh, data=np.zeros(n_rows), **common)
    data = clean.observe(clean.parameter_from_coefficient(hat))
    regularization = (adjoint.H1Seminorm(weight=weight),)
    rf = adjoint.ReducedFunctional(msh, data=data, regularization=regularization, **common)
    return SimpleNamespace(rf=rf, m_init=rf.parameter_from_coefficient(1.0),
                           m_true=rf.parameter_from_coefficient(hat))


def direction(rf: adjoint.ReducedFunctional, seed: int = 0) -> np.ndarray:
    """A random direction δm (different stream per rank), zero at fixed dofs."""
    dm = np.random.default_rng(seed + 1000 * rf.comm.rank).standard_normal(rf.n_local)
    dm[rf.fixed_dofs] = 0.0
    return dm


REGULARIZATIONS = {
    "H1": adjoint.H1Seminorm(weight=1e-3),
    "TV": adjoint.TotalVariation(weight=1e-3, eps=0.1),
    "H1 of m": adjoint.H1Seminorm(weight=1e-3, on="parameter"),
    "TV of m": adjoint.TotalVariation(weight=1e-3, eps=0.1, on="parameter"),
}


def taylor_rates(space: str, reg: str, coefficient_map=None, dim: int = 2, n: int = 6,
                 comm: MPI.Comm = MPI.COMM_WORLD, eps0: float = 1e-2, **kwargs) -> np.ndarray:
    rf, _ = make_problem(space, (REGULARIZATIONS[reg],), coefficient_map, dim=dim, n=n, comm=comm, **kwargs)
    m = rf.parameter_from_coefficient(a_probe)
    rates, _ = adjoint.taylor_test(rf.J, rf.derivative, m, direction(rf), eps0=eps0, n=4, comm=comm)
    return rates


def tao_run(comm: MPI.Comm = MPI.COMM_WORLD) -> dict[str, float]:
    """A fixed TAO (BLMVM, bounds [3, 12]) run on a small 2D problem; global summaries."""
    rf, m_true = make_problem("P1", (adjoint.H1Seminorm(weight=1e-4),), dim=2, n=8, comm=comm)
    m0 = rf.parameter_from_coefficient(6.0)
    result = adjoint.minimize_tao(rf, m0, adjoint.TaoConfig(lower=3.0, upper=12.0, max_iter=300,
                                                            gatol=0.0, grtol=0.0, gttol=1e-7))
    norm = np.sqrt(comm.allreduce(float(result.m @ result.m), op=MPI.SUM))
    err = np.sqrt(comm.allreduce(float((result.m - m_true) @ (result.m - m_true)), op=MPI.SUM))
    p = poisson_1d(n_cells=40, n_obs=21, weight=1e-3, comm=comm)
    result_1d = adjoint.minimize_tao(p.rf, p.m_init, adjoint.TaoConfig(lower=0.1, upper=10.0))
    norm_1d = np.sqrt(comm.allreduce(float(result_1d.m @ result_1d.m), op=MPI.SUM))
    return {"J": result.J, "norm_m": float(norm), "err_m": float(err) / norm,
            "iterations": result.iterations, "reason": result.reason, "converged": result.converged,
            "J_1d": result_1d.J, "norm_m_1d": float(norm_1d), "converged_1d": result_1d.converged}
