"""Boundary geometry of meshes read from files, and the check that a Dirichlet problem has unknowns.

:func:`boundary_segments` (2D) and :func:`boundary_triangles` (3D) hand the exterior boundary,
or the part of it with given facet tags, to the rest of the toolkit as plain numpy arrays, e.g.
to build an approximate distance function in ``hybrid.geometry``. :func:`check_interior_nodes`
rejects a Dirichlet problem that has no unknown. The cell-quality checks are in ``fem.quality``.

Only the vertices of each facet are used: on a mesh with curved (higher-order) geometry the
boundary is returned as its straight-sided interpolant.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from fem import _loader as _loader  # noqa: F401  (loads MPI before dolfinx)

# isort: split

import dolfinx.fem
from dolfinx import mesh as dmesh

from fem.meshdata import MeshError
from fem.meshes import MeshData, locate_boundary_facets
from fem.parallel import collective
from fem.quality import signed_side

_SIMPLICES = ("interval", "triangle", "tetrahedron")
_NUM_VERTICES = {"interval": 2, "triangle": 3, "quadrilateral": 4, "tetrahedron": 4, "hexahedron": 8}
_EXAMPLES = 3  # offending cells named in an error message


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
        raise collective(MeshError(_dimension_message(meshdata, "boundary_segments", 2)))
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
        raise collective(MeshError(_dimension_message(meshdata, "boundary_triangles", 3)))
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
        raise collective(MeshError(f"{what}; available facet tags: {_available_tags(meshdata)} "
                                   f"(physical groups: {meshdata.physical_groups})"))
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
    flip = signed_side(x, inside) < 0
    x[flip] = x[flip][:, ::-1] if fdim == 1 else x[flip][:, [0, 2, 1]]
    return x


# --------------------------------------------------------------------------- Dirichlet problems


def check_interior_nodes(meshdata: MeshData, facets: npt.ArrayLike,
                         tags: int | Sequence[int] | None = None) -> int:
    """Raise unless some node of a P1 space lies off the Dirichlet facets; return how many do.

    When every node is on the Dirichlet boundary the discrete problem has no unknown: PETSc's
    solvers then fail obscurely (KSP reason -11, a zero pivot) and a residual taken away from
    the boundary has no point to be taken at. Collective. Nodes on a facet of another rank
    count as on the boundary (``locate_dofs_topological`` shares them).

    Args:
        meshdata: The mesh.
        facets: This rank's Dirichlet facets (local indices, e.g. from
            :func:`fem.locate_boundary_facets`).
        tags: The facet tags ``facets`` were located from, for the message; ``None``: the
            whole boundary.

    Returns:
        The global number of P1 nodes off the Dirichlet facets (the unknowns), >= 1.

    Raises:
        MeshError: No node is off the Dirichlet facets; raised on every rank and marked
            :func:`fem.parallel.collective`.
    """
    msh = meshdata.mesh
    comm = meshdata.comm
    V = dolfinx.fem.functionspace(msh, ("Lagrange", 1))
    dofs = dolfinx.fem.locate_dofs_topological(V, meshdata.tdim - 1, np.asarray(facets, dtype=np.int32))
    n_owned = V.dofmap.index_map.size_local
    n_free = int(comm.allreduce(n_owned - int(np.sum(dofs < n_owned))))
    if n_free == 0:  # the same verdict on every rank
        n_nodes = comm.allreduce(n_owned)
        named = [int(t) for t in np.atleast_1d(tags)] if tags is not None else []
        where = f"facet tags {named}" if tags is not None else "the whole boundary"
        raise collective(MeshError(
            f"no interior node: every one of the mesh's {n_nodes} vertices lies on the Dirichlet boundary "
            f"({where}), so the Dirichlet problem has no unknown; refine the mesh or impose the Dirichlet "
            f"condition on fewer facets"))
    return n_free
