r"""The FNO baseline (torch only): a field or named scalars on a regular grid → the solution, then inverted.

The Fourier neural operator (Li et al., ICLR 2021) is ``neuralop.models.FNO`` of the maintained
``neuraloperator`` package (4 Fourier layers, 32 modes per dimension, 32 channels: the paper's
App. B.4), with its grid positional embedding. The input is one channel, the unknown field's
values on a regular grid over the domain's bounding box, standardised; the output channel N is
interpolated (bilinear, differentiable: ``grid_sample``) to any points x inside, scaled, and passed
through the problem's output transform,

    u(x; a) = T(x, s · interp(FNO((a − μ)/σ))(x)),

so the exact boundary values are imposed at the points themselves, whatever mesh they come from.
Training is the mean squared error against FEM solutions at the data set's points; inversion
freezes the weights and optimises the grid values of a (through a sigmoid onto the field's bounds,
if it has any) against the data misfit plus a finite-difference regulariser of the grid (total
variation ``mean |Δa|/h`` or the H1 seminorm ``mean (Δa/h)²``), as the DeepONet does in 1D.

Named scalars θ = (θ_1..θ_k) (the paper's ``scalarFNO``, App. B.4) are k input channels, each θ_p
standardised and broadcast over the grid, beside the grid coordinate that the positional
embedding adds; the grid spans the first d columns of the network inputs (x of the singular
problem's (x, |x − z|)), and the transform sees the whole input row and θ itself. Inversion is
Adam on θ against the data loss of :func:`~hybrid.operator_training.data_misfit`: the MSE, or a
point process's NLL / K, with u at the particles and the quadrature points interpolated linearly.

Arrays in and out are numpy float64; the operator trains on the CPU or GPU, data-parallel under MPI.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, final

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .distributed import DataParallel
from .likelihood import PointProcessLikelihood
from .operator_training import check_settings, fit_minibatches, invert_frozen, invert_scalars
from .operators import OperatorFit, split
from .problem import AbstractPDE


@final
@dataclass(frozen=True, kw_only=True)
class FNOConfig:
    """The operator, its grid, its training and its inversion.

    Attributes:
        n_modes: Fourier modes kept per dimension (paper: 32); at most the grid size.
        hidden_channels: Channels of the Fourier layers (paper: 32).
        n_layers: Fourier layers (paper: 4).
        grid: Nodes per side of the regular grid over the bounding box (51: the nodes of the
            50 × 50 unit-square mesh).
        train_steps: Adam steps of the training.
        batch: Samples per mini-batch.
        lr: Learning rate of the training.
        early_stop: Stop training when the mini-batch loss falls below this.
        val_fraction: Share of the samples held out for validation.
        invert_steps: Adam steps on the grid values of the unknown.
        lr_invert: Learning rate of the inversion.
        w_reg: Weight of the grid regulariser.
        log_every: Log a history row every this many steps.
    """

    n_modes: int = 32
    hidden_channels: int = 32
    n_layers: int = 4
    grid: int = 51
    train_steps: int = 1000
    batch: int = 20
    lr: float = 1e-3
    early_stop: float = 1e-8
    val_fraction: float = 0.1
    invert_steps: int = 1000
    lr_invert: float = 1e-2
    w_reg: float = 0.0
    log_every: int = 100

    def __post_init__(self) -> None:
        check_settings(self, ("n_modes", "hidden_channels", "n_layers"))
        if self.grid < 2 or self.n_modes > self.grid:
            raise ValueError(f"FNOConfig: grid must be >= 2 and n_modes <= grid, got grid {self.grid}, "
                             f"n_modes {self.n_modes}")

    @classmethod
    def smoke(cls) -> FNOConfig:
        """A small operator on a coarse grid and few steps, for tests."""
        return cls(n_modes=6, hidden_channels=8, n_layers=2, grid=13, train_steps=60, invert_steps=60,
                   log_every=10)


def grid_points(lower: np.ndarray, upper: np.ndarray, n: int) -> np.ndarray:
    """(n^d, d) nodes of the regular grid on the box [lower, upper], the first coordinate fastest."""
    axes = [np.linspace(lo, hi, n) for lo, hi in zip(lower, upper, strict=True)]
    mesh = np.meshgrid(*axes[::-1], indexing="ij")[::-1]  # [..., y, x] layout: x varies fastest
    return np.stack([m.ravel() for m in mesh], axis=1)


class GridFNO(nn.Module):
    """u(x; a) = T(x, s·interp(FNO(a))(x)) for a field a on an n^d grid over [lower, upper] (d = 1, 2).

    With ``scalars = k`` > 0 the input a is k named scalars (B, k), broadcast over the grid as k
    channels, and the grid spans the first d of the PDE's ``input_dim`` input columns.
    """

    a_mean: Tensor
    a_std: Tensor
    u_scale: Tensor
    lower: Tensor
    upper: Tensor

    def __init__(self, pde: AbstractPDE, lower: np.ndarray, upper: np.ndarray, config: FNOConfig, *,
                 scalars: int = 0) -> None:
        super().__init__()
        from neuralop.models import FNO  # the maintained implementation (pinned in requirements.lock)

        self.pde, self.n, self.dim, self.scalars = pde, int(config.grid), len(lower), int(scalars)
        # a field lives on the grid of all the inputs; scalars see a grid of the leading ones
        fits = self.dim == pde.input_dim if self.scalars == 0 else self.dim <= pde.input_dim
        if self.dim not in (1, 2) or not fits or self.scalars < 0:
            raise ValueError(f"the FNO works on a 1D or 2D grid of the PDE's inputs, got a {self.dim}D box "
                             f"for a PDE of input dimension {pde.input_dim} ({self.scalars} scalar inputs)")
        self.fno = FNO(n_modes=(int(config.n_modes),) * self.dim, in_channels=max(self.scalars, 1),
                       out_channels=1, hidden_channels=int(config.hidden_channels),
                       n_layers=int(config.n_layers))
        # standardisation of the input (per scalar) and scale of the output, from the training set (buffers)
        shape = (self.scalars,) if self.scalars else ()
        self.register_buffer("a_mean", torch.zeros(shape))
        self.register_buffer("a_std", torch.ones(shape))
        self.register_buffer("u_scale", torch.ones(()))
        self.register_buffer("lower", torch.as_tensor(np.asarray(lower, dtype=np.float64)))
        self.register_buffer("upper", torch.as_tensor(np.asarray(upper, dtype=np.float64)))

    def to_dtype(self, device: str | torch.device, dtype: torch.dtype) -> GridFNO:
        """Move to ``device``: real tensors in ``dtype``, the spectral weights in its complex twin.

        (``Module.to(dtype)`` would drop their imaginary parts.)
        """
        cdtype = torch.complex128 if dtype == torch.float64 else torch.complex64
        self.to(device=device)
        with torch.no_grad():
            for t in [*self.parameters(), *self.buffers()]:
                if t.is_complex() or t.is_floating_point():
                    t.data = t.data.to(cdtype if t.is_complex() else dtype)
        return self

    def raw(self, a: Tensor) -> Tensor:
        """(B, *grid) output channel for (B, n^d) grid values a, or (B, k) scalars a."""
        z = (a - self.a_mean) / self.a_std
        grid = (self.n,) * self.dim
        if self.scalars:  # channel p is θ_p, constant over the grid
            img = z.reshape(a.shape[0], self.scalars, *(1,) * self.dim).expand(-1, -1, *grid)
        else:
            img = z.reshape(a.shape[0], 1, *grid)
        out: Tensor = self.fno(img)[:, 0]
        return out

    def locate(self, x: Tensor) -> Tensor:
        """Points (N, ≥ d) as ``grid_sample`` coordinates in [−1, 1] of their first d columns (x first)."""
        x = x[:, :self.dim]
        s = 2.0 * (x - self.lower.to(x.dtype)) / (self.upper - self.lower).to(x.dtype) - 1.0
        if self.dim == 1:  # a 1D grid is a 2D image of height 1
            s = torch.cat([s, torch.zeros_like(s)], dim=1)
        return s

    def forward(self, a: Tensor, x: Tensor, located: Tensor | None = None) -> Tensor:
        """(B, N) values at points x (N, input_dim) for B inputs a (``located``: ``locate(x)``)."""
        out = self.raw(a)
        img = out[:, None] if self.dim == 2 else out[:, None, None, :]
        loc = self.locate(x) if located is None else located
        grid = loc[None, None].expand(a.shape[0], 1, -1, -1)
        N = F.grid_sample(img, grid, mode="bilinear", align_corners=True)[:, 0, 0]
        B, n_pts = N.shape
        u = self.pde.output_transform(x.repeat(B, 1), self.u_scale * N.reshape(-1), self.theta(a, n_pts))
        return u.reshape(B, n_pts)

    def theta(self, a: Tensor, n_pts: int) -> Tensor:
        """The transform's per-point θ: the scalars themselves when they are the PDE's, else zeros."""
        if self.scalars and self.scalars == len(self.pde.param_names):
            return a.repeat_interleave(n_pts, dim=0)
        return torch.zeros(a.shape[0] * n_pts, len(self.pde.param_names), dtype=a.dtype, device=a.device)


def output_scale(model: GridFNO, x: Tensor, a: Tensor, u: Tensor) -> Tensor:
    """The s at which a raw output N ≡ 1 spans the data: max_x |T(x, s) − T(x, 0)| = max |u − T(x, 0)|.

    For a transform linear in N this is max|u| over the transform's largest factor; for the
    singular problem's 50·N²·x(1−x) it is a square root. (Scaling by max|u| itself, as the field
    operator does, would start that one orders of magnitude above the data.) Bisection on log s, the
    transform taken at the mean input; 1 if it ignores N.
    """
    n_pts = x.shape[0]
    a_bar = a.mean(dim=0, keepdim=True)

    def T(s: float, inputs: Tensor) -> Tensor:
        N = torch.full((len(inputs) * n_pts,), s, dtype=x.dtype, device=x.device)
        xs = x.repeat(len(inputs), 1)
        return model.pde.output_transform(xs, N, model.theta(inputs, n_pts)).reshape(len(inputs), n_pts)

    target = float((u - T(0.0, a)).abs().max())
    base = T(0.0, a_bar)

    def span(log_s: float) -> float:
        return float((T(math.exp(log_s), a_bar) - base).abs().max())

    if target <= 0 or span(0.0) <= 0:
        return torch.ones((), dtype=x.dtype, device=x.device)
    lo, hi = -30.0, 30.0
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if span(mid) < target else (lo, mid)
    return torch.as_tensor(math.exp(0.5 * (lo + hi)), dtype=x.dtype, device=x.device)


def train_fno(pde: AbstractPDE, inputs: np.ndarray, field_points: np.ndarray, points: np.ndarray,
              outputs: np.ndarray, config: FNOConfig, *, scalars: bool = False, seed: int = 0,
              device: str = "cpu", dtype: torch.dtype = torch.float32, comm: Any | None = None,
              progress: Callable[[int, dict[str, float]], None] | None = None) -> OperatorFit:
    """Fit a :class:`GridFNO` to ``outputs[i] ≈ u(points; inputs[i])`` by mini-batch Adam.

    Args:
        pde: The strong form (its output transform and input dimension).
        inputs: (m, n^d) the field on the grid ``field_points``; with ``scalars``, (m, k) scalars.
        field_points: (n^d, d) the grid, as :func:`grid_points` lays it out.
        points: (N, d) output points inside the grid's box; with ``scalars``, (N, input_dim)
            network inputs whose first d columns lie in it.
        outputs: (m, N) values.
        config: Sizes, grid and steps.
        scalars: The inputs are named scalars broadcast over the grid (not a field's grid values).
        seed: Seeds the initialisation, the split and the batches.
        device: Torch device.
        dtype: Torch dtype.
        comm: An MPI communicator to train data-parallel over (every rank holds the data set).
        progress: Called with (step, row) at every logged row.
    """
    m, n = inputs.shape[0], config.grid
    d = field_points.shape[1] if field_points.ndim == 2 else 0
    width_ok = inputs.shape[1] >= 1 if scalars else inputs.shape[1] == n**d
    points_ok = points.shape[1] >= d if scalars else points.shape[1] == d
    if (field_points.shape != (n**d, d) or not width_ok or outputs.shape != (m, points.shape[0])
            or not points_ok):
        raise ValueError(f"data set shapes do not fit a {n}-point grid: inputs {inputs.shape}, field points "
                         f"{field_points.shape}, points {points.shape}, outputs {outputs.shape}")
    lower, upper = field_points.min(axis=0), field_points.max(axis=0)
    if not np.allclose(field_points, grid_points(lower, upper, n)):
        raise ValueError("field_points are not the regular grid of grid_points(lower, upper, config.grid)")
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    train, val = split(m, config.val_fraction, rng)

    def t(a: np.ndarray) -> Tensor:
        return torch.as_tensor(a, dtype=dtype, device=device)

    A, X, U = t(inputs), t(points), t(outputs)
    model = GridFNO(pde, lower, upper, config, scalars=inputs.shape[1] if scalars else 0)
    model = model.to_dtype(device, dtype)
    if scalars:  # each scalar standardised on its own: they may differ by orders of magnitude
        std = A[train].std(dim=0) if len(train) > 1 else torch.ones_like(model.a_std)
        model.a_mean.copy_(A[train].mean(dim=0))
        model.a_std.copy_(torch.where(std > 0, std, torch.ones_like(std)))
        model.u_scale.copy_(output_scale(model, X, A[train], U[train]))
    else:
        std, scale = A[train].std(), U[train].abs().max()
        model.a_mean.copy_(A[train].mean())
        model.a_std.copy_(std if std > 0 else torch.ones_like(std))
        model.u_scale.copy_(scale if scale > 0 else torch.ones_like(scale))
    located = model.locate(X)

    def batch_loss(chosen: np.ndarray, size: int) -> Tensor:
        idx = torch.as_tensor(chosen, device=device, dtype=torch.long)
        return torch.sum((model(A[idx], X, located) - U[idx]) ** 2) / (size * X.shape[0])

    t0 = time.perf_counter()
    history, loss_value = fit_minibatches(
        list(model.parameters()), batch_loss, train, steps=config.train_steps, batch=config.batch,
        lr=config.lr, early_stop=config.early_stop, log_every=config.log_every, rng=rng, name="FNO",
        dp=DataParallel(comm), progress=progress)
    model.requires_grad_(False)
    val_loss = math.nan
    with torch.no_grad():
        if len(val):
            err = [torch.sum((model(A[val[i:i + 64]], X, located) - U[val[i:i + 64]]) ** 2)
                   for i in range(0, len(val), 64)]
            val_loss = float(sum(err)) / (len(val) * X.shape[0])
    return OperatorFit(model=model, history=history, train_loss=loss_value, val_loss=val_loss,
                       wall_s=time.perf_counter() - t0)


def grid_penalty(a: Tensor, n: int, dim: int, spacing: np.ndarray, kind: Literal["tv", "h1"]) -> Tensor:
    """mean |Δa|/h (TV) or mean (Δa/h)² (H1) over the grid's forward differences, all directions."""
    g = a.reshape((n,) * dim)
    terms = []
    for axis in range(dim):  # axis 0 of g is the last coordinate
        h = float(spacing[dim - 1 - axis])
        diff = torch.diff(g, dim=axis) / h
        terms.append(diff.abs().mean() if kind == "tv" else (diff**2).mean())
    return torch.stack(terms).sum()


def invert_fno(model: GridFNO, x_dat: np.ndarray, u_dat: np.ndarray, a0: np.ndarray, config: FNOConfig, *,
               bounds: tuple[float, float] | None = None, regularizer: Literal["tv", "h1"] = "tv",
               fixed: np.ndarray | None = None, time_offset: float = 0.0,
               comm: Any | None = None) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """Minimise mean_j (u(x_j; a) − d_j)² + w_reg·R(a) over the grid values a, the operator frozen.

    Args:
        model: The trained operator.
        x_dat: (n, d) observation points (this rank's, with ``comm``).
        u_dat: (n,) data.
        a0: (n_grid^d,) starting grid values (the initial guess).
        config: Steps, learning rate, w_reg.
        bounds: (lo, hi): a = lo + (hi − lo)·sigmoid(z) keeps every value inside.
        regularizer: "tv" or "h1" (see :func:`grid_penalty`).
        fixed: Boolean mask of grid values that keep their initial values.
        time_offset: Added to the logged times.
        comm: An MPI communicator over which the observations are distributed.

    Returns:
        The inferred grid values and the history rows (step, time, data).
    """
    real = model.lower  # a real buffer: the model's device and real dtype
    X = torch.as_tensor(x_dat, dtype=real.dtype, device=real.device)
    D = torch.as_tensor(u_dat, dtype=real.dtype, device=real.device)
    located = model.locate(X)
    dp = DataParallel(comm)
    n_global = dp.global_count(len(D))
    a0 = np.asarray(a0, dtype=np.float64)
    if bounds is None:
        to_a: Callable[[Tensor], Tensor] = lambda z: z  # noqa: E731
        z0 = a0
    else:
        lo, hi = bounds
        to_a = lambda z: lo + (hi - lo) * torch.sigmoid(z)  # noqa: E731
        q = np.clip((a0 - lo) / (hi - lo), 1e-6, 1 - 1e-6)
        z0 = np.log(q / (1 - q))
    spacing = ((model.upper - model.lower) / (model.n - 1)).cpu().numpy()

    def misfit(z: Tensor) -> Tensor:
        return torch.sum((model(to_a(z), X, located)[0] - D) ** 2) / n_global

    penalty = None
    if config.w_reg > 0:
        penalty = lambda z: config.w_reg * grid_penalty(to_a(z)[0], model.n, model.dim, spacing,  # noqa: E731
                                                        regularizer)
    keep = None if fixed is None else torch.as_tensor(np.asarray(fixed, dtype=bool), device=real.device)
    z0_t = torch.as_tensor(z0, dtype=real.dtype, device=real.device).reshape(1, -1)
    z, history = invert_frozen(misfit, z0_t, steps=config.invert_steps, lr=config.lr_invert, name="FNO",
                               penalty=penalty, fixed=keep, log_every=config.log_every,
                               time_offset=time_offset, dp=dp)
    return to_a(z)[0].cpu().double().numpy(), history


def invert_fno_scalars(model: GridFNO, x_dat: np.ndarray, u_dat: np.ndarray, p0: np.ndarray,
                       config: FNOConfig, *, names: tuple[str, ...],
                       likelihood: PointProcessLikelihood | None = None, time_offset: float = 0.0,
                       comm: Any | None = None) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """Adam on the named scalars of a frozen scalar :class:`GridFNO`: the MSE, or a point process's NLL / K.

    Args:
        model: The trained operator (``scalars`` = len(names)).
        x_dat: (n, input_dim) observation points, or the particles (this rank's, with ``comm``).
        u_dat: (n,) data (unused with a likelihood).
        p0: (k,) the initial guess.
        config: Steps and learning rate.
        names: The scalars' names (logged as ``theta_<name>``).
        likelihood: The data's point-process likelihood (None: the MSE to u_dat).
        time_offset: Added to the logged times.
        comm: An MPI communicator over which the observations are distributed.

    Returns:
        The inferred scalars and the history rows (step, time, data, theta_<name>…).
    """
    if model.scalars != len(names):
        raise ValueError(f"the operator takes {model.scalars} scalars, got the names {names}")

    def values_at(X: Tensor) -> Callable[[Tensor], Tensor]:
        located = model.locate(X)  # once per point set: the particles or the quadrature
        return lambda p: model(p, X, located)[0]

    return invert_scalars(values_at, x_dat, u_dat, p0, names=names, like=model.lower,
                          steps=config.invert_steps, lr=config.lr_invert, name="FNO", likelihood=likelihood,
                          log_every=config.log_every, time_offset=time_offset, comm=comm)
