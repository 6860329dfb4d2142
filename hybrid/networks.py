"""Networks: the local operator u(x, θ; W), the PINN network, and the unknown-function network f_V."""

from __future__ import annotations

import math
from typing import final

import torch
from torch import Tensor, nn

from .config import FunctionNetworkConfig, NetworkConfig


@final
class FourierFeatures(nn.Module):
    """Frozen random Fourier features h = sin(2πσ(A x + a)), A ~ N(0, 1), a ~ U(0, 2π)."""

    def __init__(self, in_dim: int, width: int, sigma: float) -> None:
        super().__init__()
        self.sigma = sigma
        # Buffers, not parameters: they are frozen and must not reach any optimiser.
        self.register_buffer("A", torch.randn(width, in_dim))
        self.register_buffer("a", 2 * math.pi * torch.rand(width))

    def forward(self, x: Tensor) -> Tensor:
        """Features (n, width) of points x (n, d)."""
        return torch.sin(2 * math.pi * self.sigma * (x @ self.A.T + self.a))


@final
class LocalOperator(nn.Module):
    """Tanh MLP whose first layer adds a per-parameter embedding Σ_p E_p θ_p.

    With ``n_params = 0`` it is the plain PINN network. ``forward`` returns the raw output N (n,);
    the problem's ``output_transform`` turns it into u.
    """

    def __init__(self, in_dim: int, n_params: int, config: NetworkConfig) -> None:
        super().__init__()
        w = config.width
        self.features = FourierFeatures(in_dim, w, config.fourier_sigma) if config.fourier else None
        self.input = nn.Linear(w if config.fourier else in_dim, w)
        # One Linear(1, w) per parameter, as in the paper (default init U(-1, 1) since fan_in = 1).
        self.embedding = nn.ModuleList(nn.Linear(1, w, bias=False) for _ in range(n_params))
        for e in self.embedding:
            e.weight.requires_grad_(config.train_embedding)
        self.hidden = nn.ModuleList(nn.Linear(w, w) for _ in range(config.depth - 2))
        self.output = nn.Linear(w, 1)

    @property
    def n_params(self) -> int:
        """Number of embedded parameters."""
        return len(self.embedding)

    def embedding_matrix(self) -> Tensor:
        """E = [E_1 ... E_p], shape (width, p)."""
        return torch.cat([e.weight for e in self.embedding], dim=1)

    def forward(self, x: Tensor, theta: Tensor | None = None) -> Tensor:
        """Raw output N(x, θ) (n,) for points x (n, d) and per-point parameters θ (n, p)."""
        h = self.features(x) if self.features is not None else x
        y = self.input(h)
        if self.n_params:
            if theta is None or theta.shape[-1] != self.n_params:
                raise ValueError(f"the local operator embeds {self.n_params} parameters, got theta "
                                 f"{None if theta is None else tuple(theta.shape)}")
            # One matmul for all parameters instead of a Python loop over E_p θ_p.
            y = y + theta @ self.embedding_matrix().T
        h = torch.tanh(y)
        for layer in self.hidden:
            h = torch.tanh(layer(h))
        return self.output(h).squeeze(-1)


@final
class FunctionNetwork(nn.Module):
    """Unknown-function MLP v = MLP_V(x) (n,), before the problem's ``function_transform``."""

    def __init__(self, in_dim: int, config: FunctionNetworkConfig) -> None:
        super().__init__()
        w = config.width
        dims = [in_dim] + [w] * (config.depth - 1)
        layers: list[nn.Module] = []
        for a, b in zip(dims[:-1], dims[1:], strict=True):
            layers += [nn.Linear(a, b), nn.Tanh()]
        layers.append(nn.Linear(w, 1))
        if config.output_activation == "softplus":
            layers.append(nn.Softplus())
        self.mlp = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        """Raw output v (n,) at points x (n, d)."""
        return self.mlp(x).squeeze(-1)
