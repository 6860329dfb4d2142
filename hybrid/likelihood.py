"""Data terms other than the Gaussian MSE: the likelihood of a spatial Poisson point process."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, final

import numpy as np
import torch
from torch import Tensor


def sample_point_process(intensity: Callable[[np.ndarray], np.ndarray], snapshots: int,
                         rng: np.random.Generator, *, grid: int = 1000) -> np.ndarray:
    """The pooled particles of ``snapshots`` Poisson processes on (0, 1) of the given intensity.

    The data :class:`PointProcessLikelihood` scores, drawn by thinning: per snapshot
    n ~ Poisson(u_max) candidates x ~ U(0, 1), each kept with probability u(x)/u_max, with u_max
    the intensity's maximum on ``grid`` equispaced points (the intensity must not exceed it).

    Args:
        intensity: u(x) ≥ 0 for abscissae x (n,).
        snapshots: M ≥ 1.
        rng: The generator (its draws are the data's randomness).
        grid: Points of the grid u_max is taken on.

    Returns:
        The kept abscissae of all snapshots, (K,), in the order drawn.
    """
    if snapshots < 1:
        raise ValueError(f"snapshots must be >= 1, got {snapshots}")
    u_max = float(intensity(np.linspace(0, 1, grid)).max())
    kept = []
    for _ in range(snapshots):
        x = rng.uniform(0, 1, rng.poisson(u_max))
        kept.append(x[rng.uniform(0, u_max, len(x)) < intensity(x)])
    return np.concatenate(kept)


@final
@dataclass(frozen=True, eq=False)
class PointProcessLikelihood:
    """M snapshots of a spatial Poisson point process whose intensity is the state u.

    The negative log-likelihood of the pooled particles x_1..x_K is
    NLL = M·∫u − Σ_k log u(x_k). The networks minimise NLL / K (the same minimiser, a loss of
    order one whatever the number of particles); reports give NLL itself.

    Attributes:
        x_quad: Quadrature points (n_q, d) of ∫u, as network inputs.
        w_quad: Their weights (n_q,).
        snapshots: M.
    """

    kind: ClassVar[str] = "the particles of a Poisson point process"
    """What the data are, in messages."""

    x_quad: np.ndarray
    w_quad: np.ndarray
    snapshots: int

    def __post_init__(self) -> None:
        x, w = np.asarray(self.x_quad), np.asarray(self.w_quad)
        if x.ndim != 2 or w.shape != (x.shape[0],) or not x.shape[0]:
            raise ValueError(f"x_quad must be (n, d) and w_quad (n,), got {x.shape} and {w.shape}")
        if not (np.isfinite(x).all() and np.isfinite(w).all()):
            raise ValueError("x_quad and w_quad must be finite")
        if self.snapshots < 1:
            raise ValueError(f"snapshots must be >= 1, got {self.snapshots}")

    def nll(self, u_quad: np.ndarray, u_particles: np.ndarray) -> float:
        """NLL = M·Σ w u(x_q) − Σ log u(x_k) from u at the quadrature points and the particles."""
        u_p = np.asarray(u_particles, dtype=float)
        if (u_p <= 0).any():
            return float("inf")
        return float(self.snapshots * np.dot(self.w_quad, u_quad) - np.log(u_p).sum())


def point_process_loss(u_quad: Tensor | None, w_quad: Tensor | None, u_particles: Tensor, *, snapshots: int,
                       count: int) -> Tensor:
    """This rank's part of NLL / K: (M·Σ w u(x_q) − Σ log u(x_k)) / K.

    Under data parallelism each rank passes its own particles and one rank the quadrature
    (the others None); the sum over ranks is then the global loss. ``count`` is K over all ranks.
    A particle where u ≤ 0 would make the likelihood zero: its log is taken at a tiny floor, so
    the loss stays finite (that particle then gives no gradient until u is positive there).
    """
    floor = torch.finfo(u_particles.dtype).tiny
    loss = -torch.log(u_particles.clamp_min(floor)).sum()
    if u_quad is not None:
        assert w_quad is not None
        loss = loss + snapshots * (w_quad * u_quad).sum()
    return loss / count


@final
@dataclass(frozen=True, eq=False)
class SegmentationLikelihood:
    """Binary masks {u > th_k} observed at points, with unknown thresholds th_k (paper §3.7).

    The observations are one integer label per point, Σ_k 2^k·m_k with m_k ∈ {0, 1} the k-th
    mask (e.g. whole tumour u > th1 and tumour core u > th2: labels 0..3), so that masks travel as
    one value per point, like any other data, and split over ranks with their points. The
    thresholds are unknowns of the upper level only: they enter the data loss, never the PDE or
    the local operator's embedding. The loss (the authors' ``seg_k``) is

        L = Σ_k Σ_j (sigmoid(s·(u(x_j) − th_k)) − m_kj)² / Σ_j m_kj²,

    the relative squared error of each smoothed mask, summed.

    Attributes:
        names: The thresholds' names, one per mask, in label-bit order.
        init: Their initial values.
        sharpness: s of the smoothed mask.
    """

    kind: ClassVar[str] = "segmentation masks"
    """What the data are, in messages."""

    names: tuple[str, ...]
    init: tuple[float, ...]
    sharpness: float = 20.0

    def __post_init__(self) -> None:
        if not self.names or len(self.init) != len(self.names):
            raise ValueError(f"SegmentationLikelihood: one initial value per threshold, got names "
                             f"{self.names} and init {self.init}")
        if not (np.isfinite(self.init).all() and np.isfinite(self.sharpness) and self.sharpness > 0):
            raise ValueError("SegmentationLikelihood: init must be finite and sharpness > 0")

    def masks(self, labels: np.ndarray) -> np.ndarray:
        """The masks (K, n) as 0/1 of labels (n,).

        Raises:
            ValueError: a label is not an integer in [0, 2^K).
        """
        lab = np.asarray(labels, dtype=float)
        k = len(self.names)
        if lab.ndim != 1 or not np.all((lab == np.round(lab)) & (lab >= 0) & (lab < 2**k)):
            raise ValueError(f"segmentation labels must be integers in [0, {2**k}) (one bit per mask)")
        bits = lab.astype(np.int64)
        return np.stack([(bits >> i) & 1 for i in range(k)]).astype(float)

    def labels(self, masks: np.ndarray) -> np.ndarray:
        """Labels (n,) of masks (K, n) of 0/1: the inverse of :meth:`masks`."""
        m = np.asarray(masks) > 0.5
        return np.sum([m[i] * 2**i for i in range(len(self.names))], axis=0).astype(float)

    def _smoothed(self, u: np.ndarray, labels: np.ndarray,
                  thresholds: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(masks (K, n), smoothed masks σ(s(u − th_k)) (K, n), Σ_j m_kj² (K, 1), at least 1)."""
        m = self.masks(labels)
        th = np.asarray(thresholds, dtype=float)[:, None]
        pred = 0.5 * (1 + np.tanh(0.5 * self.sharpness * (np.asarray(u)[None, :] - th)))
        return m, pred, np.maximum(np.sum(m**2, axis=1), 1.0)[:, None]

    def loss(self, u: np.ndarray, labels: np.ndarray, thresholds: np.ndarray) -> float:
        """L at the state u (n,) at the observation points (one rank holding all of them)."""
        m, pred, positives = self._smoothed(u, labels, thresholds)
        return float(np.sum((pred - m) ** 2 / positives))

    def loss_gradient(self, u: np.ndarray, labels: np.ndarray,
                      thresholds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(∂L/∂u (n,), ∂L/∂th (K,)) at the state u (n,): for an adjoint of the observation map."""
        m, pred, positives = self._smoothed(u, labels, thresholds)
        scale = 2 * (pred - m) * self.sharpness * pred * (1 - pred) / positives
        return scale.sum(axis=0), -scale.sum(axis=1)

    def dice(self, u: np.ndarray, labels: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
        """DICE (K,) of the predicted masks {u > th_k} against the observed ones (1 when both are empty)."""
        m = self.masks(labels) > 0.5
        pred = np.asarray(u)[None, :] > np.asarray(thresholds, dtype=float)[:, None]
        inter, total = np.sum(pred & m, axis=1), np.sum(pred, axis=1) + np.sum(m, axis=1)
        return np.where(total > 0, 2 * inter / np.maximum(total, 1), 1.0)


Likelihood = PointProcessLikelihood | SegmentationLikelihood
"""A non-Gaussian data term the networks' upper level can minimise."""


def segmentation_loss(u: Tensor, labels: Tensor, thresholds: Tensor, *, sharpness: float,
                      positives: Tensor) -> Tensor:
    """This rank's part of :class:`SegmentationLikelihood`'s L: Σ_k Σ_j (σ(s(u_j − th_k)) − m_kj)² / P_k.

    ``positives`` (K,) holds P_k = Σ_j m_kj² over all ranks (at least 1), so the ranks' parts sum to L.
    """
    bits = labels.round().to(torch.int64)
    k = thresholds.shape[0]
    m = torch.stack([((bits >> i) & 1) for i in range(k)]).to(u.dtype)
    pred = torch.sigmoid(sharpness * (u[None, :] - thresholds[:, None]))
    return ((pred - m).square().sum(dim=1) / positives).sum()
