"""The PINN baseline: the same network without the embedding, θ (or V) trained with W."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, final

import numpy as np
import torch

from .config import CheckpointConfig, PINNConfig
from .likelihood import Likelihood
from .mesh_field import FunctionMesh
from .objectives import fit_term, function_term, regularizer_term, residual_terms
from .problem import AbstractPDE
from .training import Callback, FitResult, Run, adam


@final
class PINN:
    """The PINN method as a strategy object: ``PINN(config).fit(problem, ...)``."""

    def __init__(self, config: PINNConfig | None = None) -> None:
        self.config = config if config is not None else PINNConfig()

    def fit(self, pde: AbstractPDE, x_res: np.ndarray, x_dat: np.ndarray, u_dat: np.ndarray,
            theta_init: Mapping[str, float] | np.ndarray, u_ref: np.ndarray | None = None,
            x_ref: np.ndarray | None = None, *, x_bc: np.ndarray | None = None,
            u_bc: np.ndarray | None = None, x_reg: np.ndarray | None = None,
            device: str | torch.device | None = None,
            dtype: str | torch.dtype | None = None, seed: int = 0, progress: bool = True,
            callback: Callback | None = None, checkpoint: CheckpointConfig | None = None,
            out_dir: Path | str | None = None, comm: Any | None = None,
            pretrained: FitResult | None = None, likelihood: Likelihood | None = None,
            function_mesh: FunctionMesh | None = None,
            exact_data_gradient: Callable[[np.ndarray], np.ndarray] | None = None) -> FitResult:
        """Pre-train at θ0 (θ frozen), then minimise L_res + w_dat·L_dat (+ w_reg·reg) over W and θ.

        Pre-training minimises L_res + w_ref·MSE(u, u_ref) over W (and, for a function unknown,
        + w_func·MSE(f_V, f0) over W and V). Fine-tuning uses one Adam with two parameter groups
        (W: ``lr_W``, θ or V: ``lr_theta``). Given ``x_bc`` and ``u_bc``, both phases add the soft
        Dirichlet loss w_bc·L_bc, L_bc = mean_j (u(x_bc,j) − u_bc,j)² (logged as ``"bc"``), to
        their single loss, and a problem with ``interface_points`` adds w_jump·mean J². With a
        ``likelihood``, L_dat is its NLL / K. The arguments are those of :meth:`hybrid.BiLO.fit`;
        ``exact_data_gradient`` exists only for a uniform call signature and must be None (the
        PINN network does not depend on θ, so it has no upper-level data gradient to check).

        Returns:
            The inferred θ, the history and the trained model.
        """
        if exact_data_gradient is not None:
            raise ValueError("the PINN has no upper-level data gradient; exact_data_gradient must be None")
        cfg = self.config
        run = Run(pde, x_res, x_dat, u_dat, theta_init, u_ref, x_ref, embed=False, network=cfg.network,
                  function_network=cfg.function_network, log_every=cfg.log_every,
                  derivatives=cfg.derivatives, device=device,
                  dtype=dtype, seed=seed, progress=progress, callback=callback, checkpoint=checkpoint,
                  out_dir=out_dir, comm=comm, pretrained=pretrained, x_bc=x_bc, u_bc=u_bc,
                  x_reg=x_reg, config=cfg, likelihood=likelihood, function_mesh=function_mesh)
        self._pretrain(run)
        self._finetune(run)
        return run.finish()

    def _pretrain(self, run: Run) -> None:
        pc, w_bc, model, d = self.config.pretrain, self.config.w_bc, run.model, run.data
        V = model.unknowns() if model.is_function else []
        params = model.weights() + V
        opt = adam([{"params": params, "lr": pc.lr}], amsgrad=pc.amsgrad)

        w_jump = self.config.w_jump

        def step(k: int) -> dict[str, float]:
            losses = residual_terms(model, *run.residual_points("pretrain", k), with_rgrad=False)
            loss = losses["res"] + _interface(run, losses, w_jump)
            if d.x_ref is not None and d.u_ref is not None:
                losses["ref"] = fit_term(model, d.x_ref, d.u_ref, run.n_ref)
                loss = loss + pc.w_ref * losses["ref"]
            if d.x_bc is not None and d.u_bc is not None:
                losses["bc"] = fit_term(model, d.x_bc, d.u_bc, run.n_bc)
                loss = loss + w_bc * losses["bc"]
            if V:
                assert d.f0 is not None
                losses["func"] = function_term(model, d.x_res, d.f0, run.n_res)
                loss = loss + pc.w_func * losses["func"]
            vals, _ = run.update([(params, loss, opt)], losses, phase="pretrain", step=k)
            return vals

        run.run_phase("pretrain", pc.steps, 0, [opt], step)

    def _finetune(self, run: Run) -> None:
        fc, w_bc, model, d = self.config.finetune, self.config.w_bc, run.model, run.data
        W, T = model.weights(), run.upper_parameters()
        opt = adam([{"params": W, "lr": fc.lr_W}, {"params": T, "lr": fc.lr_theta}], amsgrad=fc.amsgrad)

        w_jump = self.config.w_jump

        def step(k: int) -> dict[str, float]:
            losses = residual_terms(model, *run.residual_points("finetune", k), with_rgrad=False)
            losses["data"] = run.data_term()
            loss = losses["res"] + _interface(run, losses, w_jump) + fc.w_dat * losses["data"]
            if d.x_bc is not None and d.u_bc is not None:
                losses["bc"] = fit_term(model, d.x_bc, d.u_bc, run.n_bc)
                loss = loss + w_bc * losses["bc"]
            reg = regularizer_term(model, *run.regularizer_points(), fc.regularizer)
            if reg is not None:
                losses["reg"] = reg
                loss = loss + fc.regularizer.weight * reg
            vals, _ = run.update([(W + T, loss, opt)], losses, phase="finetune", step=k)
            return vals

        run.run_phase("finetune", fc.steps, self.config.pretrain.steps, [opt], step)


def _interface(run: Run, losses: dict[str, torch.Tensor], w_jump: float) -> torch.Tensor | float:
    """Add the interface loss (jump) to ``losses``; its weighted value."""
    terms = run.interface_losses(with_jgrad=False)
    losses.update(terms)
    return w_jump * terms["jump"] if terms else 0.0
