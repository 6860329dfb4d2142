"""An unknown function represented on a triangle mesh: P1 nodal values, differentiable in x.

BiLO's local operator needs the unknown f and its derivatives at arbitrary points (the residual
differentiates u(x, f(x)) in x). A network f_V gives them by autograd; so does a P1 function on
a mesh, evaluated through the barycentric coordinates of the cell that holds each point: inside
a cell f is affine, so f and ∇f are exact and ∇²f = 0. The nodal values are the upper level's
unknowns, as the adjoint's are, which separates the parameterisation from BiLO's gradient.

The mesh is numpy arrays (from ``fem.global_triangles``), the same on every rank: the nodal
values are replicated parameters, reduced over ranks like a network's weights.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import final

import numpy as np
import torch
from torch import Tensor, nn


@final
@dataclass(frozen=True, eq=False)
class FunctionMesh:
    """A whole triangle mesh and the initial guess f0 at its vertices.

    Attributes:
        vertices: Vertex coordinates (V, 2).
        triangles: Vertex indices of each triangle (T, 3).
        initial: f0 at the vertices (V,).
    """

    vertices: np.ndarray
    triangles: np.ndarray
    initial: np.ndarray

    def __post_init__(self) -> None:
        v, t, f = (np.asarray(a) for a in (self.vertices, self.triangles, self.initial))
        if v.ndim != 2 or v.shape[1] != 2 or t.ndim != 2 or t.shape[1] != 3 or f.shape != (len(v),):
            raise ValueError(f"FunctionMesh needs vertices (V, 2), triangles (T, 3) and initial (V,), got "
                             f"{v.shape}, {t.shape}, {f.shape}")
        if len(t) == 0 or t.min() < 0 or t.max() >= len(v):
            raise ValueError(f"FunctionMesh triangles must index its {len(v)} vertices")
        if not (np.isfinite(v).all() and np.isfinite(f).all()):
            raise ValueError("FunctionMesh vertices and initial values must be finite")
        e1, e2 = v[t[:, 1]] - v[t[:, 0]], v[t[:, 2]] - v[t[:, 0]]
        area = 0.5 * np.abs(e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0])
        if area.min() <= 1e-14 * max(area.max(), 1e-300):
            n_bad = int((area <= 1e-14 * area.max()).sum())
            raise ValueError(f"FunctionMesh has {n_bad} degenerate triangles")


def invert_monotone(transform: Callable[[Tensor], Tensor], target: Tensor, lo: float = -30.0,
                    hi: float = 30.0, iterations: int = 80) -> Tensor:
    """v with transform(v) = target for an increasing elementwise transform, by bisection.

    Where the target lies outside transform([lo, hi]) the result is the nearer end.
    """
    a, b = torch.full_like(target, lo), torch.full_like(target, hi)
    with torch.no_grad():
        for _ in range(iterations):
            m = 0.5 * (a + b)
            below = transform(m) < target
            a, b = torch.where(below, m, a), torch.where(below, b, m)
    return 0.5 * (a + b)


@final
class PiecewiseLinearField(nn.Module):
    """Raw v(x) = Σ_k c_{t_k} λ_k(x) on the triangle t holding x (before ``function_transform``).

    Points are located with matplotlib's trapezoid-map triangle finder (any triangulation, log
    time per point); a point on an edge or a vertex takes one of its triangles, which decides
    the one-sided ∇f there. A point outside the mesh (e.g. rounding on the boundary) takes the
    triangle with the nearest centroid, extrapolating its affine function.
    """

    def __init__(self, mesh: FunctionMesh, raw0: Tensor) -> None:
        super().__init__()
        from matplotlib.tri import Triangulation  # point location only; imported where needed

        v = np.asarray(mesh.vertices, dtype=np.float64)
        t = np.asarray(mesh.triangles, dtype=np.int64)
        self.values = nn.Parameter(raw0.clone())
        e = np.stack([v[t[:, 1]] - v[t[:, 0]], v[t[:, 2]] - v[t[:, 0]]], axis=2)  # (T, 2, 2): columns
        self.inverse: Tensor
        self.origin: Tensor
        self.triangles: Tensor
        self.register_buffer("inverse", torch.as_tensor(np.linalg.inv(e)))
        self.register_buffer("origin", torch.as_tensor(v[t[:, 0]]))
        self.register_buffer("triangles", torch.as_tensor(t), persistent=False)
        self._centroids = v[t].mean(axis=1)
        self._finder = Triangulation(v[:, 0], v[:, 1], t).get_trifinder()

    def locate(self, x: np.ndarray) -> np.ndarray:
        """The triangle of each point (N,) of x (N, 2)."""
        cell = np.asarray(self._finder(x[:, 0], x[:, 1]), dtype=np.int64)
        for i in np.flatnonzero(cell < 0):
            cell[i] = int(np.argmin(((self._centroids - x[i]) ** 2).sum(axis=1)))
        return cell

    def forward(self, x: Tensor) -> Tensor:
        """Raw v (n,) at points x (n, 2), differentiable in x and in the nodal values."""
        cell = torch.as_tensor(self.locate(x.detach().cpu().double().numpy()), device=x.device)
        ref = torch.einsum("nij,nj->ni", self.inverse[cell], x - self.origin[cell])
        lam = torch.cat([1.0 - ref.sum(dim=1, keepdim=True), ref], dim=1)
        return (lam * self.values[self.triangles[cell]]).sum(dim=1)
