"""Input-derivative jets: u and its first and pure second derivatives in one forward pass.

The residual of most PDEs needs u, a few ∂_i u and a few ∂_ii u. Reverse-mode autograd gets them
by nested backward passes, and BiLO's residual-gradient then differentiates *through* those
backward passes again, so the lower-level W-gradient is a fourth-order autograd graph. Here
the tangents are propagated forward through the tanh layers instead, as extra rows of the same
batched matmuls (value, ∂_i, ∂_ii): the residual becomes one forward graph, the
residual-gradient one backward pass, and the W-gradient one more.

A problem opts in by subclassing :class:`AbstractJetPDE`: it writes ``residual_jet`` in terms of
the jet, and its output transform must be affine in N with θ-independent coefficients,
u = a(x) + b(x)·N (true for Fisher–KPP and Poisson-type problems). The autograd ``residual`` and the
``output_transform`` are then derived here, so both evaluation paths share one formula.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import final

import torch
from torch import Tensor

from .problem import AbstractPDE


@final
@dataclass(frozen=True, kw_only=True, eq=False)
class Jet:
    """u and its input derivatives at n points.

    Attributes:
        u: Values (n,).
        du: ∂u/∂x_i (n,) for each declared coordinate i.
        d2u: ∂²u/∂x_i² (n,) for each declared coordinate i (no mixed derivatives).
    """

    u: Tensor
    du: dict[int, Tensor]
    d2u: dict[int, Tensor]


class AbstractJetPDE(AbstractPDE):
    """A scalar-parameter PDE whose residual uses only u, ∂_i u and ∂_ii u.

    Subclasses define ``first_derivatives`` and ``second_derivatives`` (tuples of coordinate
    indices the residual reads), ``transform_coefficients`` and ``residual_jet``.
    """

    @property
    @abc.abstractmethod
    def first_derivatives(self) -> tuple[int, ...]:
        """Coordinates i whose ∂u/∂x_i the residual reads."""

    @property
    @abc.abstractmethod
    def second_derivatives(self) -> tuple[int, ...]:
        """Coordinates i whose ∂²u/∂x_i² the residual reads."""

    @abc.abstractmethod
    def transform_coefficients(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """(a, b), each (n,), of the output transform u = a(x) + b(x)·N; must be twice differentiable."""

    @abc.abstractmethod
    def residual_jet(self, x: Tensor, jet: Jet, theta: Tensor) -> Tensor:
        """The residual (n,) from the jet of u and the per-point parameters ``theta`` (n, p)."""

    def output_transform(self, x: Tensor, N: Tensor, theta: Tensor) -> Tensor:
        """u = a(x) + b(x)·N."""
        a, b = self.transform_coefficients(x)
        return a + b * N

    def residual(self, x: Tensor, u: Tensor, theta: Tensor) -> Tensor:
        """The residual by autograd: build the jet of u with nested backward passes."""
        return self.residual_jet(x, autograd_jet(x, u, self.jet_first(), self.second_derivatives), theta)

    def jet_first(self) -> tuple[int, ...]:
        """All coordinates that need a first derivative (a second derivative needs the first)."""
        return tuple(sorted(set(self.first_derivatives) | set(self.second_derivatives)))


def autograd_jet(x: Tensor, u: Tensor, first: tuple[int, ...], second: tuple[int, ...]) -> Jet:
    """The jet of u (computed from x, which requires grad) by reverse-mode autograd."""
    (g,) = torch.autograd.grad(u.sum(), x, create_graph=True)
    du = {i: g[:, i] for i in first}
    d2u = {i: torch.autograd.grad(du[i].sum(), x, create_graph=True)[0][:, i] for i in second}
    return Jet(u=u, du=du, d2u=d2u)


def coefficient_jet(pde: AbstractJetPDE, x: Tensor) -> tuple[Jet, Jet]:
    """Jets of the transform coefficients a(x), b(x) (no graph kept: they do not depend on W or θ)."""
    with torch.enable_grad():
        xg = x.detach().requires_grad_(True)
        a, b = pde.transform_coefficients(xg)
        first, second = pde.jet_first(), pde.second_derivatives
        ja, jb = (autograd_jet(xg, c.expand(x.shape[0]).clone(), first, second) for c in (a, b))

    def det(j: Jet) -> Jet:
        return Jet(u=j.u.detach(), du={i: v.detach() for i, v in j.du.items()},
                   d2u={i: v.detach() for i, v in j.d2u.items()})

    return det(ja), det(jb)


def transform_jet(a: Jet, b: Jet, N: Jet) -> Jet:
    """Jet of u = a + b·N by the product rule."""
    du = {i: a.du[i] + b.du[i] * N.u + b.u * N.du[i] for i in N.du}
    d2u = {i: a.d2u[i] + b.d2u[i] * N.u + 2 * b.du[i] * N.du[i] + b.u * N.d2u[i] for i in N.d2u}
    return Jet(u=a.u + b.u * N.u, du=du, d2u=d2u)
