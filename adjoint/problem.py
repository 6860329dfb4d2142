"""Declarative pieces of the coefficient inverse problem: boundary data and solver options.

The reduced functional (``adjoint.gradient.ReducedFunctional``) is built from these
frozen, keyword-only dataclasses plus the mesh, the observation operator and the data.
"""

from __future__ import annotations

from fem import _loader as _loader  # noqa: F401  (loads MPI before dolfinx/petsc4py)

# isort: split

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

OptionValue = str | int | float | bool


@dataclass(frozen=True, kw_only=True)
class DirichletData:
    """Dirichlet data u = value on tagged boundary facets.

    Args:
        value: a constant, or a callable ``x -> values`` with x of shape (3, N) (as for
            ``dolfinx.fem.Function.interpolate``).
        tags: facet tags (markers of the ``facet_tags`` given to the reduced functional);
            ``None`` means the whole boundary.
    """

    value: float | Callable[[np.ndarray], np.ndarray] = 0.0
    tags: tuple[int, ...] | None = None


@dataclass(frozen=True, kw_only=True)
class FixedCoefficient:
    """Keep the parameter m fixed on tagged boundary facets (a Dirichlet condition on m).

    The derivative and gradient are zero at the fixed degrees of freedom, gradient
    descent never moves them and TAO gets equal bounds there, so they keep the values
    of the initial guess (e.g. D(0) = D(1) = 1 in the 1D Poisson experiment). For a P1
    coefficient the fixed dofs are the vertices of the facets; for DG0 the cells that
    touch them.

    Args:
        tags: facet tags; ``None`` means the whole boundary.
    """

    tags: tuple[int, ...] | None = None


def _direct_options() -> Mapping[str, OptionValue]:
    return MappingProxyType({"ksp_type": "preonly", "pc_type": "lu", "pc_factor_mat_solver_type": "mumps"})


def _iterative_options() -> Mapping[str, OptionValue]:
    return MappingProxyType({"ksp_type": "cg", "pc_type": "gamg", "ksp_rtol": 1e-12, "ksp_atol": 1e-50,
                             "ksp_max_it": 2000})


def _default_newton_options() -> Mapping[str, OptionValue]:
    return MappingProxyType({"snes_type": "newtonls", "snes_linesearch_type": "basic", "snes_rtol": 1e-12,
                             "snes_atol": 1e-13, "snes_stol": 0.0, "snes_max_it": 50})


def _default_riesz_options() -> Mapping[str, OptionValue]:
    return MappingProxyType({"ksp_type": "cg", "pc_type": "jacobi", "ksp_rtol": 1e-14, "ksp_atol": 1e-50,
                             "ksp_max_it": 1000})


@dataclass(frozen=True, kw_only=True)
class SolverConfig:
    """PETSc options for the state/adjoint KSP, the Newton solver (SNES) and the Riesz KSP.

    Options are written under the prefixes before ``setFromOptions`` and removed after,
    so several problems can coexist; an option already present in the PETSc options
    database (e.g. ``-adjoint_state_ksp_type preonly`` on the command line) wins over
    the value here.

    Args:
        state_options: options (without prefix or dash) for the KSP shared by the forward
            and the adjoint solve. Default: sparse LU (MUMPS), whose factorisation the adjoint
            solve reuses; exact and bitwise reproducible. :meth:`iterative` gives CG + GAMG
            (rtol 1e-12) for large 2D/3D meshes; its results depend at round-off level on how
            many preconditioner set-ups came before (GAMG's randomised eigenvalue estimates).
        newton_options: options for the SNES of the forward solve when the residual is not
            affine in u (unused otherwise), written under the prefix ``prefix + "newton_"``.
            Default: Newton with a full step (``newtonls``, line search ``basic``),
            ``snes_rtol`` 1e-12, ``snes_atol`` 1e-13, ``snes_stol`` 0 (no stop on a small step)
            and at most 50 iterations. The linear solver of the Newton steps (the SNES's KSP,
            options ``ksp_*``/``pc_*`` under the same prefix) takes ``state_options`` unless
            ``newton_options`` sets them (so MUMPS LU by default; with :meth:`iterative`, CG,
            give a non-symmetric ``ksp_type`` when the tangent is not symmetric, e.g. for a
            diffusion a(1 + u²)). The adjoint solve uses the state KSP with the tangent at the
            converged state, whatever the Newton solver.
        riesz_options: options for the P1 mass-matrix solve M g = dJ (DG0 uses the diagonal).
        prefix: options prefix of the state KSP; the Newton SNES uses ``prefix + "newton_"``,
            the Riesz KSP ``prefix + "riesz_"``.
    """

    state_options: Mapping[str, OptionValue] = field(default_factory=_direct_options)
    newton_options: Mapping[str, OptionValue] = field(default_factory=_default_newton_options)
    riesz_options: Mapping[str, OptionValue] = field(default_factory=_default_riesz_options)
    prefix: str = "adjoint_state_"

    @classmethod
    def direct(cls, prefix: str = "adjoint_state_") -> SolverConfig:
        """A sparse direct solve (MUMPS LU), the default."""
        return cls(state_options=_direct_options(), prefix=prefix)

    @classmethod
    def iterative(cls, prefix: str = "adjoint_state_") -> SolverConfig:
        """CG preconditioned by smoothed-aggregation AMG (GAMG), relative tolerance 1e-12."""
        return cls(state_options=_iterative_options(), prefix=prefix)
