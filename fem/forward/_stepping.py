"""The time-stepping machinery shared by the transient solvers.

BDF coefficients, Newton options, and ``_Stepper`` (the state history and the data functions).
"""

from __future__ import annotations

from fem import _loader as _loader  # noqa: F401  (loads MPI before dolfinx/petsc4py)

# isort: split

from collections.abc import Callable
from typing import Any

import dolfinx.fem
import dolfinx.fem.petsc
import numpy as np
import ufl

from fem.forward._coefficients import (
    TimeDependentData,
    as_coefficient,
    dirichlet_bcs,
)
from fem.forward.timeseries import TimeSeries
from fem.meshes import MeshData

TIME_ORDER = 2
DEFAULT_NEWTON_OPTIONS = {
    "snes_type": "newtonls",
    "snes_linesearch_type": "basic",
    "snes_rtol": 1e-10,
    "snes_atol": 1e-12,
    "snes_stol": 0.0,
    "snes_max_it": 30,
    "ksp_type": "preonly",
    "pc_type": "lu",
}
# BDF coefficients (alpha_0, alpha_1, alpha_2) of (a0 u^{n+1} + a1 u^n + a2 u^{n-1}) / dt
_BACKWARD_EULER = (1.0, -1.0, 0.0)
_BDF2 = (1.5, -2.0, 0.5)


class _Stepper:
    """Shared set-up: space, initial state, history, data functions."""

    def __init__(self, meshdata: MeshData, *, D: Any, u0: Callable[..., Any] | float, t_end: float,
                 n_steps: int, f: Any, g: Any, tags: Any, degree: int, t0: float, store_every: int) -> None:
        if not (np.isfinite(t_end) and np.isfinite(t0) and t_end > t0):
            raise ValueError(f"need finite t_end > t0, got t0={t0}, t_end={t_end}")
        if int(n_steps) < 1 or int(store_every) < 1:
            raise ValueError(f"n_steps and store_every must be >= 1, got {n_steps}, {store_every}")
        self.V = V = dolfinx.fem.functionspace(meshdata.mesh, ("Lagrange", int(degree)))
        self.degree, self.t0, self.n_steps = int(degree), float(t0), int(n_steps)
        self.dt = (float(t_end) - float(t0)) / int(n_steps)
        self.store_every = int(store_every)
        # D is None for weak-form problems, whose residual brings its own coefficients.
        self.D = None if D is None else as_coefficient(D, V, "D", positive=True)
        self.u_n = dolfinx.fem.Function(V, name="u_n")
        self.u_nm1 = dolfinx.fem.Function(V, name="u_nm1")
        if callable(u0):
            self.u_n.interpolate(u0)
        else:
            self.u_n.x.array[:] = float(u0)
        as_coefficient(self.u_n, V, "u0")  # finiteness check
        self.f = TimeDependentData(f, V, "f")
        self.g = TimeDependentData(g, V, "g")
        self.bcs = dirichlet_bcs(meshdata, V, self.g.function, tags)
        self.alpha = [dolfinx.fem.Constant(V.mesh, a) for a in _BACKWARD_EULER]
        self.times, self.values = [self.t0], [self.u_n.x.array.copy()]

    def time(self, n: int) -> float:
        """Step time, computed from n (not accumulated) so that it matches a linspace."""
        return self.t0 + n * self.dt

    def set_scheme(self, coefficients: tuple[float, float, float]) -> None:
        """Switch the BDF coefficients (the forms keep referring to the same Constants)."""
        for const, value in zip(self.alpha, coefficients, strict=True):
            const.value = value  # type: ignore[assignment]  # (the stub wants an array)

    def time_derivative(self, u: Any, v: Any) -> Any:
        """The BDF approximation of ``(u_t, v)`` at the new step."""
        a0, a1, a2 = self.alpha
        return (a0 * u + a1 * self.u_n + a2 * self.u_nm1) / self.dt * v * ufl.dx

    def advance(self, n: int, u_new: dolfinx.fem.Function[np.float64]) -> None:
        """Shift history after step ``n`` and store it if due."""
        self.u_nm1.x.array[:] = self.u_n.x.array
        self.u_n.x.array[:] = u_new.x.array
        if n % self.store_every == 0 or n == self.n_steps:
            self.times.append(self.time(n))
            self.values.append(self.u_n.x.array.copy())

    def result(self, newton_iterations: int = 0) -> TimeSeries:
        """The stored steps as a TimeSeries."""
        return TimeSeries(self.V, np.asarray(self.times), np.asarray(self.values), TIME_ORDER,
                          self.degree + 1, newton_iterations)
