"""The classical baseline: the problem's own adjoint, optimised by TAO (BLMVM) or gradient descent."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Literal, final

import numpy as np

import adjoint
from inverse.adjoint_bridge import AdjointConfig, coefficient_at, reduced_functional, state_at
from inverse.method import AbstractMethod, Cost, InverseData, InverseResult, RunOptions, Timer, non_negative
from inverse.problem import AbstractInverseProblem, Field


@final
@dataclass(frozen=True, kw_only=True)
class Adjoint(AbstractMethod):
    """Minimise J(m) = misfit + w_reg·R over the field's coefficient with exact adjoint gradients.

    Attributes:
        config: The adjoint settings of the comparison.
        optimizer: ``"tao"`` (bound-constrained L-BFGS) or ``"gd"`` (fixed-step gradient descent).
        w_reg: Regularisation weight (None: ``config.w_reg``).
    """

    name: ClassVar[str] = "adjoint"
    config_key: ClassVar[str] = "adjoint"
    config: AdjointConfig = field(default_factory=AdjointConfig)
    optimizer: Literal["tao", "gd"] = "tao"
    w_reg: float | None = None

    def __post_init__(self) -> None:
        non_negative(self.name, w_reg=self.w_reg)
        if self.optimizer not in ("tao", "gd"):
            raise ValueError(f"adjoint: optimizer must be 'tao' or 'gd', got {self.optimizer!r}")

    def refuse(self, problem: AbstractInverseProblem) -> str | None:
        """The adjoint handles stationary problems with a field unknown (for now)."""
        if problem.time is not None:
            return "the adjoint supports stationary problems only (this one is transient)"
        if not isinstance(problem.unknowns, Field):
            return "the adjoint supports a field unknown only (this problem has scalar unknowns)"
        return None

    def run(self, problem: AbstractInverseProblem, data: InverseData, options: RunOptions) -> InverseResult:
        """Assemble J from the problem's weak residual, optimise, report the coefficient and state."""
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
            opt = adjoint.minimize_tao(
                rf,
                m0,
                adjoint.TaoConfig(
                    max_iter=cfg.max_iter,
                    gatol=cfg.gatol,
                    grtol=0.0,
                    gttol=cfg.gttol,
                    lower=bounds[0],
                    upper=bounds[1],
                ),
            )
        wall = clock()
        return InverseResult(
            method=self.label,
            theta={},
            field=coefficient_at(rf, opt.m),
            u=state_at(rf, opt.m),
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
