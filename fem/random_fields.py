"""Gaussian random fields that are functions of position, identical on any mesh and any rank count.

A field with squared-exponential covariance ``σ² exp(−|x − y|² / (2ℓ²))`` is drawn as a
random Fourier-feature expansion (Rahimi & Recht 2007)::

    ψ(x) = σ √(2/M) Σ_k cos(ω_k·x + b_k),   ω_k ~ N(0, I/ℓ²),  b_k ~ U(0, 2π).

Its covariance is exactly the squared exponential in expectation, and by the central limit
theorem ψ is close to Gaussian for the default M = 4096 features. Because ψ is a closed-form
function of x, the same seed gives the same field on the unit square, on a user's mesh, on
quadrature points and on 1 or 4 MPI ranks — which a mesh-node sampler (Cholesky or KL of a
nodal covariance matrix) cannot offer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

import numpy as np


@dataclass(frozen=True, kw_only=True)
class GaussianRandomField:
    """A seeded draw of a squared-exponential GRF in ``dim`` dimensions.

    Attributes:
        dim: Spatial dimension of the points it is evaluated at.
        sigma: Pointwise standard deviation σ.
        length_scale: Correlation length ℓ.
        seed: Seed of the draw.
        n_features: Number M of Fourier features.
    """

    dim: int
    sigma: float = 1.0
    length_scale: float = 0.1
    seed: int = 0
    n_features: int = 4096

    def __post_init__(self) -> None:
        if self.dim not in (1, 2, 3):
            raise ValueError(f"GRF dimension must be 1, 2 or 3, got {self.dim}")
        if not (self.sigma > 0 and self.length_scale > 0 and np.isfinite(self.sigma)
                and np.isfinite(self.length_scale)):
            raise ValueError(f"GRF needs sigma > 0 and length_scale > 0, "
                             f"got {self.sigma}, {self.length_scale}")
        if self.n_features < 1:
            raise ValueError(f"n_features must be >= 1, got {self.n_features}")

    def _features(self) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng(self.seed)
        omega = rng.standard_normal((self.n_features, self.dim)) / self.length_scale
        phase = rng.uniform(0.0, 2.0 * np.pi, self.n_features)
        return omega, phase

    def __call__(self, points: np.ndarray) -> np.ndarray:
        """ψ at points of shape (N, d) with d ≥ dim (extra columns, e.g. z = 0, are ignored).

        Also accepts DOLFINx's interpolation layout (3, N) when called through
        :meth:`as_interpolant`.
        """
        x = np.asarray(points, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] < self.dim:
            raise ValueError(f"GRF points must have shape (N, >= {self.dim}), got {x.shape}")
        omega, phase = self._features()
        out = np.empty(x.shape[0])
        # Chunked so that (chunk × M) stays small for large point sets.
        for s in range(0, x.shape[0], 8192):
            out[s:s + 8192] = np.cos(x[s:s + 8192, : self.dim] @ omega.T + phase).sum(axis=1)
        return cast(np.ndarray, self.sigma * np.sqrt(2.0 / self.n_features) * out)  # numpy: Any

    def as_interpolant(self) -> Callable[[np.ndarray], np.ndarray]:
        """A callable in DOLFINx's ``Function.interpolate`` convention: x of shape (3, N) -> (N,)."""
        return lambda x: self(np.asarray(x).T)
