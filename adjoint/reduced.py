r"""The interface every reduced functional of :mod:`adjoint` implements.

A reduced functional is J(m) = misfit(u(m)) + R(m), where the state u(m) solves the discrete
state equation (stationary or time stepped) at the parameter m. It gives

* ``J(m)``: the value (one forward solve unless the state at m is cached);
* ``derivative(m)``: the dual vector dJ, ⟨dJ, δm⟩ = J'(m)δm (one adjoint solve or sweep);
* ``riesz(dJ)`` and ``gradient(m) = riesz(derivative(m))``: the Riesz representative of dJ in
  the parameter's inner product (L²(Q) for fields and initial conditions, Euclidean for scalars);
* counters of forward and adjoint solves, which the optimisers report per run.

Parameters are passed as numpy arrays of this rank's owned values, or PETSc Vecs in the
parameter's layout. The optimisers (:mod:`adjoint.optimize`) and the Taylor test take any
implementation.
"""

from __future__ import annotations

from fem import _loader as _loader  # noqa: F401  (loads MPI before dolfinx/petsc4py)

# isort: split

import abc
from typing import Any

import dolfinx.fem
import numpy as np
from mpi4py import MPI
from petsc4py import PETSc


class AbstractReducedFunctional(abc.ABC):
    """J(m), its derivative (dual) and gradient (Riesz representative), with solve counters.

    Attributes a subclass sets:
        comm: The (mpi4py) communicator.
        n_local: This rank's number of owned parameter values.
        fixed_dofs: Local indices of parameter values that stay fixed (zero derivative,
            equal TAO bounds).
        n_forward: Forward solves so far (a time series counts once).
        n_adjoint: Adjoint solves (sweeps) so far.
        n_riesz: Riesz-map solves so far.
    """

    # an mpi4py communicator; Any because petsc4py's calls take one at run time while its stubs
    # ask for a PETSc.Comm
    comm: Any
    n_local: int
    fixed_dofs: np.ndarray
    n_forward: int
    n_adjoint: int
    n_riesz: int

    # a compiled form of Σ_k R_k (None: no regulariser), on the Function that _set_parameter fills
    _R: Any = None

    @abc.abstractmethod
    def misfit(self, m: Any) -> float:
        """The data misfit at m (one forward solve unless the state at m is cached). Collective."""

    @abc.abstractmethod
    def _set_parameter(self, m: Any) -> np.ndarray:
        """Validate m, copy it into the forms' coefficients and return its owned values. Collective."""

    def regularization_value(self, m: Any) -> float:
        """Σ_k R_k(m) (0 without regularisers). Collective."""
        if self._R is None:
            return 0.0
        self._set_parameter(m)
        return float(self.comm.allreduce(dolfinx.fem.assemble_scalar(self._R), op=MPI.SUM))

    def J(self, m: Any) -> float:
        """The objective misfit(m) + Σ_k R_k(m). Collective."""
        return self.misfit(m) + self.regularization_value(m)

    def _unchanged(self, cached: np.ndarray | None, values: np.ndarray) -> bool:
        """Whether ``values`` equal the cached parameter on every rank. Collective."""
        same = cached is not None and np.array_equal(cached, values)
        return bool(self.comm.allreduce(same, op=MPI.LAND))

    @abc.abstractmethod
    def derivative(self, m: Any) -> PETSc.Vec:
        """The dual vector dJ at m, a new PETSc Vec in the parameter's layout. Collective."""

    @abc.abstractmethod
    def riesz(self, dual: PETSc.Vec) -> PETSc.Vec:
        """The Riesz representative of a dual vector. Collective."""

    @abc.abstractmethod
    def as_array(self, m: Any) -> np.ndarray:
        """A copy of this rank's owned values of a parameter (numpy array, Vec, Function)."""

    @abc.abstractmethod
    def global_size(self) -> int:
        """The number of parameter values over all ranks."""

    def __call__(self, m: Any) -> float:
        """J(m)."""
        return self.J(m)

    def gradient(self, m: Any) -> PETSc.Vec:
        """The gradient: the Riesz representative of :meth:`derivative`. Collective."""
        return self.riesz(self.derivative(m))

    def coefficient(self, m: Any) -> np.ndarray:
        """The physical values the parameter stands for (the identity unless a map applies)."""
        return self.as_array(m)

    def inner(self, x: np.ndarray | PETSc.Vec, y: np.ndarray | PETSc.Vec) -> float:
        """Euclidean inner product of two distributed vectors of owned values. Collective."""
        xa = x.array_r if isinstance(x, PETSc.Vec) else np.asarray(x)
        ya = y.array_r if isinstance(y, PETSc.Vec) else np.asarray(y)
        return float(self.comm.allreduce(float(xa @ ya), op=MPI.SUM))
