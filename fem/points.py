"""Points handed to the rest of the toolkit: grids, random collocation, quadrature, boundary, dofs.

Every function returns float64 arrays of shape ``(N, gdim)`` (``gdim`` = geometric dimension
of the mesh, never padded to 3). Mesh-based samplers use this rank's OWNED cells or facets
only, so that the union over ranks has no duplicates.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, cast

import numpy as np
import numpy.typing as npt
from mpi4py import MPI

from fem import _loader as _loader  # noqa: F401  (loads MPI before dolfinx)

# isort: split

import basix
import dolfinx.fem
from dolfinx import mesh as dmesh

from fem.meshes import MeshData, locate_boundary_facets


def _corners(bounds: Sequence[npt.ArrayLike], d: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    lo, hi = (np.atleast_1d(np.asarray(b, dtype=np.float64)) for b in bounds)
    if lo.shape != hi.shape or (d is not None and lo.size != d):
        raise ValueError(f"bounds must be (lower_corner, upper_corner) with {d or lo.size} coordinates each, "
                         f"got {bounds!r}")
    if np.any(hi <= lo):
        raise ValueError(f"bounds {bounds!r}: upper corner must exceed lower corner in every coordinate")
    return lo, hi


def grid_points(bounds: Sequence[npt.ArrayLike], shape: int | Sequence[int]) -> np.ndarray:
    """Nodes of a uniform tensor grid, end points included.

    The order is that of ``np.meshgrid(*axes, indexing="ij")`` flattened in C order: the LAST
    coordinate varies fastest. In 2D, point ``k = i * ny + j`` is ``(x_i, y_j)``, so
    ``values.reshape(nx, ny)[i, j]`` is the value at ``(x_i, y_j)``.

    Args:
        bounds: ``(lower_corner, upper_corner)``: ``(0.0, 1.0)`` in 1D, ``((0, 0), (1, 1))`` in 2D.
        shape: Number of nodes per axis, e.g. ``(51, 51)`` (an int in 1D).

    Returns:
        ``(prod(shape), d)`` float64 array.
    """
    shape = tuple(int(s) for s in np.atleast_1d(shape))
    lo, hi = _corners(bounds, len(shape))
    axes = [np.linspace(a, b, s) for a, b, s in zip(lo, hi, shape, strict=True)]
    mesh_axes = np.meshgrid(*axes, indexing="ij")
    return np.stack([m.reshape(-1) for m in mesh_axes], axis=1).astype(np.float64)


# --------------------------------------------------------------------------- geometry helpers


def _coordinate_element(msh: dmesh.Mesh[np.float64]) -> basix.finite_element.FiniteElement:
    domain = msh.ufl_domain()
    assert domain is not None  # a DOLFINx mesh always carries its UFL domain
    return cast(basix.finite_element.FiniteElement, domain.ufl_coordinate_element().basix_element)


def _cell_nodes(msh: dmesh.Mesh[np.float64], cells: np.ndarray) -> np.ndarray:
    """Geometry node coordinates ``(n_cells, n_nodes, gdim)`` of the given cells."""
    gdim = msh.geometry.dim
    return cast(np.ndarray, msh.geometry.x[msh.geometry.dofmaps[0][cells]][:, :, :gdim])


def push_forward(msh: dmesh.Mesh[np.float64], cells: np.ndarray, X: np.ndarray) -> np.ndarray:
    """Map reference points ``X (n, tdim)`` in ``cells (n,)`` to physical points ``(n, gdim)``."""
    if len(cells) == 0:
        return np.zeros((0, msh.geometry.dim))
    X = np.ascontiguousarray(X, dtype=np.float64)
    phi = np.asarray(_coordinate_element(msh).tabulate(0, X))[0, :, :, 0]
    return cast(np.ndarray, np.einsum("nk,nkg->ng", phi, _cell_nodes(msh, cells)))


def _owned_cells(msh: dmesh.Mesh[np.float64]) -> np.ndarray:
    return np.arange(msh.topology.index_map(msh.topology.dim).size_local, dtype=np.int32)


def _reference_samples(cell_type: dmesh.CellType, n: int, rng: np.random.Generator) -> np.ndarray:
    """Uniform points in the reference cell (simplices: uniform barycentric via sorted uniforms)."""
    tdim = dmesh.cell_dim(cell_type)
    if cell_type in (dmesh.CellType.interval, dmesh.CellType.triangle, dmesh.CellType.tetrahedron):
        # spacings of sorted uniforms are uniform on the simplex (Dirichlet(1, ..., 1))
        u = np.sort(rng.random((n, tdim)), axis=1)
        lam = np.diff(np.concatenate([np.zeros((n, 1)), u, np.ones((n, 1))], axis=1), axis=1)
        return lam[:, 1:]  # reference simplex vertices: 0, e_1, ..., e_tdim
    if cell_type in (dmesh.CellType.quadrilateral, dmesh.CellType.hexahedron):
        return rng.random((n, tdim))
    raise ValueError(f"sampling in {cell_type.name} cells is not supported")


def cell_volumes(meshdata: MeshData, cells: np.ndarray | None = None) -> np.ndarray:
    """Volumes (lengths, areas) of ``cells`` (default: owned cells) by quadrature."""
    msh = meshdata.mesh
    cells = _owned_cells(msh) if cells is None else np.asarray(cells, dtype=np.int32)
    _, w = _quadrature(msh, cells, 2 * _coordinate_element(msh).degree)
    return w.sum(axis=1)


# --------------------------------------------------------------------------- samplers


def sample_interior(
    meshdata: MeshData,
    n_per_cell: int = 4,
    *,
    n: int | None = None,
    seed: int = 0,
    method: Literal["random", "midpoint"] = "random",
) -> np.ndarray:
    """Collocation points in this rank's owned cells.

    ``method="random"`` draws points uniformly in each cell (uniform barycentric coordinates
    on simplices; uniform in reference coordinates on quadrilaterals/hexahedra, i.e. uniform
    for parallelogram cells). With ``n`` given, ``n`` points in total are spread over all
    ranks with probability proportional to cell volume instead of ``n_per_cell`` per cell.
    ``method="midpoint"`` returns one point per owned cell (its midpoint).

    The generator is seeded with ``seed + rank``: the same seed and rank count give the same
    points. Collective when ``n`` is given.

    Args:
        meshdata: The mesh.
        n_per_cell: Points per owned cell.
        n: Total number of points over all ranks (volume-weighted), overrides ``n_per_cell``.
        seed: Base seed.
        method: ``"random"`` or ``"midpoint"``.

    Returns:
        ``(N_local, gdim)`` float64.
    """
    msh = meshdata.mesh
    owned = _owned_cells(msh)
    if method == "midpoint":
        midpoints = dmesh.compute_midpoints(msh, msh.topology.dim, owned)
        return cast(np.ndarray, midpoints[:, : msh.geometry.dim].copy())
    if method != "random":
        raise ValueError(f"unknown method {method!r}; use 'random' or 'midpoint'")
    rng = np.random.default_rng(seed + msh.comm.rank)
    if n is None:
        cells = np.repeat(owned, int(n_per_cell))
    else:
        vol = cell_volumes(meshdata, owned)
        shares = np.asarray(msh.comm.allgather(vol.sum()))
        counts = _split(int(n), shares)
        p = vol / vol.sum() if vol.sum() > 0 else None
        cells = np.sort(rng.choice(owned, size=counts[msh.comm.rank], p=p)).astype(np.int32) \
            if len(owned) else np.zeros(0, dtype=np.int32)
    X = _reference_samples(msh.topology.cell_type, len(cells), rng)
    return push_forward(msh, cells, X)


def _split(n: int, shares: np.ndarray) -> np.ndarray:
    """Split ``n`` into integers proportional to ``shares`` (largest remainder, deterministic)."""
    exact = n * shares / shares.sum()
    counts = np.floor(exact).astype(int)
    counts[np.argsort(-(exact - counts), kind="stable")[: n - counts.sum()]] += 1
    return cast(np.ndarray, counts)


def _quadrature(msh: dmesh.Mesh[np.float64], cells: np.ndarray, degree: int) -> tuple[np.ndarray, np.ndarray]:
    """Physical quadrature points ``(nc, nq, gdim)`` and weights ``(nc, nq)`` (reference w * |det J|)."""
    basix_cell = getattr(basix.CellType, msh.topology.cell_type.name)
    X, w = (np.asarray(a) for a in basix.make_quadrature(basix_cell, int(degree)))
    tab = np.asarray(_coordinate_element(msh).tabulate(1, X))[:, :, :, 0]  # (1 + tdim, nq, n_nodes)
    nodes = _cell_nodes(msh, cells)
    x = np.einsum("qk,ckg->cqg", tab[0], nodes)
    J = np.einsum("tqk,ckg->cqgt", tab[1:], nodes)  # (nc, nq, gdim, tdim)
    # sqrt(det(J^T J)) is |det J| for square J and the area element for embedded manifolds
    detJ = np.sqrt(np.abs(np.linalg.det(np.einsum("cqgs,cqgt->cqst", J, J))))
    return x, w[None, :] * detJ


def quadrature_points(meshdata: MeshData, degree: int) -> tuple[np.ndarray, np.ndarray]:
    """Quadrature points and weights in this rank's owned cells.

    Summing ``weights * f(points)`` over all ranks integrates ``f`` over the domain, exactly
    for polynomials of ``degree`` on affine cells.

    Args:
        meshdata: The mesh.
        degree: Polynomial degree of the basix (Gauss–Jacobi / Gauss–Legendre) rule.

    Returns:
        ``points (N_local, gdim)`` and ``weights (N_local,)``, cell by cell.
    """
    msh = meshdata.mesh
    x, w = _quadrature(msh, _owned_cells(msh), degree)
    return x.reshape(-1, msh.geometry.dim).copy(), w.reshape(-1).copy()


def sample_boundary(
    meshdata: MeshData,
    tags: int | Sequence[int] | None = None,
    n_per_facet: int = 2,
    *,
    seed: int = 0,
) -> np.ndarray:
    """Random points on this rank's owned exterior facets (all, or those with the given tags).

    Uniform on each facet (affine facet geometry: the facet's vertices are used). In 1D each
    boundary vertex is returned once. Seeded with ``seed + rank``. Collective when ``tags``
    is given (tag validation).

    Args:
        meshdata: The mesh.
        tags: Facet tag(s), or ``None`` for the whole exterior boundary.
        n_per_facet: Points per facet.
        seed: Base seed.

    Returns:
        ``(N_local, gdim)`` float64.
    """
    msh = meshdata.mesh
    tdim, gdim = msh.topology.dim, msh.geometry.dim
    fdim = tdim - 1
    facets = locate_boundary_facets(meshdata, tags)
    msh.topology.create_connectivity(fdim, tdim)
    if tags is not None:  # tagged facets may be interior facets: keep the exterior ones
        facets = np.intersect1d(facets, dmesh.exterior_facet_indices(msh.topology))
    facets = facets[facets < msh.topology.index_map(fdim).size_local].astype(np.int32)
    if len(facets) == 0:
        return np.zeros((0, gdim))
    msh.topology.create_connectivity(fdim, 0)
    nodes = dmesh.entities_to_geometry(msh, fdim, facets)
    fv = msh.topology.connectivity(fdim, 0)
    nv = len(fv.links(int(facets[0])))
    vx = msh.geometry.x[nodes[:, :nv]][:, :, :gdim]  # (nf, nv, gdim); vertices come first
    if fdim == 0:
        return vx[:, 0, :].copy()
    rng = np.random.default_rng(seed + msh.comm.rank)
    k = int(n_per_facet)
    vx = np.repeat(vx, k, axis=0)
    if nv == fdim + 1:  # simplex facet: uniform barycentric coordinates
        u = np.sort(rng.random((len(vx), fdim)), axis=1)
        lam = np.diff(np.concatenate([np.zeros((len(vx), 1)), u, np.ones((len(vx), 1))], axis=1), axis=1)
        return cast(np.ndarray, np.einsum("nv,nvg->ng", lam, vx))
    s, t = rng.random(len(vx)), rng.random(len(vx))  # quadrilateral facet, tensor-product vertex order
    lam = np.stack([(1 - s) * (1 - t), s * (1 - t), (1 - s) * t, s * t], axis=1)
    return cast(np.ndarray, np.einsum("nv,nvg->ng", lam, vx))


def dof_coordinates(V: dolfinx.fem.FunctionSpace[np.float64]) -> np.ndarray:
    """Coordinates ``(n_owned_dofs, gdim)`` of the owned dofs of a (scalar) Lagrange space.

    For a blocked space the rows are the owned dof *nodes* (one per block).
    Row ``i`` matches ``u.x.array[i]`` for a scalar space.
    """
    n = V.dofmap.index_map.size_local
    return V.tabulate_dof_coordinates()[:n, : V.mesh.geometry.dim].astype(np.float64).copy()


def global_count(points: np.ndarray, comm: MPI.Comm) -> int:
    """Total number of points over all ranks."""
    return int(comm.allreduce(len(points)))
