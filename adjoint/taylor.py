r"""Taylor test for a derivative: the remainder |J(m + εδm) − J(m) − ε⟨dJ, δm⟩| is O(ε²).

If the derivative is right the remainders shrink at rate 2 as ε halves; with dJ
replaced by zero (or a wrong dJ) they shrink at rate 1.

References:
    Farrell, Ham, Funke, Rognes, *Automated derivation of the adjoint of high-level
    transient finite element programs*, SIAM J. Sci. Comput. 35 (2013); pyadjoint's
    ``taylor_test``.
"""

from __future__ import annotations

from fem import _loader as _loader  # noqa: F401  (loads MPI before dolfinx/petsc4py)

# isort: split

from collections.abc import Callable
from typing import Any

import numpy as np
from mpi4py import MPI
from petsc4py import PETSc

Vector = Any  # numpy array of owned values or PETSc Vec


def _values(x: Vector) -> np.ndarray:
    return x.array_r if isinstance(x, PETSc.Vec) else np.asarray(x, dtype=float)


def _perturbed(m: Vector, dm: Vector, eps: float) -> Vector:
    """M + eps·dm as a new object of m's kind (m is never modified)."""
    if isinstance(m, PETSc.Vec):
        out = m.copy()
        out.array_w[:] += eps * _values(dm)
        return out
    return np.asarray(m, dtype=float) + eps * _values(dm)


def taylor_test(
    J: Callable[[Vector], float],
    derivative: Callable[[Vector], Vector],
    m: Vector,
    dm: Vector,
    *,
    eps0: float = 1e-2,
    n: int = 4,
    comm: MPI.Comm | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Return (rates, residuals) of the Taylor remainder for ε = eps0, eps0/2, … (n values).

    Works with anything exposing ``J(m)`` and ``derivative(m)``; m and δm may be numpy
    arrays of this rank's owned values or PETSc Vecs, and ⟨dJ, δm⟩ is summed over the
    communicator (that of a PETSc Vec, else ``comm``, else serial). m is not modified.

    Args:
        J: the functional.
        derivative: its derivative, a dual vector (numpy or PETSc Vec) with m's layout.
        m: the point of expansion.
        dm: the direction δm.
        eps0: the largest step.
        n: the number of steps (n − 1 rates).
        comm: communicator for numpy inputs under MPI.

    Returns:
        rates: log2 of the ratios of successive residuals (≈ 2 for a correct derivative).
        residuals: |J(m + εδm) − J(m) − ε⟨dJ, δm⟩| for each ε.
    """
    m_before = _values(m).copy()
    J0 = J(m)
    dJ = derivative(m)
    for x in (dJ, dm, m):
        if isinstance(x, PETSc.Vec) and comm is None:
            comm = x.getComm().tompi4py()
    local = float(_values(dJ) @ _values(dm))
    slope = comm.allreduce(local, op=MPI.SUM) if comm is not None else local
    eps = eps0 * 0.5 ** np.arange(n)
    residuals = np.array([abs(J(_perturbed(m, dm, e)) - J0 - e * slope) for e in eps])
    if not np.array_equal(_values(m), m_before):
        raise RuntimeError("taylor_test: J or derivative modified m")
    rates = np.log2(residuals[:-1] / residuals[1:])
    return rates, residuals
