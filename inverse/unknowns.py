"""What an inverse problem infers: named scalars, or a function (a coefficient or an initial condition)."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal, final

import numpy as np

FieldFunction = Callable[[np.ndarray], np.ndarray]
"""A function of space: points (N, gdim) -> values (N,)."""

Theta = Mapping[str, float] | FieldFunction
"""An estimate of the unknowns: named scalar values, or a function of space."""


@final
@dataclass(frozen=True, kw_only=True)
class Scalars:
    """Named scalar unknowns θ with their truth, initial guess and admissible range.

    Attributes:
        names: Names, in the order of the strong form's ``param_names``.
        truth: The values that generate the data.
        init: The initial guess θ0 (pre-training point of BiLO and the PINN).
        lower: Strict lower bounds (None: unbounded); an estimate outside gets no FEM solve.
    """

    names: tuple[str, ...]
    truth: tuple[float, ...]
    init: tuple[float, ...]
    lower: tuple[float | None, ...] = ()

    def __post_init__(self) -> None:
        n = len(self.names)
        if not n or len(self.truth) != n or len(self.init) != n or len(self.lower) not in (0, n):
            raise ValueError(
                f"Scalars: names, truth, init (and lower) need one entry per unknown, got "
                f"{self.names}, {self.truth}, {self.init}, {self.lower}"
            )
        for what, values in (("truth", self.truth), ("initial guess", self.init)):
            message = self.inadmissible(dict(zip(self.names, values, strict=True)))
            if message:
                raise ValueError(f"{what}: {message}")

    def inadmissible(self, theta: Mapping[str, float]) -> str | None:
        """Why θ cannot be solved for (non-finite or below a bound), or None."""
        for i, name in enumerate(self.names):
            value = float(theta[name])
            bound = self.lower[i] if self.lower else None
            if not math.isfinite(value):
                return f"{name} = {value} is not finite"
            if bound is not None and not value > bound:
                return f"{name} must be > {bound:g}, got {value:g}"
        return None


@final
@dataclass(frozen=True, kw_only=True)
class Field:
    """An unknown coefficient function, with how each family of methods represents it.

    The networks' representation (f_V and its transform) is the strong form's
    ``function_transform``; the adjoint's is below.

    Attributes:
        name: The function's name (the strong form's single ``param_names`` entry).
        regularizer: The regulariser every method uses: H1 seminorm or total variation.
        tv_eps: Smoothing of the adjoint's TV term.
        space: The adjoint's coefficient space.
        adjoint_map: The adjoint's parameterisation a = g(m): identity (with ``bounds`` as
            TAO bounds) or a sigmoid onto ``bounds``.
        bounds: (lo, hi) of the coefficient, or None.
        fixed_on_boundary: The adjoint keeps m at its initial value on the boundary.
        truth_element: The element the truth is interpolated into for the FEM solve (e.g.
            ``("DG", 0)`` for a discontinuous truth); None: the state space.
        positive: An estimate must be > 0 everywhere to be solved for.
        role: ``"coefficient"``: a coefficient of the weak residual. ``"initial_condition"``:
            u(x, 0) of a transient problem (the weak residual does not see it; the adjoint
            controls u⁰).
    """

    name: str
    regularizer: Literal["h1", "tv"]
    tv_eps: float = 1e-2
    space: Literal["P1", "DG0"] = "P1"
    adjoint_map: Literal["identity", "sigmoid"] = "identity"
    bounds: tuple[float, float] | None = None
    fixed_on_boundary: bool = False
    truth_element: tuple[str, int] | None = None
    positive: bool = True
    role: Literal["coefficient", "initial_condition"] = "coefficient"

    def __post_init__(self) -> None:
        if self.role not in ("coefficient", "initial_condition"):
            raise ValueError(f"Field {self.name!r}: role must be 'coefficient' or 'initial_condition', "
                             f"got {self.role!r}")
        if self.adjoint_map == "sigmoid" and self.bounds is None:
            raise ValueError(f"Field {self.name!r}: a sigmoid map needs bounds=(lo, hi)")
        if self.bounds is not None and not self.bounds[0] < self.bounds[1]:
            raise ValueError(f"Field {self.name!r}: bounds must be (lo, hi) with lo < hi, got {self.bounds}")
