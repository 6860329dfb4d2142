"""Validation of the numpy arrays that cross into ``hybrid`` and their conversion to tensors."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import final

import numpy as np
import torch
from torch import Tensor

from .problem import AbstractFunctionPDE, AbstractPDE


def points_array(name: str, x: np.ndarray, d: int, *, allow_empty: bool) -> np.ndarray:
    """x as a finite float64 (N, d) array, or a ValueError naming it."""
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 2 or a.shape[1] != d:
        raise ValueError(f"{name} must have shape (N, {d}) for this problem, got {a.shape}")
    if a.shape[0] == 0 and not allow_empty:
        raise ValueError(f"{name} is empty")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} contains non-finite values")
    return a


def _values(name: str, u: np.ndarray, n: int, points: str) -> np.ndarray:
    a = np.asarray(u, dtype=np.float64)
    if a.ndim == 2 and a.shape[1] == 1:
        a = a[:, 0]
    if a.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},) to match {points}, got {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} contains non-finite values")
    return a


def theta_vector(pde: AbstractPDE, theta: Mapping[str, float] | np.ndarray) -> np.ndarray:
    """θ as a float64 vector ordered like ``pde.param_names``.

    Args:
        pde: The problem.
        theta: A mapping name -> value (every name exactly once) or an array of length p.
    """
    names = tuple(pde.param_names)
    if isinstance(theta, Mapping):
        unknown = sorted(set(theta) - set(names))
        missing = [n for n in names if n not in theta]
        if unknown or missing:
            raise ValueError(f"theta keys must be exactly {names}; unknown {unknown}, missing {missing}")
        v = np.array([float(theta[n]) for n in names])
    else:
        v = np.asarray(theta, dtype=np.float64).reshape(-1)
        if v.shape != (len(names),):
            raise ValueError(f"theta must have {len(names)} entries {names}, got shape {v.shape}")
    if not np.all(np.isfinite(v)):
        raise ValueError(f"theta contains non-finite values: {v}")
    return v


@final
@dataclass(frozen=True, kw_only=True)
class FitData:
    """Validated tensors of one fit (on the run's device and dtype)."""

    x_res: Tensor
    x_dat: Tensor
    u_dat: Tensor
    x_ref: Tensor | None
    u_ref: Tensor | None
    x_bc: Tensor | None
    u_bc: Tensor | None
    theta0: Tensor | None
    f0: Tensor | None


def validate(pde: AbstractPDE, x_res: np.ndarray, x_dat: np.ndarray, u_dat: np.ndarray,
             theta_init: Mapping[str, float] | np.ndarray, u_ref: np.ndarray | None,
             x_ref: np.ndarray | None, *, x_bc: np.ndarray | None = None, u_bc: np.ndarray | None = None,
             device: torch.device, dtype: torch.dtype, allow_empty: bool = False) -> FitData:
    """Check shapes and finiteness of the fit inputs and convert them to tensors.

    For scalar unknowns ``theta_init`` is a mapping name -> value (or a length-p array). For a
    function unknown it is the initial-guess function's values at ``x_res``, shape (N_res,).
    ``x_ref`` defaults to ``x_res`` when ``u_ref`` is given. The boundary points ``x_bc`` and
    their Dirichlet values ``u_bc`` come together or not at all.
    """
    if not isinstance(pde, AbstractPDE):
        raise TypeError(f"pde must be an AbstractPDE, got {type(pde).__name__}")
    names = tuple(pde.param_names)
    if not names or len(set(names)) != len(names):
        raise ValueError(f"param_names must be non-empty and unique, got {names}")
    d = int(pde.input_dim)
    xr = points_array("x_res", x_res, d, allow_empty=allow_empty)
    xd = points_array("x_dat", x_dat, d, allow_empty=allow_empty)
    ud = _values("u_dat", u_dat, xd.shape[0], "x_dat")
    xf = uf = None
    if u_ref is not None:
        xf = points_array("x_ref", xr if x_ref is None else x_ref, d, allow_empty=allow_empty)
        uf = _values("u_ref", u_ref, xf.shape[0], "x_ref" if x_ref is not None else "x_res (x_ref not given)")
    elif x_ref is not None:
        raise ValueError("x_ref given without u_ref")
    xb = ub = None
    if x_bc is not None:
        if u_bc is None:
            raise ValueError("x_bc given without u_bc (the Dirichlet values at x_bc)")
        xb = points_array("x_bc", x_bc, d, allow_empty=allow_empty)
        ub = _values("u_bc", u_bc, xb.shape[0], "x_bc")
    elif u_bc is not None:
        raise ValueError("u_bc given without x_bc")
    theta0 = f0 = None
    if isinstance(pde, AbstractFunctionPDE):
        if len(names) != 1:
            raise ValueError(f"a function problem has exactly one unknown name, got {names}")
        f0 = _values("theta_init (initial-guess function at x_res)", np.asarray(theta_init),
                     xr.shape[0], "x_res")
    else:
        theta0 = theta_vector(pde, theta_init)

    def t(a: np.ndarray | None) -> Tensor | None:
        return None if a is None else torch.as_tensor(a, dtype=dtype, device=device)

    return FitData(x_res=t(xr), x_dat=t(xd), u_dat=t(ud), x_ref=t(xf), u_ref=t(uf),  # type: ignore[arg-type]
                   x_bc=t(xb), u_bc=t(ub), theta0=t(theta0), f0=t(f0))
