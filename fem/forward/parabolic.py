r"""Time-dependent problems: the heat equation and Fisher–KPP, with BDF2 in time.

.. math::  u_t = \nabla\cdot(D\nabla u) + f \qquad\text{(heat)}, \qquad
           u_t = \nabla\cdot(D\nabla u) + \rho\,u(1-u) + f \qquad\text{(Fisher–KPP)},

with ``u = g`` on the tagged boundary (default: ``u = 0`` on the whole boundary), homogeneous
Neumann data elsewhere and ``u(x, t0) = u0(x)``.

Time stepping is BDF2, ``(3u^{n+1} - 4u^n + u^{n-1}) / (2 dt) = F(u^{n+1}, t^{n+1})``, second
order and L-stable; the first step is backward Euler, whose O(dt^2) local error keeps the
global order 2. The heat equation solves a linear system per step with the two matrices
(first step, BDF2 steps) assembled once; Fisher–KPP solves a nonlinear system per step with
Newton's method (PETSc SNES, LU by default) through the weak-form solver
:func:`fem.forward.weak.solve_transient`.
"""

from __future__ import annotations

from fem import _loader as _loader  # noqa: F401  (loads MPI before dolfinx/petsc4py)

# isort: split

from collections.abc import Callable
from typing import Any, cast

import dolfinx.fem
import dolfinx.fem.petsc
import numpy as np
import ufl
from petsc4py import PETSc

from fem.forward._coefficients import (
    as_coefficient,
    unique_prefix,
)
from fem.forward._stepping import _BACKWARD_EULER, _BDF2, _Stepper
from fem.forward.timeseries import TimeSeries
from fem.forward.weak import _solve_transient
from fem.meshes import MeshData

DEFAULT_LINEAR_OPTIONS = {"ksp_type": "cg", "pc_type": "gamg", "ksp_rtol": 1e-12, "ksp_atol": 1e-14}


def solve_heat(
    meshdata: MeshData,
    *,
    D: Any,
    u0: Callable[..., Any] | float,
    t_end: float,
    n_steps: int,
    f: Callable[..., Any] | float | None = None,
    g: Callable[..., Any] | float = 0.0,
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
    # Not a wrapper over fem.forward.weak.solve_transient (as solve_fisher_kpp is): the problem is
    # linear with time-independent coefficients, so its two matrices (and their preconditioners) are
    # set up once and each step only assembles a right-hand side, instead of a Newton solve per step.
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
            opts.setValue(f"{prefix}{key}", value)
        ksp.setFromOptions()
        for key in options:
            opts.delValue(f"{prefix}{key}")
        solvers.append((scheme, A, ksp))
    b = dolfinx.fem.petsc.create_vector(V)
    uh: dolfinx.fem.Function[np.float64] = dolfinx.fem.Function(V, name="u")
    try:
        for n in range(1, s.n_steps + 1):
            scheme, A, ksp = solvers[0] if n == 1 else solvers[1]
            s.set_scheme(scheme)
            t = s.time(n)
            s.f.at(t)
            s.g.at(t)
            with b.localForm() as b_local:
                b_local.set(0.0)
            dolfinx.fem.petsc.assemble_vector(b, L_form)  # type: ignore[arg-type]  # (singledispatch overload)
            dolfinx.fem.petsc.apply_lifting(b, [a_form], bcs=[s.bcs])
            b.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)  # type: ignore[arg-type]
            dolfinx.fem.petsc.set_bc(b, s.bcs)
            uh.x.array[:] = s.u_n.x.array  # initial guess
            ksp.solve(b, uh.x.petsc_vec)
            reason = cast(int, ksp.getConvergedReason())  # the stub says ConvergedReason; it is an int
            if reason <= 0:
                raise RuntimeError(f"heat step {n} (t={t:g}): KSP did not converge (reason {reason})")
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
    u0: Callable[..., Any] | float,
    t_end: float,
    n_steps: int,
    f: Callable[..., Any] | float | None = None,
    g: Callable[..., Any] | float = 0.0,
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

    def residual(u: Any, v: Any, t: Any) -> Any:
        V = u.function_space
        D_c = as_coefficient(D, V, "D", positive=True)
        rho_c = dolfinx.fem.Constant(V.mesh, float(rho))
        return ufl.inner(D_c * ufl.grad(u), ufl.grad(v)) * ufl.dx - rho_c * u * (1 - u) * v * ufl.dx

    # The source goes through the numpy (x, t) path: f is a callable, not a UFL expression.
    return _solve_transient(meshdata, residual, u0=u0, t_end=t_end, n_steps=n_steps, degree=degree, g=g,
                            tags=tags, t0=t0, store_every=store_every, petsc_options=petsc_options,
                            source=0.0 if f is None else f, label="Fisher-KPP")
