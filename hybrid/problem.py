"""The problem interface that comparisons implement for the hybrid methods."""

from __future__ import annotations

import abc

import numpy as np
from torch import Tensor


class AbstractPDE(abc.ABC):
    """A PDE with unknown scalar parameters, in strong form, for BiLO and the PINN.

    Subclasses (frozen dataclasses are fine) define ``param_names`` and ``input_dim`` as fields or
    class attributes, and the two methods below. θ is always an explicit argument: ``theta`` has
    shape (n, p), one row per point, columns ordered like ``param_names``. It is the very tensor
    that enters the network's embedding, so differentiating the residual with respect to it gives
    the *total* derivative dr_i/dθ_p.
    """

    @property
    @abc.abstractmethod
    def param_names(self) -> tuple[str, ...]:
        """Names of the unknowns, in the column order of ``theta``."""

    @property
    @abc.abstractmethod
    def input_dim(self) -> int:
        """Number of input coordinates d (points have shape (n, d))."""

    @abc.abstractmethod
    def residual(self, x: Tensor, u: Tensor, theta: Tensor) -> Tensor:
        """Strong-form residual at the points.

        Args:
            x: Points (n, d); ``requires_grad`` is set, take derivatives of ``u`` with
                ``torch.autograd.grad(..., create_graph=True)``.
            u: Solution values (n,), computed from ``x``.
            theta: Per-point parameters (n, p) (for function unknowns: z = f_V(x), shape (n, 1)).

        Returns:
            The residual r, shape (n,).
        """

    @abc.abstractmethod
    def output_transform(self, x: Tensor, N: Tensor, theta: Tensor) -> Tensor:
        """Map the raw network output to u, imposing boundary/initial conditions exactly.

        Args:
            x: Points (n, d).
            N: Raw network output (n,).
            theta: Per-point parameters (n, p).

        Returns:
            u, shape (n,).
        """

    def interface_points(self) -> np.ndarray | None:
        """Points (k, d) of interface conditions J = 0 beside the residual (None: there are none).

        E.g. the derivative jump u'(z⁺) − u'(z⁻) = −λ of a point source at z. BiLO's lower level
        then adds w_jump·mean J² and w_djump·mean Σ_p (∂J/∂θ_p)² (the jump-gradient loss, the
        counterpart of the residual-gradient loss); the PINN adds w_jump·mean J².
        """
        return None

    def interface_residual(self, x: Tensor, u: Tensor, theta: Tensor) -> Tensor:
        """J (k,) at the :meth:`interface_points`, with the arguments of :meth:`residual`."""
        raise NotImplementedError(f"{type(self).__name__} has interface points but no interface_residual")


class AbstractFunctionPDE(AbstractPDE):
    """A PDE whose unknown is a function f(x), represented by a network f_V.

    ``param_names`` has exactly one entry (the function's name). ``theta`` in ``residual`` and
    ``output_transform`` is then the auxiliary variable z = f_V(x), shape (n, 1), which depends on
    ``x`` through f_V's graph (so ∂z/∂x is available to the residual by autograd).

    The function may depend on some of the input coordinates only: an initial condition u0(x)
    of a transient problem whose network inputs are (t, x) sets ``field_columns = (1,)``. f_V
    then takes those columns, and ``function_transform`` receives them (its ``x`` has
    ``len(field_columns)`` columns).
    """

    field_columns: tuple[int, ...] | None = None
    """The input columns the function depends on (None: all of them)."""

    def field_dims(self) -> tuple[int, ...]:
        """The input columns the function depends on, in order."""
        cols = tuple(range(int(self.input_dim))) if self.field_columns is None else tuple(self.field_columns)
        if not cols or len(set(cols)) != len(cols) or not all(0 <= c < int(self.input_dim) for c in cols):
            raise ValueError(f"{type(self).__name__}.field_columns must be distinct input columns in "
                             f"[0, {self.input_dim}), got {self.field_columns}")
        return cols

    @abc.abstractmethod
    def function_transform(self, x: Tensor, v: Tensor) -> Tensor:
        """Map the raw function-network output v (n,) to f(x) (n,), e.g. 1 + x(1-x)·v.

        Args:
            x: The function's coordinates (n, len(field_dims())), a slice of the inputs.
            v: The raw output of f_V at them.
        """
