"""First-order Godunov finite volumes for the inviscid Burgers equation on [0, 1].

Solves ``u_t + a u u_x = 0`` (flux ``F(u) = a u^2 / 2``, ``a > 0``) with zero Dirichlet ghost
cells: the state outside the domain is ``u = 0`` at every step. The interface flux is that of the
exact Riemann solution, so shocks move at the Rankine-Hugoniot speed and transonic rarefactions
open into fans (no entropy-violating expansion shocks). Numpy only; a reference for hyperbolic
problems where the DOLFINx solvers do not apply.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import final

import numpy as np
import numpy.typing as npt

# The solver lands on output times exactly; this only absorbs round-off in how callers compute them.
_TIME_RTOL = 1e-12
_GAUSS_POINTS, _GAUSS_WEIGHTS = np.polynomial.legendre.leggauss(4)


@final
@dataclass(frozen=True, eq=False)
class FiniteVolumeSolution:
    """Cell averages of a 1D finite-volume solution at output times.

    Attributes:
        x: ``(n,)`` cell centres of a uniform grid on ``[0, 1]``.
        times: ``(nt,)`` output times, increasing.
        u: ``(nt, n)`` cell averages at those times.
        steps: Time steps taken.
    """

    x: np.ndarray
    times: np.ndarray
    u: np.ndarray
    steps: int

    def sample(self, x: np.ndarray, times: np.ndarray | None = None) -> np.ndarray:
        """Values at points ``x`` and output times, shape ``(len(times), len(x))``.

        Piecewise linear in ``x`` through the cell centres, with ``u = 0`` at ``x = 0`` and
        ``x = 1`` as end nodes (the Dirichlet data of the ghost cells).

        Args:
            x: ``(N,)`` points in ``[0, 1]``.
            times: Output times to sample (each must match a stored time within 1e-12 relative
                to the largest output time); ``None`` for all output times.

        Raises:
            ValueError: A point outside ``[0, 1]``, or a time that is not an output time.
        """
        xs = np.atleast_1d(np.asarray(x, dtype=np.float64))
        if xs.ndim != 1 or not np.isfinite(xs).all() or np.any(xs < 0.0) or np.any(xs > 1.0):
            raise ValueError("sample points must be a 1D array of finite values in [0, 1]")
        if times is None:
            rows = np.arange(len(self.times))
        else:
            rows = self._rows(np.atleast_1d(np.asarray(times, dtype=np.float64)))
        nodes = np.concatenate(([0.0], self.x, [1.0]))
        values = np.zeros((len(rows), len(nodes)))
        values[:, 1:-1] = self.u[rows]
        # One interval lookup for all times: the grid does not change between output times.
        j = np.clip(np.searchsorted(nodes, xs, side="right") - 1, 0, len(nodes) - 2)
        w = (xs - nodes[j]) / (nodes[j + 1] - nodes[j])
        return np.asarray(values[:, j] * (1.0 - w) + values[:, j + 1] * w)

    def _rows(self, t: np.ndarray) -> np.ndarray:
        """Indices of the stored output times that ``t`` matches."""
        tol = _TIME_RTOL * float(np.abs(self.times).max())
        k = np.clip(np.searchsorted(self.times, t), 0, len(self.times) - 1)
        # The nearest stored time is at k or k - 1 (searchsorted gives the right neighbour).
        below = np.maximum(k - 1, 0)
        k = np.where(np.abs(self.times[below] - t) < np.abs(self.times[k] - t), below, k)
        missed = ~(np.abs(self.times[k] - t) <= tol)
        if missed.any():
            raise ValueError(f"time {float(t[missed][0])!r} is not an output time of this solution")
        return np.asarray(k)


def _burgers_flux(u: np.ndarray, a: float) -> np.ndarray:
    return np.asarray(0.5 * a * u * u)


def _godunov_flux(ul: np.ndarray, ur: np.ndarray, a: float) -> np.ndarray:
    """Flux of the exact Riemann solution at the interface, for the convex flux ``a u^2 / 2``."""
    fl, fr = _burgers_flux(ul, a), _burgers_flux(ur, a)
    # A rarefaction through the sonic point u = 0 puts F's minimum (0) on the interface.
    rarefaction = np.where((ul < 0.0) & (ur > 0.0), 0.0, np.minimum(fl, fr))
    return np.asarray(np.where(ul <= ur, rarefaction, np.maximum(fl, fr)))


def _initial_averages(u0: Callable[[np.ndarray], np.ndarray] | npt.ArrayLike, cells: int) -> np.ndarray:
    h = 1.0 / cells
    if callable(u0):
        left = np.arange(cells) * h
        points = left[:, None] + 0.5 * h * (_GAUSS_POINTS[None, :] + 1.0)
        values = np.asarray(u0(points.ravel()), dtype=np.float64)
        if values.shape != (points.size,):
            raise ValueError(
                f"u0 must map ({points.size},) points to ({points.size},) values, got shape {values.shape}"
            )
        # The Gauss weights sum to 2 on [-1, 1]: halve them for an average over the cell.
        averages = 0.5 * (values.reshape(cells, -1) @ _GAUSS_WEIGHTS)
    else:
        averages = np.array(u0, dtype=np.float64)
        if averages.shape != (cells,):
            raise ValueError(f"u0 must have shape ({cells},) (one average per cell), got {averages.shape}")
    if not np.isfinite(averages).all():
        raise ValueError("u0 must be finite")
    return np.asarray(averages)


def solve_burgers(
    u0: Callable[[np.ndarray], np.ndarray] | npt.ArrayLike,
    *,
    a: float,
    t_end: float,
    cells: int,
    times: npt.ArrayLike | None = None,
    cfl: float = 0.5,
) -> FiniteVolumeSolution:
    """Solve ``u_t + a u u_x = 0`` on ``[0, 1]`` with ``u = 0`` outside, by Godunov's method.

    The step size is ``dt = cfl h / max(a max|u|, tiny)``, recomputed each step from the current
    state and shortened to land exactly on each output time. The interface flux comes from the
    exact Riemann solver for the convex flux ``F(u) = a u^2 / 2``: for ``u_L <= u_R``
    (rarefaction) the minimum of ``F`` over ``[u_L, u_R]``, for ``u_L > u_R`` (shock)
    ``max(F(u_L), F(u_R))``. The state is advanced to the last output time.

    Args:
        u0: Initial condition: a callable mapping ``(N,)`` points to ``(N,)`` values (averaged
            over each cell by a 4-point Gauss rule) or an array of ``cells`` cell averages.
        a: Flux coefficient, ``> 0``.
        t_end: Final time, ``> 0``.
        cells: Number of uniform cells, ``>= 2``.
        times: Output times, increasing, in ``[0, t_end]``; default ``[0, t_end]``.
        cfl: Courant number, in ``(0, 1]``.

    Returns:
        The cell averages at the output times.

    Raises:
        ValueError: An argument out of range, non-finite initial data, or bad output times.
    """
    if isinstance(cells, bool) or not isinstance(cells, int | np.integer) or cells < 2:
        raise ValueError(f"cells must be an integer >= 2, got {cells!r}")
    if not (np.isfinite(a) and a > 0.0):
        raise ValueError(f"a must be finite and > 0, got {a!r}")
    if not (np.isfinite(t_end) and t_end > 0.0):
        raise ValueError(f"t_end must be finite and > 0, got {t_end!r}")
    if not 0.0 < cfl <= 1.0:
        raise ValueError(f"cfl must lie in (0, 1], got {cfl!r}")
    out_times = np.array([0.0, t_end] if times is None else times, dtype=np.float64)
    if out_times.ndim != 1 or out_times.size == 0:
        raise ValueError(f"times must be a non-empty 1D array, got shape {out_times.shape}")
    if not np.isfinite(out_times).all() or out_times[0] < 0.0 or out_times[-1] > t_end:
        raise ValueError(f"times must lie in [0, {t_end}], got [{out_times.min()}, {out_times.max()}]")
    if np.any(np.diff(out_times) <= 0.0):
        raise ValueError("times must be strictly increasing")

    cells = int(cells)
    a = float(a)
    h = 1.0 / cells
    u = _initial_averages(u0, cells)
    ghost = np.zeros(1)
    snapshots = np.empty((len(out_times), cells))
    t = 0.0
    steps = 0
    for k, t_out in enumerate(out_times):
        while t < t_out:
            speed = a * float(np.abs(u).max())
            if not np.isfinite(speed):
                # Otherwise dt would be 0 or NaN and the loop would never reach t_out.
                raise ValueError(f"wave speed overflowed at t = {t!r}; u0 is too large for float64")
            # tiny keeps dt finite for u = 0; the output time then bounds the step.
            dt = cfl * h / max(speed, np.finfo(np.float64).tiny)
            if dt >= t_out - t:
                dt = t_out - t
                t = float(t_out)  # land exactly, not at t + dt with its rounding
            else:
                t += dt
            flux = _godunov_flux(np.concatenate((ghost, u)), np.concatenate((u, ghost)), a)
            u = u - (dt / h) * np.diff(flux)
            steps += 1
        snapshots[k] = u

    x = (np.arange(cells) + 0.5) * h
    for array in (x, out_times, snapshots):
        array.setflags(write=False)
    return FiniteVolumeSolution(x=x, times=out_times, u=snapshots, steps=steps)
