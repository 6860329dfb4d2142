"""The one relative L2 error used by every method, and the quadrature weights it needs.

``relative_l2_error`` and ``trapezoid_weights`` are pure numpy (dolfinx is imported only
inside :func:`lumped_mass_weights`), so they can be used anywhere, e.g. in ``hybrid/``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    import dolfinx.fem


def _as_weights(weights: Any, shape: tuple[int, ...]) -> np.ndarray:
    w = np.asarray(weights, dtype=np.float64)
    if w.shape == shape:
        return w
    if w.shape == shape[: w.ndim]:  # weights per point, vector values per row
        return w.reshape(w.shape + (1,) * (len(shape) - w.ndim))
    if w.ndim == 1 and w.size == int(np.prod(shape)):  # flattened in C order (grid_points order)
        return w.reshape(shape)
    raise ValueError(f"weights of shape {w.shape} do not match values of shape {shape}")


def relative_l2_error(pred: Any, ref: Any, *, weights: Any, comm: Any = None) -> float:
    r"""Relative L2 error :math:`\sqrt{\sum w (p - r)^2} / \sqrt{\sum w r^2}`.

    With quadrature weights (``trapezoid_weights`` on grids, ``lumped_mass_weights`` for
    nodal fields) this approximates :math:`\|p - r\|_{L^2} / \|r\|_{L^2}`.

    Args:
        pred: Predicted values.
        ref: Reference values, same shape as ``pred``.
        weights: Non-negative weights of shape ``pred.shape``, of its leading dimensions
            (e.g. ``(N,)`` for values ``(N, k)``), or flat with ``pred.size`` entries (C order).
        comm: If given (an mpi4py communicator), the two sums are added over its ranks, each
            rank passing its own part.

    Returns:
        The relative error (a Python float, the same on every rank).

    Raises:
        ValueError: Shape mismatch, NaN/inf input, negative weights, or a zero reference.
    """
    p = np.asarray(pred, dtype=np.float64)
    r = np.asarray(ref, dtype=np.float64)
    if p.shape != r.shape:
        raise ValueError(f"pred has shape {p.shape} but ref has shape {r.shape}")
    w = _as_weights(weights, p.shape)
    for name, a in (("pred", p), ("ref", r), ("weights", w)):
        if not np.isfinite(a).all():
            raise ValueError(f"{name} contains {int((~np.isfinite(a)).sum())} NaN/inf values")
    if np.any(w < 0):
        raise ValueError("weights must be non-negative")
    sums = np.array([np.sum(w * (p - r) ** 2), np.sum(w * r**2)])
    if comm is not None:
        sums = comm.allreduce(sums)
    if sums[1] <= 0:
        raise ValueError("the reference has zero weighted norm; the relative error is undefined")
    return float(np.sqrt(sums[0] / sums[1]))


def trapezoid_weights(shape: int | Sequence[int], bounds: Sequence[npt.ArrayLike]) -> np.ndarray:
    """Trapezoid-rule weights at the nodes of ``grid_points(bounds, shape)``, in the same order.

    Tensor product of 1D trapezoid weights; integrates multilinear functions exactly.

    Args:
        shape: Nodes per axis (at least 2 each).
        bounds: ``(lower_corner, upper_corner)`` as for ``grid_points``.

    Returns:
        ``(prod(shape),)`` float64 weights summing to the box volume.
    """
    shape = tuple(int(s) for s in np.atleast_1d(shape))
    lo, hi = (np.atleast_1d(np.asarray(b, dtype=np.float64)) for b in bounds)
    if lo.size != len(shape) or hi.size != len(shape):
        raise ValueError(f"bounds {bounds!r} do not match a grid of shape {shape}")
    w = np.ones(1)
    for a, b, n in zip(lo, hi, shape, strict=True):
        if n < 2:
            raise ValueError(f"trapezoid weights need at least 2 nodes per axis, got shape {shape}")
        w1 = np.full(n, (b - a) / (n - 1))
        w1[[0, -1]] *= 0.5
        w = np.multiply.outer(w, w1).reshape(-1)
    return w


def simpson_rule(a: float, b: float, intervals: int) -> tuple[np.ndarray, np.ndarray]:
    """Points and weights of the composite Simpson rule on [a, b] (exact for cubics).

    Args:
        a: The interval's left end.
        b: Its right end.
        intervals: Subintervals, even and ≥ 2.

    Returns:
        ``(intervals + 1,)`` equispaced points and their weights, summing to b − a.
    """
    if intervals < 2 or intervals % 2:
        raise ValueError(f"Simpson's rule needs an even number of intervals >= 2, got {intervals}")
    x = np.linspace(a, b, intervals + 1)
    w = np.ones(intervals + 1)
    w[1:-1:2], w[2:-1:2] = 4, 2
    return x, w * (b - a) / (3 * intervals)


def lumped_mass_weights(V: dolfinx.fem.FunctionSpace[np.float64]) -> np.ndarray:
    r"""Row sums of the mass matrix of ``V`` at the owned dofs, :math:`w_i = \int \phi_i \,dx`.

    Meant for P1 (and 1D P2), where all row sums are positive. Collective.

    Returns:
        ``(n_owned_dofs,)`` float64, in the order of ``u.x.array[:n_owned]``.

    Raises:
        ValueError: Some row sum is not positive (e.g. P2 on triangles, whose vertex basis
            functions integrate to zero).
    """
    from fem import _loader as _loader  # noqa: F401  (loads MPI before dolfinx)

    # isort: split

    import dolfinx.fem
    import dolfinx.la
    import ufl

    v = ufl.TestFunction(V)
    b = dolfinx.fem.assemble_vector(dolfinx.fem.form(v * ufl.dx))
    b.scatter_reverse(dolfinx.la.InsertMode.add)
    n = V.dofmap.index_map.size_local * V.dofmap.index_map_bs
    w = b.array[:n].copy()
    from mpi4py import MPI

    if V.mesh.comm.allreduce(bool(np.any(w <= 0)), op=MPI.LOR):
        raise ValueError("lumped mass weights are not all positive for this space; use a P1 space")
    return w
