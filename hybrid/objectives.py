"""Loss terms evaluated on a model: what BiLO and the PINN assemble into their objectives."""

from __future__ import annotations

from torch import Tensor

from .config import RegularizerConfig
from .local_operator import HybridModel
from .losses import data_loss, h1_regularizer, residual_loss, tv_regularizer


def residual_terms(model: HybridModel, x: Tensor, count: int, *, with_rgrad: bool) -> dict[str, Tensor]:
    """``{"res": L_res}`` and, if asked, ``{"rgrad": L_rgrad}`` at the residual points."""
    r, g = model.residual(x, with_gradient=with_rgrad)
    out = {"res": residual_loss(r, count=count)}
    if g is not None:
        out["rgrad"] = g.square().sum() / count
    return out


def interface_terms(model: HybridModel, x: Tensor, count: int, *, with_jgrad: bool) -> dict[str, Tensor]:
    """``{"jump": mean J²}`` and, if asked, ``{"djump": mean Σ_p (∂J/∂θ_p)²}`` at the interface points."""
    J, g = model.interface(x, with_gradient=with_jgrad)
    out = {"jump": J.square().sum() / count}
    if g is not None:
        out["djump"] = g.square().sum() / count
    return out


def fit_term(model: HybridModel, x: Tensor, u_obs: Tensor, count: int) -> Tensor:
    """MSE of u(x) (at the current unknowns) to ``u_obs``: the data loss, or the reference loss."""
    return data_loss(model.u(x, model.expand(x)), u_obs, count=count)


def function_term(model: HybridModel, x: Tensor, f0: Tensor, count: int) -> Tensor:
    """``funcloss``: MSE of f_V to the initial-guess function at x."""
    return data_loss(model.function(x), f0, count=count)


def regularizer_term(model: HybridModel, x: Tensor, count: int, field_points: bool,
                     config: RegularizerConfig) -> Tensor | None:
    """H1 or TV regulariser of f_V at x, or None when off or the unknowns are scalars.

    ``field_points``: x are the function's own coordinates, not network inputs.
    """
    if config.kind == "none" or not model.is_function:
        return None
    xg = x.detach().requires_grad_(True)
    f = model.field(xg) if field_points else model.function(xg)
    if config.kind == "h1":
        return h1_regularizer(f, xg, count=count)
    return tv_regularizer(f, xg, count=count)
