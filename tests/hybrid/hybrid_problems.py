"""Small PDEs implementing hybrid's problem interface, for the tests.

The comparisons' own strong forms (dolfinx-free, in ``comparisons.pdes``) are imported, not copied:
``FisherKPPJet`` (the jet path), ``VarPoisson`` and ``Darcy``. ``FisherKPP`` below is the same PDE
written with nested autograd, to test the jet path against.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from comparisons.pdes import DarcyPDE as Darcy  # noqa: F401  (re-exported for the tests)
from comparisons.pdes import FisherKPP as FisherKPPJet  # noqa: F401
from comparisons.pdes import VariablePoisson as VarPoisson  # noqa: F401
from hybrid import AbstractPDE


def _d(f: Tensor, x: Tensor) -> Tensor:
    return torch.autograd.grad(f.sum(), x, create_graph=True)[0]


@dataclass(frozen=True, kw_only=True)
class FisherKPP(AbstractPDE):
    """u_t = rD·D̄·u_xx + rρ·ρ̄·u(1-u) on [0,1]²; column 0 = t, column 1 = x."""

    D: float = 0.01
    rho: float = 1.0
    param_names: tuple[str, ...] = ("rD", "rrho")
    input_dim: int = 2

    def residual(self, x: Tensor, u: Tensor, theta: Tensor) -> Tensor:
        du = _d(u, x)
        u_t, u_x = du[:, 0], du[:, 1]
        u_xx = _d(u_x, x)[:, 1]
        return u_t - (theta[:, 0] * self.D * u_xx + theta[:, 1] * self.rho * u * (1 - u))

    def output_transform(self, x: Tensor, N: Tensor, theta: Tensor) -> Tensor:
        t, s = x[:, 0], x[:, 1]
        return 0.5 * torch.sin(math.pi * s) ** 2 + N * s * (1 - s) * t


def fk_grid(nt: int, nx: int) -> np.ndarray:
    """(t, x) grid points (nt·nx, 2)."""
    t, x = np.meshgrid(np.linspace(0, 1, nt), np.linspace(0, 1, nx), indexing="ij")
    return np.stack([t.ravel(), x.ravel()], axis=1)


def fk_data(x: np.ndarray) -> np.ndarray:
    """A smooth stand-in for observations (not a PDE solution; fine for engine tests)."""
    return 0.5 * np.sin(np.pi * x[:, 1]) ** 2 * (1 + 0.5 * x[:, 0])


def fk_reference(rD: float, rrho: float, points: np.ndarray, nx: int = 101) -> np.ndarray:
    """Fisher–KPP solution at (t, x) points: explicit finite differences, linear interpolation in x."""
    x = np.linspace(0, 1, nx)
    dx = x[1] - x[0]
    D = 0.01 * rD
    nt = int(np.ceil(1.0 / (0.2 * dx * dx / D)))
    dt = 1.0 / nt
    u = 0.5 * np.sin(np.pi * x) ** 2
    U = [u.copy()]
    for _ in range(nt):
        lap = np.zeros_like(u)
        lap[1:-1] = (u[2:] - 2 * u[1:-1] + u[:-2]) / dx ** 2
        u = u + dt * (D * lap + rrho * u * (1 - u))
        u[0] = u[-1] = 0
        U.append(u.copy())
    return np.array([np.interp(s, x, U[min(int(round(t / dt)), nt)]) for t, s in points])


@dataclass(frozen=True, kw_only=True)
class PoissonFreeBoundary(AbstractPDE):
    """−k u'' = 2π² sin(πx) on [0,1] with the identity output transform: nothing imposes u(0), u(1).

    With the Dirichlet data u(0) = 1, u(1) = 2 the solution is u = (2/k) sin(πx) + 1 + x; without
    them the PDE leaves an affine part a + b·x undetermined.
    """

    param_names: tuple[str, ...] = ("k",)
    input_dim: int = 1

    def residual(self, x: Tensor, u: Tensor, theta: Tensor) -> Tensor:
        u_xx = _d(_d(u, x)[:, 0], x)[:, 0]
        return -theta[:, 0] * u_xx - 2 * math.pi ** 2 * torch.sin(math.pi * x[:, 0])

    def output_transform(self, x: Tensor, N: Tensor, theta: Tensor) -> Tensor:
        return N


def free_boundary_solution(x: np.ndarray, k: float) -> np.ndarray:
    """u = (2/k) sin(πx) + 1 + x at points (N, 1): ``PoissonFreeBoundary`` with u(0) = 1, u(1) = 2."""
    return (2 / k) * np.sin(np.pi * x[:, 0]) + 1 + x[:, 0]


# The function-unknown PDEs written with nested autograd (as they were before the jet path), each a
# subclass of the comparison's own, so transforms and function laws are shared and only the residual
# differs: the jet path is tested against these.
from comparisons.pdes import BurgersInitialCondition as Burgers  # noqa: E402
from comparisons.pdes import HeatInitialCondition as Heat  # noqa: E402


@dataclass(frozen=True, kw_only=True)
class VarPoissonAutograd(VarPoisson):
    def residual(self, x: Tensor, u: Tensor, theta: Tensor) -> Tensor:
        z = theta[:, 0]
        flux_x = _d(z * _d(u, x)[:, 0], x)
        return flux_x[:, 0] + (math.pi**2) * torch.sin(math.pi * x[:, 0])


@dataclass(frozen=True, kw_only=True, eq=False)
class DarcyAutograd(Darcy):
    def residual(self, x: Tensor, u: Tensor, theta: Tensor) -> Tensor:
        flux = theta[:, :1] * _d(u, x)
        return -_d(flux[:, 0], x)[:, 0] - _d(flux[:, 1], x)[:, 1] - 1.0


@dataclass(frozen=True, kw_only=True)
class HeatAutograd(Heat):
    def residual(self, x: Tensor, u: Tensor, theta: Tensor) -> Tensor:
        du = _d(u, x)
        return du[:, 0] - self.D * _d(du[:, 1], x)[:, 1]


@dataclass(frozen=True, kw_only=True)
class BurgersAutograd(Burgers):
    def residual(self, x: Tensor, u: Tensor, theta: Tensor) -> Tensor:
        du = _d(u, x)
        return du[:, 0] + self.a * u * du[:, 1]
