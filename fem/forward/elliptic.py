r"""Variable-coefficient elliptic problem.

.. math::  -\nabla\cdot(a \nabla u) + c\,u = f \ \text{in}\ \Omega, \qquad
           u = g \ \text{on the tagged boundary},

with homogeneous Neumann data on the rest of the boundary, in Lagrange P_k (P1 by default),
solved with a PETSc KSP (default: CG + GAMG, relative tolerance 1e-10).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from fem import _loader  # noqa: F401  (before dolfinx)
import dolfinx.fem  # noqa: E402
import dolfinx.fem.petsc  # noqa: E402
import ufl  # noqa: E402

from fem.evaluation import PointEvaluator  # noqa: E402
from fem.forward._coefficients import as_coefficient, dirichlet_bcs, unique_prefix  # noqa: E402
from fem.meshes import MeshData  # noqa: E402

DEFAULT_KSP_OPTIONS = {"ksp_type": "cg", "pc_type": "gamg", "ksp_rtol": 1e-10, "ksp_atol": 1e-14}


@dataclass(frozen=True)
class EllipticSolution:
    """Result of :func:`solve_elliptic`.

    Attributes:
        u: The solution.
        iterations: KSP iterations.
        converged_reason: PETSc's KSP converged reason (> 0).
        order: Convergence order of the L2 error in h for smooth solutions (degree + 1).
    """

    u: dolfinx.fem.Function
    iterations: int
    converged_reason: int
    order: int

    def sample(self, points: np.ndarray, **kwargs: Any) -> np.ndarray:
        """Values at this rank's ``points (N, gdim)`` (see :class:`PointEvaluator`). Collective."""
        return PointEvaluator(self.u.function_space, points, **kwargs).evaluate(self.u)


def _dirichlet_function(g: Any, V: dolfinx.fem.FunctionSpace) -> dolfinx.fem.Function:
    gh = dolfinx.fem.Function(V, name="g")
    if isinstance(g, (int, float, np.floating, np.integer)):
        if not np.isfinite(float(g)):
            raise ValueError("Dirichlet value 'g' is not finite")
        gh.x.array[:] = float(g)
    elif isinstance(g, dolfinx.fem.Function) or callable(g):
        gh.interpolate(g)
        as_coefficient(gh, V, "g")  # checks finiteness collectively
    else:
        raise TypeError(f"Dirichlet value 'g': expected a number, a callable or a Function, "
                        f"got {type(g).__name__}")
    return gh


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
    msh = meshdata.mesh
    V = dolfinx.fem.functionspace(msh, ("Lagrange", int(degree)))
    a_c = as_coefficient(a, V, "a", positive=True)
    c_c = as_coefficient(c, V, "c")
    f_c = as_coefficient(f, V, "f")
    bcs = dirichlet_bcs(meshdata, V, _dirichlet_function(g, V), tags)
    u, v = ufl.TrialFunction(V), ufl.TestFunction(V)
    lhs = ufl.inner(a_c * ufl.grad(u), ufl.grad(v)) * ufl.dx + c_c * u * v * ufl.dx
    rhs = f_c * v * ufl.dx
    options = {**DEFAULT_KSP_OPTIONS, **(petsc_options or {})}
    problem = dolfinx.fem.petsc.LinearProblem(
        lhs, rhs, bcs=bcs, petsc_options=options,
        petsc_options_prefix=petsc_options_prefix or unique_prefix("elliptic"))
    uh = problem.solve()
    uh.name = "u"
    ksp = problem.solver
    reason = int(ksp.getConvergedReason())
    if reason <= 0:
        raise RuntimeError(f"elliptic solve did not converge (KSP reason {reason}, "
                           f"{ksp.getIterationNumber()} iterations, options {options})")
    return EllipticSolution(uh, int(ksp.getIterationNumber()), reason, int(degree) + 1)
