r"""Variable-coefficient elliptic problem.

.. math::  -\nabla\cdot(a \nabla u) + c\,u = f \ \text{in}\ \Omega, \qquad
           u = g \ \text{on the tagged boundary},

with homogeneous Neumann data on the rest of the boundary, in Lagrange P_k (P1 by default),
solved with a PETSc KSP (default: CG + GAMG, relative tolerance 1e-10) by the weak-form solver
:func:`fem.forward.weak.solve_stationary`.
"""

from __future__ import annotations

from fem import _loader as _loader  # noqa: F401  (loads MPI before dolfinx/petsc4py)

# isort: split

from typing import Any

import ufl

from fem.forward._coefficients import as_coefficient, unique_prefix
from fem.forward.weak import EllipticSolution, solve_stationary
from fem.meshes import MeshData


def solve_elliptic(
    meshdata: MeshData,
    *,
    a: Any = 1.0,
    c: Any = 0.0,
    f: Any = 0.0,
    g: Any = 0.0,
    tags: Any = None,
    degree: int = 1,
    petsc_options: dict[str, Any] | None = None,
    petsc_options_prefix: str | None = None,
) -> EllipticSolution:
    """Solve ``-div(a grad u) + c u = f`` with ``u = g`` on the facets carrying ``tags``.

    Coefficients ``a``, ``c``, ``f`` may be numbers, numpy callables ``x -> values`` (``x`` of shape
    ``(3, n)``; interpolated into the solution space), dolfinx Functions or UFL expressions;
    ``g`` a number, callable or Function. Collective.

    Args:
        meshdata: The mesh.
        a: Diffusion coefficient, must be positive and finite.
        c: Reaction coefficient (finite; non-negative for a well-posed problem).
        f: Source.
        g: Dirichlet value.
        tags: Facet tags of the Dirichlet boundary; ``None`` = whole boundary, ``()`` = none.
        degree: Lagrange degree.
        petsc_options: KSP/PC options, applied over :data:`DEFAULT_KSP_OPTIONS`.
        petsc_options_prefix: Options prefix (default: a new unique one).

    Returns:
        EllipticSolution.

    Raises:
        ValueError: Non-finite or non-positive ``a``, non-finite data.
        RuntimeError: The KSP did not converge.
    """

    def residual(u: Any, v: Any) -> Any:
        # Coefficients are checked here, in the solution space, before g and the boundary facets.
        V = u.function_space
        a_c = as_coefficient(a, V, "a", positive=True)
        c_c = as_coefficient(c, V, "c")
        f_c = as_coefficient(f, V, "f")
        return (ufl.inner(a_c * ufl.grad(u), ufl.grad(v)) * ufl.dx + c_c * u * v * ufl.dx
                - f_c * v * ufl.dx)

    return solve_stationary(meshdata, residual, degree=degree, g=g, tags=tags, linear=True,
                            petsc_options=petsc_options,
                            petsc_options_prefix=petsc_options_prefix or unique_prefix("elliptic"))
