"""Loss terms of BiLO and the PINN.

Every loss is a mean over points. ``count`` overrides the divisor so that, under data
parallelism, each rank's partial sum divided by the *global* point count adds up (after an
allreduce) to the global mean.
"""

from __future__ import annotations

import torch
from torch import Tensor


def _divisor(values: Tensor, count: int | None) -> int:
    return values.shape[0] if count is None else count


def residual_loss(r: Tensor, *, count: int | None = None) -> Tensor:
    """L_res = mean_i r_i².

    Args:
        r: Residuals (n,).
        count: Divisor (default n).
    """
    return r.square().sum() / _divisor(r, count)


def residual_gradient(r: Tensor, theta: Tensor) -> Tensor:
    """dr_i/dθ_{i,p} for all points and parameters from one vector-Jacobian product.

    The network is point-wise and θ enters as the per-point tensor ``theta`` (n, p), so
    Σ_j ∂r_j/∂θ_{i,p} = ∂r_i/∂θ_{i,p}: one VJP of r.sum() gives every total derivative
    (through the embedding and through the explicit coefficient in the residual) at once,
    without a loop over parameters.

    Args:
        r: Residuals (n,), computed from ``theta``.
        theta: The per-point parameter tensor (n, p) that entered the network and the residual.

    Returns:
        dr/dθ, shape (n, p), with a graph (``create_graph=True``) so it can be trained on.
    """
    (g,) = torch.autograd.grad(r.sum(), theta, create_graph=True)
    return g


def residual_gradient_loss(r: Tensor, theta: Tensor, *, count: int | None = None) -> Tensor:
    """L_rgrad = mean_i Σ_p (dr_i/dθ_p)² (paper §1.3: summed over parameters, averaged over points).

    Args:
        r: Residuals (n,).
        theta: The per-point parameter tensor (n, p).
        count: Divisor (default n).
    """
    return residual_gradient(r, theta).square().sum() / _divisor(r, count)


def data_loss(u: Tensor, u_obs: Tensor, *, count: int | None = None) -> Tensor:
    """L_dat = mean_j (u_j - u_obs,j)² (a plain MSE, no factor ½).

    Args:
        u: Predictions (m,).
        u_obs: Observations (m,).
        count: Divisor (default m).
    """
    return (u - u_obs).square().sum() / _divisor(u, count)


def _input_gradient(f: Tensor, x: Tensor) -> Tensor:
    (g,) = torch.autograd.grad(f.sum(), x, create_graph=True)
    return g


def h1_regularizer(f: Tensor, x: Tensor, *, count: int | None = None) -> Tensor:
    """Mean |∇f|² at the points (``l2grad`` in the authors' code).

    Args:
        f: Function values (n,) computed point-wise from ``x``.
        x: Points (n, d) with ``requires_grad``.
        count: Divisor (default n).
    """
    return _input_gradient(f, x).square().sum() / _divisor(f, count)


def tv_regularizer(f: Tensor, x: Tensor, *, count: int | None = None) -> Tensor:
    """Mean Σ_i |∂_i f| at the points (total variation, ``l1grad``).

    Args:
        f: Function values (n,) computed point-wise from ``x``.
        x: Points (n, d) with ``requires_grad``.
        count: Divisor (default n).
    """
    return _input_gradient(f, x).abs().sum() / _divisor(f, count)
