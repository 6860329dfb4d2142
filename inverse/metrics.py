"""Metrics of an inferred field that problems declare beside the shared ones (``field_rel_l2``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import final

import numpy as np
from mpi4py import MPI

from fem.metrics import relative_l2_error
from inverse.problem import AbstractFieldMetric


@final
@dataclass(frozen=True, kw_only=True)
class ThresholdAccuracy(AbstractFieldMetric):
    """``accuracy``: the area fraction where the field and the truth fall on the same side of a threshold.

    Attributes:
        threshold: The classification threshold (e.g. 7.5 between the values 3 and 12).
    """

    threshold: float

    def __call__(self, values: np.ndarray, truth: np.ndarray, weights: np.ndarray,
                 comm: MPI.Comm | None) -> dict[str, float]:
        """The weighted fraction of points classified alike (summed over ``comm``)."""
        match = ((values > self.threshold) == (truth > self.threshold)).astype(float)
        c = comm if comm is not None else MPI.COMM_SELF
        return {"accuracy": float(c.allreduce(float(weights @ match)) / c.allreduce(float(weights.sum())))}


@final
@dataclass(frozen=True, kw_only=True)
class RelativeSquaredError(AbstractFieldMetric):
    """``field_rel_sq`` = ‖f̂ − f*‖² / ‖f*‖², the square of ``field_rel_l2``.

    A mean squared error relative to the truth's mean square: the measure that reads like the
    published Darcy errors.
    """

    def __call__(self, values: np.ndarray, truth: np.ndarray, weights: np.ndarray,
                 comm: MPI.Comm | None) -> dict[str, float]:
        """The square of ``fem.relative_l2_error`` (its sums over ``comm``, its checks)."""
        return {"field_rel_sq": relative_l2_error(values, truth, weights=weights, comm=comm) ** 2}
