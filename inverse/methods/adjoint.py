"""The classical baseline: the problem's own adjoint, optimised by TAO or gradient descent.

Stationary problems with a field unknown use :class:`adjoint.ReducedFunctional`; transient
problems with named scalars or an unknown initial condition use
:class:`adjoint.TransientReducedFunctional`, the discrete adjoint of the same BDF stepping as the
problem's FEM reference.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, final

import numpy as np

import adjoint
import fem
from hybrid import Likelihood, SegmentationLikelihood
from hybrid.training import DivergenceError
from inverse.adjoint_bridge import (
    AdjointConfig,
    coefficient_at,
    initial_condition_functional,
    reduced_functional,
    segmentation_functional,
    state_at,
    transient_functional,
)
from inverse.method import AbstractMethod, Cost, InverseData, InverseResult, RunOptions, Timer, non_negative
from inverse.problem import AbstractInverseProblem
from inverse.unknowns import Field, FieldFunction, Scalars


@final
@dataclass(frozen=True, kw_only=True)
class Adjoint(AbstractMethod):
    """Minimise J(m) = misfit + w_reg·R over the field's coefficient with exact adjoint gradients.

    Attributes:
        config: The adjoint settings of the comparison.
        optimizer: ``"tao"`` (TAO BLMVM, bound-constrained L-BFGS), ``"bnls"`` (TAO's bounded Newton
            line search on Hessian-vector products, central differences of two adjoint
            derivatives each) or
            ``"gd"`` (fixed-step gradient descent).
        w_reg: Regularisation weight (None: ``config.w_reg``).
    """

    name: ClassVar[str] = "adjoint"
    config_key: ClassVar[str] = "adjoint"
    # segmentation masks, with their thresholds as further controls
    likelihoods: ClassVar[tuple[type[Likelihood], ...]] = (SegmentationLikelihood,)
    config: AdjointConfig = field(default_factory=AdjointConfig)
    optimizer: Literal["tao", "bnls", "gd"] = "tao"
    w_reg: float | None = None

    def __post_init__(self) -> None:
        non_negative(self.name, w_reg=self.w_reg)
        if self.optimizer not in ("tao", "bnls", "gd"):
            raise ValueError(f"adjoint: optimizer must be 'tao', 'bnls' or 'gd', got {self.optimizer!r}")

    def refuse(self, problem: AbstractInverseProblem) -> str | None:
        """The adjoint handles stationary field and transient scalar unknowns."""
        scalars = isinstance(problem.unknowns, Scalars)
        if not problem.weak_form:
            return f"{problem.name} has no weak form for the adjoint (its reference is its own solver)"
        if problem.time is not None and not scalars and not problem.unknown_initial_condition():
            return "the transient adjoint supports scalar unknowns and initial conditions, not a coefficient"
        if problem.time is None and scalars:
            return "the stationary adjoint supports a field unknown only (this problem has scalar unknowns)"
        if scalars and self.w_reg:
            return "w_reg applies to a field unknown only"
        if problem.unknown_initial_condition() and self.optimizer == "gd":
            return "gradient descent has no step rule for an initial condition; use optimizer 'tao' or 'bnls'"
        if scalars and self.optimizer == "gd":
            return "gradient descent has no step rule for scalar unknowns; use optimizer 'tao' or 'bnls'"
        return None

    def _tao(self, lower: float | None = None, upper: float | None = None) -> adjoint.TaoConfig:
        cfg = self.config
        return adjoint.TaoConfig(tao_type="bnls" if self.optimizer == "bnls" else "blmvm",
                                 max_iter=cfg.max_iter, gatol=cfg.gatol, grtol=0.0, gttol=cfg.gttol,
                                 lower=lower, upper=upper)

    def run(self, problem: AbstractInverseProblem, data: InverseData, options: RunOptions) -> InverseResult:
        """Assemble J from the problem's weak residual, optimise, report the estimate and state."""
        if isinstance(problem.unknowns, Scalars):
            return self._run_scalars(problem, data)
        if problem.unknown_initial_condition():
            return self._run_initial_condition(problem, data)
        cfg, f = self.config, problem.unknowns
        assert isinstance(f, Field)
        w_reg = cfg.w_reg if self.w_reg is None else self.w_reg
        rf = reduced_functional(problem, data.disc, data.u_obs, cfg=cfg, w_reg=w_reg)
        init = problem.theta_init()
        assert callable(init)
        gdim = rf.mesh.geometry.dim
        lo_hi = f.bounds if f.adjoint_map == "sigmoid" else None

        def a0(x: np.ndarray) -> np.ndarray:
            values = np.asarray(init(np.ascontiguousarray(x[:gdim].T)), dtype=np.float64)
            # a sigmoid map is not onto [lo, hi]: start from the clipped initial guess
            return values if lo_hi is None else np.clip(values, lo_hi[0] + 1e-3, lo_hi[1] - 1e-3)

        m0 = rf.parameter_from_coefficient(a0)
        clock = Timer()
        if self.optimizer == "gd":
            # the step's stability limit uses h = 1/cells (a uniform mesh of the unit interval)
            tdim = rf.mesh.topology.dim
            cells = cfg.cells if cfg.cells is not None else rf.mesh.topology.index_map(tdim).size_global
            opt = adjoint.gradient_descent(
                rf,
                m0,
                adjoint.GradientDescentConfig(
                    step=cfg.gd_step(w_reg, cells), max_iter=cfg.gd_max_iter, gtol=cfg.gd_gtol
                ),
            )
        else:
            bounds = f.bounds if f.adjoint_map == "identity" and f.bounds is not None else (None, None)
            opt = minimize(rf, m0, self._tao(bounds[0], bounds[1]))
        wall = clock()
        return self._result(opt, wall, theta={}, field=coefficient_at(rf, opt.m), u=state_at(rf, opt.m))

    def _run_scalars(self, problem: AbstractInverseProblem, data: InverseData) -> InverseResult:
        """TAO on the named scalars of a transient problem; u is the FEM at the estimate.

        With segmentation masks as data, the controls are the strong form's scalars and the
        masks' thresholds together (:func:`inverse.adjoint_bridge.segmentation_functional`).
        """
        unknowns = problem.unknowns
        assert isinstance(unknowns, Scalars)
        rf: adjoint.TransientReducedFunctional | adjoint.ObservedLossFunctional
        if isinstance(problem.likelihood(), SegmentationLikelihood):
            rf = segmentation_functional(problem, data.disc, data.u_obs, cfg=self.config)
            order = [unknowns.names.index(n) for n in rf.names]  # θ first, then the thresholds
            unknowns = Scalars(names=rf.names, truth=tuple(unknowns.truth[i] for i in order),
                               init=tuple(unknowns.init[i] for i in order),
                               lower=tuple(unknowns.lower[i] for i in order) if unknowns.lower else ())
        else:
            rf = transient_functional(problem, data.disc, data.u_obs, cfg=self.config)
        root = rf.comm.rank == 0
        init = np.asarray(unknowns.init if root else (), dtype=np.float64)
        # Scalars' lower bounds are strict (rD > 0): TAO's are closed, so keep off them
        lower = np.array([-np.inf if lo is None else lo + 1e-8 * max(1.0, abs(lo)) for lo in unknowns.lower]
                         or [-np.inf] * len(unknowns.names))
        clock = Timer()
        opt = minimize(rf, init, self._tao(), bounds=(lower[: rf.n_local], None))
        wall = clock()
        theta = rf.scalars(opt.m)
        result = self._result(opt, wall, theta=theta, field=None, u=None)
        for row, t, m in zip(result.history, opt.time_history, opt.m_history, strict=False):
            row["time"] = t
            row.update({f"theta_{k}": v for k, v in rf.scalars(m).items()})
        return result

    def _run_initial_condition(self, problem: AbstractInverseProblem, data: InverseData) -> InverseResult:
        """TAO (BLMVM, or the Newton line search) on the dofs of u⁰; u is the FEM at the estimate."""
        cfg = self.config
        w_reg = cfg.w_reg if self.w_reg is None else self.w_reg
        rf = initial_condition_functional(problem, data.disc, data.u_obs, cfg=cfg, w_reg=w_reg)
        init = problem.theta_init()
        assert callable(init)
        gdim = rf.mesh.geometry.dim
        m0 = rf.initial_from(lambda x: np.asarray(init(np.ascontiguousarray(x[:gdim].T)), dtype=np.float64))
        clock = Timer()
        opt = minimize(rf, m0, self._tao())
        wall = clock()
        u0 = rf.initial_function(opt.m)
        evaluate = fem.PointEvaluator  # the estimate as a function of points (collective when called)
        return self._result(opt, wall, theta={}, field=lambda x: evaluate(u0.function_space, x).evaluate(u0),
                            u=None)

    def _result(self, opt: adjoint.OptimizationResult, wall: float, *, theta: dict[str, float],
                field: FieldFunction | None, u: Callable[[np.ndarray], np.ndarray] | None) -> InverseResult:
        return InverseResult(
            method=self.label,
            theta=theta,
            field=field,
            u=u,
            u_is_network=False,
            cost=Cost(
                wall_s=wall,
                steps=opt.iterations,
                s_per_step=wall / max(opt.iterations, 1),
                n_forward=opt.n_forward,
                n_adjoint=opt.n_adjoint,
            ),
            history=[{"step": k, "J": J} for k, J in enumerate(opt.J_history)],
            diagnostics={
                "n_forward": float(opt.n_forward),
                "n_adjoint": float(opt.n_adjoint),
                "converged": float(opt.converged),
            },
            notes=(opt.reason,),
        )


def minimize(rf: adjoint.AbstractReducedFunctional, m0: Any, config: adjoint.TaoConfig,
             **kwargs: Any) -> adjoint.OptimizationResult:
    """:func:`adjoint.minimize_tao`, with a failed forward solve at a trial point as a one-line error.

    TAO wraps an exception of its callbacks in a ``PETSc.Error``; a forward solve that failed at
    a point its line search tried (e.g. Newton at too large a rate over too long a time step)
    is reported as a :class:`hybrid.DivergenceError` naming that solve.

    Raises:
        hybrid.DivergenceError: the state equation could not be solved at a trial point.
    """
    from petsc4py import PETSc  # after ``adjoint`` has loaded MPI and PETSc

    try:
        return adjoint.minimize_tao(rf, m0, config, **kwargs)
    except PETSc.Error as exc:
        cause = exc.__cause__
        if isinstance(cause, RuntimeError) and "did not converge" in str(cause):
            raise DivergenceError(f"adjoint (TAO): a trial point's forward solve failed: {cause}") from exc
        raise
