"""Input-derivative jets: u and its first and pure second derivatives in one forward pass.

The residual of most PDEs needs u, a few ∂_i u and a few ∂_ii u. Reverse-mode autograd gets them
by nested backward passes, and BiLO's residual-gradient then differentiates *through* those
backward passes again, so the lower-level W-gradient is a fourth-order autograd graph. Here
the tangents are propagated forward through the tanh layers instead, as extra rows of the same
batched matmuls (value, ∂_i, ∂_ii): the residual becomes one forward graph, the
residual-gradient one backward pass, and the W-gradient one more.

A problem opts in by subclassing :class:`AbstractJetPDE` (scalar unknowns) or
:class:`AbstractFunctionJetPDE` (an unknown function z = f(x)): it writes ``residual_jet`` in
terms of the jets, and its output transform must be affine in N with θ-independent
coefficients, u = a(x) + b(x)·N (+ c·z for a function unknown that is u's initial value). The
autograd ``residual`` and the ``output_transform`` are then derived here, so both evaluation paths
share one formula.

For a function unknown the network's input z = f(x) depends on x, so the tangents entering the
embedding are E·∂_i z and E·∂_ii z, with the jet of z from f's own graph. The residual-gradient
dr/dz is taken with those derivatives of z held fixed (as the autograd path does), so for BiLO the
jet of z is a constant of the lower level: the W-gradient never builds a graph through f_V.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import ClassVar, final

import torch
from torch import Tensor

from .problem import AbstractFunctionPDE, AbstractPDE


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


class JetForm(abc.ABC):
    """What both jet problem kinds declare: the derivatives read and the output transform's coefficients."""

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

    def jet_first(self) -> tuple[int, ...]:
        """All coordinates that need a first derivative (a second derivative needs the first)."""
        return tuple(sorted(set(self.first_derivatives) | set(self.second_derivatives)))


class AbstractJetPDE(JetForm, AbstractPDE):
    """A scalar-parameter PDE whose residual uses only u, ∂_i u and ∂_ii u.

    Subclasses define ``first_derivatives`` and ``second_derivatives`` (tuples of coordinate
    indices the residual reads), ``transform_coefficients`` and ``residual_jet``.
    """

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


class AbstractFunctionJetPDE(JetForm, AbstractFunctionPDE):
    """A PDE with an unknown function z = f(x) whose residual uses u, z and their ∂_i, ∂_ii.

    Subclasses define what :class:`AbstractJetPDE` asks (``residual_jet`` takes the jet of z in
    place of θ) and may set ``field_offset`` = c for u = a(x) + b(x)·N + c·z (1 when z is u's
    initial value, as in the heat and Burgers problems).
    """

    field_offset: ClassVar[float] = 0.0
    """c in u = a(x) + b(x)·N + c·z."""

    @abc.abstractmethod
    def residual_jet(self, x: Tensor, jet: Jet, z: Jet) -> Tensor:
        """The residual (n,) from the jet of u and the jet of z = f(x) (derivatives in the inputs x)."""

    def output_transform(self, x: Tensor, N: Tensor, theta: Tensor) -> Tensor:
        """u = a(x) + b(x)·N + c·z, z = ``theta[:, 0]``."""
        a, b = self.transform_coefficients(x)
        return a + b * N + self.field_offset * theta[:, 0]

    def residual(self, x: Tensor, u: Tensor, theta: Tensor) -> Tensor:
        """The residual by autograd: the jets of u and of z = ``theta[:, 0]`` by nested backward passes."""
        first, second = self.jet_first(), self.second_derivatives
        z = autograd_jet(x, theta[:, 0], first, second)
        return self.residual_jet(x, autograd_jet(x, u, first, second), z)


def written_on_jets(pde: AbstractPDE) -> bool:
    """Whether the jet engine can evaluate ``pde``.

    A function unknown needs an :class:`AbstractFunctionJetPDE`, scalar unknowns an :class:`AbstractJetPDE`.
    """
    if isinstance(pde, AbstractFunctionPDE):
        return isinstance(pde, AbstractFunctionJetPDE)
    return isinstance(pde, AbstractJetPDE)


def input_gradients(y: Tensor, *xs: Tensor) -> list[Tensor]:
    """d(Σ y)/dx for each x, with the graph kept; zeros where y does not depend on x.

    For pointwise y this is the per-point gradient. Zeros, not an error, where there is no
    dependence (e.g. the gradient of a P1 field's gradient, or a transform without x).
    """
    if not y.requires_grad:
        return [torch.zeros_like(x) for x in xs]
    gs = torch.autograd.grad(y.sum(), list(xs), create_graph=True, allow_unused=True)
    return [torch.zeros_like(x) if g is None else g for x, g in zip(xs, gs, strict=True)]


def autograd_jet(x: Tensor, u: Tensor, first: tuple[int, ...], second: tuple[int, ...]) -> Jet:
    """The jet of u (computed from x, which requires grad) by reverse-mode autograd."""
    (g,) = input_gradients(u, x)
    du = {i: g[:, i] for i in first}
    d2u = {i: input_gradients(du[i], x)[0][:, i] for i in second}
    return Jet(u=u, du=du, d2u=d2u)


def detached(j: Jet) -> Jet:
    """The jet without its graph."""
    return Jet(u=j.u.detach(), du={i: v.detach() for i, v in j.du.items()},
               d2u={i: v.detach() for i, v in j.d2u.items()})


def coefficient_jet(pde: JetForm, x: Tensor) -> tuple[Jet, Jet]:
    """Jets of the transform coefficients a(x), b(x) (no graph kept: they do not depend on W or θ)."""
    with torch.enable_grad():
        xg = x.detach().requires_grad_(True)
        a, b = pde.transform_coefficients(xg)
        first, second = pde.jet_first(), pde.second_derivatives
        ja, jb = (autograd_jet(xg, c.expand(x.shape[0]).clone(), first, second) for c in (a, b))
    return detached(ja), detached(jb)


def product_jet(b: Jet, N: Jet) -> Jet:
    """Jet of b·N by the product rule (at N's coordinates)."""
    du = {i: b.du[i] * N.u + b.u * N.du[i] for i in N.du}
    d2u = {i: b.d2u[i] * N.u + 2 * b.du[i] * N.du[i] + b.u * N.d2u[i] for i in N.d2u}
    return Jet(u=b.u * N.u, du=du, d2u=d2u)


def transform_jet(a: Jet, b: Jet, N: Jet, z: Jet | None = None, c: float = 0.0) -> Jet:
    """Jet of u = a + b·N (+ c·z)."""
    bN = product_jet(b, N)
    u = a.u + bN.u
    du = {i: a.du[i] + v for i, v in bN.du.items()}
    d2u = {i: a.d2u[i] + v for i, v in bN.d2u.items()}
    if z is not None and c != 0.0:
        u = u + c * z.u
        du = {i: v + c * z.du[i] for i, v in du.items()}
        d2u = {i: v + c * z.d2u[i] for i, v in d2u.items()}
    return Jet(u=u, du=du, d2u=d2u)
