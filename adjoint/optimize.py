"""Optimisers for the reduced functional: plain gradient descent and PETSc TAO (bound-constrained L-BFGS).

Both take a :class:`~adjoint.gradient.ReducedFunctional`, an initial parameter
(owned values) and a frozen config, and return an :class:`OptimizationResult`
with the solve counts spent by that run.
"""

from __future__ import annotations

from fem import _loader as _loader  # noqa: F401  (loads MPI before dolfinx/petsc4py)

# isort: split

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

import numpy as np
from petsc4py import PETSc

from adjoint.gradient import CoefficientError, Parameter, _set_options, converged_reason
from adjoint.reduced import AbstractReducedFunctional

NEWTON_TYPES = ("bnls", "bntr", "bntl", "nls", "ntr", "ntl")
"""TAO's Newton-type methods: they get Hessian-vector products from differences of the adjoint gradient."""

SMALL_PARAMETER = 64
"""Parameters with at most this many values in all keep their iterates in the result."""


@dataclass(frozen=True, kw_only=True)
class OptimizationResult:
    """Outcome of one optimisation run.

    Attributes:
        m: this rank's owned values of the optimal parameter.
        coefficient: this rank's owned values of a = g(m).
        J_history: J at the initial point and after every iteration.
        gradient_norm_history: the gradient norm used for the stopping test, per entry of
            ``J_history`` (‖g‖_M for gradient descent along the L² gradient; TAO's
            projected Euclidean norm of the derivative for TAO).
        n_forward: forward solves spent by this run.
        n_adjoint: adjoint solves spent by this run.
        iterations: optimiser iterations.
        converged: whether a convergence test (not an iteration limit) stopped the run.
        reason: why the run stopped.
        wall_time: seconds.
        method: ``"gradient_descent"`` or ``"tao_<type>"``.
        time_history: seconds since the start at each entry of ``J_history`` (TAO).
        m_history: this rank's owned values of m at each entry of ``J_history``, kept only when
            the parameter has at most ``SMALL_PARAMETER`` values in all (e.g. named scalars).
    """

    m: np.ndarray
    coefficient: np.ndarray
    J_history: tuple[float, ...]
    gradient_norm_history: tuple[float, ...]
    n_forward: int
    n_adjoint: int
    iterations: int
    converged: bool
    reason: str
    wall_time: float
    method: str
    time_history: tuple[float, ...] = ()
    m_history: tuple[np.ndarray, ...] = ()

    @property
    def J(self) -> float:
        """The final objective value."""
        return self.J_history[-1]


@dataclass(frozen=True, kw_only=True)
class GradientDescentConfig:
    """Plain gradient descent m ← m − step·g with a fixed step (the paper's adjoint baseline).

    Args:
        step: the fixed step size.
        max_iter: the iteration limit.
        gtol: stop when the gradient norm is below ``gtol``.
        grtol: or below ``grtol`` times the initial gradient norm.
        direction: ``"gradient"`` steps along the L² gradient M⁻¹dJ (mesh independent,
            norm ‖g‖_M); ``"derivative"`` along the Euclidean derivative dJ (norm ‖dJ‖₂), as
            in the paper's nodal formula dJ/dD_k.
    """

    step: float
    max_iter: int = 1000
    gtol: float = 1e-8
    grtol: float = 0.0
    direction: Literal["gradient", "derivative"] = "gradient"

    def __post_init__(self) -> None:
        if not (np.isfinite(self.step) and self.step > 0):
            raise ValueError(f"GradientDescentConfig.step must be > 0, got {self.step}")
        if self.max_iter < 0:
            raise ValueError(f"GradientDescentConfig.max_iter must be >= 0, got {self.max_iter}")
        if self.direction not in ("gradient", "derivative"):
            raise ValueError(f"direction must be 'gradient' or 'derivative', got {self.direction!r}")


def gradient_descent(
    rf: AbstractReducedFunctional, m0: Parameter, config: GradientDescentConfig
) -> OptimizationResult:
    """Minimise J by fixed-step gradient descent; one forward and one adjoint solve per iteration.

    Fixed parameter dofs have zero gradient and keep their initial values. The step must
    be below 2/L for the Lipschitz constant L of the gradient, which grows like w/h² for an
    H1 weight w on a mesh of size h (the L² gradient of the H1 term is −w∆a); a step that
    drives a(m) to ≤ 0 ends the run with reason ``"invalid_coefficient"`` and the last
    valid iterate.

    Args:
        rf: the reduced functional.
        m0: the initial parameter (not modified).
        config: step, limits and direction.

    Returns:
        The result; ``converged`` is True when the gradient-norm test stopped the run.
    """
    start = time.perf_counter()
    n_fwd0, n_adj0 = rf.n_forward, rf.n_adjoint
    m = rf.as_array(m0)
    m_prev = m
    J_hist: list[float] = []
    g_hist: list[float] = []
    converged, reason = False, "max_iter"
    iterations = 0
    while True:
        try:
            value = rf.J(m)
        except CoefficientError:
            if not J_hist:  # the initial guess itself is invalid
                raise
            # the fixed step overshot into a ≤ 0: stop, keep the last valid iterate
            m, iterations, reason = m_prev, iterations - 1, "invalid_coefficient"
            break
        J_hist.append(value)
        dJ = rf.derivative(m)
        g = rf.riesz(dJ) if config.direction == "gradient" else dJ
        g_norm = float(np.sqrt(max(rf.inner(dJ, g), 0.0)))
        g_hist.append(g_norm)
        if g_norm < config.gtol or g_norm < config.grtol * g_hist[0]:
            converged, reason = True, "gradient_norm"
            break
        if not np.isfinite(J_hist[-1]):
            reason = "non_finite"
            break
        if iterations == config.max_iter:
            break
        m_prev, m = m, m - config.step * g.array_r
        iterations += 1
    return OptimizationResult(
        m=m, coefficient=rf.coefficient(m), J_history=tuple(J_hist), gradient_norm_history=tuple(g_hist),
        n_forward=rf.n_forward - n_fwd0, n_adjoint=rf.n_adjoint - n_adj0, iterations=iterations,
        converged=converged, reason=reason, wall_time=time.perf_counter() - start,
        method=f"gradient_descent_{config.direction}")


@dataclass(frozen=True, kw_only=True)
class TaoConfig:
    """PETSc TAO settings; bound-constrained L-BFGS (BLMVM) by default.

    Args:
        tao_type: a TAO type, e.g. ``"blmvm"``, ``"bqnls"``, ``"lmvm"``, ``"bncg"``, or a
            Newton type (``"bnls"``, ``"bntr"``) on finite-difference Hessian-vector products.
        max_iter: the iteration limit.
        gatol: absolute tolerance on the (projected) Euclidean norm of dJ.
        grtol: tolerance on ‖dJ‖/|J| (0 disables it: with noise-free data J → 0).
        gttol: tolerance on ‖dJ‖/‖dJ₀‖ (the default stopping test: a 10⁶ reduction; tighter
            values can end in a line-search failure at round-off level).
        lower: lower bound on m (on the coefficient a when the map is the identity);
            ``None`` for none.
        upper: upper bound on m; ``None`` for none.
        options: further TAO options without the prefix (e.g. ``{"tao_monitor": ""}``);
            the options database (command line) wins over them.
        options_prefix: the TAO options prefix.
        hessian_step: relative step of the Hessian-vector products of the Newton types
            (``"bnls"``, ``"bntr"``, …): central differences of two adjoint derivatives.
    """

    tao_type: str = "blmvm"
    max_iter: int = 200
    gatol: float = 1e-10
    grtol: float = 0.0
    gttol: float = 1e-6
    lower: float | None = None
    upper: float | None = None
    options: Mapping[str, str | int | float | bool] = field(default_factory=lambda: MappingProxyType({}))
    options_prefix: str = "adjoint_tao_"
    hessian_step: float = 1e-5

    def __post_init__(self) -> None:
        if self.lower is not None and self.upper is not None and not self.lower <= self.upper:
            raise ValueError(f"TaoConfig bounds need lower <= upper, got [{self.lower}, {self.upper}]")
        if self.max_iter < 0:
            raise ValueError(f"TaoConfig.max_iter must be >= 0, got {self.max_iter}")


class _FiniteDifferenceHessian:
    """H·x ≈ (dJ(m + εx) − dJ(m − εx)) / 2ε: a Hessian-vector product from two adjoint derivatives.

    A PETSc Python matrix context; TAO sets m through :meth:`update` before each Newton step.
    The error is O(ε²) on top of the adjoint's (exact) derivative; ε = step·max(1, ‖m‖)/‖x‖.
    """

    def __init__(self, rf: AbstractReducedFunctional, step: float) -> None:
        self.rf, self.step = rf, step
        self.m: np.ndarray = np.zeros(rf.n_local)
        self.diagonal_shift = 0.0

    def update(self, tao: PETSc.TAO, x: PETSc.Vec, H: PETSc.Mat, P: PETSc.Mat) -> None:
        """Record the point of the Hessian (a new point drops the Newton perturbation)."""
        self.m = x.array_r.copy()
        self.diagonal_shift = 0.0

    def shift(self, mat: PETSc.Mat, alpha: float) -> None:
        """H ← H + αI: TAO's perturbation of an indefinite Hessian."""
        self.diagonal_shift += float(alpha)

    def mult(self, mat: PETSc.Mat, x: PETSc.Vec, y: PETSc.Vec) -> None:
        """y = H x."""
        rf = self.rf
        x_norm = np.sqrt(rf.inner(x, x))
        if x_norm == 0.0:
            y.set(0.0)
            return
        shift = self.diagonal_shift * x.array_r
        eps = self.step * max(1.0, float(np.sqrt(rf.inner(self.m, self.m)))) / x_norm
        plus = rf.derivative(self.m + eps * x.array_r).array_r.copy()
        minus = rf.derivative(self.m - eps * x.array_r).array_r
        y.array_w[:] = (plus - minus) / (2 * eps) + shift


def minimize_tao(
    rf: AbstractReducedFunctional,
    m0: Parameter,
    config: TaoConfig | None = None,
    *,
    bounds: tuple[np.ndarray | None, np.ndarray | None] | None = None,
) -> OptimizationResult:
    """Minimise J with PETSc TAO, using J and the adjoint derivative dJ (Euclidean inner product).

    Fixed parameter dofs get equal lower and upper bounds (their initial values). The
    initial point is clipped into the bounds. With the identity map give a positive
    ``lower`` bound: a line-search trial with a ≤ 0 raises (``ValueError`` inside a PETSc
    error); with :class:`~adjoint.maps.SigmoidMap` or :class:`~adjoint.maps.ExpMap` no bounds
    are needed.

    Args:
        rf: the reduced functional.
        m0: the initial parameter (not modified).
        config: TAO settings; defaults to BLMVM without bounds.
        bounds: per-entry (lower, upper) bounds, arrays of this rank's owned values (None:
            ``config.lower`` / ``config.upper``), e.g. different bounds for named scalars.

    Returns:
        The result; ``reason`` is the name of TAO's converged reason.
    """
    config = config if config is not None else TaoConfig()
    start = time.perf_counter()
    n_fwd0, n_adj0 = rf.n_forward, rf.n_adjoint
    comm = rf.comm
    m_init = rf.as_array(m0)
    sizes = (rf.n_local, rf.global_size())
    x = PETSc.Vec().createMPI(sizes, comm=comm)
    lb, ub, grad = x.duplicate(), x.duplicate(), x.duplicate()
    lb.array_w[:] = -PETSc.INFINITY if config.lower is None else config.lower
    ub.array_w[:] = PETSc.INFINITY if config.upper is None else config.upper
    for vec, values in zip((lb, ub), bounds or (None, None), strict=True):
        if values is not None:
            vec.array_w[:] = np.where(np.isfinite(values), values, vec.array_r)
    lb.array_w[rf.fixed_dofs] = m_init[rf.fixed_dofs]
    ub.array_w[rf.fixed_dofs] = m_init[rf.fixed_dofs]
    x.array_w[:] = np.clip(m_init, lb.array_r, ub.array_r)

    def objective_gradient(tao: PETSc.TAO, xk: PETSc.Vec, gk: PETSc.Vec) -> float:
        value = rf.J(xk)
        gk.array_w[:] = rf.derivative(xk).array_r
        return value

    J_hist: list[float] = []
    g_hist: list[float] = []
    t_hist: list[float] = []
    m_hist: list[np.ndarray] = []
    keep_m = rf.global_size() <= SMALL_PARAMETER

    def monitor(tao: PETSc.TAO) -> None:
        f, g_norm, _ = tao.getSolutionNorm()
        J_hist.append(float(f))
        g_hist.append(float(g_norm))
        t_hist.append(time.perf_counter() - start)
        if keep_m:
            m_hist.append(tao.getSolution().array_r.copy())

    tao = PETSc.TAO().create(comm)
    tao.setType(config.tao_type)
    tao.setObjectiveGradient(objective_gradient, grad)
    tao.setObjective(lambda tao, xk: rf.J(xk))  # Newton and trust-region types ask for J alone
    tao.setVariableBounds((lb, ub))
    tao.setTolerances(gatol=config.gatol, grtol=config.grtol, gttol=config.gttol)
    tao.setMaximumIterations(config.max_iter)
    tao.setMonitor(monitor)
    if config.tao_type in NEWTON_TYPES:
        hessian = _FiniteDifferenceHessian(rf, config.hessian_step)
        H = PETSc.Mat().createPython((sizes, sizes), context=hessian, comm=comm)
        H.setUp()
        tao.setHessian(hessian.update, H)
    _set_options(tao, config.options_prefix, config.options)
    tao.setSolution(x)
    tao.solve(x)
    code = converged_reason(tao)
    names = {getattr(PETSc.TAO.ConvergedReason, k): k for k in dir(PETSc.TAO.ConvergedReason)
             if not k.startswith("_")}
    m = x.array_r.copy()
    result = OptimizationResult(
        m=m, coefficient=rf.coefficient(m), J_history=tuple(J_hist), gradient_norm_history=tuple(g_hist),
        n_forward=rf.n_forward - n_fwd0, n_adjoint=rf.n_adjoint - n_adj0,
        iterations=int(tao.getIterationNumber()), converged=code > 0,
        reason=names.get(code, str(code)), wall_time=time.perf_counter() - start,
        method=f"tao_{config.tao_type}", time_history=tuple(t_hist), m_history=tuple(m_hist))
    tao.destroy()
    for v in (x, lb, ub, grad):
        v.destroy()
    return result
