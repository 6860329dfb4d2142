"""Approximate distance functions (ADFs) for imposing Dirichlet conditions exactly on any 2D domain.

The boundary is a set of line segments (for a mesh: ``fem.boundary_segments``). Following
Sukumar & Srivastava [1], each segment with end points ``a``, ``b``, length ``L`` and centre
``c`` gets a trimmed distance function

    f   = ((x - a) × (b - a)) / L                         signed distance to the segment's line
    t   = ((L / 2)² - |x - c|²) / L                        trimming: t ≥ 0 on the disk over the segment
    φ_i = sqrt(f² + ((sqrt(t² + f⁴) - t) / 2)²),

which vanishes exactly on the segment, is positive elsewhere, behaves like ``|f|`` near the
segment and is smooth away from it. The segments are joined by the R_m-equivalence

    φ = (Σ_i φ_i^(-m))^(-1/m),

which vanishes on every segment and is normalised to order ``m`` there (``∂φ/∂n = 1`` and, for
``m ≥ 2``, ``∂²φ/∂n² = 0`` away from the segment ends). A network output ``N`` then satisfies the
Dirichlet condition ``u = g`` by construction through ``u = g + φ N`` (:func:`dirichlet_transform`).

Far from a segment (distance ``r`` much larger than its length ``h``) ``φ_i`` grows like
``r² / h``, so for a boundary made of many short segments (a mesh boundary) the R_1 sum tends to
the ``h``-independent integral ``∫ ds / r²`` and ``φ`` behaves like a distance function of the
curve (on a disk of radius ``R`` it approaches ``(R² - |x - c|²) / (2 R)``, the classical ADF).
For ``m ≥ 2`` the sum scales like ``h^(m-1)``: ``φ`` keeps ``|∇φ| = 1`` only within about ``h``
of the boundary and grows like ``r^((2m-1)/m)`` beyond, so its normalised profile is flat near
the boundary and steep inside. Use ``m = 1`` for mesh boundaries; ``m = 2`` (second-order
normalisation) for polygons with a few edges.

[1] N. Sukumar, A. Srivastava, "Exact imposition of boundary conditions with distance functions
    in physics-informed deep neural networks", CMAME 389 (2022) 114333.
"""

from __future__ import annotations

from typing import cast, final

import numpy as np
import torch
from torch import Tensor, nn

_CHUNK_ENTRIES = 2**22  # points × segments per chunk: bounds the memory of the (n, S) temporaries
_GRID = 65  # nodes per direction of the grid used for the normalisation


@final
class DistanceFunction(nn.Module):
    """Smooth approximate distance ``φ(x)`` to a set of 2D segments (zero on them, positive elsewhere).

    With ``normalize=True`` the raw R_m function is divided by its maximum over the nodes of a
    65 × 65 grid on the segments' bounding box that lie inside the boundary (even–odd rule, so
    holes are outside; all nodes if the segments enclose none), so that ``max φ ≈ 1`` over the
    domain whatever the number of segments. The factor is :attr:`scale`.

    The segments are kept as float64 buffers (``.to(device)`` moves them); the input's dtype and
    device are used for the computation, so one instance serves float32 and float64 inputs.
    Evaluation is vectorised over points × segments, in chunks of points for large inputs, and
    twice differentiable by autograd away from the segments. On a segment itself ``φ`` is
    zero to round-off and its autograd gradient is zero (``φ`` has a kink there, like ``|x|``).

    Args:
        segments: ``(S, 2, 2)``: ``segments[k] = [start, end]``; orientation is irrelevant.
        m: Order of the R-equivalence, an integer ≥ 1.
        normalize: Divide by the maximum over the domain (see above).

    Example::

        phi = DistanceFunction(fem.boundary_segments(md), m=2)   # numpy from fem, torch here
        u = dirichlet_transform(phi(x), net(x).squeeze(-1), g=0.0)
    """

    # Registered buffers (nn.Module.__getattr__ alone would type them as Tensor | Module).
    start: Tensor
    direction: Tensor
    length: Tensor
    center: Tensor
    scale: Tensor

    def __init__(self, segments: np.ndarray, m: int = 1, normalize: bool = True) -> None:
        super().__init__()
        seg = np.asarray(segments, dtype=np.float64)
        if seg.ndim != 3 or seg.shape[1:] != (2, 2) or len(seg) == 0:
            raise ValueError(f"segments must have shape (S, 2, 2) with S >= 1, got {seg.shape}")
        if not np.all(np.isfinite(seg)):
            raise ValueError("segments contain non-finite coordinates")
        length = np.linalg.norm(seg[:, 1] - seg[:, 0], axis=1)
        if np.any(length <= 0):
            raise ValueError(f"{int(np.sum(length <= 0))} segment(s) have zero length")
        if int(m) != m or m < 1:
            raise ValueError(f"m must be an integer >= 1, got {m!r}")
        self.m = int(m)
        self.register_buffer("start", torch.from_numpy(seg[:, 0].copy()))
        self.register_buffer("direction", torch.from_numpy(seg[:, 1] - seg[:, 0]))
        self.register_buffer("length", torch.from_numpy(length))
        self.register_buffer("center", torch.from_numpy(seg.mean(axis=1)))
        self.register_buffer("scale", torch.ones((), dtype=torch.float64))
        if normalize:
            self.scale = self._domain_maximum(seg)

    def forward(self, x: Tensor) -> Tensor:
        """``φ(x)`` for points ``x`` of shape ``(n, 2)``; returns ``(n,)`` in ``x``'s dtype and device."""
        if x.ndim != 2 or x.shape[1] != 2:
            raise ValueError(f"x must have shape (n, 2), got {tuple(x.shape)}")
        rows = max(1, _CHUNK_ENTRIES // len(self.length))
        phi = torch.cat([self._raw(chunk) for chunk in torch.split(x, rows)]) if len(x) else x[:, 0]
        return phi / self.scale.to(x)

    def derivatives(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """``φ``, ``∇φ`` and ``Δφ`` at points ``(n, 2)``, detached (to precompute at fixed points).

        ``φ`` does not depend on network weights, so with ``u = g + φ N`` the residual can use
        ``Δu = Δg + N Δφ + 2 ∇φ·∇N + φ ΔN`` with these values computed once.

        Returns:
            ``phi (n,)``, ``grad (n, 2)``, ``laplacian (n,)`` in ``x``'s dtype and device.
        """
        parts = []
        for chunk in torch.split(x.detach(), max(1, _CHUNK_ENTRIES // (4 * len(self.length)))):
            p = chunk.clone().requires_grad_(True)
            with torch.enable_grad():
                phi = self(p)
                (grad,) = torch.autograd.grad(phi.sum(), p, create_graph=True)
                lap = cast(Tensor, sum(torch.autograd.grad(grad[:, k].sum(), p, retain_graph=True)[0][:, k]
                                       for k in range(2)))
            parts.append((phi.detach(), grad.detach(), lap.detach()))
        if not parts:
            return x[:, 0], x, x[:, 0]
        return tuple(torch.cat(p) for p in zip(*parts, strict=True))  # type: ignore[return-value]

    def inside(self, x: Tensor) -> Tensor:
        """Whether the points ``(n, 2)`` lie inside the closed boundary (even–odd rule), ``(n,)`` bool."""
        a, d = self.start.to(x), self.direction.to(x)
        b = a + d
        ax, ay, bx, by = a[:, 0], a[:, 1], b[:, 0], b[:, 1]
        px, py = x[:, :1], x[:, 1:]
        straddles = (ay > py) != (by > py)
        dy = torch.where(by == ay, torch.ones_like(by), by - ay)  # horizontal segments never straddle
        crossing = straddles & (px < ax + (py - ay) * (bx - ax) / dy)
        return crossing.sum(dim=1) % 2 == 1

    def _raw(self, x: Tensor) -> Tensor:
        """The un-normalised R_m function, ``(n,)``."""
        a, d, length, c = (t.to(x) for t in (self.start, self.direction, self.length, self.center))
        tiny = torch.finfo(x.dtype).tiny
        r = x[:, None, :] - a[None]  # (n, S, 2)
        f = (r[..., 0] * d[:, 1] - r[..., 1] * d[:, 0]) / length
        t = ((0.5 * length) ** 2 - ((x[:, None, :] - c[None]) ** 2).sum(-1)) / length
        f2 = f * f
        # clamped square roots: finite (zero) gradients exactly on a segment and at its ends,
        # where the function has a kink, instead of NaNs that would poison a whole batch
        rho = torch.sqrt(torch.clamp(t * t + f2 * f2, min=tiny))
        # sqrt(t² + f⁴) - t without cancellation when t > 0 (near the segment, in float32)
        excess = torch.where(t > 0, f2 * f2 / (rho + t.abs()), rho - t)
        phi_i = torch.sqrt(torch.clamp(f2 + 0.25 * excess * excess, min=tiny))
        # (Σ φ_i^-m)^(-1/m) = φ_min (Σ (φ_min / φ_i)^m)^(-1/m): the sum lies in [1, S], so neither
        # overflows near a segment; φ_min is detached because the identity holds for any factor
        phi_min = phi_i.detach().amin(dim=1, keepdim=True)
        total = ((phi_min / phi_i) ** self.m).sum(dim=1)
        return phi_min[:, 0] * total ** (-1.0 / self.m)

    def _domain_maximum(self, seg: np.ndarray) -> Tensor:
        lo, hi = seg.reshape(-1, 2).min(axis=0), seg.reshape(-1, 2).max(axis=0)
        axes = [torch.linspace(float(lo[k]), float(hi[k]), _GRID, dtype=torch.float64) for k in range(2)]
        grid = torch.stack(torch.meshgrid(*axes, indexing="ij"), dim=-1).reshape(-1, 2)
        with torch.no_grad():
            raw = torch.cat([self._raw(chunk) for chunk in torch.split(grid, 1024)])
            inside = self.inside(grid)
        candidates = raw[inside] if bool(inside.any()) else raw
        return candidates.max().clone()


def dirichlet_transform(phi: Tensor, N: Tensor, g: Tensor | float = 0.0) -> Tensor:
    """``u = g + φ N``: a network output ``N`` made to equal ``g`` wherever ``φ = 0``.

    Args:
        phi: ``(n,)`` distance values.
        N: ``(n,)`` or ``(n, k)`` network output (``φ`` is broadcast over trailing dimensions).
        g: Boundary data extended into the domain, broadcastable to ``N`` (a tensor or a number).

    Returns:
        ``u`` with the shape of ``N``.
    """
    if phi.ndim != 1 or N.shape[:1] != phi.shape:
        raise ValueError(f"phi must have shape (n,) and N shape (n, ...); got {tuple(phi.shape)} and "
                         f"{tuple(N.shape)}")
    return g + phi.reshape(phi.shape + (1,) * (N.ndim - 1)) * N
