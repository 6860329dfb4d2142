r"""Regularisation functionals R(m) for the coefficient, as UFL forms.

Both regularisers act on the coefficient a = g(m) by default (``on="coefficient"``),
so that the weight has the same meaning whatever map is used; ``on="parameter"``
regularises m instead. With x the regularised field and w the weight:

* P1 (continuous) coefficient:

  - :class:`H1Seminorm`: R = (w/2) ∫_Ω |∇x|² dx
  - :class:`TotalVariation`: R = w ∫_Ω √(|∇x|² + ε²) dx

* DG0 (cellwise constant) coefficient, where ∇x = 0 inside cells and the variation
  lives in the jumps [[x]] across interior facets F, with h_F the mean diameter of
  the two cells sharing F:

  - :class:`H1Seminorm`: R = (w/2) Σ_F ∫_F [[x]]²/h_F dS (the interior-penalty
    approximation of (w/2)∫|∇x|²; in 1D exactly (w/2) Σ_i h ((x_{i+1} − x_i)/h)²)
  - :class:`TotalVariation`: R = w Σ_F ∫_F √([[x]]² + ε² h_F²) dS, the smoothed
    analogue of w∫√(|∇x|² + ε²) over the facet patch (|∇x| ≈ [[x]]/h_F on a patch of
    volume |F| h_F); as ε → 0 it is w Σ_F |F| |[[x]]|, the exact total variation of a
    piecewise constant field.

The derivative of R with respect to m is taken by ``ufl.derivative`` in the reduced
functional, through the map.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Literal, cast

import numpy as np
import ufl

Space = Literal["P1", "DG0"]
# UFL's operators are unannotated: to mypy the forms built below are Any, cast to what they are.


class AbstractRegularization(abc.ABC):
    """A scalar UFL form R(x) of the coefficient (or parameter) field x."""

    weight: float
    on: Literal["coefficient", "parameter"]

    @abc.abstractmethod
    def form(self, x: ufl.core.expr.Expr, space: Space, msh: object) -> ufl.Form:
        """Return R(x) as a scalar UFL form on ``msh`` for a field x in ``space``."""


def _check_weight(name: str, weight: float, on: str) -> None:
    if not (np.isfinite(weight) and weight >= 0.0):
        raise ValueError(f"{name} weight must be finite and >= 0, got {weight}")
    if on not in ("coefficient", "parameter"):
        raise ValueError(f"{name}.on must be 'coefficient' or 'parameter', got {on!r}")


def _facet_size(msh: object) -> ufl.core.expr.Expr:
    h = ufl.CellDiameter(msh)
    return cast(ufl.core.expr.Expr, 0.5 * (h("+") + h("-")))


@dataclass(frozen=True, kw_only=True)
class H1Seminorm(AbstractRegularization):
    """Tikhonov regularisation with the H1 seminorm, (w/2)∫|∇x|² (jump form for DG0).

    Args:
        weight: w ≥ 0.
        on: regularise the coefficient a = g(m) (default) or the parameter m.
    """

    weight: float
    on: Literal["coefficient", "parameter"] = "coefficient"

    def __post_init__(self) -> None:
        _check_weight("H1Seminorm", self.weight, self.on)

    def form(self, x: ufl.core.expr.Expr, space: Space, msh: object) -> ufl.Form:  # noqa: D102
        w = self.weight
        if space == "P1":
            return cast(ufl.Form, 0.5 * w * ufl.inner(ufl.grad(x), ufl.grad(x)) * ufl.dx(domain=msh))
        return cast(ufl.Form, 0.5 * w * ufl.jump(x) ** 2 / _facet_size(msh) * ufl.dS(domain=msh))


@dataclass(frozen=True, kw_only=True)
class TotalVariation(AbstractRegularization):
    """Smoothed total variation w∫√(|∇x|² + ε²) (jump form for DG0).

    Args:
        weight: w ≥ 0.
        eps: smoothing ε > 0 (the functional is not differentiable at ε = 0).
        on: regularise the coefficient a = g(m) (default) or the parameter m.
    """

    weight: float
    eps: float
    on: Literal["coefficient", "parameter"] = "coefficient"

    def __post_init__(self) -> None:
        _check_weight("TotalVariation", self.weight, self.on)
        if not (np.isfinite(self.eps) and self.eps > 0.0):
            raise ValueError(f"TotalVariation needs a smoothing eps > 0, got eps={self.eps}")

    def form(self, x: ufl.core.expr.Expr, space: Space, msh: object) -> ufl.Form:  # noqa: D102
        w, eps = self.weight, self.eps
        if space == "P1":
            grad_sq = ufl.inner(ufl.grad(x), ufl.grad(x))
            return cast(ufl.Form, w * ufl.sqrt(grad_sq + eps**2) * ufl.dx(domain=msh))
        hf = _facet_size(msh)
        return cast(ufl.Form, w * ufl.sqrt(ufl.jump(x) ** 2 + (eps * hf) ** 2) * ufl.dS(domain=msh))
