"""Cell-quality checks: reject meshes with degenerate, inverted or non-finite cells.

:func:`check_cell_quality` rejects such a mesh before a solver silently produces garbage
(:func:`fem.load_mesh` runs it on every mesh it reads); :func:`cell_quality` is the measure.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from math import factorial
from typing import cast

import numpy as np
import numpy.typing as npt
from mpi4py import MPI

from fem import _loader as _loader  # noqa: F401  (loads MPI before dolfinx)

# isort: split

from dolfinx import mesh as dmesh

from fem.meshdata import MeshData, MeshError
from fem.parallel import collective

_SIMPLICES = ("interval", "triangle", "tetrahedron")
_NUM_VERTICES = {"interval": 2, "triangle": 3, "quadrilateral": 4, "tetrahedron": 4, "hexahedron": 8}
_EXAMPLES = 3  # offending cells named in an error message


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


def check_cell_quality(meshdata: MeshData, min_quality: float = 1e-3, *, source: str | None = None,
                       cell_label: Callable[[int], str] | None = None) -> CellQuality:
    """Raise if the mesh has degenerate, inverted or non-finite cells; otherwise summarise its quality.

    Collective. A cell is degenerate when its :func:`cell_quality` is below ``min_quality``
    (zero or near-zero area / volume: zero-area and sliver cells). It is inverted when it
    overlaps a neighbour: the two cells sharing an interior facet lie on the same side of it
    (a folded mesh; facets between ranks included), or, for quadrilaterals and hexahedra, when
    it is non-convex. The test does not depend on the vertex order of cells, which DOLFINx does
    not require to be consistent. Cells with a NaN or infinite vertex coordinate are reported
    as such. The result does not depend on the number of ranks.

    Args:
        meshdata: The mesh (``gdim = tdim``).
        min_quality: Quality threshold; the ideal cell has quality 1.
        source: Prefix of the message, e.g. the file the mesh came from.
        cell_label: Names a cell from its input index, e.g. as a gmsh element; called on rank
            0 only, where the message is built. Default: ``"cell <index>"``.

    Returns:
        The global :class:`CellQuality`.

    Raises:
        MeshError: Some cells are degenerate, inverted or non-finite. The one-line message
            says how many, names the first few (by their input index, DOLFINx's
            ``original_cell_index``) with their centroids, the quality measure and threshold,
            and where the worst cell is; raised on every rank and marked
            :func:`fem.parallel.collective`.
    """
    msh = meshdata.mesh
    comm = meshdata.comm
    tdim, gdim = msh.topology.dim, msh.geometry.dim
    q = cell_quality(meshdata)
    ids = _input_cell_indices(msh)
    finite = np.all(np.isfinite(_cell_vertices(msh)), axis=(1, 2))
    degenerate = finite & ~(q >= min_quality)
    n_cells = comm.allreduce(len(q))
    n_degenerate = comm.allreduce(int(np.sum(degenerate)))
    n_non_finite = comm.allreduce(int(np.sum(~finite)))
    n_folded, folded = _folded_facets(msh, ids)
    q_finite = q[finite]
    local_min = (float(q_finite.min()), comm.rank) if len(q_finite) else (np.inf, comm.rank)
    q_min, owner = comm.allreduce(local_min, op=MPI.MINLOC)
    mid = None
    if comm.rank == owner and len(q_finite):
        cell = np.array([np.flatnonzero(finite)[np.argmin(q_finite)]], dtype=np.int32)
        mid = tuple(float(v) for v in dmesh.compute_midpoints(msh, tdim, cell)[0, :gdim])
    mid = comm.bcast(mid, root=owner)
    report = CellQuality(n_cells, float(q_min), n_degenerate, n_folded, mid or ())
    if not (n_degenerate or n_folded or n_non_finite):
        return report

    def first(mask: np.ndarray) -> list[tuple[int, float, tuple[float, ...]]]:
        """This rank's cells in ``mask`` with the smallest input indices: (index, quality, centroid)."""
        where = np.flatnonzero(mask)
        cells = where[np.argsort(ids[where], kind="stable")[:_EXAMPLES]].astype(np.int32)
        mids = dmesh.compute_midpoints(msh, tdim, cells)[:, :gdim] if len(cells) else np.zeros((0, gdim))
        return [(int(ids[c]), float(q[c]), tuple(float(v) for v in m))
                for c, m in zip(cells, mids, strict=True)]

    gathered = comm.gather((first(degenerate), first(~finite)), root=0)
    message = None
    if gathered is not None:  # rank 0
        label = cell_label or (lambda i: f"cell {i}")
        degenerate_cells = sorted(e for part in gathered for e in part[0])[:_EXAMPLES]
        non_finite_cells = sorted(e for part in gathered for e in part[1])[:_EXAMPLES]
        cell = msh.topology.cell_type.name
        size = {1: "length", 2: "area", 3: "volume"}[tdim]
        problems = []
        if n_non_finite:
            listed = [label(i) for i, _, _ in non_finite_cells]
            problems.append(f"{n_non_finite} of {n_cells} cells have non-finite vertex coordinates (NaN or "
                            f"inf): {_listed(listed, n_non_finite)}")
        if n_degenerate:
            listed = [f"{label(i)} ({_defect(qi, size)}, quality {qi:.3g}, centroid {_fmt_point(m)})"
                      for i, qi, m in degenerate_cells]
            convex = "" if cell in _SIMPLICES else ", or non-convex"
            problems.append(f"{n_degenerate} of {n_cells} cells are degenerate (quality < {min_quality:g}: "
                            f"zero or near-zero {size} (zero-{size} or sliver cells){convex}; "
                            f"{_quality_measure(cell, size)}): {_listed(listed, n_degenerate)}")
        if n_folded:
            listed = [f"{label(a)} and {label(b)} at {_fmt_point(m)}" for a, b, m in folded]
            problems.append(f"{n_folded} interior facets have both their cells on the same side (a folded "
                            f"mesh: inverted cells overlapping a neighbour): {_listed(listed, n_folded)}")
        worst = f"; worst cell quality {q_min:.3g} at {_fmt_point(mid)}" if mid else ""
        head = f"{source}: " if source else ""
        message = f"{head}bad mesh of {n_cells} {cell} cells: {'; '.join(problems)}{worst}"
    raise collective(MeshError(comm.bcast(message, root=0)))


def _fmt_point(p: Sequence[float] | npt.NDArray[np.float64]) -> str:
    """A point as ``(0.5, 0.0)``, to six significant digits."""
    return str(tuple(float(f"{v:.6g}") for v in p))


def _listed(items: Sequence[str], total: int) -> str:
    return ", ".join(items) + (", ..." if total > len(items) else "")


def _defect(q: float, size: str) -> str:
    if q < 0:
        return "non-convex"
    return f"zero {size}" if q < 1e-12 else "sliver"


def _quality_measure(cell: str, size: str) -> str:
    """What :func:`cell_quality` measures, in words."""
    if cell in _SIMPLICES:
        regular = {"interval": "interval", "triangle": "equilateral triangle",
                   "tetrahedron": "regular tetrahedron"}
        return (f"quality = {size} / {size} of the {regular[cell]} with the same root-mean-square edge "
                f"length, 1 for the ideal cell")
    box = "rectangle" if cell == "quadrilateral" else "box"
    return (f"quality = scaled Jacobian, the smallest over the corners of det(edges) / product of the edge "
            f"lengths, 1 for a {box}, < 0 for a non-convex cell")


def _input_cell_indices(msh: dmesh.Mesh[np.float64]) -> np.ndarray:
    """The input (file) index of each local cell, owned then ghost (the global index if DOLFINx kept none)."""
    imap = msh.topology.index_map(msh.topology.dim)
    original = np.asarray(msh.topology.original_cell_index, dtype=np.int64)
    if len(original) >= imap.size_local + imap.num_ghosts:
        return original[: imap.size_local + imap.num_ghosts]
    return np.concatenate([np.arange(*imap.local_range), imap.ghosts]).astype(np.int64)  # e.g. a refined mesh


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
        raise collective(MeshError(f"cell quality needs gdim = tdim, got {d}D cells in {x.shape[2]}D"))
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


def _folded_facets(msh: dmesh.Mesh[np.float64],
                   ids: np.ndarray) -> tuple[int, list[tuple[int, int, tuple[float, ...]]]]:
    """Interior facets whose two cells lie on the same side of them. Collective.

    Args:
        msh: The mesh.
        ids: Input index of each local cell (owned, then ghost), to name the cells.

    Returns:
        The global count (on every rank) and, on rank 0, the first few folded facets as
        ``(input index, input index, facet midpoint)``, ordered by the cells' input indices.
    """
    tdim, gdim = msh.topology.dim, msh.geometry.dim
    fdim = tdim - 1
    if tdim == 1:
        return 0, []
    msh.topology.create_connectivity(fdim, tdim)
    msh.topology.create_connectivity(fdim, 0)
    f_to_c = msh.topology.connectivity(fdim, tdim)
    counts = np.diff(f_to_c.offsets)

    # 1. owned facets with both cells on this rank (all interior facets in serial)
    facets = np.flatnonzero(counts[: msh.topology.index_map(fdim).size_local] == 2).astype(np.int32)
    pairs = f_to_c.array[f_to_c.offsets[facets][:, None] + np.arange(2)]
    x = msh.geometry.x[dmesh.entities_to_geometry(msh, fdim, facets)[:, : fdim + 1]][:, :, :gdim]
    mid = dmesh.compute_midpoints(msh, tdim, pairs.reshape(-1).astype(np.int32))[:, :gdim]
    mid = mid.reshape(-1, 2, gdim)
    folded = signed_side(x, mid[:, 0]) * signed_side(x, mid[:, 1]) > 0
    n_local = int(np.sum(folded))
    named = np.sort(ids[pairs[folded]], axis=1)
    first = np.lexsort(named.T[::-1])[:_EXAMPLES]
    centres = x[folded].mean(axis=1)
    examples = [(int(named[k, 0]), int(named[k, 1]), tuple(float(v) for v in centres[k])) for k in first]

    # 2. facets between ranks with one cell on each (meshes without ghost cells): each rank
    # sends the side its owned cell is on, computed with the facet's vertices in global order
    # so that both ranks see the same orientation, and rank 0 pairs the two up
    shared = np.asarray(msh.topology.interprocess_facets(), dtype=np.int32)
    shared = shared[counts[shared] == 1]
    cells = f_to_c.array[f_to_c.offsets[shared]]
    keep = cells < msh.topology.index_map(tdim).size_local
    shared, cells = shared[keep], cells[keep].astype(np.int32)
    f_to_v = msh.topology.connectivity(fdim, 0)
    nvf = len(f_to_v.links(0)) if len(f_to_v.offsets) > 1 else 0  # one facet type
    vertices = f_to_v.array[f_to_v.offsets[shared][:, None] + np.arange(nvf)]
    keys = msh.topology.index_map(0).local_to_global(vertices.reshape(-1)).reshape(vertices.shape)
    order = np.argsort(keys, axis=1)
    keys, vertices = np.take_along_axis(keys, order, 1), np.take_along_axis(vertices, order, 1)
    xs, sides = np.zeros((0, nvf, gdim)), np.zeros(0)
    if len(shared):
        msh.topology.create_connectivity(0, tdim)  # for entities_to_geometry (local: a transpose)
        nodes = dmesh.entities_to_geometry(msh, 0, vertices.reshape(-1).astype(np.int32))
        xs = msh.geometry.x[nodes.reshape(vertices.shape)][:, :, :gdim]
        sides = np.sign(signed_side(xs[:, : fdim + 1], dmesh.compute_midpoints(msh, tdim, cells)[:, :gdim]))
    gathered = msh.comm.gather((keys, sides, ids[cells], xs.mean(axis=1), examples), root=0)
    n_between = 0
    if msh.comm.rank == 0:
        keys, sides, owners, centres = (np.concatenate([g[k] for g in gathered]) for k in range(4))
        # a facet has at most two cells, each owned by one rank: equal keys come in pairs
        order = np.lexsort(keys.T[::-1])
        same = np.all(keys[order][1:] == keys[order][:-1], axis=1)
        a, b = order[:-1][same], order[1:][same]
        folded = sides[a] * sides[b] > 0
        n_between = int(np.sum(folded))
        examples = [e for g in gathered for e in g[4]]
        examples += [(int(min(owners[i], owners[j])), int(max(owners[i], owners[j])),
                      tuple(float(v) for v in centres[i])) for i, j in zip(a[folded], b[folded], strict=True)]
        examples = sorted(examples)[:_EXAMPLES]
    return msh.comm.allreduce(n_local) + msh.comm.bcast(n_between, root=0), examples


def signed_side(x: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Signed volume of (facet, point) per row: > 0 when ``p`` is on the left of / behind the facet.

    ``x`` ``(n, fdim + 1, gdim)`` the facets' vertices (segments in 2D, triangles in 3D), ``p``
    ``(n, gdim)`` one point each. Used to orient boundary facets and to find folded cells.
    """
    e = x[:, 1:] - x[:, :1]
    r = p - x[:, 0]
    if x.shape[1] == 2:  # 2D segment: cross(e, r)
        return cast(np.ndarray, e[:, 0, 0] * r[:, 1] - e[:, 0, 1] * r[:, 0])
    # outward normal points away from p
    return cast(np.ndarray, -np.einsum("ng,ng->n", np.cross(e[:, 0], e[:, 1]), r))
