r"""Forward solvers for a problem given by its weak residual, a UFL form.

Stationary: find ``u`` in the Lagrange space ``V = P_k`` with ``u = g`` on the tagged boundary and

.. math::  F(u; v) = 0 \qquad \text{for all test functions } v \text{ vanishing there}.

Transient: with ``u(x, t0) = u0(x)``,

.. math::  \int_\Omega u_t\, v \,dx + G(u, t; v) = 0,

stepped with BDF2 (first step backward Euler) and Newton's method per step, exactly as
:func:`fem.forward.parabolic.solve_fisher_kpp`, which is now a wrapper around this module (as is
:func:`fem.forward.elliptic.solve_elliptic`).

A residual is a Python callable that builds the form from the unknown (a dolfinx ``Function``)
and the test function, e.g. ``lambda u, v: ufl.inner(ufl.grad(u), ufl.grad(v)) * ufl.dx - f * v *
ufl.dx``. The linear system (``linear=True``) or the Newton Jacobian is derived from it with
``ufl.derivative``, as :mod:`adjoint.gradient` does.
"""

from __future__ import annotations

from fem import _loader as _loader  # noqa: F401  (loads MPI before dolfinx/petsc4py)

# isort: split

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import dolfinx.fem
import dolfinx.fem.petsc
import numpy as np
import ufl
import ufl.algorithms
from petsc4py import PETSc

from fem.evaluation import PointEvaluator
from fem.forward._coefficients import as_coefficient, dirichlet_bcs, unique_prefix
from fem.forward._stepping import _BACKWARD_EULER, _BDF2, DEFAULT_NEWTON_OPTIONS, _Stepper
from fem.forward.timeseries import TimeSeries
from fem.meshes import MeshData

StationaryResidual = Callable[[Any, Any], Any]
"""``residual(u, v) -> ufl.Form``: ``u`` the unknown Function, ``v`` the TestFunction."""
TransientResidual = Callable[[Any, Any, Any], Any]
"""``residual(u, v, t) -> ufl.Form``: as above, ``t`` a Constant holding the new step's time."""


# ------------------------------------------------------------------------------ messages


DEFAULT_KSP_OPTIONS = {"ksp_type": "cg", "pc_type": "gamg", "ksp_rtol": 1e-10, "ksp_atol": 1e-14}


@dataclass(frozen=True)
class EllipticSolution:
    """Result of :func:`solve_elliptic`.

    Attributes:
        u: The solution.
        iterations: KSP iterations.
        converged_reason: PETSc's KSP converged reason (> 0).
        order: Convergence order of the L2 error in h for smooth solutions (degree + 1).
    """

    u: dolfinx.fem.Function[np.float64]
    iterations: int
    converged_reason: int
    order: int

    def sample(self, points: np.ndarray, **kwargs: Any) -> np.ndarray:
        """Values at this rank's ``points (N, gdim)`` (see :class:`PointEvaluator`). Collective."""
        return PointEvaluator(self.u.function_space, points, **kwargs).evaluate(self.u)


def _dirichlet_function(g: Any, V: dolfinx.fem.FunctionSpace[np.float64]) -> dolfinx.fem.Function[np.float64]:
    """The Dirichlet value ``g`` (number, callable or Function) as a Function on ``V``, checked."""
    gh: dolfinx.fem.Function[np.float64] = dolfinx.fem.Function(V, name="g")
    if isinstance(g, (int, float, np.floating, np.integer)):
        if not np.isfinite(float(g)):
            raise ValueError("Dirichlet value 'g' is not finite")
        gh.x.array[:] = float(g)
    elif isinstance(g, dolfinx.fem.Function) or callable(g):
        gh.interpolate(g)
        as_coefficient(gh, V, "g")  # checks finiteness collectively
    else:
        raise TypeError(f"Dirichlet value 'g': expected a number, a callable or a Function, "
                        f"got {type(g).__name__}")
    return gh


def _reason(kind: str, reason: int) -> str:
    """``"KSP reason -3 (DIVERGED_MAX_IT)"``: PETSc's converged reason with its name."""
    enum = PETSc.KSP.ConvergedReason if kind == "KSP" else PETSc.SNES.ConvergedReason
    names = [k for k, v in vars(enum).items() if v == reason and k.isupper() and "ITERATING" not in k]
    return f"{kind} reason {reason}" + (f" ({names[0]})" if names else "")


# ------------------------------------------------------------------------------ form checks


def _checked_residual(F: Any, u: Any, v: Any, call: str, *, needs_u: bool = True) -> Any:
    """``F`` if it is a form linear in the test function ``v`` only (and depending on ``u``).

    Raises:
        ValueError: Not a ``ufl.Form`` (e.g. an integrand without ``* ufl.dx``), a form with other
            arguments than ``v`` (e.g. a TrialFunction), or, if ``needs_u``, a form that does not
            involve ``u``.
    """
    if not isinstance(F, ufl.Form):
        hint = " (did you forget '* ufl.dx'?)" if isinstance(F, ufl.core.expr.Expr) else ""
        raise ValueError(f"{call} must return a ufl.Form, got {type(F).__name__}{hint}")
    arguments = F.arguments()
    if len(arguments) != 1 or not arguments[0] == v:
        raise ValueError(f"{call} must be a form linear in the test function v and with no other "
                         f"arguments (no TrialFunction), got arguments {list(arguments)}")
    if needs_u and u not in ufl.algorithms.extract_coefficients(F):
        raise ValueError(f"{call} does not depend on the unknown u")
    return F


def _linear_forms(F: Any, u: dolfinx.fem.Function[np.float64]) -> tuple[Any, Any]:
    """The bilinear and linear forms ``a = dF/du``, ``L = -F(0; v)`` of a residual affine in ``u``.

    Raises:
        ValueError: ``dF/du`` still depends on ``u`` (``F`` is not affine) or vanishes.
    """
    V = u.function_space
    a = ufl.derivative(F, u, ufl.TrialFunction(V))
    # The derivative node itself refers to u; only the expanded derivative shows a real dependence.
    expanded = ufl.algorithms.expand_derivatives(a)
    if expanded.empty():
        raise ValueError("the residual's derivative with respect to u is zero, nothing to solve for")
    if u in ufl.algorithms.extract_coefficients(expanded):
        raise ValueError("linear=True, but the residual is not affine in u (its derivative with respect "
                         "to u still depends on u); pass linear=False to solve it with Newton's method")
    # ufl's Zero (rather than a zero Function, as adjoint.gradient uses) simplifies the u-terms away,
    # so L is the source terms alone, at their own quadrature degree: assembling it costs no dead
    # terms and matches a hand-written right-hand side bit for bit.
    L = -ufl.replace(F, {u: ufl.zero(*u.ufl_shape)})
    if L.empty():  # no source terms: L = 0, but LinearProblem needs a form
        L = dolfinx.fem.Constant(V.mesh, 0.0) * F.arguments()[0] * ufl.dx
    return a, L


# ------------------------------------------------------------------------------ stationary


def _check_ksp(ksp: Any, options: dict[str, Any]) -> tuple[int, int]:
    """(reason, iterations) of a converged KSP; a ``RuntimeError`` naming the options otherwise."""
    # petsc4py's stub types the reason as the ConvergedReason class; its members are ints.
    reason, iterations = cast(int, ksp.getConvergedReason()), int(ksp.getIterationNumber())
    if reason <= 0:
        hint = ("; CG needs a symmetric problem, for a non-symmetric F pass e.g. "
                "petsc_options={'ksp_type': 'gmres'}" if options.get("ksp_type") == "cg" else "")
        raise RuntimeError(f"linear stationary solve did not converge ({_reason('KSP', reason)}, "
                           f"{iterations} iterations, options {options}){hint}")
    return reason, iterations


def _check_snes(snes: Any, options: dict[str, Any]) -> tuple[int, int]:
    """(reason, iterations) of a converged SNES; a ``RuntimeError`` otherwise."""
    reason, iterations = cast(int, snes.getConvergedReason()), int(snes.getIterationNumber())
    if reason <= 0:
        raise RuntimeError(f"nonlinear stationary solve: Newton did not converge ({_reason('SNES', reason)}, "
                           f"{iterations} iterations, options {options})")
    return reason, iterations


def _initial_guess(u: dolfinx.fem.Function[np.float64], g: Any, bcs: list[Any]) -> None:
    """``u = g`` if ``g`` is a number, else 0; then ``u = g`` at the Dirichlet dofs."""
    u.x.array[:] = float(g) if isinstance(g, (int, float, np.floating, np.integer)) else 0.0
    for bc in bcs:  # so that Newton starts on the constraint and the boundary rows stay satisfied
        bc.set(u.x.array)


class StationarySolver:
    """``F(u; v) = 0`` compiled once and solved again whenever its coefficients change.

    The residual may close over dolfinx ``Function`` s and ``Constant`` s; change their values
    and call :meth:`solve` again: the forms, the sparsity pattern and the KSP or SNES are built
    once. A data set of many solves at different coefficients (operator learning) then costs an
    assembly and a solve each, not a form compilation each::

        a = dolfinx.fem.Function(Q)
        solver = StationarySolver(md, lambda u, v: (a * ufl.inner(ufl.grad(u), ufl.grad(v))
                                                    - v) * ufl.dx)
        for values in samples:
            a.x.array[:] = values
            u_values = solver.solve().sample(points)

    Arguments are those of :func:`solve_stationary`. Collective.
    """

    def __init__(
        self,
        meshdata: MeshData,
        residual: StationaryResidual,
        *,
        degree: int = 1,
        g: Any = 0.0,
        tags: Any = None,
        linear: bool = True,
        petsc_options: dict[str, Any] | None = None,
        petsc_options_prefix: str | None = None,
    ) -> None:
        V = dolfinx.fem.functionspace(meshdata.mesh, ("Lagrange", int(degree)))
        self.u: dolfinx.fem.Function[np.float64] = dolfinx.fem.Function(V, name="u")
        v = ufl.TestFunction(V)
        F = _checked_residual(residual(self.u, v), self.u, v, "residual(u, v)")
        self._g = g
        self._bcs = dirichlet_bcs(meshdata, V, _dirichlet_function(g, V), tags)
        self.linear, self.order = bool(linear), int(degree) + 1
        prefix = petsc_options_prefix or unique_prefix("stationary")
        self._problem: Any
        if self.linear:
            self.options = {**DEFAULT_KSP_OPTIONS, **(petsc_options or {})}
            a, L = _linear_forms(F, self.u)
            self._problem = dolfinx.fem.petsc.LinearProblem(a, L, u=self.u, bcs=self._bcs,
                                                            petsc_options=self.options,
                                                            petsc_options_prefix=prefix)
        else:
            self.options = {**DEFAULT_NEWTON_OPTIONS, **(petsc_options or {})}
            self._problem = dolfinx.fem.petsc.NonlinearProblem(F, self.u, bcs=self._bcs,
                                                               petsc_options=self.options,
                                                               petsc_options_prefix=prefix)

    def solve(self) -> EllipticSolution:
        """Assemble at the coefficients' current values and solve; ``u`` is overwritten.

        Newton (``linear=False``) starts again from ``u = g`` each time, so a solve does not
        depend on the previous one.

        Raises:
            RuntimeError: The KSP or Newton's method did not converge.
        """
        if not self.linear:
            _initial_guess(self.u, self._g, self._bcs)
        self._problem.solve()
        check = _check_ksp if self.linear else _check_snes
        reason, iterations = check(self._problem.solver, self.options)
        return EllipticSolution(self.u, iterations, reason, self.order)


def solve_stationary(
    meshdata: MeshData,
    residual: StationaryResidual,
    *,
    degree: int = 1,
    g: Any = 0.0,
    tags: Any = None,
    linear: bool = True,
    petsc_options: dict[str, Any] | None = None,
    petsc_options_prefix: str | None = None,
) -> EllipticSolution:
    """Solve ``F(u; v) = 0`` for ``u`` in Lagrange P_degree with ``u = g`` on the facets of ``tags``.

    Example, an advection-diffusion problem::

        b = ufl.as_vector((5.0, 2.5))
        sol = solve_stationary(md, lambda u, v: (ufl.inner(ufl.grad(u), ufl.grad(v))
                                                 + ufl.dot(b, ufl.grad(u)) * v - f * v) * ufl.dx)

    Collective.

    Args:
        meshdata: The mesh.
        residual: ``residual(u, v) -> ufl.Form``, the weak residual ``F(u; v)``; ``u`` is a dolfinx
            ``Function`` on the solution space, ``v`` its ``TestFunction``.
        degree: Lagrange degree.
        g: Dirichlet value: number, callable ``x -> values`` or Function.
        tags: Facet tags of the Dirichlet boundary; ``None`` = whole boundary, ``()`` = none (then
            the boundary terms of ``F`` are natural conditions).
        linear: ``F`` is affine in ``u``: solve the linear system ``a = dF/du``, ``L = -F(0; v)`` with
            a KSP (options over :data:`~fem.forward.elliptic.DEFAULT_KSP_OPTIONS`, CG + GAMG, so
            override ``ksp_type`` for non-symmetric problems unless GAMG copes). ``False``: Newton's
            method (PETSc SNES, options over :data:`~fem.forward.parabolic.DEFAULT_NEWTON_OPTIONS`)
            from ``u = g`` if ``g`` is a number, else ``u = 0`` with ``u = g`` at the Dirichlet dofs.
        petsc_options: KSP or SNES options over the defaults.
        petsc_options_prefix: Options prefix (default: a new unique one).

    Returns:
        EllipticSolution; ``iterations`` and ``converged_reason`` are the KSP's (linear) or the
        SNES's (Newton) and ``order = degree + 1``.

    Raises:
        ValueError: ``residual`` does not return a form linear in ``v`` that depends on ``u``, or
            ``linear=True`` and ``F`` is not affine in ``u``; non-finite ``g``.
        RuntimeError: The KSP or Newton's method did not converge.
    """
    return StationarySolver(meshdata, residual, degree=degree, g=g, tags=tags, linear=linear,
                            petsc_options=petsc_options, petsc_options_prefix=petsc_options_prefix).solve()


# ------------------------------------------------------------------------------ transient


def _solve_transient(
    meshdata: MeshData,
    residual: TransientResidual,
    *,
    u0: Any,
    t_end: float,
    n_steps: int,
    degree: int,
    g: Any,
    tags: Any,
    t0: float,
    store_every: int,
    petsc_options: dict[str, Any] | None,
    source: Any = None,
    label: str = "transient",
) -> TimeSeries:
    """:func:`solve_transient`, plus a numpy source and the name used in messages and prefixes.

    Args:
        meshdata: See :func:`solve_transient`.
        residual: See :func:`solve_transient`.
        u0: See :func:`solve_transient`.
        t_end: See :func:`solve_transient`.
        n_steps: See :func:`solve_transient`.
        degree: See :func:`solve_transient`.
        g: See :func:`solve_transient`.
        tags: See :func:`solve_transient`.
        t0: See :func:`solve_transient`.
        store_every: See :func:`solve_transient`.
        petsc_options: See :func:`solve_transient`.
        source: ``None``, or a number or callable ``(x, t) -> values`` interpolated at every step
            time and added as ``-f v dx`` after ``G`` (numpy data that UFL cannot express).
        label: Problem name for error messages and the PETSc options prefix.

    Returns:
        See :func:`solve_transient`.
    """
    s = _Stepper(meshdata, D=None, u0=u0, t_end=t_end, n_steps=n_steps, f=source, g=g, tags=tags,
                 degree=degree, t0=t0, store_every=store_every)
    V = s.V
    v = ufl.TestFunction(V)
    uh: dolfinx.fem.Function[np.float64] = dolfinx.fem.Function(V, name="u")
    t = dolfinx.fem.Constant(V.mesh, s.t0)
    # G need not involve u (u_t = f(x, t) is a fine problem): the time derivative supplies it.
    G = _checked_residual(residual(uh, v, t), uh, v, "residual(u, v, t)", needs_u=False)
    F = s.time_derivative(uh, v) + G
    if source is not None:
        F = F - s.f.function * v * ufl.dx
    options = {**DEFAULT_NEWTON_OPTIONS, **(petsc_options or {})}
    stem = label.lower().replace("-", "_").replace(" ", "_")
    problem = dolfinx.fem.petsc.NonlinearProblem(
        F, uh, bcs=s.bcs, petsc_options_prefix=unique_prefix(stem), petsc_options=options)
    snes = problem.solver
    newton = 0
    for n in range(1, s.n_steps + 1):
        s.set_scheme(_BACKWARD_EULER if n == 1 else _BDF2)
        t.value = s.time(n)  # type: ignore[assignment]  # (the stub wants an array)
        s.f.at(s.time(n))
        s.g.at(s.time(n))
        uh.x.array[:] = s.u_n.x.array  # initial guess: previous step
        problem.solve()
        reason = cast(int, snes.getConvergedReason())
        if reason <= 0:
            raise RuntimeError(f"{label} step {n} (t={s.time(n):g}): Newton did not converge "
                               f"({_reason('SNES', reason)}, {snes.getIterationNumber()} iterations)")
        newton += snes.getIterationNumber()
        s.advance(n, uh)
    return s.result(newton)


def solve_transient(
    meshdata: MeshData,
    residual: TransientResidual,
    *,
    u0: Callable[..., Any] | float,
    t_end: float,
    n_steps: int,
    degree: int = 1,
    g: Callable[..., Any] | float = 0.0,
    tags: Any = None,
    t0: float = 0.0,
    store_every: int = 1,
    petsc_options: dict[str, Any] | None = None,
) -> TimeSeries:
    """Solve ``(u_t, v) + G(u, t; v) = 0`` with BDF2 (first step backward Euler) and Newton per step.

    Each step solves ``(a0 u^{n+1} + a1 u^n + a2 u^{n-1}) / dt, v) + G(u^{n+1}, t^{n+1}; v) = 0``
    with PETSc SNES from the previous step, so ``G`` may be nonlinear in ``u`` (a linear ``G``
    takes one Newton step). Example, the heat equation with a time-dependent UFL source::

        x = ufl.SpatialCoordinate(md.mesh)
        ts = solve_transient(md, lambda u, v, t: (ufl.inner(ufl.grad(u), ufl.grad(v))
                                                  - ufl.exp(-t) * ufl.sin(x[0]) * v) * ufl.dx,
                             u0=0.0, t_end=1.0, n_steps=100)

    Collective.

    Args:
        meshdata: The mesh.
        residual: ``residual(u, v, t) -> ufl.Form``, the form ``G``; ``u`` is the unknown of the new
            step (a dolfinx ``Function``), ``v`` the ``TestFunction`` and ``t`` a dolfinx
            ``Constant`` holding the new step's time ``t^{n+1}``. Called once, before the first step.
        u0: Initial value, callable ``x -> values`` (``x`` of shape ``(3, n)``) or number.
        t_end: Final time.
        n_steps: Number of (uniform) time steps.
        degree: Lagrange degree.
        g: Dirichlet value, number or callable ``(x, t) -> values``, interpolated at every step.
        tags: Facet tags of the Dirichlet boundary; ``None`` = whole boundary, ``()`` = none.
        t0: Initial time.
        store_every: Keep every k-th step (the last step is always kept).
        petsc_options: SNES/KSP options over :data:`~fem.forward.parabolic.DEFAULT_NEWTON_OPTIONS`.

    Returns:
        TimeSeries with ``time_order = 2``, ``space_order = degree + 1`` and the total number of
        Newton iterations.

    Raises:
        ValueError: Bad times or step counts, non-finite data, or ``residual`` does not return a
            form linear in ``v`` that depends on ``u``.
        RuntimeError: Newton did not converge at some step (the message names step, time and the
            SNES reason).
    """
    return _solve_transient(meshdata, residual, u0=u0, t_end=t_end, n_steps=n_steps, degree=degree, g=g,
                            tags=tags, t0=t0, store_every=store_every, petsc_options=petsc_options)
