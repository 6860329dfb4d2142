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
from dataclasses import dataclass
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


@dataclass(frozen=True)
class TaylorResult:
    """The remainders of a Taylor test and which of them reached round-off.

    Attributes:
        eps: The steps ε.
        residuals: |J(m + εδm) − J(m) − ε⟨dJ, δm⟩| for each ε.
        floor: The round-off level of each residual: ``64·ε_mach·(|J(m)| + |J(m + εδm)| + |ε⟨dJ, δm⟩|)``,
            the size of the cancellation error in the remainder.
        rates: log2 of the ratios of successive residuals.
    """

    eps: np.ndarray
    residuals: np.ndarray
    floor: np.ndarray
    rates: np.ndarray

    @property
    def round_off(self) -> np.ndarray:
        """Per residual: True where it is within 10× of its round-off floor (not evidence)."""
        return self.residuals <= 10.0 * self.floor

    @property
    def usable_rates(self) -> np.ndarray:
        """The rates between two residuals that are both above round-off."""
        ok = ~self.round_off
        return np.asarray(self.rates[ok[:-1] & ok[1:]], dtype=float)

    def check(self, expected: float = 2.0, tol: float = 0.1) -> str | None:
        """Why the test fails (too few usable rates, a rate off ``expected ± tol``), or None."""
        usable = self.usable_rates
        if usable.size < 2:
            return (f"only {usable.size} rate(s) above round-off (residuals {self.residuals.tolist()}, "
                    f"round-off floor {self.floor.tolist()}): use a larger eps0")
        if np.any(np.abs(usable - expected) > tol):
            return f"rates {usable.tolist()} are not {expected} ± {tol}"
        return None


def taylor_check(
    J: Callable[[Vector], float],
    derivative: Callable[[Vector], Vector] | None,
    m: Vector,
    dm: Vector,
    *,
    eps0: float = 1e-2,
    n: int = 4,
    comm: MPI.Comm | None = None,
) -> TaylorResult:
    """The Taylor test of :func:`taylor_test`, with each remainder's round-off level.

    A remainder that has reached round-off is flagged (:attr:`TaylorResult.round_off`) and
    left out of :attr:`TaylorResult.usable_rates`, instead of being averaged into a rate.
    ``derivative=None`` is the control: ⟨dJ, δm⟩ = 0, so a correct J gives rate 1.
    """
    m_before = _values(m).copy()
    J0 = J(m)
    dJ = derivative(m) if derivative is not None else None
    for x in (dJ, dm, m):
        if isinstance(x, PETSc.Vec) and comm is None:
            comm = x.getComm().tompi4py()
    local = float(_values(dJ) @ _values(dm)) if dJ is not None else 0.0
    slope = comm.allreduce(local, op=MPI.SUM) if comm is not None else local
    eps = eps0 * 0.5 ** np.arange(n)
    values = np.array([J(_perturbed(m, dm, e)) for e in eps])
    residuals = np.abs(values - J0 - eps * slope)
    floor = 64 * np.finfo(float).eps * (abs(J0) + np.abs(values) + np.abs(eps * slope))
    if not np.array_equal(_values(m), m_before):
        raise RuntimeError("taylor_test: J or derivative modified m")
    with np.errstate(divide="ignore", invalid="ignore"):
        rates = np.log2(residuals[:-1] / residuals[1:])
    return TaylorResult(eps=eps, residuals=residuals, floor=floor, rates=rates)


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
    result = taylor_check(J, derivative, m, dm, eps0=eps0, n=n, comm=comm)
    return result.rates, result.residuals
