"""BiLO: pre-training of the local operator at θ0, then simultaneous bilevel fine-tuning.

Reference: Zhang, Lowengrub et al., "BiLO: Bilevel Local Operator Learning for PDE inverse
problems", Part I.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, final

import numpy as np
import torch
from torch import Tensor

from .config import BiLOConfig, CheckpointConfig
from .distributed import DataParallel
from .likelihood import Likelihood
from .local_operator import HybridModel
from .mesh_field import FunctionMesh
from .objectives import fit_term, function_term, regularizer_term, residual_terms
from .problem import AbstractPDE
from .training import Callback, FitResult, Group, Run, adam

ExactGradient = Callable[[np.ndarray], np.ndarray]


@final
@dataclass(frozen=True)
class FunctionGradient:
    """The exact data-loss gradient for a function unknown, given through the function's values.

    BiLO turns it into a gradient with respect to V by the chain rule,
    ∇_V L = Σ_i (dL/df_i) ∇_V f_V(x_i), and compares that with its own upper-level data gradient.

    Attributes:
        x: This rank's points (N, k) of the function's coordinates (``field_dims()``) at which
            the exact derivative is known (e.g. the owned nodes of a P1 coefficient space).
        derivative: ``f -> dL/df``: given f_V at ``x`` (N,), the derivative (N,) of the same data
            loss L_dat = mean_j (u(x_j) − d_j)² with u the exact PDE solution at the coefficient
            those values define (for a P1 coefficient: the adjoint's dual vector). Called on
            every rank at once (it may be collective).
    """

    x: np.ndarray
    derivative: Callable[[np.ndarray], np.ndarray]


def gradient_agreement(g: np.ndarray, g_exact: np.ndarray) -> tuple[float, float]:
    """Cosine similarity and relative error ‖g − g_exact‖ / ‖g_exact‖ of two gradients."""
    g, e = np.asarray(g, dtype=np.float64).ravel(), np.asarray(g_exact, dtype=np.float64).ravel()
    if g.shape != e.shape:
        raise ValueError(f"exact_data_gradient returned shape {e.shape}, expected {g.shape}")
    ne = float(np.linalg.norm(e))
    cos = float(g @ e / (np.linalg.norm(g) * ne)) if ne > 0 and np.linalg.norm(g) > 0 else float("nan")
    rel = float(np.linalg.norm(g - e) / ne) if ne > 0 else float("nan")
    return cos, rel


@final
class BiLO:
    """The BiLO method as a strategy object: ``BiLO(config).fit(problem, ...)``."""

    def __init__(self, config: BiLOConfig | None = None) -> None:
        self.config = config if config is not None else BiLOConfig()

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
            exact_data_gradient: ExactGradient | FunctionGradient | None = None) -> FitResult:
        """Pre-train at θ0, then fine-tune W and θ (or V) simultaneously.

        Pre-training (θ frozen at θ0): W minimises L_res + w_rgrad·L_rgrad + w_ref·MSE(u, u_ref)
        (+ w_bc·L_bc); for a function unknown V minimises w_func·MSE(f_V, f0) at the residual points.
        Fine-tuning, every iteration: one Adam step of W on L_res + w_rgrad·L_rgrad (+ w_bc·L_bc)
        and one of θ (or V) on L_dat (+ w_reg·reg), each with the gradient of its own loss only.
        The boundary loss L_bc = mean_j (u(x_bc,j) − u_bc,j)² is a soft Dirichlet condition, for
        problems whose ``output_transform`` does not impose the boundary data; it belongs to the
        lower level (u must satisfy the PDE *and* its boundary condition at every θ), so it never
        enters θ's (or V's) gradient.

        Args:
            pde: The problem.
            x_res: Residual (collocation) points (N_res, d).
            x_dat: Observation points (N_dat, d).
            u_dat: Observations (N_dat,).
            theta_init: θ0 as name -> value; for a function unknown, f0 at ``x_res`` (N_res,).
            u_ref: Reference solution at θ0 (e.g. the FEM solution) for pre-training, or None.
            x_ref: Points of ``u_ref`` (default ``x_res``).
            x_bc: Boundary points (N_bc, d) of a soft Dirichlet condition, or None (the output
                transform imposes the boundary data, or there is none). Under ``comm``, each rank
                passes its own share, possibly empty (0, d); at least one point over all ranks.
            u_bc: Dirichlet values at ``x_bc`` (N_bc,); given exactly when ``x_bc`` is. L_bc is
                logged as ``"bc"`` and weighted by ``config.w_bc``.
            x_reg: Points (N_reg, k) of the function's own coordinates (``field_dims()``) where
                its regulariser is evaluated, e.g. a finer grid than the residual points, so
                that a steep f_V cannot hide between them. None: the residual points.
            device: Torch device (default CUDA if available, else CPU).
            dtype: ``"float32"`` (default) or ``"float64"``.
            seed: Seeds torch and numpy before the networks are initialised.
            progress: Show a tqdm bar with losses and θ.
            callback: Called with every step's row (dict) after the update; may raise to stop.
            checkpoint: Periodic checkpoints and resume.
            out_dir: If given, ``history.csv`` and ``history.json`` are written there.
            comm: An mpi4py communicator for data parallelism: each rank passes its own points.
            pretrained: A finished fit of the same method, config and problem: start fine-tuning
                from its weights (θ reset to ``theta_init``) and skip pre-training, so one
                pre-training can serve several fine-tuning runs (noise levels, seeds of the data).
            likelihood: The data are the particles ``x_dat`` of a Poisson point process of
                intensity u (``u_dat`` is ignored): the upper level minimises its NLL / K
                instead of the MSE. Or a :class:`SegmentationLikelihood`: ``u_dat`` are mask
                labels, and the upper level trains the thresholds with θ (never embedded).
            exact_data_gradient: ``g(theta) -> dL_dat/dθ`` (scalar unknowns), called every
                ``finetune.fidelity_every`` steps on every rank. It must differentiate the same
                functional L_dat(θ) = mean_j (u(x_j; θ) − u_dat,j)² (a plain mean, no ½) with u the
                exact PDE solution; the history then records ``fidelity_cos`` and ``fidelity_rel``
                against BiLO's upper-level gradient at the same θ. For a function unknown pass a
                :class:`FunctionGradient`; the comparison is then of the data-loss gradients with
                respect to V, and ``fidelity_norm_ratio`` (‖BiLO's‖ / ‖exact‖) is recorded too.
            function_mesh: The mesh and initial values of a ``"p1"`` function unknown
                (``config.function_network.kind``); the same on every rank.

        Returns:
            The inferred θ, the history and the trained model.
        """
        cfg = self.config
        run = Run(pde, x_res, x_dat, u_dat, theta_init, u_ref, x_ref, embed=True, network=cfg.network,
                  function_network=cfg.function_network, log_every=cfg.log_every,
                  derivatives=cfg.derivatives, device=device,
                  dtype=dtype, seed=seed, progress=progress, callback=callback, checkpoint=checkpoint,
                  out_dir=out_dir, comm=comm, pretrained=pretrained, x_bc=x_bc, u_bc=u_bc,
                  x_reg=x_reg, config=cfg, likelihood=likelihood, function_mesh=function_mesh)
        if exact_data_gradient is not None and run.model.is_function != isinstance(exact_data_gradient,
                                                                                   FunctionGradient):
            raise ValueError("exact_data_gradient must be a FunctionGradient for a function unknown and a "
                             "callable theta -> dL/dtheta for scalar unknowns")
        self._pretrain(run)
        self._finetune(run, exact_data_gradient)
        return run.finish()

    def _pretrain(self, run: Run) -> None:
        pc, w_bc, model, d = self.config.pretrain, self.config.w_bc, run.model, run.data
        opt_W = adam([{"params": model.weights(), "lr": pc.lr}], amsgrad=pc.amsgrad)
        # θ is frozen; V (function unknowns) is fitted to f0 by its own optimiser.
        V = model.unknowns() if model.is_function else []
        opt_V = adam([{"params": V, "lr": pc.lr}], amsgrad=pc.amsgrad)

        cfg = self.config

        def step(k: int) -> dict[str, float]:
            losses = residual_terms(model, *run.residual_points("pretrain", k), with_rgrad=True)
            lower = losses["res"] + pc.w_rgrad * losses["rgrad"]
            lower = lower + _interface(run, losses, cfg.w_jump, cfg.w_djump)
            if d.x_ref is not None and d.u_ref is not None:
                losses["ref"] = fit_term(model, d.x_ref, d.u_ref, run.n_ref)
                lower = lower + pc.w_ref * losses["ref"]
            if d.x_bc is not None and d.u_bc is not None:
                losses["bc"] = fit_term(model, d.x_bc, d.u_bc, run.n_bc)
                lower = lower + w_bc * losses["bc"]
            groups: list[Group] = [(model.weights(), lower, opt_W)]
            if V:
                assert d.f0 is not None
                losses["func"] = function_term(model, d.x_res, d.f0, run.n_res)
                groups.append((V, pc.w_func * losses["func"], opt_V))
            vals, _ = run.update(groups, losses, phase="pretrain", step=k)
            return vals

        run.run_phase("pretrain", pc.steps, 0, [opt_W, opt_V], step)

    def _finetune(self, run: Run, exact: ExactGradient | FunctionGradient | None) -> None:
        fc, w_bc, model, d = self.config.finetune, self.config.w_bc, run.model, run.data
        opt_W = adam([{"params": model.weights(), "lr": fc.lr_W}], amsgrad=fc.amsgrad)
        opt_T = adam([{"params": run.upper_parameters(), "lr": fc.lr_theta}], amsgrad=fc.amsgrad)

        cfg = self.config

        def lower_level(k: int) -> tuple[Tensor, dict[str, Tensor]]:
            losses = residual_terms(model, *run.residual_points("finetune", k), with_rgrad=True)
            lower = losses["res"] + fc.w_rgrad * losses["rgrad"]
            lower = lower + _interface(run, losses, cfg.w_jump, cfg.w_djump)
            if d.x_bc is not None and d.u_bc is not None:
                # u at the current unknowns, but only W is given this loss's gradient (run.update).
                losses["bc"] = fit_term(model, d.x_bc, d.u_bc, run.n_bc)
                lower = lower + w_bc * losses["bc"]
            return lower, losses

        def step(k: int) -> dict[str, float]:
            for _ in range(fc.lower_steps - 1):  # W closer to the lower level's solution at this θ
                lower, losses = lower_level(k)
                run.update([(model.weights(), lower, opt_W)], losses, phase="finetune", step=k)
            lower, losses = lower_level(k)
            for group in opt_T.param_groups:
                group["lr"] = fc.theta_lr(k)
            losses["data"] = run.data_term()
            upper: Tensor = losses["data"]
            reg = regularizer_term(model, *run.regularizer_points(), fc.regularizer)
            if reg is not None:
                losses["reg"] = reg
                upper = upper + fc.regularizer.weight * reg
            check = exact is not None and fc.fidelity_every > 0 and k % fc.fidelity_every == 0
            g_exact = g_data = None
            if check and isinstance(exact, FunctionGradient):
                # Before the update, at the V BiLO's gradient sees; the data part only (the
                # regulariser's gradient is exact anyway).
                g_exact, g_data = function_fidelity(model, run.dp, exact, losses["data"])
            elif check:
                assert exact is not None and not isinstance(exact, FunctionGradient)
                # Before the update, so the exact gradient is taken at the θ BiLO's gradient sees.
                g_exact = np.asarray(exact(model.unknowns()[0].detach().cpu().double().numpy().copy()),
                                     dtype=np.float64)
            groups: list[Group] = [(model.weights(), lower, opt_W), (run.upper_parameters(), upper, opt_T)]
            vals, grads = run.update(groups, losses, phase="finetune", step=k)
            if g_data is not None:
                assert g_exact is not None
                vals["fidelity_cos"], vals["fidelity_rel"] = gradient_agreement(g_data, g_exact)
                vals["fidelity_norm_ratio"] = float(np.linalg.norm(g_data) / np.linalg.norm(g_exact))
            elif g_exact is not None:
                g = grads[1][0].detach().cpu().double().numpy()
                vals["fidelity_cos"], vals["fidelity_rel"] = gradient_agreement(g, g_exact)
                for n, gi, ei in zip(run.names, g, g_exact.ravel(), strict=True):
                    vals[f"grad_{n}"], vals[f"grad_exact_{n}"] = float(gi), float(ei)
            return vals

        run.run_phase("finetune", fc.steps, self.config.pretrain.steps, [opt_W, opt_T], step)


def function_fidelity(model: HybridModel, dp: DataParallel, exact: FunctionGradient,
                      data_loss: Tensor) -> tuple[np.ndarray, np.ndarray]:
    """The exact and BiLO's data-loss gradients with respect to V (flattened, summed over ranks).

    Args:
        model: The model (a function unknown).
        dp: Its data parallelism (sums the per-rank gradients).
        exact: The exact derivative through the function's values.
        data_loss: This rank's share of the (global-mean) data loss, with its graph kept.
    """
    V = model.unknowns()
    p = V[0]
    x = torch.as_tensor(np.asarray(exact.x, dtype=np.float64), dtype=p.dtype, device=p.device)
    f = model.field(x)
    dLdf = np.asarray(exact.derivative(f.detach().cpu().double().numpy()), dtype=np.float64)
    if dLdf.shape != (x.shape[0],):
        raise ValueError(f"FunctionGradient.derivative returned shape {dLdf.shape}, expected ({x.shape[0]},)")
    dLdf_t = torch.as_tensor(dLdf, dtype=f.dtype, device=f.device)
    g_exact = list(torch.autograd.grad(f, V, grad_outputs=dLdf_t))
    g_data = list(torch.autograd.grad(data_loss, V, retain_graph=True, allow_unused=True))
    g_data = [torch.zeros_like(v) if g is None else g for v, g in zip(V, g_data, strict=True)]
    dp.allreduce_sum(g_exact + g_data)

    def flat(gs: list[Tensor]) -> np.ndarray:
        return torch.cat([g.reshape(-1) for g in gs]).detach().cpu().double().numpy()

    return flat(g_exact), flat(g_data)


def _interface(run: Run, losses: dict[str, Tensor], w_jump: float, w_djump: float) -> Tensor | float:
    """Add the interface losses (jump, jump-gradient) to ``losses``; their weighted sum for W."""
    terms = run.interface_losses(with_jgrad=True)
    losses.update(terms)
    if not terms:
        return 0.0
    return w_jump * terms["jump"] + w_djump * terms["djump"]
