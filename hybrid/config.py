"""Frozen, keyword-only configuration for the BiLO and PINN methods.

Every component gets its own dataclass; the method configs compose them. ``smoke()`` shrinks
step counts and network sizes for tests instead of rewriting scripts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

Derivatives = Literal["auto", "autograd", "jet", "compiled"]
"""How input derivatives are computed: ``"jet"`` (forward tangent propagation, for an
``AbstractJetPDE``), ``"autograd"`` (nested backward passes), ``"auto"`` (jet when possible),
``"compiled"`` (the jets, with the residual and its θ-gradient compiled by ``torch.compile``:
a C++ compiler at run time, a first step some seconds to a minute longer, then faster steps;
see ``hybrid.compiled``)."""


@dataclass(frozen=True, kw_only=True)
class NetworkConfig:
    """The local-operator network u(x, θ; W) (paper §1.1).

    Attributes:
        depth: Number of Linear layers (paper default 4 = input, 2 hidden, output).
        width: Hidden width (paper experiments use 128).
        fourier: Prepend frozen random Fourier features sin(2πσ(Ax + a)) and a Linear(width, width).
        fourier_sigma: σ of the Fourier features.
        train_embedding: Train the parameter embedding E_p with W (the authors' code does).
    """

    depth: int = 4
    width: int = 128
    fourier: bool = False
    fourier_sigma: float = 1.0
    train_embedding: bool = True

    def __post_init__(self) -> None:
        if self.depth < 2 or self.width < 1:
            raise ValueError(f"need depth >= 2 and width >= 1, got depth={self.depth}, width={self.width}")

    @classmethod
    def smoke(cls) -> NetworkConfig:
        """A tiny network for tests."""
        return cls(depth=3, width=8)


@dataclass(frozen=True, kw_only=True)
class FunctionNetworkConfig:
    """The unknown-function network f_V(x) (paper §1.2): Linear(d,w), tanh, ..., Linear(w,1).

    Attributes:
        depth: Number of Linear layers.
        width: Hidden width.
        output_activation: Applied to the MLP output before the problem's ``function_transform``.
        fourier: Feed frozen random Fourier features sin(2πσ(Ax + a)) (width of them) to the MLP
            instead of x: a tanh MLP of x is slow to form sharp interfaces (spectral bias).
        fourier_sigma: σ of those features (frequencies ~ σ per unit length).
        kind: ``"mlp"``: the network above; ``"p1"``: no network, the nodal values of a P1
            function on a triangle mesh given to ``fit`` (``function_mesh``), evaluated with its
            exact derivatives at any point (``hybrid.PiecewiseLinearField``; depth and width unused).
    """

    depth: int = 4
    width: int = 64
    output_activation: Literal["identity", "softplus"] = "identity"
    fourier: bool = False
    fourier_sigma: float = 1.0
    kind: Literal["mlp", "p1"] = "mlp"

    def __post_init__(self) -> None:
        if self.kind not in ("mlp", "p1"):
            raise ValueError(f"function network kind must be 'mlp' or 'p1', got {self.kind!r}")
        if self.depth < 2 or self.width < 1:
            raise ValueError(f"need depth >= 2 and width >= 1, got depth={self.depth}, width={self.width}")

    @classmethod
    def smoke(cls) -> FunctionNetworkConfig:
        """A tiny network for tests."""
        return cls(depth=3, width=8)


@dataclass(frozen=True, kw_only=True)
class RegularizerConfig:
    """Regulariser on an unknown function f_V.

    Attributes:
        kind: ``"h1"`` = mean |∇f|², ``"tv"`` = mean Σ_i |∂_i f|, ``"none"``.
        weight: w_reg.
    """

    kind: Literal["none", "h1", "tv"] = "none"
    weight: float = 0.0


@dataclass(frozen=True, kw_only=True)
class PretrainConfig:
    """Pre-training at the initial guess θ0 (θ frozen; f_V fitted to the initial-guess function).

    Attributes:
        steps: Optimiser steps.
        lr: Adam learning rate of W (and of V for function unknowns).
        w_rgrad: Weight of the residual-gradient loss (BiLO only).
        w_ref: Weight of the MSE to the reference solution at θ0.
        w_func: Weight of the MSE of f_V to the initial-guess function (function unknowns).
        amsgrad: Use AMSGrad (the authors' code does).
    """

    steps: int = 10_000
    lr: float = 1e-3
    w_rgrad: float = 0.1
    w_ref: float = 1.0
    w_func: float = 1.0
    amsgrad: bool = False

    @classmethod
    def smoke(cls) -> PretrainConfig:
        """A few steps for tests."""
        return cls(steps=5)


@dataclass(frozen=True, kw_only=True)
class BiLOFinetuneConfig:
    """BiLO fine-tuning: simultaneous Adam steps on W (lower level) and θ or V (upper level).

    Attributes:
        steps: Iterations (one lower and one upper step each).
        lr_W: Learning rate of the network weights W.
        lr_theta: Learning rate of θ (or of V for function unknowns).
        w_rgrad: Weight of the residual-gradient loss in the lower level.
        regularizer: Regulariser of a function unknown in the upper level.
        amsgrad: Use AMSGrad.
        fidelity_every: Call ``exact_data_gradient`` every this many steps (0: never).
        lower_steps: Steps of W per step of θ: the first ``lower_steps − 1`` of each iteration
            on the lower level alone, then the simultaneous one (the paper's path of solving the
            lower level more exactly between upper steps; 1: the paper's simultaneous updates).
        lr_theta_final: None: θ's learning rate stays ``lr_theta``; a value: it follows a cosine
            from ``lr_theta`` at the first step to this at the last (a function of the step
            alone, so a resumed run continues the same schedule).
    """

    steps: int = 50_000
    lr_W: float = 1e-3
    lr_theta: float = 1e-2
    w_rgrad: float = 0.1
    regularizer: RegularizerConfig = field(default_factory=RegularizerConfig)
    amsgrad: bool = False
    fidelity_every: int = 0
    lower_steps: int = 1
    lr_theta_final: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.lower_steps, int) or self.lower_steps < 1:
            raise ValueError(f"lower_steps must be an integer >= 1, got {self.lower_steps!r}")
        if self.lr_theta_final is not None and not 0 <= self.lr_theta_final <= self.lr_theta:
            raise ValueError(f"lr_theta_final must be in [0, lr_theta = {self.lr_theta}], got "
                             f"{self.lr_theta_final!r}")

    def theta_lr(self, k: int) -> float:
        """θ's learning rate at fine-tuning step k = 1..steps."""
        if self.lr_theta_final is None or self.steps <= 1:
            return self.lr_theta
        lo, hi = self.lr_theta_final, self.lr_theta
        return lo + 0.5 * (hi - lo) * (1.0 + math.cos(math.pi * (k - 1) / (self.steps - 1)))

    @classmethod
    def smoke(cls) -> BiLOFinetuneConfig:
        """A few steps for tests."""
        return cls(steps=5)


@dataclass(frozen=True, kw_only=True)
class PINNFinetuneConfig:
    """PINN inversion: one Adam over two groups (W: lr_W, θ or V: lr_theta), one loss.

    Attributes:
        steps: Optimiser steps.
        lr_W: Learning rate of W.
        lr_theta: Learning rate of θ (or V).
        w_dat: Weight of the data loss.
        regularizer: Regulariser of a function unknown.
        amsgrad: Use AMSGrad.
    """

    steps: int = 50_000
    lr_W: float = 1e-3
    lr_theta: float = 1e-3
    w_dat: float = 1.0
    regularizer: RegularizerConfig = field(default_factory=RegularizerConfig)
    amsgrad: bool = False

    @classmethod
    def smoke(cls) -> PINNFinetuneConfig:
        """A few steps for tests."""
        return cls(steps=5)


def _check_batch(batch: int | None) -> None:
    if batch is not None and (not isinstance(batch, int) or batch < 1):
        raise ValueError(f"res_batch must be a positive number of points or None, got {batch!r}")


@dataclass(frozen=True, kw_only=True)
class BiLOConfig:
    """Everything a BiLO run needs besides the problem and the data.

    Attributes:
        network: Local-operator network.
        function_network: Unknown-function network (used only for function unknowns).
        pretrain: Pre-training phase.
        finetune: Fine-tuning phase.
        log_every: Record a history row every this many steps (and at each phase's last step).
        derivatives: Input-derivative evaluation (see ``Derivatives``).
        w_bc: Weight of the boundary loss L_bc = mean_j (u(x_bc,j) − u_bc,j)² in the lower-level
            loss (W only) of both phases; used only when ``fit`` is given ``x_bc`` and ``u_bc``.
        w_jump, w_djump: Weights of the interface loss mean J² and of its θ-gradient loss
            mean Σ_p (∂J/∂θ_p)² in the lower level of both phases; used only when the problem
            has ``interface_points`` (the spec's jump + 0.1·djump).
        res_batch: Residual points per step, drawn afresh from ``x_res`` at every step (the
            authors' ``pde_batch_size``), or None: all of them. A large pool sampled in batches
            keeps a network with fine features (e.g. Fourier features) from fitting the PDE at
            a fixed point set only.
    """

    network: NetworkConfig = field(default_factory=NetworkConfig)
    function_network: FunctionNetworkConfig = field(default_factory=FunctionNetworkConfig)
    pretrain: PretrainConfig = field(default_factory=PretrainConfig)
    finetune: BiLOFinetuneConfig = field(default_factory=BiLOFinetuneConfig)
    log_every: int = 10
    derivatives: Derivatives = "auto"
    w_bc: float = 1.0
    w_jump: float = 1.0
    w_djump: float = 0.1
    res_batch: int | None = None

    def __post_init__(self) -> None:
        for name in ("w_bc", "w_jump", "w_djump"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be finite and >= 0, got {value}")
        _check_batch(self.res_batch)

    @classmethod
    def smoke(cls) -> BiLOConfig:
        """Tiny networks and a few steps, for tests."""
        return cls(network=NetworkConfig.smoke(), function_network=FunctionNetworkConfig.smoke(),
                   pretrain=PretrainConfig.smoke(), finetune=BiLOFinetuneConfig.smoke(), log_every=1)


@dataclass(frozen=True, kw_only=True)
class PINNConfig:
    """Everything a PINN run needs besides the problem and the data.

    Attributes:
        network: Network (its embedding is never built for the PINN).
        function_network: Unknown-function network (used only for function unknowns).
        pretrain: Pre-training at θ0 (``w_rgrad`` is ignored).
        finetune: Inversion phase.
        log_every: Record a history row every this many steps.
        derivatives: Input-derivative evaluation (see ``Derivatives``).
        w_bc: Weight of the boundary loss L_bc = mean_j (u(x_bc,j) − u_bc,j)² in the loss of both
            phases; used only when ``fit`` is given ``x_bc`` and ``u_bc``.
        w_jump: Weight of the interface loss mean J² in both phases (problems with
            ``interface_points`` only).
        res_batch: Residual points per step, drawn afresh from ``x_res`` (see ``BiLOConfig``).
    """

    network: NetworkConfig = field(default_factory=NetworkConfig)
    function_network: FunctionNetworkConfig = field(default_factory=FunctionNetworkConfig)
    pretrain: PretrainConfig = field(default_factory=PretrainConfig)
    finetune: PINNFinetuneConfig = field(default_factory=PINNFinetuneConfig)
    log_every: int = 10
    derivatives: Derivatives = "auto"
    w_bc: float = 1.0
    w_jump: float = 1.0
    res_batch: int | None = None

    def __post_init__(self) -> None:
        for name in ("w_bc", "w_jump"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be finite and >= 0, got {value}")
        _check_batch(self.res_batch)

    @classmethod
    def smoke(cls) -> PINNConfig:
        """Tiny networks and a few steps, for tests."""
        return cls(network=NetworkConfig.smoke(), function_network=FunctionNetworkConfig.smoke(),
                   pretrain=PretrainConfig.smoke(), finetune=PINNFinetuneConfig.smoke(), log_every=1)


@dataclass(frozen=True, kw_only=True)
class CheckpointConfig:
    """Periodic checkpoints (network, θ, optimiser states, step, history, RNG state).

    Attributes:
        dir: Directory of the checkpoint files.
        every: Save every this many steps (counted over both phases).
        resume: Continue from the last checkpoint in ``dir`` if there is one.
    """

    dir: Path | str
    every: int = 1000
    resume: bool = False

    def __post_init__(self) -> None:
        if self.every < 1:
            raise ValueError(f"CheckpointConfig.every must be >= 1, got {self.every}")

