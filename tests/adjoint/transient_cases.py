"""Small transient problems for the discrete-adjoint tests, serial and under MPI.

* ``fisher_kpp``: u_t = rD·D̄·u_xx + rρ·u(1 − u) on (0, 1), P2, 20 BDF2 steps, the scalars
  (rD, rρ) as controls, u observed at 7 points and 5 times (two of them between steps).
* ``heat_ic``: u_t = k·u_xx on (0, 1), P1, 10 steps, the initial condition as the control,
  with an H1 regulariser, u observed at 7 points at t = 0, 0.27 and 0.5.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import ufl
from mpi4py import MPI

import adjoint
import fem

POINTS = np.linspace(0.0, 1.0, 7)[:, None]


def _observation(md: fem.MeshData, degree: int) -> Any:
    import dolfinx

    V = dolfinx.fem.functionspace(md.mesh, ("Lagrange", degree))
    x = POINTS if md.comm.rank == 0 else POINTS[:0]  # replicated points: rank 0 observes them all
    return fem.PointEvaluator(V, x).matrix()


def fisher_kpp(comm: MPI.Comm, cells: int = 30) -> tuple[adjoint.TransientReducedFunctional, np.ndarray]:
    """The FK functional with data from (rD, rρ) = (2, 2) plus a fixed perturbation, and θ0 = (1, 1)."""
    md = fem.interval(comm, cells)
    times = np.array([0.0, 0.13, 0.4, 0.77, 1.0])

    def G(u: Any, th: Any, v: Any, t: Any) -> Any:
        return (th["rD"] * 0.01 * ufl.inner(ufl.grad(u), ufl.grad(v)) - th["rrho"] * u * (1 - u) * v) * ufl.dx

    def build(data: np.ndarray, theta: dict[str, float]) -> adjoint.TransientReducedFunctional:
        return adjoint.TransientReducedFunctional(
            md, residual=G, control="scalars", scalars=theta, u0=lambda x: 0.5 * np.sin(np.pi * x[0]) ** 2,
            t_end=1.0, n_steps=20, observation=B, observation_times=times, data=data, degree=2)

    B = _observation(md, 2)
    rows = B.getLocalSize()[0]
    truth = build(np.zeros((len(times), rows)), {"rD": 2.0, "rrho": 2.0})
    wobble = 0.01 * np.cos(np.arange(len(times) * rows)).reshape(len(times), rows)
    d = truth.observe({"rD": 2.0, "rrho": 2.0}) + wobble
    rf = build(d, {"rD": 1.0, "rrho": 1.0})
    return rf, rf.as_array(np.array([1.0, 1.0]))


def heat_ic(comm: MPI.Comm, cells: int = 30) -> tuple[adjoint.TransientReducedFunctional, np.ndarray]:
    """The heat initial-condition functional at m = sin(πx), data 0.1 everywhere."""
    md = fem.interval(comm, cells)
    B = _observation(md, 1)
    rf = adjoint.TransientReducedFunctional(
        md, residual=lambda u, th, v, t: th["k"] * ufl.inner(ufl.grad(u), ufl.grad(v)) * ufl.dx,
        control="initial_condition", scalars={"k": 0.05}, t_end=0.5, n_steps=10, observation=B,
        observation_times=[0.0, 0.27, 0.5], data=np.full((3, B.getLocalSize()[0]), 0.1), degree=1,
        regularization=[adjoint.H1Seminorm(weight=1e-3)])
    return rf, rf.initial_from(lambda x: np.sin(np.pi * x[0]))


def directions(rf: adjoint.TransientReducedFunctional) -> np.ndarray:
    """A fixed direction δm: (0.3, −0.7) for the scalars, x(1 − x)cos 3x for the initial condition."""
    if rf.control == "scalars":
        return rf.as_array(np.array([0.3, -0.7]))
    return rf.initial_from(lambda x: x[0] * (1 - x[0]) * np.cos(3 * x[0]))


def summary(rf: adjoint.TransientReducedFunctional, m: np.ndarray) -> dict[str, Any]:
    """J, the Taylor rates (and the zero-derivative control's), ⟨dJ, δm⟩: identical on every rank."""
    dm = directions(rf)
    check = adjoint.taylor_check(rf.J, rf.derivative, m, dm, comm=rf.comm)
    control = adjoint.taylor_check(rf.J, None, m, dm, comm=rf.comm)
    return {"J": rf.J(m), "slope": rf.inner(rf.derivative(m), dm), "rates": check.usable_rates.tolist(),
            "failure": check.check(), "control_failure": control.check(expected=1.0, tol=0.1)}


def tao_recovery(comm: MPI.Comm, tao_type: str) -> dict[str, Any]:
    """TAO on noise-free FK data from (rD, rρ) = (1.7, 2.3), from (1, 1), rD ≥ 1e-8: the result."""
    rf, _ = fisher_kpp(comm)
    clean = adjoint.TransientReducedFunctional(
        rf.mesh_data, residual=rf.residual, control="scalars", scalars={"rD": 1.0, "rrho": 1.0},
        u0=lambda x: 0.5 * np.sin(np.pi * x[0]) ** 2, t_end=1.0, n_steps=20, observation=rf.B,
        observation_times=[0.0, 0.13, 0.4, 0.77, 1.0], data=rf.observe(np.array([1.7, 2.3])), degree=2)
    lower = np.array([1e-8, -np.inf])[: clean.n_local]
    opt = adjoint.minimize_tao(clean, clean.as_array(np.array([1.0, 1.0])),
                               adjoint.TaoConfig(tao_type=tao_type, gttol=1e-9), bounds=(lower, None))
    return {"converged": opt.converged, "reason": opt.reason, "theta": list(clean.scalars(opt.m).values()),
            "iterations": opt.iterations, "n_history": len(opt.m_history), "n_J": len(opt.J_history),
            "t_last": opt.time_history[-1], "wall": opt.wall_time}
