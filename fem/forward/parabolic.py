r"""Time-dependent problems: the heat equation and Fisher–KPP, with BDF2 in time.

.. math::  u_t = \nabla\cdot(D\nabla u) + f \qquad\text{(heat)}, \qquad
           u_t = \nabla\cdot(D\nabla u) + \rho\,u(1-u) + f \qquad\text{(Fisher–KPP)},

with ``u = g`` on the tagged boundary (default: ``u = 0`` on the whole boundary), homogeneous
Neumann data elsewhere and ``u(x, t0) = u0(x)``.

Time stepping is BDF2, ``(3u^{n+1} - 4u^n + u^{n-1}) / (2 dt) = F(u^{n+1}, t^{n+1})``, second
order and L-stable; the first step is backward Euler, whose O(dt^2) local error keeps the
global order 2. The heat equation solves a linear system per step with the two matrices
(first step, BDF2 steps) assembled once; Fisher–KPP solves a nonlinear system per step with
Newton's method (PETSc SNES, LU by default).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from fem import _loader  # noqa: F401  (before dolfinx)
import dolfinx.fem  # noqa: E402
import dolfinx.fem.petsc  # noqa: E402
import ufl  # noqa: E402
from petsc4py import PETSc  # noqa: E402

from fem.forward._coefficients import (  # noqa: E402
    TimeDependentData,
    as_coefficient,
    dirichlet_bcs,
    unique_prefix,
)
from fem.forward.timeseries import TimeSeries  # noqa: E402
from fem.meshes import MeshData  # noqa: E402

TIME_ORDER = 2
DEFAULT_LINEAR_OPTIONS = {"ksp_type": "cg", "pc_type": "gamg", "ksp_rtol": 1e-12, "ksp_atol": 1e-14}
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

    def __init__(self, meshdata: MeshData, *, D: Any, u0: Callable | float, t_end: float, n_steps: int,
                 f: Any, g: Any, tags: Any, degree: int, t0: float, store_every: int) -> None:
        if not (np.isfinite(t_end) and np.isfinite(t0) and t_end > t0):
            raise ValueError(f"need finite t_end > t0, got t0={t0}, t_end={t_end}")
        if int(n_steps) < 1 or int(store_every) < 1:
            raise ValueError(f"n_steps and store_every must be >= 1, got {n_steps}, {store_every}")
        self.V = V = dolfinx.fem.functionspace(meshdata.mesh, ("Lagrange", int(degree)))
        self.degree, self.t0, self.n_steps = int(degree), float(t0), int(n_steps)
        self.dt = (float(t_end) - float(t0)) / int(n_steps)
        self.store_every = int(store_every)
        self.D = as_coefficient(D, V, "D", positive=True)
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
        for const, value in zip(self.alpha, coefficients, strict=True):
            const.value = value

    def time_derivative(self, u: Any, v: Any) -> Any:
        a0, a1, a2 = self.alpha
        return (a0 * u + a1 * self.u_n + a2 * self.u_nm1) / self.dt * v * ufl.dx

    def advance(self, n: int, u_new: dolfinx.fem.Function) -> None:
        """Shift history after step ``n`` and store it if due."""
        self.u_nm1.x.array[:] = self.u_n.x.array
        self.u_n.x.array[:] = u_new.x.array
        if n % self.store_every == 0 or n == self.n_steps:
            self.times.append(self.time(n))
            self.values.append(self.u_n.x.array.copy())

    def result(self, newton_iterations: int = 0) -> TimeSeries:
        return TimeSeries(self.V, np.asarray(self.times), np.asarray(self.values), TIME_ORDER,
                          self.degree + 1, newton_iterations)


def solve_heat(
    meshdata: MeshData,
    *,
    D: Any,
    u0: Callable | float,
    t_end: float,
    n_steps: int,
    f: Callable | float | None = None,
    g: Callable | float = 0.0,
    tags: Any = None,
    degree: int = 1,
    t0: float = 0.0,
    store_every: int = 1,
    petsc_options: dict[str, Any] | None = None,
) -> TimeSeries:
    """Solve ``u_t = div(D grad u) + f`` with BDF2 (first step backward Euler).

    Args:
        meshdata: The mesh.
        D: Diffusivity: positive number, callable ``x -> values``, Function or UFL expression.
        u0: Initial value, callable ``x -> values`` (``x`` of shape ``(3, n)``) or number.
        t_end: Final time.
        n_steps: Number of (uniform) time steps.
        f: Source, number or callable ``(x, t) -> values``; default 0.
        g: Dirichlet value, number or callable ``(x, t) -> values``; default 0.
        tags: Facet tags of the Dirichlet boundary; ``None`` = whole boundary, ``()`` = none.
        degree: Lagrange degree.
        t0: Initial time.
        store_every: Keep every k-th step (the last step is always kept).
        petsc_options: KSP options over :data:`DEFAULT_LINEAR_OPTIONS`.

    Returns:
        TimeSeries with ``time_order = 2``.
    """
    s = _Stepper(meshdata, D=D, u0=u0, t_end=t_end, n_steps=n_steps, f=f, g=g, tags=tags, degree=degree,
                 t0=t0, store_every=store_every)
    V = s.V
    u, v = ufl.TrialFunction(V), ufl.TestFunction(V)
    a0 = s.alpha[0]
    a_form = dolfinx.fem.form(a0 / s.dt * u * v * ufl.dx + ufl.inner(s.D * ufl.grad(u), ufl.grad(v)) * ufl.dx)
    _, a1, a2 = s.alpha
    L_form = dolfinx.fem.form(-(a1 * s.u_n + a2 * s.u_nm1) / s.dt * v * ufl.dx + s.f.function * v * ufl.dx)
    options = {**DEFAULT_LINEAR_OPTIONS, **(petsc_options or {})}
    solvers = []
    for scheme in (_BACKWARD_EULER, _BDF2):  # the two matrices, assembled once each
        s.set_scheme(scheme)
        A = dolfinx.fem.petsc.assemble_matrix(a_form, bcs=s.bcs)
        A.assemble()
        ksp = PETSc.KSP().create(V.mesh.comm)
        ksp.setOperators(A)
        prefix = unique_prefix("heat")
        ksp.setOptionsPrefix(prefix)
        opts = PETSc.Options()
        for key, value in options.items():
            opts[f"{prefix}{key}"] = value
        ksp.setFromOptions()
        for key in options:
            del opts[f"{prefix}{key}"]
        solvers.append((scheme, A, ksp))
    b = dolfinx.fem.petsc.create_vector(V)
    uh = dolfinx.fem.Function(V, name="u")
    try:
        for n in range(1, s.n_steps + 1):
            scheme, A, ksp = solvers[0] if n == 1 else solvers[1]
            s.set_scheme(scheme)
            t = s.time(n)
            s.f.at(t)
            s.g.at(t)
            with b.localForm() as b_local:
                b_local.set(0.0)
            dolfinx.fem.petsc.assemble_vector(b, L_form)
            dolfinx.fem.petsc.apply_lifting(b, [a_form], bcs=[s.bcs])
            b.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
            dolfinx.fem.petsc.set_bc(b, s.bcs)
            uh.x.array[:] = s.u_n.x.array  # initial guess
            ksp.solve(b, uh.x.petsc_vec)
            if ksp.getConvergedReason() <= 0:
                raise RuntimeError(f"heat step {n} (t={t:g}): KSP did not converge "
                                   f"(reason {ksp.getConvergedReason()})")
            uh.x.scatter_forward()
            s.advance(n, uh)
    finally:
        b.destroy()
        for _, A, ksp in solvers:
            ksp.destroy()
            A.destroy()
    return s.result()


def solve_fisher_kpp(
    meshdata: MeshData,
    *,
    D: Any,
    rho: float,
    u0: Callable | float,
    t_end: float,
    n_steps: int,
    f: Callable | float | None = None,
    g: Callable | float = 0.0,
    tags: Any = None,
    degree: int = 1,
    t0: float = 0.0,
    store_every: int = 1,
    petsc_options: dict[str, Any] | None = None,
) -> TimeSeries:
    """Solve ``u_t = div(D grad u) + rho u (1 - u) + f`` with BDF2 and Newton (SNES) per step.

    Args:
        meshdata: The mesh.
        D: Diffusivity: positive number, callable ``x -> values``, Function or UFL expression.
        rho: Growth rate (finite number, any sign).
        u0: Initial value, callable ``x -> values`` or number.
        t_end: Final time.
        n_steps: Number of (uniform) time steps.
        f: Source, number or callable ``(x, t) -> values``; default 0.
        g: Dirichlet value, number or callable ``(x, t) -> values``; default 0.
        tags: Facet tags of the Dirichlet boundary; ``None`` = whole boundary, ``()`` = none.
        degree: Lagrange degree.
        t0: Initial time.
        store_every: Keep every k-th step (the last step is always kept).
        petsc_options: SNES/KSP options over :data:`DEFAULT_NEWTON_OPTIONS`.

    Returns:
        TimeSeries with ``time_order = 2`` and the total number of Newton iterations.

    Raises:
        RuntimeError: Newton did not converge at some step.
    """
    if not np.isfinite(rho):
        raise ValueError(f"rho must be finite, got {rho}")
    s = _Stepper(meshdata, D=D, u0=u0, t_end=t_end, n_steps=n_steps, f=f, g=g, tags=tags, degree=degree,
                 t0=t0, store_every=store_every)
    V = s.V
    v = ufl.TestFunction(V)
    uh = dolfinx.fem.Function(V, name="u")
    rho_c = dolfinx.fem.Constant(V.mesh, float(rho))
    F = (s.time_derivative(uh, v) + ufl.inner(s.D * ufl.grad(uh), ufl.grad(v)) * ufl.dx
         - rho_c * uh * (1 - uh) * v * ufl.dx - s.f.function * v * ufl.dx)
    options = {**DEFAULT_NEWTON_OPTIONS, **(petsc_options or {})}
    problem = dolfinx.fem.petsc.NonlinearProblem(
        F, uh, bcs=s.bcs, petsc_options_prefix=unique_prefix("fisher_kpp"), petsc_options=options)
    snes = problem.solver
    newton = 0
    for n in range(1, s.n_steps + 1):
        s.set_scheme(_BACKWARD_EULER if n == 1 else _BDF2)
        t = s.time(n)
        s.f.at(t)
        s.g.at(t)
        uh.x.array[:] = s.u_n.x.array  # initial guess: previous step
        problem.solve()
        reason = snes.getConvergedReason()
        if reason <= 0:
            raise RuntimeError(f"Fisher-KPP step {n} (t={t:g}): Newton did not converge "
                               f"(SNES reason {reason}, {snes.getIterationNumber()} iterations)")
        newton += snes.getIterationNumber()
        s.advance(n, uh)
    return s.result(newton)
