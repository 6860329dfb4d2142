"""Data terms other than the Gaussian MSE: the likelihood of a spatial Poisson point process."""

from __future__ import annotations

from dataclasses import dataclass
from typing import final

import numpy as np
import torch
from torch import Tensor


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
