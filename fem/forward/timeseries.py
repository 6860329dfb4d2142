"""Stored time steps of a finite element solution, sampled at points and times."""

from __future__ import annotations

from fem import _loader as _loader  # noqa: F401  (loads MPI before dolfinx/petsc4py)

# isort: split

from dataclasses import dataclass
from typing import Any

import dolfinx.fem
import numpy as np

from fem.evaluation import PointEvaluator


@dataclass(frozen=True)
class TimeSeries:
    """Solution of a time-dependent problem at its (stored) time steps.

    Attributes:
        V: The function space.
        times: ``(n_stored,)`` increasing step times, first = initial time.
        values: ``(n_stored, n_local)`` copies of ``u.x.array`` (owned dofs, then ghosts).
        time_order: Order of the time stepper (2 for BDF2).
        space_order: L2 order in h of the spatial discretisation (degree + 1).
        newton_iterations: Total Newton iterations (0 for linear problems).
    """

    V: dolfinx.fem.FunctionSpace[np.float64]
    times: np.ndarray
    values: np.ndarray
    time_order: int
    space_order: int
    newton_iterations: int = 0

    def function(self, k: int) -> dolfinx.fem.Function[np.float64]:
        """The solution at stored step ``k`` as a new Function."""
        u: dolfinx.fem.Function[np.float64] = dolfinx.fem.Function(self.V, name="u")
        u.x.array[:] = self.values[k]
        return u

    def final(self) -> dolfinx.fem.Function[np.float64]:
        """The solution at the last time."""
        return self.function(len(self.times) - 1)

    def sample(self, points: np.ndarray, times: np.ndarray, **kwargs: Any) -> np.ndarray:
        """Values at this rank's ``points (Np, gdim)`` and ``times (Nt,)``, shape ``(Nt, Np)``.

        Linear interpolation in time between stored steps, exact at the step times (times
        within 1e-12 of a step, relative to the time span, are snapped to it). Collective: every
        rank passes the same ``times`` (points may differ per rank).

        Args:
            points: ``(Np, gdim)`` points of this rank.
            times: Times within ``[times[0], times[-1]]``.
            **kwargs: Passed to :class:`PointEvaluator` (``padding``, ``on_outside``).

        Raises:
            ValueError: A time outside the computed interval.
        """
        t = np.atleast_1d(np.asarray(times, dtype=np.float64))
        T = self.times
        tol = 1e-12 * max(T[-1] - T[0], 1.0)
        if np.any(t < T[0] - tol) or np.any(t > T[-1] + tol) or not np.isfinite(t).all():
            raise ValueError(f"sample times must lie in [{T[0]}, {T[-1]}], got [{t.min()}, {t.max()}]")
        k = np.clip(np.searchsorted(T, t, side="right") - 1, 0, max(len(T) - 2, 0))
        if len(T) == 1:
            theta = np.zeros_like(t)
        else:
            theta = np.clip((t - T[k]) / (T[k + 1] - T[k]), 0.0, 1.0)
        snap_hi = np.abs(t - T[np.minimum(k + 1, len(T) - 1)]) <= tol
        k = np.where(snap_hi & (len(T) > 1), np.minimum(k + 1, len(T) - 1), k)
        theta = np.where(snap_hi | (np.abs(t - T[k]) <= tol), 0.0, theta)
        evaluator = PointEvaluator(self.V, points, **kwargs)
        needed = sorted(set(k.tolist()) | set((k[theta > 0] + 1).tolist()))
        at_step = {j: evaluator.evaluate(self.values[j]) for j in needed}
        out = np.empty((len(t), len(evaluator.points)))
        for i, (j, th) in enumerate(zip(k, theta, strict=True)):
            out[i] = at_step[j] if th == 0.0 else (1.0 - th) * at_step[j] + th * at_step[j + 1]
        return out
