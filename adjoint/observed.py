"""Any loss of a transient state's observations, with parameters of its own, and its adjoint.

:class:`~adjoint.TransientReducedFunctional` minimises a squared misfit. Data that are not
values, e.g. segmentation masks {u > th} with unknown thresholds, need another loss
L(y, q) of the observations y(θ) = (B u(t_k; θ))_k and of the loss's own parameters q. Its
gradient is one backward sweep with ∂L/∂y in place of the residuals,

    dL/dθ = (∂y/∂θ)ᵀ ∂L/∂y   (``TransientReducedFunctional.observation_vjp``),   dL/dq = ∂L/∂q,

so the controls m = (θ, q) are optimised together, e.g. by :func:`adjoint.minimize_tao`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, final

import numpy as np
from mpi4py import MPI
from petsc4py import PETSc

from adjoint.gradient import raise_collectively
from adjoint.reduced import AbstractReducedFunctional
from adjoint.transient import TransientReducedFunctional

ObservationLoss = Callable[[np.ndarray, np.ndarray], tuple[float, np.ndarray, np.ndarray]]
"""``loss(y, q) -> (L, ∂L/∂y, ∂L/∂q)``: this rank's share of L from its observations y (K, local
rows of B) and the loss's parameters q (all of them, on every rank); the shares sum to L."""


@final
class ObservedLossFunctional(AbstractReducedFunctional):
    """J(θ, q) = L(y(θ), q) for the scalar controls θ of a transient functional and parameters q.

    The controls are one vector (θ, q) owned by rank 0, like the scalars of
    :class:`~adjoint.TransientReducedFunctional`; its own data and misfit are not used.

    Args:
        inner: The state equation and its observation operator (``control="scalars"``).
        loss: The loss of the observations.
        names: The names of q.
    """

    def __init__(self, inner: TransientReducedFunctional, loss: ObservationLoss,
                 names: tuple[str, ...]) -> None:
        if inner.control != "scalars":
            raise ValueError("ObservedLossFunctional needs scalar controls of the state equation")
        if set(names) & set(inner.names):
            raise ValueError(f"the loss's parameters {names} repeat the state's {inner.names}")
        self.state, self.loss = inner, loss
        self.k = len(inner.names)
        self.names = tuple(inner.names) + tuple(names)
        self.comm = inner.comm
        self.n_local = len(self.names) if self.comm.rank == 0 else 0
        self.fixed_dofs = np.zeros(0, dtype=np.int32)
        self.n_forward = self.n_adjoint = self.n_riesz = 0

    def global_size(self) -> int:
        """θ and q."""
        return len(self.names)

    def as_array(self, m: Any) -> np.ndarray:
        """This rank's owned values of m (all on rank 0, none elsewhere)."""
        values = np.asarray(m.array_r if isinstance(m, PETSc.Vec) else m, dtype=float).ravel()
        if self.comm.rank != 0 and values.shape == (len(self.names),):
            values = values[:0]  # a replicated vector: rank 0's copy is the one used
        if values.shape != (self.n_local,):
            raise ValueError(f"parameter has shape {values.shape} on rank {self.comm.rank}; expected "
                             f"({self.n_local},), the scalars {self.names} on rank 0")
        return values.copy()

    def scalars(self, m: Any) -> dict[str, float]:
        """θ and q as a dict, on every rank. Collective."""
        values = self.comm.bcast(self.as_array(m) if self.comm.rank == 0 else None, root=0)
        return dict(zip(self.names, (float(x) for x in values), strict=True))

    def _set_parameter(self, m: Any) -> np.ndarray:
        values = self.as_array(m)
        raise_collectively(self.comm, f"parameter m has non-finite values on rank {self.comm.rank}"
                           if not np.all(np.isfinite(values)) else None)
        return values

    def _split(self, m: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(θ as the inner functional's owned values, q on every rank, y = B u(t_k; θ)). Collective."""
        values = self._set_parameter(m)
        every = np.array(list(self.scalars(values).values()))
        theta = values[: self.k] if self.comm.rank == 0 else values[:0]
        y = self.state.observe(theta)
        self._sync()
        return theta, every[self.k:], y

    def _sync(self) -> None:
        self.n_forward, self.n_adjoint = self.state.n_forward, self.state.n_adjoint

    def misfit(self, m: Any) -> float:
        """L(y(θ), q). Collective."""
        _, q, y = self._split(m)
        return float(self.comm.allreduce(self.loss(y, q)[0], op=MPI.SUM))

    def derivative(self, m: Any) -> PETSc.Vec:
        """(dL/dθ, dL/dq) by one backward sweep; a new Vec owned by rank 0. Collective."""
        theta, q, y = self._split(m)
        _, g_y, g_q = self.loss(y, q)
        d_theta = self.state.observation_vjp(theta, np.asarray(g_y, dtype=float).reshape(y.shape))
        self._sync()
        g_q = self.comm.allreduce(np.asarray(g_q, dtype=float), op=MPI.SUM)
        dJ = PETSc.Vec().createMPI((self.n_local, len(self.names)), comm=self.comm)
        if self.comm.rank == 0:
            dJ.array_w[:] = np.concatenate([d_theta.array_r, g_q])
        d_theta.destroy()
        return dJ

    def riesz(self, dual: PETSc.Vec) -> PETSc.Vec:
        """The same vector (Euclidean inner product of scalars)."""
        self.n_riesz += 1
        copy: PETSc.Vec = dual.copy()
        return copy
