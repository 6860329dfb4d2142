"""What the operator baselines share: mini-batch training, the data loss, and inversion frozen.

Both loops are data-parallel under MPI through :class:`~hybrid.distributed.DataParallel`: in
training every rank draws the same mini-batch and differentiates its own share of it; in the
inversion every rank holds its own observations. Each rank's loss is a partial sum divided by the
global count, so the summed gradients are those of the global mean, every rank applies the same
Adam update, and the weights (or the unknowns) stay identical on every rank.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor

from .distributed import DataParallel
from .likelihood import PointProcessLikelihood, point_process_loss
from .threads import ensure_threads


def check_settings(config: Any, sizes: tuple[str, ...]) -> None:
    """The checks every operator config shares.

    ``sizes``, batch and log_every >= 1; step counts >= 0; the validation share in [0, 1);
    learning rates > 0 and w_reg >= 0.

    Raises:
        ValueError: Naming the config and the field, e.g. ``FNOConfig.batch must be >= 1``.
    """
    name = type(config).__name__
    for field in (*sizes, "batch", "log_every"):
        if int(getattr(config, field)) < 1:
            raise ValueError(f"{name}.{field} must be >= 1, got {getattr(config, field)}")
    for field in ("train_steps", "invert_steps"):
        if int(getattr(config, field)) < 0:
            raise ValueError(f"{name}.{field} must be >= 0, got {getattr(config, field)}")
    if not 0.0 <= config.val_fraction < 1.0:
        raise ValueError(f"{name}.val_fraction must be in [0, 1), got {config.val_fraction}")
    if not (config.lr > 0 and config.lr_invert > 0 and config.w_reg >= 0):
        raise ValueError(f"{name}: learning rates must be > 0 and w_reg >= 0")


BatchLoss = Callable[[np.ndarray, int], Tensor]
"""``(sample indices of this rank, global batch size) -> this rank's share of the batch mean``."""


def fit_minibatches(params: Sequence[Tensor], batch_loss: BatchLoss, train: np.ndarray, *, steps: int,
                    batch: int, lr: float, early_stop: float, log_every: int, rng: np.random.Generator,
                    name: str, dp: DataParallel | None = None,
                    progress: Callable[[int, dict[str, float]], None] | None = None,
                    ) -> tuple[list[dict[str, float]], float]:
    """Adam (amsgrad) on ``params`` over random mini-batches of ``train``.

    Args:
        params: The trainable tensors.
        batch_loss: This rank's share of a mini-batch's mean loss.
        train: Indices of the training samples.
        steps: Adam steps.
        batch: Samples per mini-batch (all ranks together).
        lr: Learning rate.
        early_stop: Stop when the mini-batch loss falls below this.
        log_every: A history row every this many steps (and at the last).
        rng: Draws the mini-batches (seeded alike on every rank).
        name: The operator's name, for the divergence message.
        dp: The ranks (None: serial).
        progress: Called with (step, row) at every logged row.

    Returns:
        The history rows (step, time, train) and the last mini-batch loss.

    Raises:
        RuntimeError: The loss became non-finite.
    """
    dp = dp or DataParallel()
    ensure_threads(dp.comm)  # ranks on one node share its cores
    params = list(params)
    opt = torch.optim.Adam(params, lr=lr, amsgrad=True)
    history: list[dict[str, float]] = []
    t0 = time.perf_counter()
    loss_value = math.nan
    for step in range(steps):
        chosen = rng.choice(train, size=min(batch, len(train)), replace=False)
        opt.zero_grad()
        loss = batch_loss(chosen[dp.rank::dp.size], len(chosen))
        grads = [g.contiguous() for g in torch.autograd.grad(loss, params)]
        total = loss.detach().reshape(1).clone()
        # one message: the loss and the gradients (complex spectral weights as real pairs, views)
        dp.allreduce_sum([total, *(torch.view_as_real(g) if g.is_complex() else g for g in grads)])
        for param_, g in zip(params, grads, strict=True):
            param_.grad = g
        opt.step()
        loss_value = float(total[0])
        if not math.isfinite(loss_value):
            raise RuntimeError(f"{name} training diverged at step {step} (loss {loss_value})")
        last = step == steps - 1 or loss_value < early_stop
        if step % log_every == 0 or last:
            row = {"step": float(step), "time": time.perf_counter() - t0, "train": loss_value}
            history.append(row)
            if progress is not None:
                progress(step, row)
        if loss_value < early_stop:
            break
    return history, loss_value


PointValues = Callable[[Tensor], Callable[[Tensor], Tensor]]
"""``points (N, d) -> (unknowns (1, n) -> u (N,) at those points)``: a frozen operator, set up once
per point set (e.g. the FNO locates the points on its grid there)."""


def data_misfit(values_at: PointValues, x_dat: np.ndarray, u_dat: np.ndarray, *, like: Tensor,
                dp: DataParallel, likelihood: PointProcessLikelihood | None = None,
                ) -> Callable[[Tensor], Tensor]:
    """This rank's share of the data loss of the unknowns: the MSE to ``u_dat``, or the NLL / K.

    Without a likelihood it is Σ_j (u(x_j) − d_j)² / n over this rank's observations (n over all
    ranks). With a point-process likelihood the ``x_dat`` are the particles (``u_dat`` is unused)
    and it is :func:`~hybrid.likelihood.point_process_loss`, the loss the networks minimise: the
    integral over the likelihood's quadrature is added on rank 0 only, so the sum over the ranks
    counts it once.

    Args:
        values_at: The frozen operator.
        x_dat: (n, d) observation points or particles (this rank's).
        u_dat: (n,) data (ignored with a likelihood).
        like: A tensor of the model's device and real dtype.
        dp: The ranks.
        likelihood: The data's point-process likelihood (None: Gaussian, the MSE).
    """
    def t(a: np.ndarray) -> Tensor:
        return torch.as_tensor(np.asarray(a, dtype=np.float64), dtype=like.dtype, device=like.device)

    n_global = dp.global_count(len(x_dat))
    if likelihood is None:
        at_data, D = values_at(t(x_dat)), t(u_dat)
        return lambda z: torch.sum((at_data(z) - D) ** 2) / n_global
    lik, n_local = likelihood, len(x_dat)
    if dp.rank != 0:  # the quadrature is counted once, on rank 0
        at_data = values_at(t(x_dat))
        return lambda z: point_process_loss(None, None, at_data(z), snapshots=lik.snapshots, count=n_global)
    # the particles and the quadrature in one evaluation: one pass of the operator per step
    at_both = values_at(t(np.concatenate([np.asarray(x_dat, dtype=np.float64), lik.x_quad])))
    w_quad = t(lik.w_quad)

    def nll(z: Tensor) -> Tensor:
        u = at_both(z)
        return point_process_loss(u[n_local:], w_quad, u[:n_local], snapshots=lik.snapshots, count=n_global)

    return nll


def invert_frozen(misfit: Callable[[Tensor], Tensor], z0: Tensor, *, steps: int, lr: float, name: str,
                  penalty: Callable[[Tensor], Tensor] | None = None, fixed: Tensor | None = None,
                  log: Callable[[Tensor], dict[str, Any]] | None = None, log_every: int = 100,
                  time_offset: float = 0.0, dp: DataParallel | None = None,
                  ) -> tuple[Tensor, list[dict[str, Any]]]:
    """Adam on the unknowns z of a frozen operator: min Σ_ranks misfit(z) + penalty(z).

    Args:
        misfit: This rank's share of the data misfit (its squared errors over the global count).
        z0: (1, n) starting unknowns (the same on every rank).
        steps: Adam steps.
        lr: Learning rate.
        name: The operator's name, for the divergence message.
        penalty: A regulariser of z, computed alike on every rank.
        fixed: Boolean mask of entries of z that keep their starting values.
        log: Extra history columns from z (e.g. named scalars).
        log_every: A history row every this many steps (and at the last).
        time_offset: Added to the logged times (e.g. data generation and training).
        dp: The ranks (None: serial).

    Returns:
        The final z and the history rows (step, time, data, extra columns).
    """
    dp = dp or DataParallel()
    z = torch.nn.Parameter(z0.detach().clone())
    opt = torch.optim.Adam([z], lr=lr)
    history: list[dict[str, Any]] = []
    t0 = time.perf_counter()
    for step in range(steps + 1):
        opt.zero_grad()
        data = misfit(z)
        loss = data if penalty is None else data + penalty(z) / dp.size
        logged = step % log_every == 0 or step == steps
        if step < steps:
            (grad,) = torch.autograd.grad(loss, [z])
            grad = grad.contiguous()
            total = data.detach().reshape(1).clone()
            dp.allreduce_sum([total, grad])
            z.grad = grad
        elif logged:
            total = data.detach().reshape(1).clone()
            dp.allreduce_sum([total])
        if logged:
            row: dict[str, Any] = {"step": step, "time": time_offset + time.perf_counter() - t0,
                                   "data": float(total[0])}
            if log is not None:
                row.update(log(z.detach()))
            history.append(row)
        if step == steps:
            break
        if fixed is not None and z.grad is not None:
            z.grad[:, fixed] = 0.0  # Adam moves nothing whose gradient is always zero
        opt.step()
        if not torch.isfinite(z).all():
            raise RuntimeError(f"{name} inversion diverged at step {step}")
    return z.detach(), history


def invert_scalars(values_at: PointValues, x_dat: np.ndarray, u_dat: np.ndarray, p0: np.ndarray, *,
                   names: Sequence[str], like: Tensor, steps: int, lr: float, name: str,
                   likelihood: PointProcessLikelihood | None = None, log_every: int = 100,
                   time_offset: float = 0.0, comm: Any | None = None,
                   ) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """Named scalars of a frozen operator by Adam on them: min of the :func:`data_misfit`.

    Unconstrained, as the networks' θ is: the unknowns' lower bounds are not imposed (an estimate
    below one is reported as inadmissible, not hidden by a clamp).

    Args:
        values_at: The frozen operator.
        x_dat: (n, d) observation points or particles (this rank's, with ``comm``).
        u_dat: (n,) data (ignored with a likelihood).
        p0: (k,) the initial guess.
        names: The k names (logged as ``theta_<name>``).
        like: A tensor of the model's device and real dtype.
        steps: Adam steps.
        lr: Learning rate.
        name: The operator's name, for the divergence message.
        likelihood: The data's point-process likelihood (None: the MSE to u_dat).
        log_every: A history row every this many steps (and at the last).
        time_offset: Added to the logged times (e.g. data generation and training).
        comm: An MPI communicator over which the observations are distributed.

    Returns:
        The inferred scalars and the history rows (step, time, data, theta_<name>…).
    """
    dp = DataParallel(comm)
    misfit = data_misfit(values_at, x_dat, u_dat, like=like, dp=dp, likelihood=likelihood)
    p0_t = torch.as_tensor(np.asarray(p0, dtype=np.float64), dtype=like.dtype, device=like.device)

    def log(z: Tensor) -> dict[str, Any]:
        return {f"theta_{n}": float(v) for n, v in zip(names, z[0].tolist(), strict=True)}

    p, history = invert_frozen(misfit, p0_t.reshape(1, -1), steps=steps, lr=lr, name=name, log=log,
                               log_every=log_every, time_offset=time_offset, dp=dp)
    return p[0].cpu().double().numpy(), history
