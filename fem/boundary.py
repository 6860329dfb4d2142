"""Boundary geometry and cell-quality checks for meshes read from files.

:func:`boundary_segments` (2D) and :func:`boundary_triangles` (3D) hand the exterior boundary,
or the part of it with given facet tags, to the rest of the toolkit as plain numpy arrays, e.g.
to build an approximate distance function in ``hybrid.geometry``. :func:`check_cell_quality`
rejects meshes with degenerate or inverted cells before a solver silently produces garbage.

Only the vertices of each facet are used: on a mesh with curved (higher-order) geometry the
boundary is returned as its straight-sided interpolant.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from math import factorial
from typing import cast

import numpy as np
from mpi4py import MPI

from fem import _loader as _loader  # noqa: F401  (loads MPI before dolfinx)

# isort: split

from dolfinx import mesh as dmesh

from fem.meshes import MeshData, MeshError, locate_boundary_facets

_SIMPLICES = ("interval", "triangle", "tetrahedron")
_NUM_VERTICES = {"interval": 2, "triangle": 3, "quadrilateral": 4, "tetrahedron": 4, "hexahedron": 8}


# --------------------------------------------------------------------------- boundary facets


def boundary_segments(meshdata: MeshData, tags: int | Sequence[int] | None = None) -> np.ndarray:
    """Line segments of the exterior facets of a 2D mesh (all, or those with the given tags).

    Collective. Every rank returns the same array: the owned facets of all ranks, gathered,
    deduplicated and sorted by their end points, so the order does not depend on the number
    of ranks. Each segment is oriented with the domain on its left (counter-clockwise around
    the outer boundary, clockwise around holes), so ``(dy, -dx) / |d|`` is the outward normal.

    Args:
        meshdata: A mesh with ``gdim = tdim = 2`` (triangles or quadrilaterals).
        tags: A facet tag, several, or ``None`` for the whole exterior boundary.

    Returns:
        ``(n_facets, 2, 2)`` float64: ``segments[k] = [start, end]``.

    Raises:
        MeshError: The mesh is not two-dimensional, a tag does not exist, or the tags mark no
            exterior facet (the message names the tags and lists the available ones).
    """
    if meshdata.tdim != 2 or meshdata.gdim != 2:
        raise MeshError(_dimension_message(meshdata, "boundary_segments", 2))
    return _boundary_simplices(meshdata, tags)


def boundary_triangles(meshdata: MeshData, tags: int | Sequence[int] | None = None) -> np.ndarray:
    """Triangles of the exterior facets of a 3D mesh (all, or those with the given tags).

    The 3D counterpart of :func:`boundary_segments`, with the same guarantees (collective,
    identical and rank-count independent on every rank). Triangles are oriented with the
    right-hand normal ``(b - a) x (c - a)`` pointing out of the domain; the quadrilateral
    facets of a hexahedral mesh are split into two triangles each.

    Args:
        meshdata: A mesh with ``gdim = tdim = 3``.
        tags: A facet tag, several, or ``None`` for the whole exterior boundary.

    Returns:
        ``(n_triangles, 3, 3)`` float64.

    Raises:
        MeshError: The mesh is not three-dimensional, or the tags mark no exterior facet.
    """
    if meshdata.tdim != 3 or meshdata.gdim != 3:
        raise MeshError(_dimension_message(meshdata, "boundary_triangles", 3))
    return _boundary_simplices(meshdata, tags)


def _dimension_message(meshdata: MeshData, name: str, dim: int) -> str:
    cell = meshdata.mesh.topology.cell_type.name
    hint = {1: "its boundary is a set of points", 2: "use boundary_segments", 3: "use boundary_triangles"}
    return (f"{name} needs a {dim}D mesh, got a {meshdata.tdim}D {cell} mesh with {meshdata.gdim} "
            f"coordinates ({hint[meshdata.tdim]})")


def _boundary_simplices(meshdata: MeshData, tags: int | Sequence[int] | None) -> np.ndarray:
    msh = meshdata.mesh
    tdim, gdim = msh.topology.dim, msh.geometry.dim
    fdim = tdim - 1
    facets = locate_boundary_facets(meshdata, tags)  # raises for unknown tags
    msh.topology.create_connectivity(fdim, tdim)
    # tags may also mark interior facets (interfaces); only exterior ones bound the domain
    facets = np.intersect1d(facets, dmesh.exterior_facet_indices(msh.topology))
    facets = facets[facets < msh.topology.index_map(fdim).size_local].astype(np.int32)
    local = _oriented_facets(msh, facets) if len(facets) else np.zeros((0, fdim + 1, gdim))
    pieces = [p for p in msh.comm.allgather(local) if len(p)]
    if not pieces:
        what = "the mesh has no exterior facets" if tags is None else \
            f"facet tag(s) {[int(t) for t in np.atleast_1d(tags)]} mark no exterior facet"
        raise MeshError(f"{what}; available facet tags: {_available_tags(meshdata)} "
                        f"(physical groups: {meshdata.physical_groups})")
    simplices = np.concatenate(pieces)
    # key: the simplex's vertex ids sorted, ids numbered in lexicographic coordinate order, so
    # the key ignores orientation and vertex rotation and sorting by it is rank-count independent
    _, ids = np.unique(simplices.reshape(-1, gdim), axis=0, return_inverse=True)
    keys = np.sort(ids.reshape(len(simplices), -1), axis=1)
    _, first = np.unique(keys, axis=0, return_index=True)
    return np.ascontiguousarray(simplices[first])


def _available_tags(meshdata: MeshData) -> list[int]:
    ft = meshdata.facet_tags
    local = np.unique(ft.values) if ft is not None else np.zeros(0, dtype=np.int32)
    return sorted({int(v) for part in meshdata.comm.allgather(local) for v in part})


def _oriented_facets(msh: dmesh.Mesh[np.float64], facets: np.ndarray) -> np.ndarray:
    """Vertex coordinates ``(n, fdim + 1, gdim)`` of exterior facets, oriented outward."""
    tdim, gdim = msh.topology.dim, msh.geometry.dim
    fdim = tdim - 1
    msh.topology.create_connectivity(fdim, 0)
    nv = len(msh.topology.connectivity(fdim, 0).links(int(facets[0])))
    nodes = dmesh.entities_to_geometry(msh, fdim, facets)[:, :nv]  # vertices come first
    x = msh.geometry.x[nodes][:, :, :gdim]
    if nv == 4:  # quadrilateral facet, tensor-product vertex order: split along 0-3
        x = np.concatenate([x[:, [0, 1, 3]], x[:, [0, 3, 2]]])
        facets = np.concatenate([facets, facets])
    f_to_c = msh.topology.connectivity(fdim, tdim)
    cells = f_to_c.array[f_to_c.offsets[facets]].astype(np.int32)  # an exterior facet has one cell
    inside = dmesh.compute_midpoints(msh, tdim, cells)[:, :gdim]
    flip = _side(x, inside) < 0
    x[flip] = x[flip][:, ::-1] if fdim == 1 else x[flip][:, [0, 2, 1]]
    return x


def _side(x: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Signed volume of (facet, point): > 0 when ``p`` is on the left of / behind the facet."""
    e = x[:, 1:] - x[:, :1]
    r = p - x[:, 0]
    if x.shape[1] == 2:  # 2D segment: cross(e, r)
        return cast(np.ndarray, e[:, 0, 0] * r[:, 1] - e[:, 0, 1] * r[:, 0])
    # outward normal points away from p
    return cast(np.ndarray, -np.einsum("ng,ng->n", np.cross(e[:, 0], e[:, 1]), r))


# --------------------------------------------------------------------------- cell quality


@dataclass(frozen=True)
class CellQuality:
    """Global summary of :func:`cell_quality` (identical on every rank).

    Attributes:
        n_cells: Number of cells.
        min_quality: Smallest quality (1: ideal cell, 0: degenerate).
        n_degenerate: Cells with quality below the threshold (non-convex quadrilaterals and
            hexahedra, with negative quality, included).
        n_folded_facets: Interior facets whose two cells lie on the same side of it, i.e.
            inverted cells overlapping a neighbour.
        worst_midpoint: Midpoint of the cell with the smallest quality.
    """

    n_cells: int
    min_quality: float
    n_degenerate: int
    n_folded_facets: int
    worst_midpoint: tuple[float, ...]


def cell_quality(meshdata: MeshData) -> np.ndarray:
    """Shape quality in ``[0, 1]`` of this rank's owned cells (1: ideal, 0: degenerate).

    Simplices: the volume divided by that of the regular simplex with the same root-mean-square
    edge length (triangles: ``4 A / (sqrt(3) * mean(l^2))``), so it vanishes with the area.
    Quadrilaterals and hexahedra: the scaled Jacobian, the minimum over the corners of
    ``det(e_1, ..., e_d) / prod |e_k|`` with ``e_k`` the edges leaving the corner; it is 1 for
    rectangles and boxes and negative for non-convex (inverted) cells.

    Args:
        meshdata: The mesh (``gdim = tdim``).

    Returns:
        ``(n_owned_cells,)`` float64.
    """
    x = _cell_vertices(meshdata.mesh)
    if meshdata.mesh.topology.cell_type.name in _SIMPLICES:
        return _simplex_quality(x)
    return _tensor_cell_quality(x)


def check_cell_quality(meshdata: MeshData, min_quality: float = 1e-3) -> CellQuality:
    """Raise if the mesh has degenerate or inverted cells; otherwise summarise its quality.

    Collective. A cell is degenerate when its :func:`cell_quality` is below ``min_quality``
    (zero or near-zero area / volume). It is inverted when it overlaps a neighbour: the two
    cells sharing an interior facet lie on the same side of it (checked for facets whose two
    cells are on the same rank, i.e. all facets in serial), or, for quadrilaterals and
    hexahedra, when it is non-convex. The test does not depend on the vertex order of cells,
    which DOLFINx does not require to be consistent.

    Args:
        meshdata: The mesh (``gdim = tdim``).
        min_quality: Quality threshold; the ideal cell has quality 1.

    Returns:
        The global :class:`CellQuality`.

    Raises:
        MeshError: Some cells are degenerate or inverted (the message says how many and where
            the worst one is); raised on every rank.
    """
    msh = meshdata.mesh
    comm = msh.comm
    q = cell_quality(meshdata)
    n_cells = comm.allreduce(len(q))
    n_degenerate = comm.allreduce(int(np.sum(q < min_quality)))
    n_folded = comm.allreduce(_count_folded_facets(msh))
    local_min = (float(q.min()), comm.rank) if len(q) else (np.inf, comm.rank)
    q_min, owner = comm.allreduce(local_min, op=MPI.MINLOC)
    mid = None
    if comm.rank == owner and len(q):
        cell = np.array([np.argmin(q)], dtype=np.int32)
        midpoint = dmesh.compute_midpoints(msh, msh.topology.dim, cell)[0, : msh.geometry.dim]
        mid = tuple(float(v) for v in midpoint)
    mid = comm.bcast(mid, root=owner)
    report = CellQuality(n_cells, float(q_min), n_degenerate, n_folded, mid or ())
    if n_degenerate or n_folded:
        size = {1: "length", 2: "area", 3: "volume"}[msh.topology.dim]
        problems = [f"{n_degenerate} of {n_cells} cells are degenerate (quality < {min_quality:g}: zero or "
                    f"near-zero {size}, or non-convex)"] if n_degenerate else []
        if n_folded:
            problems.append(f"{n_folded} interior facets have both their cells on the same side "
                            f"(inverted cells overlapping a neighbour)")
        raise MeshError(f"bad mesh: {'; '.join(problems)}; worst cell quality {q_min:.3g} at {mid}")
    return report


def _cell_vertices(msh: dmesh.Mesh[np.float64]) -> np.ndarray:
    """Vertex coordinates ``(n_owned_cells, n_vertices, gdim)`` (vertices come first in the dofmap)."""
    tdim, gdim = msh.topology.dim, msh.geometry.dim
    n = msh.topology.index_map(tdim).size_local
    nv = _NUM_VERTICES[msh.topology.cell_type.name]
    return msh.geometry.x[msh.geometry.dofmaps[0][:n, :nv]][:, :, :gdim]


def _simplex_quality(x: np.ndarray) -> np.ndarray:
    d = x.shape[1] - 1
    e = x[:, 1:] - x[:, :1]
    if x.shape[2] != d:
        raise MeshError(f"cell quality needs gdim = tdim, got {d}D cells in {x.shape[2]}D")
    volume = np.abs(np.linalg.det(e)) / factorial(d)
    i, j = np.triu_indices(d + 1, k=1)
    l2 = np.mean(np.sum((x[:, i] - x[:, j]) ** 2, axis=2), axis=1)
    regular = l2 ** (d / 2) * np.sqrt(d + 1) / (factorial(d) * 2 ** (d / 2))
    return cast(np.ndarray, np.divide(volume, regular, out=np.zeros_like(volume), where=regular > 0))


def _tensor_cell_quality(x: np.ndarray) -> np.ndarray:
    d = x.shape[2]
    corners = []
    for i in range(2**d):  # vertex i sits at the reference corner whose bit k is coordinate k
        e = np.stack([x[:, i ^ (1 << k)] - x[:, i] for k in range(d)], axis=2)
        sign = np.prod([1 - 2 * ((i >> k) & 1) for k in range(d)])
        lengths = np.prod(np.linalg.norm(e, axis=1), axis=1)
        det = sign * np.linalg.det(e)
        corners.append(np.divide(det, lengths, out=np.zeros_like(det), where=lengths > 0))
    J = np.stack(corners, axis=1)
    # a mirrored but valid cell has all corner Jacobians negative
    J = np.where(np.sum(J, axis=1, keepdims=True) < 0, -J, J)
    return J.min(axis=1)


def _count_folded_facets(msh: dmesh.Mesh[np.float64]) -> int:
    """Owned interior facets whose two cells (both on this rank) lie on the same side of it."""
    tdim, gdim = msh.topology.dim, msh.geometry.dim
    fdim = tdim - 1
    if tdim == 1:
        return 0
    msh.topology.create_connectivity(fdim, tdim)
    msh.topology.create_connectivity(fdim, 0)
    f_to_c = msh.topology.connectivity(fdim, tdim)
    counts = np.diff(f_to_c.offsets)[: msh.topology.index_map(fdim).size_local]
    facets = np.flatnonzero(counts == 2).astype(np.int32)
    if len(facets) == 0:
        return 0
    pairs = f_to_c.array[f_to_c.offsets[facets][:, None] + np.arange(2)]
    nodes = dmesh.entities_to_geometry(msh, fdim, facets)[:, : fdim + 1]
    x = msh.geometry.x[nodes][:, :, :gdim]
    mid = dmesh.compute_midpoints(msh, tdim, pairs.reshape(-1).astype(np.int32))[:, :gdim]
    mid = mid.reshape(-1, 2, gdim)
    return int(np.sum(_side(x, mid[:, 0]) * _side(x, mid[:, 1]) > 0))
