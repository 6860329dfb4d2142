"""Networks: the local operator u(x, θ; W), the PINN network, and the unknown-function network f_V."""

from __future__ import annotations

import math
from typing import cast, final

import torch
from torch import Tensor, nn

from .config import FunctionNetworkConfig, NetworkConfig


@final
class FourierFeatures(nn.Module):
    """Frozen random Fourier features h = sin(2πσ(A x + a)), A ~ N(0, 1), a ~ U(0, 2π)."""

    # Registered buffers (nn.Module.__getattr__ alone would type them as Tensor | Module).
    A: Tensor
    a: Tensor

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
        return torch.cat([cast(nn.Linear, e).weight for e in self.embedding], dim=1)

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
        out: Tensor = self.output(h)  # (nn.Module.__call__ is typed Any)
        return out.squeeze(-1)

    def forward_jet(self, x: Tensor, theta: Tensor | None, first: tuple[int, ...],
                    second: tuple[int, ...], dtheta: list[Tensor] | None = None,
                    d2theta: list[Tensor] | None = None) -> tuple[Tensor, list[Tensor], list[Tensor]]:
        """N and its input derivatives by forward propagation of tangents through the layers.

        Each hidden layer carries the value block and one (n, width) block per first derivative
        (coordinates ``first``) and per pure second derivative (coordinates ``second``, each of
        which must also be in ``first``), with tanh' = 1 - tanh² and tanh'' = -2 tanh tanh'. θ
        does not depend on x, so it only shifts the value block. Blocks are kept as separate
        tensors: stacking them into one matmul was slower on CPU, because slicing the stack
        makes autograd allocate and zero-fill full-size gradient buffers.

        Args:
            x: Points (n, d).
            theta: Per-point parameters (n, p), or None without an embedding.
            first: The coordinates of the first derivatives.
            second: The coordinates of the pure second derivatives (each also in ``first``).
            dtheta: ∂_i θ (n, p) for i in ``first`` when θ depends on x (a function unknown
                z = f(x)); None: θ is constant in x.
            d2theta: ∂_ii θ (n, p) for i in ``second`` (None: θ is constant in x).

        Returns:
            N (n,), the first derivatives [∂_i N (n,) for i in first] and the second
            derivatives [∂_ii N (n,) for i in second].
        """
        sel = [first.index(i) for i in second]
        y0, y1, y2 = self._input_jet(x, theta, first, sel, dtheta, d2theta)
        for layer in [*self.hidden, self.output]:
            t, t1, h1, th = _tanh_jet(y0, y1, sel)
            h2 = _second(t1, th, y1, y2, sel)
            Wt = layer.weight.T
            y0, y1, y2 = layer(t), [h @ Wt for h in h1], [h @ Wt for h in h2]
        assert y2 is not None
        return y0.squeeze(-1), [a.squeeze(-1) for a in y1], [b.squeeze(-1) for b in y2]

    def _input_jet(self, x: Tensor, theta: Tensor | None, first: tuple[int, ...], sel: list[int],
                   dtheta: list[Tensor] | None, d2theta: list[Tensor] | None,
                   ) -> tuple[Tensor, list[Tensor], list[Tensor] | None]:
        """The first layer's pre-activation jet (value, [∂_i], [∂_ii] or None when zero)."""
        if self.features is not None:
            h0, h1, h2 = _fourier_jet(self.features, x, first, sel)
            Wt = self.input.weight.T
            y0 = self.input(h0)
            y1: list[Tensor] = [a @ Wt for a in h1]
            y2: list[Tensor] | None = [b @ Wt for b in h2]
        else:
            y0 = self.input(x)
            y1 = [self.input.weight[:, i] for i in first]                     # (w,) constants
            y2 = None
        if self.n_params:
            assert theta is not None
            E = self.embedding_matrix().T
            y0 = y0 + theta @ E
            # z = f(x) moves with x: its tangents enter through the embedding too.
            if dtheta is not None:
                y1 = [a + dt @ E for a, dt in zip(y1, dtheta, strict=True)]
            if d2theta is not None:
                y2 = [d2t @ E for d2t in d2theta] if y2 is None else \
                    [b + d2t @ E for b, d2t in zip(y2, d2theta, strict=True)]
        return y0, y1, y2


def _fourier_jet(f: FourierFeatures, x: Tensor, first: tuple[int, ...],
                 sel: list[int]) -> tuple[Tensor, list[Tensor], list[Tensor]]:
    """The features sin(φ), φ = 2πσ(Ax + a), and their ∂_i (cos φ·g_i) and ∂_ii (−sin φ·g_i²)."""
    c = 2 * math.pi * f.sigma
    phi = c * (x @ f.A.T + f.a)
    s, co = torch.sin(phi), torch.cos(phi)
    g = [c * f.A[:, i] for i in first]                                          # (w,) each
    return s, [co * gi for gi in g], [-s * g[k] ** 2 for k in sel]


def _tanh_jet(y0: Tensor, y1: list[Tensor],
              sel: list[int]) -> tuple[Tensor, Tensor, list[Tensor], list[Tensor]]:
    """t = tanh(y0), t1 = tanh', the first-derivative blocks t1·y_i and t·t1·y_i for the second ones."""
    t = torch.tanh(y0)
    t1 = 1 - t * t
    h1 = [t1 * a for a in y1]
    return t, t1, h1, [t * h1[k] for k in sel]


def _second(t1: Tensor, th: list[Tensor], y1: list[Tensor], y2: list[Tensor] | None,
            sel: list[int]) -> list[Tensor]:
    """tanh'' y_i² + tanh' y_ii = t1·y_ii − 2·t·(t1·y_i)·y_i, reusing th = t·t1·y_i."""
    if y2 is None:
        return [-2 * a * y1[k] for a, k in zip(th, sel, strict=True)]
    return [torch.addcmul(t1 * b, a, y1[k], value=-2) for a, b, k in zip(th, y2, sel, strict=True)]


@final
class FunctionNetwork(nn.Module):
    """Unknown-function MLP v = MLP_V(x) (n,), before the problem's ``function_transform``."""

    def __init__(self, in_dim: int, config: FunctionNetworkConfig) -> None:
        super().__init__()
        w = config.width
        self.features = FourierFeatures(in_dim, w, config.fourier_sigma) if config.fourier else None
        dims = [w if config.fourier else in_dim] + [w] * (config.depth - 1)
        layers: list[nn.Module] = []
        for a, b in zip(dims[:-1], dims[1:], strict=True):
            layers += [nn.Linear(a, b), nn.Tanh()]
        layers.append(nn.Linear(w, 1))
        if config.output_activation == "softplus":
            layers.append(nn.Softplus())
        self.mlp = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        """Raw output v (n,) at points x (n, d)."""
        h = self.features(x) if self.features is not None else x
        out: Tensor = self.mlp(h)  # (nn.Module.__call__ is typed Any)
        return out.squeeze(-1)

    def forward_jet(self, x: Tensor, first: tuple[int, ...],
                    second: tuple[int, ...]) -> tuple[Tensor, list[Tensor], list[Tensor]]:
        """v and its input derivatives by forward tangents, like :meth:`LocalOperator.forward_jet`.

        Returns:
            v (n,), [∂_i v (n,) for i in first], [∂_ii v (n,) for i in second].
        """
        sel = [first.index(i) for i in second]
        if self.features is not None:
            h0, h1, h2 = _fourier_jet(self.features, x, first, sel)
        else:
            h0 = x
            eye = torch.eye(x.shape[1], dtype=x.dtype, device=x.device)
            h1 = [eye[i] for i in first]
            h2 = None
        y0, y1, y2 = h0, h1, h2
        for layer in self.mlp:
            if isinstance(layer, nn.Linear):
                Wt = layer.weight.T
                y0, y1 = layer(y0), [a @ Wt for a in y1]
                y2 = None if y2 is None else [b @ Wt for b in y2]
            elif isinstance(layer, nn.Tanh):
                t, t1, g1, th = _tanh_jet(y0, y1, sel)
                y0, y1, y2 = t, g1, _second(t1, th, y1, y2, sel)
            elif isinstance(layer, nn.Softplus):  # softplus' = sigmoid, softplus'' = sigmoid·(1 − sigmoid)
                sg = torch.sigmoid(y0)
                d2 = [sg * (1 - sg) * y1[k] ** 2 for k in sel]
                y2 = d2 if y2 is None else [a + sg * b for a, b in zip(d2, y2, strict=True)]
                y0, y1 = layer(y0), [sg * a for a in y1]
            else:
                raise TypeError(f"FunctionNetwork.forward_jet has no jet rule for {type(layer).__name__}")
        if y2 is None:  # a purely linear path: no curvature
            y2 = [torch.zeros_like(y0) for _ in sel]
        return y0.squeeze(-1), [a.squeeze(-1) for a in y1], [b.squeeze(-1) for b in y2]
