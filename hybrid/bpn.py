"""BPN: bi-level PINNs with Broyden hypergradients (torch only; never imports dolfinx).

Reference: Z. Hao, C. Ying, H. Su, J. Zhu, J. Song, Z. Cheng, "Bi-level physics-informed neural
networks for PDE constrained optimization using Broyden's hypergradients", ICLR 2023
(arXiv:2209.07075). The BiLO paper compares with it in its App. E.

The lower level trains a plain PINN u(x; w) (θ enters only through the output transform and the
residual, never as a network input) on the residual loss L(w, θ); the upper level minimises the
data loss J(w, θ). With w*(θ) the lower-level minimiser, the implicit function theorem gives the
hypergradient

    dJ/dθ = ∂J/∂θ − (∂²L/∂θ∂w) v,   (∂²L/∂w²) v = ∂J/∂w,

and BPN solves the linear system for v with a fixed number of Broyden iterations, each one
Hessian-vector product by double backward. Every upper iteration: ``lower_steps`` Adam steps on
w, then one hypergradient and one Adam step on θ.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, final

import numpy as np
import torch
from torch import Tensor
from tqdm.auto import tqdm

from .config import Derivatives, NetworkConfig, PINNConfig, PINNFinetuneConfig, PretrainConfig
from .inputs import theta_vector
from .losses import residual_loss
from .objectives import fit_term
from .pinn import PINN
from .problem import AbstractFunctionPDE, AbstractPDE
from .training import DivergenceError, FitResult, adam

Matvec = Callable[[Tensor], Tensor]
"""v (n,) -> A v (n,): the action of a linear operator on a flat vector."""


# -- Broyden's method ------------------------------------------------------------------------


@final
@dataclass(frozen=True, kw_only=True, eq=False)
class BroydenResult:
    """The outcome of :func:`broyden_solve`.

    Attributes:
        solution: The iterate with the smallest residual norm seen (n,).
        residual_norm: ‖A v − b‖ at ``solution``.
        relative_residual: ``residual_norm / ‖b‖`` (0 when b = 0).
        iterations: Matrix-vector products spent.
        residual_norms: ‖A v_k − b‖ after each of them.
    """

    solution: Tensor
    residual_norm: float
    relative_residual: float
    iterations: int
    residual_norms: tuple[float, ...]


def broyden_solve(matvec: Matvec, b: Tensor, *, iterations: int, tol: float = 0.0) -> BroydenResult:
    """Solve A v = b by Broyden's "good" method, A known only through ``matvec``.

    The root of f(v) = A v − b is sought by quasi-Newton steps v ← v − H f(v), with H ≈ A⁻¹
    kept in low-rank form H = α I + Σ_i u_i w_iᵀ and updated by the Sherman–Morrison form of
    Broyden's good rank-one update, H ← H + (s − H y) sᵀH / (sᵀ H y), for the step s and the
    change y = A s of f (as in Hao et al. and in deep-equilibrium codes). Each iteration costs one
    product with A and O(n·k) work for the k stored pairs; nothing of size n² is formed.

    H starts from α I with the Rayleigh-quotient scale α = bᵀb / bᵀAb (its first step is the exact
    line minimiser along b for a symmetric positive definite A), not from −I: −I steps uphill for
    a positive definite A, as a Hessian is. The product A b that gives α is the first iteration.
    On a linear system of size n Broyden's method terminates in at most 2n iterations in exact
    arithmetic (Gay, 1979).

    Args:
        matvec: v -> A v for flat vectors of b's shape, dtype and device.
        b: The right-hand side (n,).
        iterations: Maximum products with A (>= 1).
        tol: Stop once ‖A v − b‖ <= tol·‖b‖ (0: run every iteration).

    Returns:
        The best iterate and its residuals.

    Raises:
        ValueError: ``iterations`` < 1, ``tol`` < 0, or b is not a vector.
    """
    if iterations < 1:
        raise ValueError(f"broyden iterations must be >= 1, got {iterations}")
    if not (math.isfinite(tol) and tol >= 0):
        raise ValueError(f"broyden tol must be finite and >= 0, got {tol}")
    if b.ndim != 1:
        raise ValueError(f"broyden_solve needs a flat right-hand side, got shape {tuple(b.shape)}")
    b = b.detach()
    b_norm = float(torch.linalg.vector_norm(b))
    if b_norm == 0.0:
        return BroydenResult(solution=torch.zeros_like(b), residual_norm=0.0, relative_residual=0.0,
                             iterations=0, residual_norms=())
    Ab = matvec(b).detach()
    curvature = float(b @ Ab)
    alpha = b_norm**2 / curvature if curvature > 0 and math.isfinite(curvature) else 1.0
    us: list[Tensor] = []
    ws: list[Tensor] = []

    def apply(z: Tensor) -> Tensor:
        out = alpha * z
        for u, w in zip(us, ws, strict=True):
            out = out + u * (w @ z)
        return out

    def apply_transposed(z: Tensor) -> Tensor:
        out = alpha * z
        for u, w in zip(us, ws, strict=True):
            out = out + w * (u @ z)
        return out

    # The first step from v = 0 (f = −b) is s = α b, and A s = α·Ab needs no second product.
    v, f = alpha * b, alpha * Ab - b
    s, y = v, alpha * Ab
    norms = [float(torch.linalg.vector_norm(f))]
    best, best_norm = v, norms[0]
    for k in range(1, iterations + 1):
        if k > 1:
            s = -apply(f)
            v = v + s
            f_new = matvec(v).detach() - b
            y, f = f_new - f, f_new
            norms.append(float(torch.linalg.vector_norm(f)))
            if norms[-1] < best_norm:
                best, best_norm = v, norms[-1]
        if not math.isfinite(norms[-1]) or best_norm <= tol * b_norm or k == iterations:
            break
        Hy = apply(y)
        denom = float(s @ Hy)
        # A (near-)zero sᵀHy would blow the update up: keep H as it is for this pair.
        if abs(denom) > 1e-12 * float(torch.linalg.vector_norm(s) * torch.linalg.vector_norm(Hy)):
            w_new = apply_transposed(s)  # sᵀH with the H before this update
            us.append((s - Hy) / denom)
            ws.append(w_new)
    return BroydenResult(solution=best, residual_norm=best_norm, relative_residual=best_norm / b_norm,
                         iterations=len(norms), residual_norms=tuple(norms))


# -- the implicit hypergradient ----------------------------------------------------------------


def _flat(tensors: Sequence[Tensor | None], like: Sequence[Tensor]) -> Tensor:
    """Concatenate gradients, with zeros for the parameters a loss does not reach."""
    return torch.cat([(torch.zeros_like(p) if g is None else g).reshape(-1)
                      for g, p in zip(tensors, like, strict=True)])


def _unflat(v: Tensor, like: Sequence[Tensor]) -> list[Tensor]:
    out, i = [], 0
    for p in like:
        out.append(v[i:i + p.numel()].view_as(p))
        i += p.numel()
    return out


def hypergradient(
    lower: Tensor, upper: Tensor, weights: Sequence[Tensor], theta: Sequence[Tensor], *,
    iterations: int, tol: float = 0.0,
) -> tuple[list[Tensor], BroydenResult]:
    """dJ/dθ at a lower-level minimiser w* by the implicit function theorem and Broyden's method.

    dJ/dθ = ∂J/∂θ − (∂²L/∂θ∂w) v with v solving (∂²L/∂w²) v = ∂J/∂w; the Hessian-vector
    products and the mixed term are double backward passes through the graph of ∂L/∂w.

    Args:
        lower: L(w, θ), a scalar with its graph.
        upper: J(w, θ), a scalar with its graph.
        weights: w, the lower-level variables.
        theta: θ, the upper-level variables.
        iterations: Broyden iterations (Hessian-vector products).
        tol: Relative residual at which Broyden stops early (0: never).

    Returns:
        dJ/dθ shaped like ``theta`` (detached), and Broyden's result for v.
    """
    weights, theta = list(weights), list(theta)
    g_upper = torch.autograd.grad(upper, weights + theta, allow_unused=True)
    dJ_dw = _flat(g_upper[:len(weights)], weights).detach()
    dJ_dtheta = _flat(g_upper[len(weights):], theta).detach()
    dL_dw = _flat(torch.autograd.grad(lower, weights, create_graph=True, allow_unused=True), weights)

    def hessian_vector(v: Tensor) -> Tensor:
        if not dL_dw.requires_grad:
            return torch.zeros_like(v)  # L is linear in w: its Hessian vanishes
        hv = torch.autograd.grad(dL_dw, weights, grad_outputs=v, retain_graph=True, allow_unused=True)
        return _flat(hv, weights)

    solved = broyden_solve(hessian_vector, dJ_dw, iterations=iterations, tol=tol)
    mixed = torch.zeros_like(dJ_dtheta)
    if dL_dw.requires_grad:
        mixed = _flat(torch.autograd.grad(dL_dw, theta, grad_outputs=solved.solution, allow_unused=True),
                      theta)
    return _unflat((dJ_dtheta - mixed).detach(), theta), solved


# -- configuration -----------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class BPNFinetuneConfig:
    """The bilevel phase of BPN (Hao et al.'s settings of the BiLO paper's App. E by default).

    Attributes:
        upper_steps: Upper iterations (one Adam step on θ each).
        lower_steps: Adam steps on w before each hypergradient.
        broyden_iterations: Broyden iterations (Hessian-vector products) per hypergradient.
        broyden_tol: Relative residual at which Broyden stops early (0: always run them all).
        lr_W: Adam learning rate of w.
        lr_theta: Adam learning rate of θ.
        amsgrad: Use AMSGrad in both optimisers.
    """

    upper_steps: int = 100
    lower_steps: int = 64
    broyden_iterations: int = 32
    broyden_tol: float = 0.0
    lr_W: float = 1e-3
    lr_theta: float = 0.05
    amsgrad: bool = False

    def __post_init__(self) -> None:
        if self.upper_steps < 0:
            raise ValueError(f"upper_steps must be >= 0, got {self.upper_steps}")
        for name in ("lower_steps", "broyden_iterations"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("lr_W", "lr_theta"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be finite and > 0, got {value}")
        if not (math.isfinite(self.broyden_tol) and self.broyden_tol >= 0):
            raise ValueError(f"broyden_tol must be finite and >= 0, got {self.broyden_tol}")

    @classmethod
    def smoke(cls) -> BPNFinetuneConfig:
        """Two upper iterations of a few lower and Broyden steps, for tests."""
        return cls(upper_steps=2, lower_steps=3, broyden_iterations=3)


@dataclass(frozen=True, kw_only=True)
class BPNConfig:
    """Everything a BPN run needs besides the problem and the data.

    Attributes:
        network: The PINN network (no embedding: θ is not an input).
        pretrain: Pre-training at θ0, the PINN's (L_res + w_ref·MSE to the reference at θ0).
        finetune: The bilevel phase.
        log_every: Record a history row every this many upper iterations (and the last).
        derivatives: Input-derivative evaluation (see ``hybrid.config.Derivatives``).
    """

    network: NetworkConfig = field(default_factory=NetworkConfig)
    pretrain: PretrainConfig = field(default_factory=PretrainConfig)
    finetune: BPNFinetuneConfig = field(default_factory=BPNFinetuneConfig)
    log_every: int = 1
    derivatives: Derivatives = "auto"

    def __post_init__(self) -> None:
        if self.log_every < 1:
            raise ValueError(f"log_every must be >= 1, got {self.log_every}")

    @classmethod
    def smoke(cls) -> BPNConfig:
        """A tiny network and a few steps, for tests."""
        return cls(network=NetworkConfig.smoke(), pretrain=PretrainConfig.smoke(),
                   finetune=BPNFinetuneConfig.smoke())

    def pretraining(self) -> PINNConfig:
        """The PINN config whose pre-training BPN starts from (no fine-tuning steps)."""
        return PINNConfig(network=self.network, pretrain=self.pretrain,
                          finetune=PINNFinetuneConfig(steps=0), derivatives=self.derivatives)


# -- the method --------------------------------------------------------------------------------


@final
class BPN:
    """The BPN method as a strategy object: ``BPN(config).fit(problem, ...)``."""

    def __init__(self, config: BPNConfig | None = None) -> None:
        self.config = config if config is not None else BPNConfig()

    def fit(self, pde: AbstractPDE, x_res: np.ndarray, x_dat: np.ndarray, u_dat: np.ndarray,
            theta_init: Mapping[str, float] | np.ndarray, u_ref: np.ndarray | None = None,
            x_ref: np.ndarray | None = None, *, device: str | torch.device | None = None,
            dtype: str | torch.dtype | None = None, seed: int = 0, progress: bool = False,
            pretrained: FitResult | None = None) -> FitResult:
        """Pre-train the PINN at θ0 (or start from ``pretrained``), then run the bilevel loop.

        Every upper iteration: ``lower_steps`` Adam steps of w on L_res = mean r² at the residual
        points (θ fixed), then dJ/dθ of the data loss J = mean_j (u(x_j) − u_dat,j)² by
        :func:`hypergradient`, and one Adam step of θ with it. History rows (phase
        ``"finetune"``, one per logged upper iteration) hold ``lower_iterations`` (cumulative),
        ``time``, ``res``, ``data``, ``broyden_rel_residual`` and ``theta_<name>``.

        Args:
            pde: The problem (scalar unknowns, no interface conditions).
            x_res: Residual points (N_res, d).
            x_dat: Observation points (N_dat, d).
            u_dat: Observations (N_dat,).
            theta_init: θ0 as name -> value.
            u_ref: Reference solution at θ0 for the pre-training, or None.
            x_ref: Points of ``u_ref`` (default ``x_res``).
            device: Torch device (default CUDA if available, else CPU).
            dtype: ``"float32"`` (default) or ``"float64"``.
            seed: Seeds the networks' initialisation.
            progress: Show progress bars.
            pretrained: A finished PINN pre-training (``BPNConfig.pretraining()``) at the same θ0;
                it is copied, never changed, so one can serve several runs.

        Returns:
            The inferred θ, the history (pre-training rows first when pre-trained here) and the
            model; ``steps`` counts upper iterations.

        Raises:
            ValueError: A function unknown or interface conditions (not BPN's setting).
            DivergenceError: A loss or the hypergradient became non-finite.
        """
        if isinstance(pde, AbstractFunctionPDE):
            raise ValueError("BPN infers scalar unknowns; this problem's unknown is a function")
        if pde.interface_points() is not None:
            raise ValueError("BPN's lower level is the residual loss only; this problem has interface "
                             "conditions")
        t0 = time.perf_counter()
        theta0 = theta_vector(pde, theta_init)
        history: list[dict[str, Any]] = []
        if pretrained is None:
            pretrained = PINN(self.config.pretraining()).fit(
                pde, x_res, x_dat, u_dat, theta_init, u_ref, x_ref, device=device, dtype=dtype, seed=seed,
                progress=progress)
            history = list(pretrained.history)
        model = copy.deepcopy(pretrained.model)
        theta = model.theta
        assert theta is not None  # scalar unknowns (checked above)
        with torch.no_grad():
            theta.copy_(torch.as_tensor(theta0, dtype=theta.dtype, device=theta.device))

        def tensor(a: np.ndarray) -> Tensor:
            assert theta is not None
            return torch.as_tensor(np.asarray(a, dtype=np.float64), dtype=theta.dtype, device=theta.device)

        x_r, x_d = tensor(x_res), tensor(x_dat)
        u_d = tensor(np.asarray(u_dat).reshape(-1))
        fc, names = self.config.finetune, tuple(pde.param_names)
        W = model.weights()
        opt_W = adam([{"params": W, "lr": fc.lr_W}], amsgrad=fc.amsgrad)
        opt_T = adam([{"params": [theta], "lr": fc.lr_theta}], amsgrad=fc.amsgrad)

        def lower_loss() -> Tensor:
            r, _ = model.residual(x_r, with_gradient=False)
            return residual_loss(r)

        t_start = time.perf_counter()
        bar = tqdm(range(1, fc.upper_steps + 1), desc="bpn", disable=not progress, leave=False)
        for k in bar:
            for _ in range(fc.lower_steps):
                # no finiteness check per lower step (a device sync each): L below tells
                grads = torch.autograd.grad(lower_loss(), W, allow_unused=True)
                for w, g in zip(W, grads, strict=True):
                    w.grad = torch.zeros_like(w) if g is None else g
                opt_W.step()
            L, J = lower_loss(), fit_term(model, x_d, u_d, x_d.shape[0])
            (g_theta,), solved = hypergradient(L, J, W, [theta], iterations=fc.broyden_iterations,
                                               tol=fc.broyden_tol)
            res, dat = float(L.detach()), float(J.detach())
            if not (bool(torch.isfinite(g_theta).all()) and math.isfinite(res) and math.isfinite(dat)):
                raise DivergenceError(f"bpn upper iteration {k}: non-finite res loss, data loss or "
                                      f"hypergradient (res {res:.3g}, data {dat:.3g})")
            theta.grad = g_theta
            opt_T.step()
            if k % self.config.log_every == 0 or k == fc.upper_steps:
                row = {"step": k, "phase": "finetune", "time": time.perf_counter() - t0,
                       "lower_iterations": k * fc.lower_steps, "res": res, "data": dat,
                       "broyden_rel_residual": solved.relative_residual,
                       **{f"theta_{n}": float(v) for n, v in zip(names, theta.detach().cpu(), strict=True)}}
                history.append(row)
                if progress:
                    bar.set_postfix({n: f"{v:.3g}" for n, v in row.items() if n.startswith("theta_")},
                                    refresh=False)
        bar.close()
        finetune_s = time.perf_counter() - t_start
        return FitResult(
            theta={n: float(v) for n, v in zip(names, theta.detach().cpu(), strict=True)},
            history=history, wall_s=time.perf_counter() - t0, steps=fc.upper_steps,
            pretrain_steps=pretrained.pretrain_steps,
            s_per_step=finetune_s / fc.upper_steps if fc.upper_steps else float("nan"), model=model)
