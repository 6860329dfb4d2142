"""Maps from the optimisation parameter m to the PDE coefficient a = g(m).

Each map is applied pointwise inside the UFL forms, so the chain rule comes from
``ufl.derivative`` and never has to be written by hand. The numpy versions are used
only to check positivity and to build initial parameters from coefficient values.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import cast

import numpy as np
import ufl


class AbstractCoefficientMap(abc.ABC):
    """A monotonically increasing map a = g(m) with a > 0 wherever it is used."""

    @abc.abstractmethod
    def ufl(self, m: ufl.core.expr.Expr) -> ufl.core.expr.Expr:
        """Return g(m) as a UFL expression."""

    @abc.abstractmethod
    def numpy(self, m: np.ndarray) -> np.ndarray:
        """Return g(m) on an array of values."""

    @abc.abstractmethod
    def inverse(self, a: np.ndarray) -> np.ndarray:
        """Return g⁻¹(a); raise ``ValueError`` where a is outside the range of g."""


@dataclass(frozen=True, kw_only=True)
class IdentityMap(AbstractCoefficientMap):
    """a = m: the coefficient itself is optimised (its positivity is checked)."""

    def ufl(self, m: ufl.core.expr.Expr) -> ufl.core.expr.Expr:  # noqa: D102
        return m

    def numpy(self, m: np.ndarray) -> np.ndarray:  # noqa: D102
        return np.asarray(m, dtype=float)

    def inverse(self, a: np.ndarray) -> np.ndarray:  # noqa: D102
        return np.asarray(a, dtype=float)


@dataclass(frozen=True, kw_only=True)
class SigmoidMap(AbstractCoefficientMap):
    """a = lo + (hi − lo)·sigmoid(m), so that lo < a < hi (the Darcy range is (3, 12)).

    Args:
        lo: lower end of the range, ≥ 0.
        hi: upper end of the range, > lo.
    """

    lo: float = 3.0
    hi: float = 12.0

    def __post_init__(self) -> None:
        if not (np.isfinite(self.lo) and np.isfinite(self.hi) and 0.0 <= self.lo < self.hi):
            raise ValueError(f"SigmoidMap needs finite 0 <= lo < hi, got lo={self.lo}, hi={self.hi}")

    def ufl(self, m: ufl.core.expr.Expr) -> ufl.core.expr.Expr:  # noqa: D102
        # UFL's operators are unannotated (their results are Any to mypy).
        return cast(ufl.core.expr.Expr, self.lo + (self.hi - self.lo) / (1.0 + ufl.exp(-m)))

    def numpy(self, m: np.ndarray) -> np.ndarray:  # noqa: D102
        return self.lo + (self.hi - self.lo) / (1.0 + np.exp(-np.asarray(m, dtype=float)))

    def inverse(self, a: np.ndarray) -> np.ndarray:  # noqa: D102
        a = np.asarray(a, dtype=float)
        if np.any(a <= self.lo) or np.any(a >= self.hi):
            raise ValueError(f"SigmoidMap.inverse needs lo < a < hi = ({self.lo}, {self.hi}); "
                             f"got values in [{a.min()}, {a.max()}]")
        s = (a - self.lo) / (self.hi - self.lo)
        return np.log(s / (1.0 - s))


@dataclass(frozen=True, kw_only=True)
class ExpMap(AbstractCoefficientMap):
    """a = exp(m): positivity by construction (log-coefficient parametrisation)."""

    def ufl(self, m: ufl.core.expr.Expr) -> ufl.core.expr.Expr:  # noqa: D102
        return cast(ufl.core.expr.Expr, ufl.exp(m))

    def numpy(self, m: np.ndarray) -> np.ndarray:  # noqa: D102
        return np.exp(np.asarray(m, dtype=float))

    def inverse(self, a: np.ndarray) -> np.ndarray:  # noqa: D102
        a = np.asarray(a, dtype=float)
        if np.any(a <= 0.0):
            raise ValueError(f"ExpMap.inverse needs a > 0; got min {a.min()}")
        return np.log(a)
