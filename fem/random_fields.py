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

import abc
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, cast

import numpy as np


class _FieldOfPosition(abc.ABC):
    """What both closed-form fields share: the point check, chunked evaluation, DOLFINx's layout."""

    dim: int
    label: ClassVar[str]
    _CHUNK: ClassVar[int] = 8192  # so that (chunk × features) stays small for large point sets

    @abc.abstractmethod
    def _prepare(self) -> Any:
        """The draw's arrays, made once per call (a seeded RNG draw)."""

    @abc.abstractmethod
    def _evaluate(self, x: np.ndarray, draw: Any) -> np.ndarray:
        """ψ at one chunk of points (n, dim), given ``_prepare()``'s arrays."""

    def __call__(self, points: np.ndarray) -> np.ndarray:
        """ψ at points of shape (N, d) with d ≥ dim (extra columns, e.g. z = 0, are ignored)."""
        x = np.asarray(points, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] < self.dim:
            raise ValueError(f"{self.label} points must have shape (N, >= {self.dim}), got {x.shape}")
        draw, out = self._prepare(), np.empty(x.shape[0])
        for s in range(0, x.shape[0], self._CHUNK):
            out[s:s + self._CHUNK] = self._evaluate(x[s:s + self._CHUNK, : self.dim], draw)
        return out

    def as_interpolant(self) -> Callable[[np.ndarray], np.ndarray]:
        """A callable in DOLFINx's ``Function.interpolate`` convention: x of shape (3, N) -> (N,)."""
        return lambda x: self(np.asarray(x).T)


@dataclass(frozen=True, kw_only=True)
class GaussianRandomField(_FieldOfPosition):
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
    label: ClassVar[str] = "GRF"

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

    def _prepare(self) -> tuple[np.ndarray, np.ndarray]:
        return self._features()

    def _evaluate(self, x: np.ndarray, draw: Any) -> np.ndarray:
        omega, phase = draw
        out = np.cos(x @ omega.T + phase).sum(axis=1)
        return cast(np.ndarray, self.sigma * np.sqrt(2.0 / self.n_features) * out)  # numpy: Any


@dataclass(frozen=True, kw_only=True)
class EllipticRandomField(_FieldOfPosition):
    """A seeded draw of ψ ~ N(0, (−Δ + τ²I)^(−α)) on the unit square (or interval, or cube).

    The law of the PINO/FNO Darcy data (Li et al. 2021; α = 2, τ = 3), drawn, like theirs, in the
    Neumann eigenbasis of −Δ on (0, 1)^d and with the constant mode removed::

        ψ(x) = c Σ_{k ≠ 0} ξ_k (π²|k|² + τ²)^(−α/2) Π_i e_{k_i}(x_i),  ξ_k ~ N(0, 1),

    with e_0 = 1 and e_j(s) = √2 cos(jπs) orthonormal on (0, 1), k in {0, …, n_modes − 1}^d. The
    constant c makes the mean pointwise variance over (0, 1)^d equal to σ² (thresholding ψ at 0
    does not depend on c; a sigmoid of ψ does). A closed-form function of x like
    :class:`GaussianRandomField`: the same draw on every mesh and rank count; outside (0, 1)^d it
    continues as the even, 2-periodic extension.

    Attributes:
        dim: Spatial dimension of the points it is evaluated at.
        alpha: Exponent α of the covariance operator (smoothness).
        tau: τ: the inverse length scale.
        sigma: Mean pointwise standard deviation σ.
        seed: Seed of the draw.
        n_modes: Modes per dimension (the variance beyond them decays like k^(−2α)).
    """

    dim: int
    alpha: float = 2.0
    tau: float = 3.0
    sigma: float = 1.0
    seed: int = 0
    n_modes: int = 64
    label: ClassVar[str] = "field"

    def __post_init__(self) -> None:
        if self.dim not in (1, 2, 3):
            raise ValueError(f"field dimension must be 1, 2 or 3, got {self.dim}")
        values = (self.alpha, self.tau, self.sigma)
        if not all(np.isfinite(v) and v > 0 for v in values):
            raise ValueError(f"the field needs alpha, tau, sigma > 0, got {values}")
        if self.n_modes < 2:
            raise ValueError(f"n_modes must be >= 2, got {self.n_modes}")

    def coefficients(self) -> np.ndarray:
        """c ξ_k (π²|k|² + τ²)^(−α/2), shape (n_modes,)*dim, the (0, …, 0) entry zero."""
        k = np.arange(self.n_modes, dtype=float)
        k2 = sum(np.meshgrid(*([k**2] * self.dim), indexing="ij"))
        std = (np.pi**2 * k2 + self.tau**2) ** (-self.alpha / 2)
        std.flat[0] = 0.0
        xi = np.random.default_rng(self.seed).standard_normal(std.shape)
        # the eigenfunctions are orthonormal, so the mean variance over (0,1)^d is Σ std²
        return cast(np.ndarray, self.sigma / np.sqrt(np.sum(std**2)) * std * xi)

    def _prepare(self) -> np.ndarray:
        return self.coefficients()

    def _evaluate(self, x: np.ndarray, draw: Any) -> np.ndarray:
        k = np.arange(self.n_modes)
        scale = np.where(k == 0, 1.0, np.sqrt(2.0))
        basis = [scale * np.cos(np.pi * np.outer(x[:, i], k)) for i in range(self.dim)]
        t = basis[0] @ draw.reshape(self.n_modes, -1)  # (n, K^(d-1))
        for b in basis[1:]:  # contract the remaining dimensions one at a time
            t = np.einsum("nk,nk...->n...", b, t.reshape(len(b), self.n_modes, -1))
        return cast(np.ndarray, t.reshape(len(t)))  # numpy: Any
