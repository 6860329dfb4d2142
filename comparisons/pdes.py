"""The strong forms of the comparisons' PDEs, for BiLO and the PINN (torch only, never dolfinx).

Each comparison module declares its inverse problem with one of these; the hybrid engine's
tests import them from here instead of copying them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch
from torch import Tensor

from hybrid import AbstractFunctionJetPDE, AbstractJetPDE, AbstractPDE, Jet
from hybrid.geometry import DistanceFunction


@dataclass(frozen=True, kw_only=True)
class FisherKPP(AbstractJetPDE):
    """u_t = rD·D̄·u_xx + rρ·ρ̄·u(1−u) on [0,1]², input columns (t, x).

    Written on the jet of u (u, u_t, u_xx), so the hybrid engine can evaluate the residual by
    forward tangent propagation (one graph) or by nested autograd (the same formula).
    """

    base_D: float = 0.01
    base_rho: float = 1.0
    param_names: tuple[str, ...] = ("rD", "rrho")
    input_dim: int = 2
    first_derivatives: tuple[int, ...] = (0,)
    second_derivatives: tuple[int, ...] = (1,)

    def transform_coefficients(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """u = ½ sin²(πx) + x(1−x)·t·N: exact initial and boundary values."""
        t, s = x[:, 0], x[:, 1]
        return 0.5 * torch.sin(math.pi * s) ** 2, s * (1 - s) * t

    def residual_jet(self, x: Tensor, jet: Jet, theta: Tensor) -> Tensor:
        """r = u_t − rD·D̄·u_xx − rρ·ρ̄·u(1−u), with θ the per-point (n, 2) parameters."""
        u = jet.u
        return jet.du[0] - theta[:, 0] * self.base_D * jet.d2u[1] - theta[:, 1] * self.base_rho * u * (1 - u)


@dataclass(frozen=True, kw_only=True)
class VariablePoisson(AbstractFunctionJetPDE):
    """(D u')' = −π² sin(πx) on (0, 1), u(0) = u(1) = 0; the unknown is the function D."""

    param_names: tuple[str, ...] = ("D",)
    input_dim: int = 1
    first_derivatives: tuple[int, ...] = (0,)
    second_derivatives: tuple[int, ...] = (0,)

    def function_transform(self, x: Tensor, v: Tensor) -> Tensor:
        """D_V = 1 + x(1−x)·v: D(0) = D(1) = 1 exactly."""
        s = x[:, 0]
        return 1 + s * (1 - s) * v

    def transform_coefficients(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """u = x(1−x)·N: exact homogeneous Dirichlet values."""
        s = x[:, 0]
        return torch.zeros_like(s), s * (1 - s)

    def residual_jet(self, x: Tensor, jet: Jet, z: Jet) -> Tensor:
        """r = (z u_x)_x − f = z_x u_x + z u_xx − f, z = D_V(x) (dr/dz holds z_x fixed, spec §1.3)."""
        f = -(math.pi**2) * torch.sin(math.pi * x[:, 0])
        return z.du[0] * jet.du[0] + z.u * jet.d2u[0] - f


@dataclass(frozen=True, kw_only=True, eq=False)
class DarcyPDE(AbstractFunctionJetPDE):
    """−∇·(a∇u) = 1 with a = lo + (hi − lo)·sigmoid(v) and u = φ·N (φ = 0 on the Dirichlet boundary)."""

    distance: DistanceFunction | None = None
    lo: float = 3.0
    hi: float = 12.0
    param_names: tuple[str, ...] = ("a",)
    input_dim: int = 2
    first_derivatives: tuple[int, ...] = (0, 1)
    second_derivatives: tuple[int, ...] = (0, 1)

    def phi(self, x: Tensor) -> Tensor:
        """The boundary factor φ(x): a product on the unit square, an ADF otherwise."""
        if self.distance is None:
            return x[:, 0] * (1 - x[:, 0]) * x[:, 1] * (1 - x[:, 1])
        return self.distance(x)

    def function_transform(self, x: Tensor, v: Tensor) -> Tensor:
        """a = lo + (hi − lo)·sigmoid(v): a smoothed two-valued coefficient in (lo, hi)."""
        return self.lo + (self.hi - self.lo) * torch.sigmoid(v)

    def transform_coefficients(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """u = φ(x)·N: exact homogeneous Dirichlet data."""
        phi = self.phi(x)
        return torch.zeros_like(phi), phi

    def residual_jet(self, x: Tensor, jet: Jet, z: Jet) -> Tensor:
        """r = −∇·(z∇u) − 1 = −(z Δu + ∇z·∇u) − 1, z = f_V(x) (dr/dz holds ∇z fixed)."""
        div = torch.zeros_like(jet.u)
        for i in range(self.input_dim):
            div = div + z.u * jet.d2u[i] + z.du[i] * jet.du[i]
        return -div - 1.0


@dataclass(frozen=True, kw_only=True)
class HeatInitialCondition(AbstractFunctionJetPDE):
    """u_t = D u_xx on [0, 1]², inputs (t, x), u = 0 at x = 0, 1; the unknown is u0(x) = u(0, x).

    u0_V = softplus(v)·x(1−x) (non-negative, zero at the ends; paper B.3) depends on x only
    (``field_columns = (1,)``). The network is u = N(t, x, z)·x(1−x)·t + z with z = u0_V(x), so
    u(0, x) = u0_V(x) and the boundary values hold exactly.
    """

    D: float = 0.01
    param_names: tuple[str, ...] = ("u0",)
    input_dim: int = 2
    field_columns: tuple[int, ...] | None = (1,)
    first_derivatives: tuple[int, ...] = (0,)
    second_derivatives: tuple[int, ...] = (1,)
    field_offset: ClassVar[float] = 1.0

    def function_transform(self, x: Tensor, v: Tensor) -> Tensor:
        """u0_V = softplus(v)·x(1−x), x the spatial coordinate (n, 1)."""
        s = x[:, 0]
        return torch.nn.functional.softplus(v) * s * (1 - s)

    def transform_coefficients(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """u = N·x(1−x)·t + z."""
        t, s = x[:, 0], x[:, 1]
        return torch.zeros_like(t), s * (1 - s) * t

    def residual_jet(self, x: Tensor, jet: Jet, z: Jet) -> Tensor:
        """r = u_t − D u_xx (z's own x-derivatives enter u's jet; dr/dz holds them fixed)."""
        return jet.du[0] - self.D * jet.d2u[1]


@dataclass(frozen=True, kw_only=True)
class BurgersInitialCondition(AbstractFunctionJetPDE):
    """u_t + a·u·u_x = 0 on [0, 1]², inputs (t, x), u = 0 at x = 0, 1; the unknown is u0(x).

    u0_V = MLP_V(x)·x(1−x) (paper B.5); the network is u = N(t, x, z)·x(1−x)·t + z, z = u0_V(x).
    """

    a: float = 0.2
    param_names: tuple[str, ...] = ("u0",)
    input_dim: int = 2
    field_columns: tuple[int, ...] | None = (1,)
    first_derivatives: tuple[int, ...] = (0, 1)
    second_derivatives: tuple[int, ...] = ()
    field_offset: ClassVar[float] = 1.0

    def function_transform(self, x: Tensor, v: Tensor) -> Tensor:
        """u0_V = v·x(1−x), x the spatial coordinate (n, 1)."""
        s = x[:, 0]
        return v * s * (1 - s)

    def transform_coefficients(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """u = N·x(1−x)·t + z."""
        t, s = x[:, 0], x[:, 1]
        return torch.zeros_like(t), s * (1 - s) * t

    def residual_jet(self, x: Tensor, jet: Jet, z: Jet) -> Tensor:
        """r = u_t + a·u·u_x."""
        return jet.du[0] + self.a * jet.u * jet.du[1]


@dataclass(frozen=True, kw_only=True)
class SingularForcing(AbstractPDE):
    """u'' − μu + λδ(x − z) = 0 on (0, 1), u(0) = u(1) = 0, λ = 100·lmbd; inputs (x, φ = |x − z|).

    The cusp-capturing network (paper B.4) takes φ as a second input, so u can have the kink at z;
    every point set passes φ = |x − z| as its second column. u'' is the total derivative along
    x: u_xx + 2s·u_xφ + s²·u_φφ with s = sign(x − z) (0 at z, as autograd differentiates |·|).
    The jump u'(z⁺) − u'(z⁻) = 2·∂u/∂φ = −λ is the interface condition J = ∂u/∂φ + λ/2 = 0 at
    (z, 0). Output transform u = scale·N²·x(1−x): non-negative (an intensity), zero at both ends.
    """

    z: float = 0.5
    scale: float = 50.0
    param_names: tuple[str, ...] = ("lmbd", "mu")
    input_dim: int = 2

    def output_transform(self, x: Tensor, N: Tensor, theta: Tensor) -> Tensor:
        """u = scale·N²·x(1−x)."""
        s = x[:, 0]
        return self.scale * N.square() * s * (1 - s)

    def residual(self, x: Tensor, u: Tensor, theta: Tensor) -> Tensor:
        """r = u'' − μu, u'' along x through both inputs."""
        (g,) = torch.autograd.grad(u.sum(), x, create_graph=True)
        (gx,) = torch.autograd.grad(g[:, 0].sum(), x, create_graph=True)
        (gp,) = torch.autograd.grad(g[:, 1].sum(), x, create_graph=True)
        s = torch.sign(x[:, 0] - self.z).detach()
        d2u = gx[:, 0] + 2 * s * gx[:, 1] + s.square() * gp[:, 1]
        return d2u - theta[:, 1] * u

    def interface_points(self) -> np.ndarray:
        """The source point (z, φ = 0)."""
        return np.array([[self.z, 0.0]])

    def interface_residual(self, x: Tensor, u: Tensor, theta: Tensor) -> Tensor:
        """J = ∂u/∂φ + 100·lmbd/2 (half the jump of u' is −λ/2 on either side)."""
        (g,) = torch.autograd.grad(u.sum(), x, create_graph=True)
        return g[:, 1] + 50.0 * theta[:, 0]


@dataclass(frozen=True, kw_only=True, eq=False)
class TissueFisherKPP(AbstractJetPDE):
    """u_t = rD·D̄·∇·(P∇u) + rρ·ρ̄·φ·u(1−u) on [0, 1]² × [0, 1], input columns (t, x, y).

    P(x) (tissue diffusivity), ∇P and φ(x) (brain tissue, where the tumour grows) are images on
    the nodes (i/n, j/n) of the unit square, interpolated bilinearly (``torch.grid_sample``):
    ∇·(P∇u) = P·Δu + ∇P·∇u. The output transform u = u0(x) + t·16x(1−x)y(1−y)·N keeps the initial
    condition exactly and u = u0 (≈ 0, far from the seed) on the window's edge.

    Attributes:
        images: (4, n + 1, n + 1) arrays P, ∂P/∂x, ∂P/∂y, φ, indexed [·, i, j] at (i/n, j/n).
        seed: Centre of the initial Gaussian.
        height, width: u0 = height·exp(−|x − seed|² / (2·width²)).
    """

    images: np.ndarray
    seed: tuple[float, float]
    height: float
    width: float
    base_D: float
    base_rho: float
    param_names: tuple[str, ...] = ("rD", "rrho")
    input_dim: int = 3
    first_derivatives: tuple[int, ...] = (0, 1, 2)
    second_derivatives: tuple[int, ...] = (1, 2)

    def coefficients(self, x: Tensor) -> Tensor:
        """(4, n) values of P, P_x, P_y, φ at the points' (x, y) (no graph: known fields)."""
        # grid_sample reads (C, H, W) images with grid (x → W, y → H) in [−1, 1]
        img = torch.tensor(np.swapaxes(self.images, 1, 2), dtype=x.dtype, device=x.device)
        grid = (2 * x.detach()[:, 1:3] - 1).reshape(1, 1, -1, 2)
        out = torch.nn.functional.grid_sample(img[None], grid, mode="bilinear", align_corners=True,
                                              padding_mode="border")
        return out[0, :, 0, :]

    def initial(self, x: Tensor) -> Tensor:
        """u0 at the points' (x, y)."""
        r2 = (x[:, 1] - self.seed[0]) ** 2 + (x[:, 2] - self.seed[1]) ** 2
        return self.height * torch.exp(-r2 / (2 * self.width**2))

    def transform_coefficients(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """u = u0(x) + t·16x(1−x)y(1−y)·N."""
        t, s, y = x[:, 0], x[:, 1], x[:, 2]
        return self.initial(x), 16 * t * s * (1 - s) * y * (1 - y)

    def residual_jet(self, x: Tensor, jet: Jet, theta: Tensor) -> Tensor:
        """r = u_t − rD·D̄·(P·Δu + ∇P·∇u) − rρ·ρ̄·φ·u(1 − u)."""
        P, Px, Py, phi = self.coefficients(x)
        u = jet.u
        div = P * (jet.d2u[1] + jet.d2u[2]) + Px * jet.du[1] + Py * jet.du[2]
        return jet.du[0] - theta[:, 0] * self.base_D * div - theta[:, 1] * self.base_rho * phi * u * (1 - u)
