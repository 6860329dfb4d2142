r"""Neural-operator baselines (torch only): a DeepONet trained on a data set, then inverted frozen.

The DeepONet (Lu et al., Nat. Mach. Intell. 3, 2021; the paper's App. B.1.1 and B.2.2) maps an
input p (named scalars, or a field's values at fixed points) and a point x to

    u(x; p) = T(x, Σ_k b_k(p) τ_k(x)),

with a branch MLP b: p → ℝ^P, a trunk MLP τ: x → ℝ^P (tanh after every layer, no bias in the
product) and T the problem's output transform (the same exact boundary and initial values as
BiLO's networks). It is trained by the mean squared error over mini-batches of samples × all
points; then its weights are frozen and the inverse problem is solved by Adam on p alone,
minimising the data misfit at the observation points (plus, for a field on a 1D grid, the
finite-difference regulariser w_reg·mean(((p_{i+1} − p_i)/h)²) of App. B.2.2).

Arrays in and out are numpy float64; the operator trains on the CPU or GPU.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, final

import numpy as np
import torch
from torch import Tensor, nn

from .distributed import DataParallel
from .operator_training import check_settings, fit_minibatches, invert_frozen
from .problem import AbstractPDE


@final
@dataclass(frozen=True, kw_only=True)
class DeepONetConfig:
    """The operator, its training and its inversion.

    Attributes:
        depth: Hidden layers of the branch and of the trunk (paper: 2).
        width: Their width (paper: 128).
        basis: Number P of basis functions (outputs of branch and trunk).
        train_steps: Adam steps of the operator training (paper: 10,000; the authors' yaml 5,000).
        batch: Samples per mini-batch (all points of each).
        lr: Learning rate of the training.
        early_stop: Stop training when the mini-batch loss falls below this.
        val_fraction: Share of the samples held out for validation.
        invert_steps: Adam steps on the unknowns (paper: 20,000).
        lr_invert: Learning rate of the inversion (paper: 1e-3).
        w_reg: Weight of the finite-difference regulariser of a field unknown.
        log_every: Log a history row every this many steps.
    """

    depth: int = 2
    width: int = 128
    basis: int = 128
    train_steps: int = 5000
    batch: int = 512
    lr: float = 1e-3
    early_stop: float = 1e-6
    val_fraction: float = 0.1
    invert_steps: int = 20_000
    lr_invert: float = 1e-3
    w_reg: float = 0.0
    log_every: int = 100

    def __post_init__(self) -> None:
        check_settings(self, ("depth", "width", "basis"))

    @classmethod
    def smoke(cls) -> DeepONetConfig:
        """A small operator and few steps, for tests."""
        return cls(width=32, basis=32, train_steps=300, invert_steps=300, log_every=50)


def _mlp(n_in: int, width: int, depth: int, n_out: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    sizes = [n_in] + [width] * depth + [n_out]
    for a, b in zip(sizes[:-1], sizes[1:], strict=True):
        layers += [nn.Linear(a, b), nn.Tanh()]  # tanh after every layer, the last too (B.1.1)
    return nn.Sequential(*layers)


class DeepONet(nn.Module):
    """u(x; p) = T(x, Σ_k b_k(p) τ_k(x)) for p of size ``n_in`` and points x of dimension ``dim``."""

    p_mean: Tensor
    p_std: Tensor

    def __init__(self, pde: AbstractPDE, n_in: int, config: DeepONetConfig) -> None:
        super().__init__()
        self.pde = pde
        self.branch = _mlp(n_in, config.width, config.depth, config.basis)
        self.trunk = _mlp(pde.input_dim, config.width, config.depth, config.basis)
        # inputs are standardised with the training set's statistics (buffers: saved with the model)
        self.register_buffer("p_mean", torch.zeros(n_in))
        self.register_buffer("p_std", torch.ones(n_in))

    def forward(self, p: Tensor, x: Tensor) -> Tensor:
        """(B, N) values for B inputs p (B, n_in) at N points x (N, dim)."""
        b = self.branch((p - self.p_mean) / self.p_std)
        tau = self.trunk(x)
        raw = b @ tau.T
        B, N = raw.shape
        xs = x.repeat(B, 1)
        theta = p.repeat_interleave(N, dim=0) if p.shape[1] == len(self.pde.param_names) else \
            torch.zeros(B * N, len(self.pde.param_names), dtype=x.dtype, device=x.device)
        return self.pde.output_transform(xs, raw.reshape(-1), theta).reshape(B, N)


@final
@dataclass(frozen=True, kw_only=True, eq=False)
class OperatorFit:
    """A trained operator and its record.

    Attributes:
        model: The operator (a :class:`DeepONet` or a :class:`~hybrid.fno.GridFNO`), frozen.
        history: Rows (step, time, train, val).
        train_loss: The last training mini-batch loss.
        val_loss: The mean squared error on the held-out samples (NaN without any).
        wall_s: Training wall time.
    """

    model: nn.Module
    history: list[dict[str, float]]
    train_loss: float
    val_loss: float
    wall_s: float


def train_deeponet(pde: AbstractPDE, inputs: np.ndarray, points: np.ndarray, outputs: np.ndarray,
                   config: DeepONetConfig, *, seed: int = 0, device: str = "cpu",
                   dtype: torch.dtype = torch.float32, comm: Any | None = None,
                   progress: Callable[[int, dict[str, float]], None] | None = None) -> OperatorFit:
    """Fit a DeepONet to ``outputs[i] ≈ u(points; inputs[i])`` by mini-batch Adam.

    Args:
        pde: The strong form (its output transform and input dimension).
        inputs: (m, n_in) samples.
        points: (N, dim) points.
        outputs: (m, N) values.
        config: Sizes and steps.
        seed: Seeds the initialisation, the split and the batches.
        device: Torch device.
        dtype: Torch dtype.
        comm: An MPI communicator to train data-parallel over (every rank holds the data set).
        progress: Called with (step, row) at every logged row.
    """
    m = inputs.shape[0]
    if outputs.shape != (m, points.shape[0]) or points.shape[1] != pde.input_dim:
        raise ValueError(f"data set shapes do not fit: inputs {inputs.shape}, points {points.shape}, "
                         f"outputs {outputs.shape} (the PDE's input dimension is {pde.input_dim})")
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    train, val = split(m, config.val_fraction, rng)

    def t(a: np.ndarray) -> Tensor:
        return torch.as_tensor(a, dtype=dtype, device=device)

    P, X, U = t(inputs), t(points), t(outputs)
    model = DeepONet(pde, inputs.shape[1], config).to(device=device, dtype=dtype)
    model.p_mean.copy_(P[train].mean(dim=0))
    std = P[train].std(dim=0) if len(train) > 1 else torch.ones_like(model.p_std)
    model.p_std.copy_(torch.where(std > 0, std, torch.ones_like(std)))

    def batch_loss(chosen: np.ndarray, size: int) -> Tensor:
        idx = torch.as_tensor(chosen, device=device, dtype=torch.long)
        return torch.sum((model(P[idx], X) - U[idx]) ** 2) / (size * X.shape[0])

    t0 = time.perf_counter()
    history, loss_value = fit_minibatches(
        list(model.parameters()), batch_loss, train, steps=config.train_steps, batch=config.batch,
        lr=config.lr, early_stop=config.early_stop, log_every=config.log_every, rng=rng, name="DeepONet",
        dp=DataParallel(comm), progress=progress)
    model.requires_grad_(False)
    with torch.no_grad():
        val_loss = float(torch.mean((model(P[val], X) - U[val]) ** 2)) if len(val) else math.nan
    return OperatorFit(model=model, history=history, train_loss=loss_value, val_loss=val_loss,
                       wall_s=time.perf_counter() - t0)


def split(m: int, val_fraction: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(train, validation) indices of m samples: a random ``val_fraction`` held out (none if m = 1)."""
    order = rng.permutation(m)
    n_val = int(round(val_fraction * m)) if m > 1 else 0
    return order[n_val:], order[:n_val]


def invert_operator(model: DeepONet, x_dat: np.ndarray, u_dat: np.ndarray, p0: np.ndarray,
                    config: DeepONetConfig,
                    *, names: tuple[str, ...] = (), field_spacing: float | None = None,
                    fixed: np.ndarray | None = None, time_offset: float = 0.0,
                    comm: Any | None = None) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """Minimise mean_j (u(x_j; p) − d_j)² (+ the field regulariser) over p, the operator frozen.

    Args:
        model: The trained operator.
        x_dat: (n, dim) observation points (this rank's, with ``comm``).
        u_dat: (n,) data.
        p0: (n_in,) initial input (the initial guess).
        config: Steps, learning rate, w_reg.
        names: Names of scalar inputs (their values are logged as ``theta_<name>``).
        field_spacing: h of a field's 1D grid (enables the regulariser).
        fixed: Boolean mask of entries of p that keep their initial values (e.g. a field's
            boundary values).
        time_offset: Added to the logged times (e.g. data generation and training).
        comm: An MPI communicator over which the observations are distributed.

    Returns:
        The inferred p and the history rows (step, time, data, theta_<name>…).
    """
    param = next(model.parameters())
    X = torch.as_tensor(x_dat, dtype=param.dtype, device=param.device)
    D = torch.as_tensor(u_dat, dtype=param.dtype, device=param.device)
    dp = DataParallel(comm)
    n_global = dp.global_count(len(D))

    def misfit(p: Tensor) -> Tensor:
        return torch.sum((model(p, X)[0] - D) ** 2) / n_global

    penalty = None
    if field_spacing is not None and config.w_reg > 0:
        h = field_spacing
        penalty = lambda p: config.w_reg * torch.mean((torch.diff(p[0]) / h) ** 2)  # noqa: E731
    keep = None if fixed is None else torch.as_tensor(np.asarray(fixed, dtype=bool), device=param.device)
    p0_t = torch.as_tensor(p0, dtype=param.dtype, device=param.device).reshape(1, -1)
    def log(z: Tensor) -> dict[str, Any]:
        return {f"theta_{n}": float(v) for n, v in zip(names, z[0].tolist(), strict=False)}

    p, history = invert_frozen(
        misfit, p0_t, steps=config.invert_steps, lr=config.lr_invert, name="DeepONet", penalty=penalty,
        fixed=keep, log=log, log_every=config.log_every, time_offset=time_offset, dp=dp)
    return p[0].cpu().double().numpy(), history
