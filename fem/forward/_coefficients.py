"""Turn user data (float, numpy callable, Function, UFL expression) into UFL coefficients, checked.

Validation is collective: a bad value on any rank raises the same error on every rank.
"""

from __future__ import annotations

from fem import _loader as _loader  # noqa: F401  (loads MPI before dolfinx/petsc4py)

# isort: split

import itertools
from collections.abc import Callable
from typing import Any

import dolfinx.fem
import numpy as np
import ufl
from dolfinx import mesh as dmesh
from mpi4py import MPI

_prefix_counter = itertools.count()


def unique_prefix(stem: str) -> str:
    """A PETSc options prefix not used before in this process (same on every rank)."""
    return f"fem_{stem}_{next(_prefix_counter)}_"


def _check(comm: MPI.Comm, name: str, values: np.ndarray, positive: bool) -> None:
    finite = bool(comm.allreduce(bool(np.isfinite(values).all()), op=MPI.LAND))
    if not finite:
        raise ValueError(f"coefficient {name!r} has NaN or inf values")
    if positive:
        low = comm.allreduce(float(np.min(values, initial=np.inf)), op=MPI.MIN)
        if not low > 0:
            raise ValueError(f"coefficient {name!r} must be positive, but its minimum is {low:g}")


def as_coefficient(
    value: Any, V: dolfinx.fem.FunctionSpace[np.float64], name: str, *, positive: bool = False
) -> ufl.core.expr.Expr:
    """A UFL coefficient from ``value``.

    Args:
        value: A number (becomes a ``Constant``), a numpy callable ``x -> values`` with ``x`` of
            shape ``(3, n)`` (interpolated into ``V``), a ``Function`` (used as is) or a UFL
            expression (used as is, not checked).
        V: Space to interpolate callables into.
        name: Name used in error messages.
        positive: Require values > 0 (checked at the dofs of interpolated/Function data).

    Raises:
        ValueError: NaN/inf values, or non-positive values where ``positive``.
        TypeError: An unsupported type.
    """
    comm = V.mesh.comm
    if isinstance(value, (int, float, np.floating, np.integer)) and not isinstance(value, bool):
        _check(comm, name, np.array([float(value)]), positive)
        return dolfinx.fem.Constant(V.mesh, float(value))
    if isinstance(value, dolfinx.fem.Function):
        _check(comm, name, value.x.array, positive)
        return value
    if isinstance(value, ufl.core.expr.Expr):
        return value
    if callable(value):
        f = dolfinx.fem.Function(V, name=name)
        f.interpolate(value)
        _check(comm, name, f.x.array, positive)
        return f
    raise TypeError(f"coefficient {name!r}: expected a number, a callable x -> values, a dolfinx Function "
                    f"or a UFL expression, got {type(value).__name__}")


class TimeDependentData:
    """A boundary value or source ``g(x, t)`` (or a number) kept in a Function updated per step."""

    def __init__(self, value: float | Callable[..., Any] | None, V: dolfinx.fem.FunctionSpace[np.float64],
                 name: str) -> None:
        """Interpolate nothing yet; call :meth:`at` before use."""
        self.value: float | Callable[..., Any] = 0.0 if value is None else value
        self.function: dolfinx.fem.Function[np.float64] = dolfinx.fem.Function(V, name=name)
        self.name = name
        if not callable(self.value):
            _check(V.mesh.comm, name, np.array([float(self.value)]), positive=False)
            self.function.x.array[:] = float(self.value)

    @property
    def is_zero(self) -> bool:
        """Whether the data is the constant 0."""
        return not callable(self.value) and float(self.value) == 0.0

    def at(self, t: float) -> dolfinx.fem.Function[np.float64]:
        """Update to time ``t`` and return the Function."""
        value = self.value
        if callable(value):
            self.function.interpolate(lambda x: value(x, t))
            _check(self.function.function_space.mesh.comm, self.name, self.function.x.array, positive=False)
        return self.function


def dirichlet_bcs(
    meshdata: Any, V: dolfinx.fem.FunctionSpace[np.float64], g: dolfinx.fem.Function[np.float64], tags: Any
) -> list[dolfinx.fem.DirichletBC[np.float64]]:
    """Dirichlet conditions ``u = g`` on the facets with ``tags`` (``None``: whole boundary; ``()``: none)."""
    from fem.meshes import locate_boundary_facets

    if tags is not None and len(np.atleast_1d(tags)) == 0:
        return []
    msh: dmesh.Mesh[np.float64] = V.mesh
    facets = locate_boundary_facets(meshdata, tags)
    dofs = dolfinx.fem.locate_dofs_topological(V, msh.topology.dim - 1, facets)
    return [dolfinx.fem.dirichletbc(g, dofs)]
