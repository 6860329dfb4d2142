"""Meshes with tagged cells and facets: built-in boxes and files (gmsh, XDMF, anything meshio reads).

Every mesh comes as a :class:`MeshData` whose boundary facets are tagged, so that the same
Dirichlet-by-tag code works on built-in and loaded meshes. The built-ins tag all cells 1
(``"domain"``) and every exterior facet 1 (``"boundary"``).

Files are read on rank 0 and distributed. Errors found on rank 0 are broadcast and raised
as :class:`MeshError` on every rank, so that no rank is left waiting in a collective.

:func:`load_mesh` validates what it reads: on rank 0, before DOLFINx sees them, the raw arrays
(an out-of-range vertex index sends DOLFINx's distribution to an invalid MPI rank, a NaN coordinate
ends deep inside a solver); after distribution, the cells' quality and orientation
(:func:`fem.quality.check_cell_quality`).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from mpi4py import MPI

from fem import _loader as _loader  # noqa: F401  (loads MPI before dolfinx)

# isort: split

import dolfinx
import dolfinx.io
import dolfinx.io.gmsh
from dolfinx import mesh as dmesh

from fem.meshdata import MeshData as MeshData
from fem.meshdata import MeshError as MeshError
from fem.parallel import collective
from fem.quality import check_cell_quality

DOMAIN_TAG = 1
BOUNDARY_TAG = 1

# meshio's linear cell names -> (DOLFINx cell type name, topological dimension)
_MESHIO_CELLS = {
    "line": ("interval", 1),
    "triangle": ("triangle", 2),
    "quad": ("quadrilateral", 2),
    "tetra": ("tetrahedron", 3),
    "hexahedron": ("hexahedron", 3),
}
_MESHIO_FACETS = {"vertex": 0, "line": 1, "triangle": 2, "quad": 2}
_EXAMPLES = 3  # offending points or cells named in a validation message


def _tag_all(msh: dmesh.Mesh[np.float64], name: str) -> MeshData:
    tdim = msh.topology.dim
    n_cells = msh.topology.index_map(tdim).size_local + msh.topology.index_map(tdim).num_ghosts
    cells = np.arange(n_cells, dtype=np.int32)
    cell_tags = dmesh.meshtags(msh, tdim, cells, np.full(n_cells, DOMAIN_TAG, dtype=np.int32))
    msh.topology.create_connectivity(tdim - 1, tdim)
    facets = dmesh.exterior_facet_indices(msh.topology)
    facet_tags = dmesh.meshtags(msh, tdim - 1, facets, np.full(len(facets), BOUNDARY_TAG, dtype=np.int32))
    cell_tags.name, facet_tags.name = "cell_tags", "facet_tags"
    groups = {"domain": (tdim, DOMAIN_TAG), "boundary": (tdim - 1, BOUNDARY_TAG)}
    return MeshData(msh, cell_tags, facet_tags, groups)


def interval(comm: MPI.Comm, n: int, bounds: tuple[float, float] = (0.0, 1.0)) -> MeshData:
    """Uniform interval mesh of ``n`` cells on ``[bounds[0], bounds[1]]``; both end points tagged 1."""
    return _tag_all(dmesh.create_interval(comm, int(n), [float(bounds[0]), float(bounds[1])]), "interval")


def rectangle(
    comm: MPI.Comm,
    n: tuple[int, int] = (16, 16),
    bounds: tuple[Sequence[float], Sequence[float]] = ((0.0, 0.0), (1.0, 1.0)),
    cell: Literal["triangle", "quadrilateral"] = "triangle",
) -> MeshData:
    """Structured rectangle mesh between the corners ``bounds = (lower_left, upper_right)``.

    Args:
        comm: Communicator to distribute over.
        n: Cells per direction ``(nx, ny)``.
        bounds: ``((x0, y0), (x1, y1))``.
        cell: ``"triangle"`` or ``"quadrilateral"``.

    Returns:
        MeshData with cells tagged 1 and the whole boundary tagged 1.
    """
    ct = {"triangle": dmesh.CellType.triangle, "quadrilateral": dmesh.CellType.quadrilateral}[cell]
    pts = [np.asarray(b, dtype=np.float64) for b in bounds]
    return _tag_all(dmesh.create_rectangle(comm, pts, [int(k) for k in n], cell_type=ct), "rectangle")


def box(
    comm: MPI.Comm,
    n: tuple[int, int, int] = (4, 4, 4),
    bounds: tuple[Sequence[float], Sequence[float]] = ((0.0, 0.0, 0.0), (1.0, 1.0, 1.0)),
    cell: Literal["tetrahedron", "hexahedron"] = "tetrahedron",
) -> MeshData:
    """Structured box mesh between the corners ``bounds = (lower, upper)``; boundary tagged 1."""
    ct = {"tetrahedron": dmesh.CellType.tetrahedron, "hexahedron": dmesh.CellType.hexahedron}[cell]
    pts: list[npt.ArrayLike] = [np.asarray(b, dtype=np.float64) for b in bounds]
    return _tag_all(dmesh.create_box(comm, pts, [int(k) for k in n], cell_type=ct), "box")


def locate_boundary_facets(meshdata: MeshData, tags: int | Sequence[int] | None = None) -> np.ndarray:
    """Local facet indices (owned and ghost) on the exterior boundary or carrying the given tags.

    Collective (the set of existing tags is gathered from all ranks).

    Args:
        meshdata: The mesh and its tags.
        tags: A facet tag, several, or ``None`` for the whole exterior boundary.

    Returns:
        Sorted int32 facet indices of this rank.

    Raises:
        MeshError: A requested tag exists on no rank (the message lists the available tags).
    """
    msh = meshdata.mesh
    tdim = msh.topology.dim
    msh.topology.create_connectivity(tdim - 1, tdim)
    if tags is None:
        return np.asarray(dmesh.exterior_facet_indices(msh.topology), dtype=np.int32)
    wanted = [int(t) for t in np.atleast_1d(tags)]
    ft = meshdata.facet_tags
    local = np.unique(ft.values) if ft is not None else np.zeros(0, dtype=np.int32)
    available = sorted({int(v) for part in msh.comm.allgather(local) for v in part})
    missing = [t for t in wanted if t not in available]
    if missing:
        raise collective(MeshError(f"facet tag(s) {missing} not found in the mesh; available facet tags: "
                                   f"{available} (physical groups: {meshdata.physical_groups})"))
    # Every wanted tag exists somewhere, so ft is None here only when no tag was asked for.
    found = [ft.find(t) for t in wanted] if ft is not None else []
    return np.unique(np.concatenate(found)).astype(np.int32)


def covers_boundary(meshdata: MeshData, tags: int | Sequence[int] | None) -> bool:
    """Whether the facets carrying ``tags`` are the whole exterior boundary (collective).

    ``None`` (the whole boundary) covers it by definition.
    """
    if tags is None:
        return True
    all_facets = locate_boundary_facets(meshdata)
    tagged = np.intersect1d(locate_boundary_facets(meshdata, tags), all_facets)
    return bool(meshdata.mesh.comm.allreduce(len(tagged) == len(all_facets), op=MPI.LAND))


# --------------------------------------------------------------------------- files


def _raise_from_root(comm: MPI.Comm, error: str | None, root: int = 0) -> None:
    """Broadcast rank ``root``'s error message and raise it on every rank (marked collective)."""
    error = comm.bcast(error, root=root)
    if error:
        raise collective(MeshError(error))


def load_mesh(
    path: str | Path,
    comm: MPI.Comm = MPI.COMM_WORLD,
    gdim: int | None = None,
    validate: bool = True,
    min_quality: float = 1e-3,
) -> MeshData:
    """Read a mesh file, validate it and distribute it over ``comm``.

    ``.msh`` files go through ``dolfinx.io.gmsh`` (physical groups become cell and facet tags;
    a file without physical groups falls back to meshio). XDMF files written by DOLFINx (a grid
    named ``"mesh"``) are read with ``dolfinx.io.XDMFFile``, with every other grid read as
    tags. Everything else is read with meshio on rank 0: the cell block of highest dimension
    becomes the mesh, integer cell data (``gmsh:physical`` first) becomes cell tags, and
    the same data on blocks one dimension lower becomes facet tags.

    With ``validate``, rank 0 checks the raw arrays before DOLFINx distributes them: no
    vertex index out of range (meshio route; gmsh rejects such files itself), no NaN or
    infinite coordinate (all routes; for DOLFINx XDMF the mesh grid's arrays are read once
    more on rank 0). The distributed mesh must then pass
    :func:`fem.quality.check_cell_quality`: no cell of quality below ``min_quality``
    (zero-area or sliver cells, non-convex quadrilaterals and hexahedra) and no folded,
    i.e. inverted, cell. Messages name the file and the first offending cells, numbered as in
    the file: the index among its cells of highest dimension, or the gmsh element tag.

    Collective. Only linear cells are supported on the meshio route.

    Args:
        path: The file.
        comm: Communicator to distribute over.
        gdim: Geometric dimension; default: the topological dimension of the cells. A value
            different from the cells' dimension is an error (domains, not manifolds).
        validate: Run the checks above; ``False`` reads the mesh as it is (e.g. to inspect a
            bad mesh with :func:`fem.quality.cell_quality`).
        min_quality: The quality threshold of :func:`fem.quality.check_cell_quality`, in
            ``[0, 1)`` (1: the ideal cell).

    Returns:
        MeshData.

    Raises:
        MeshError: Missing, unreadable or corrupt file, no cells, unsupported or mixed cell
            types, cells whose dimension differs from ``gdim``; with ``validate``, also
            vertex indices out of range, non-finite coordinates, cells of quality below
            ``min_quality`` and folded (inverted) cells. Raised on every rank and marked
            :func:`fem.parallel.collective`.
        ValueError: ``min_quality`` is not in ``[0, 1)``.
    """
    if not 0.0 <= min_quality < 1.0:  # every rank gets the same argument: no need to broadcast
        raise collective(ValueError(f"min_quality must be in [0, 1) (1: the ideal cell), got {min_quality}"))
    path = Path(path)
    error = None
    if comm.rank == 0 and not path.is_file():
        error = f"mesh file {str(path)!r} does not exist" if not path.exists() else \
            f"mesh path {str(path)!r} is not a file"
    _raise_from_root(comm, error)
    quality = min_quality if validate else None
    suffix = path.suffix.lower()
    if suffix == ".msh":
        md = _load_gmsh(path, comm, gdim, quality)
        if md is not None:
            return md
    if suffix == ".xdmf":
        md = _load_dolfinx_xdmf(path, comm, gdim, quality)
        if md is not None:
            return md
    return _load_meshio(path, comm, gdim, quality)


# --------------------------------------------------------------------------- validation


def _fmt_point(p: npt.ArrayLike) -> str:
    """A point as ``(0.5, 0.0)``, to six significant digits."""
    return str(tuple(float(f"{v:.6g}") for v in np.asarray(p, dtype=np.float64).ravel()))


def _listed(items: Sequence[str], total: int) -> str:
    return ", ".join(items) + (", ..." if total > len(items) else "")


def _out_of_range_cells(source: str, what: str, cells: np.ndarray, x: np.ndarray) -> str | None:
    """Rank 0's check that ``cells`` (n, nv) index the ``len(x)`` points of the file."""
    bad = np.flatnonzero(np.any((cells < 0) | (cells >= len(x)), axis=1))
    if len(bad) == 0:
        return None
    items = []
    for i in bad[:_EXAMPLES]:
        known = cells[i][(cells[i] >= 0) & (cells[i] < len(x))]
        near = f", near {_fmt_point(x[known].mean(axis=0))}" if len(known) else ""
        items.append(f"{what} {i} (vertices {cells[i].tolist()}{near})")
    return (f"{source}: {len(bad)} of {len(cells)} {what}s refer to vertices that do not exist (out-of-range "
            f"connectivity: vertex index < 0 or >= {len(x)}, the number of points): "
            f"{_listed(items, len(bad))}")


def _non_finite_points(source: str, x: np.ndarray, cells: np.ndarray,
                       point_label: Callable[[int], str], cell_label: Callable[[int], str]) -> str | None:
    """Rank 0's check that the points are finite; ``cells`` (n, nv) index ``x`` and are in range."""
    finite = np.all(np.isfinite(x), axis=1)
    if finite.all():
        return None
    points = np.flatnonzero(~finite)
    users = np.flatnonzero(np.any(~finite[cells], axis=1)) if len(cells) else np.zeros(0, dtype=np.int64)
    items = [f"{point_label(int(i))} = {_fmt_point(x[i])}" for i in points[:_EXAMPLES]]
    used = _listed([cell_label(int(c)) for c in users[:_EXAMPLES]], len(users)) if len(users) else "none"
    return (f"{source}: {len(points)} of {len(x)} points have non-finite coordinates (NaN or inf): "
            f"{_listed(items, len(points))}; cells using them ({len(users)} of {len(cells)}): {used}")


def _check_raw_arrays(path: Path, cells: np.ndarray, facets: Sequence[np.ndarray],
                      x: np.ndarray) -> str | None:
    """Rank 0's check of a file's cells, tagged facets (each ``(n, nv)``, indexing ``x``) and points."""
    source = f"mesh file {str(path)!r}"
    for what, blocks in (("cell", [cells]), ("tagged facet", facets)):
        for block in blocks:
            error = _out_of_range_cells(source, what, block, x)
            if error:
                return error
    return _non_finite_points(source, x, cells, lambda i: f"point {i}", lambda c: f"cell {c}")


def _validate_cells(md: MeshData, path: Path, min_quality: float,
                    cell_label: Callable[[int], str] | None = None) -> None:
    """The collective quality and orientation check of a loaded mesh (``cell_label`` used on rank 0)."""
    check_cell_quality(md, min_quality, source=f"mesh file {str(path)!r}", cell_label=cell_label)


# --------------------------------------------------------------------------- readers


def _check_dims(path: Path, tdim: int, gdim: int | None, cell_names: str) -> str | None:
    if gdim is not None and gdim != tdim:
        return (f"mesh file {str(path)!r}: asked for a {gdim}-dimensional domain but its cells of highest "
                f"dimension are {tdim}-dimensional ({cell_names}); mixed dimensions are not supported")
    return None


def _load_gmsh(path: Path, comm: MPI.Comm, gdim: int | None, min_quality: float | None) -> MeshData | None:
    """Read with gmsh on rank 0; ``None`` when the file has no physical groups (meshio handles it).

    ``min_quality``: validate with this threshold; ``None``: do not validate.
    """
    import gmsh

    error, tdim, has_groups = None, 0, False
    element_tags = np.zeros(0, dtype=np.int64)
    if comm.rank == 0:
        gmsh.initialize(interruptible=False)
        gmsh.option.setNumber("General.Terminal", 0)
        try:
            gmsh.model.add("load_mesh")
            gmsh.merge(str(path))
            types = [gmsh.model.mesh.getElementProperties(t)[:2] for t in gmsh.model.mesh.getElementTypes()]
            dims = {int(d) for _, d in types}
            tdim = max(dims) if dims else 0
            has_groups = len(gmsh.model.getPhysicalGroups()) > 0
            if tdim == 0:
                error = (f"mesh file {str(path)!r} has no cells of dimension >= 1 (empty, corrupt or not "
                         f"a gmsh file?; element types found: {[n for n, _ in types] or 'none'})")
            else:
                top = [str(n) for n, d in types if d == tdim]
                if len(top) > 1:
                    error = f"mesh file {str(path)!r}: mixed cell types {top} are not supported"
                error = error or _check_dims(path, tdim, gdim, ", ".join(top))
            if not error and has_groups:
                _renumber_gmsh_nodes()
                if min_quality is not None:
                    error, element_tags = _check_gmsh_nodes(path, tdim)
        except Exception as exc:  # gmsh raises a bare Exception on unreadable files
            if re.search(r"(wrong|unknown) node", str(exc), re.IGNORECASE):
                error = (f"mesh file {str(path)!r}: an element refers to a node that does not exist "
                         f"(out-of-range connectivity; gmsh: {exc})")
            else:
                error = (f"mesh file {str(path)!r} could not be read by gmsh (corrupt or not a .msh "
                         f"file?): {exc}")
        if error or not has_groups:
            gmsh.finalize()
    _raise_from_root(comm, error)
    tdim, has_groups = comm.bcast((tdim, has_groups), root=0)
    if not has_groups:
        return None
    try:
        md = dolfinx.io.gmsh.model_to_mesh(gmsh.model if comm.rank == 0 else None, comm, 0, gdim=tdim)
    finally:
        if comm.rank == 0:
            gmsh.finalize()
    groups = {str(name): (int(g[0]), int(g[1])) for name, g in md.physical_groups.items()}
    meshdata = MeshData(md.mesh, md.cell_tags, md.facet_tags, groups)
    if min_quality is not None:
        _validate_cells(meshdata, path, min_quality, lambda i: f"element {element_tags[i]}")
    return meshdata


def _renumber_gmsh_nodes() -> None:
    """Number the gmsh model's nodes 1..N when they are not (rank 0, gmsh initialised).

    ``dolfinx.io.gmsh`` takes a node's tag minus one as its index and asserts that the tags
    are contiguous: a file with gaps in its node numbering would fail on rank 0 alone.
    """
    import gmsh

    tags = np.asarray(gmsh.model.mesh.getNodes()[0], dtype=np.int64)
    if not np.array_equal(np.sort(tags), np.arange(1, len(tags) + 1)):
        gmsh.model.mesh.renumberNodes()


def _check_gmsh_nodes(path: Path, tdim: int) -> tuple[str | None, np.ndarray]:
    """Rank 0's check of the gmsh model's node coordinates (gmsh itself rejects unknown node tags).

    Returns:
        The error message or ``None``, and the gmsh tags of the cells in the order in which
        ``dolfinx.io.gmsh`` hands them to DOLFINx (its input numbering of the cells).
    """
    import gmsh

    node_tags, coords, _ = gmsh.model.mesh.getNodes()
    x = np.asarray(coords, dtype=np.float64).reshape(-1, 3)[np.argsort(node_tags)]
    _, elements, nodes = gmsh.model.mesh.getElements(dim=tdim)
    cell_tags = np.concatenate([np.asarray(e, dtype=np.int64) for e in elements])
    cells = np.concatenate([np.asarray(n, dtype=np.int64).reshape(len(e), -1) - 1
                            for e, n in zip(elements, nodes, strict=True)])
    error = _non_finite_points(f"mesh file {str(path)!r}", x, cells, lambda i: f"node {i + 1}",
                               lambda c: f"element {cell_tags[c]}")
    topologies, _ = dolfinx.io.gmsh.extract_topology_and_markers(gmsh.model)
    order = [np.asarray(t["entity_tags"], dtype=np.int64) for t_type, t in topologies.items()
             if gmsh.model.mesh.getElementProperties(t_type)[1] == tdim]
    return error, (order[0] if order else np.zeros(0, dtype=np.int64))


def _load_dolfinx_xdmf(path: Path, comm: MPI.Comm, gdim: int | None,
                       min_quality: float | None) -> MeshData | None:
    """Read an XDMF file written by DOLFINx; ``None`` when it has no grid without data (meshio's layout).

    DOLFINx writes the mesh as a grid without ``Attribute`` and each MeshTags as a grid with one.
    ``min_quality``: validate with this threshold; ``None``: do not validate.
    """
    error, names, mesh_names = None, [], []
    if comm.rank == 0:
        try:
            root = ElementTree.parse(path).getroot()
            grids = list(root.iter("Grid"))
            names = [g.get("Name", "") for g in grids]
            mesh_grids = [g for g in grids if g.find("Attribute") is None and g.find("Topology") is not None]
            mesh_names = [g.get("Name", "") for g in mesh_grids]
            if mesh_grids and min_quality is not None:
                error = _check_xdmf_grid(path, mesh_grids[mesh_names.index(_mesh_grid_name(mesh_names))])
        except (ElementTree.ParseError, OSError) as exc:
            error = f"mesh file {str(path)!r} is not readable XDMF (corrupt?): {exc}"
    _raise_from_root(comm, error)
    names, mesh_names = comm.bcast((names, mesh_names), root=0)
    if not mesh_names:
        return None
    mesh_name = _mesh_grid_name(mesh_names)
    with dolfinx.io.XDMFFile(comm, str(path), "r") as xdmf:
        msh = xdmf.read_mesh(name=mesh_name)
        tdim = msh.topology.dim
        cell_tags = facet_tags = None
        for name in names:
            if name in mesh_names:
                continue
            msh.topology.create_connectivity(tdim - 1, tdim)
            tags = xdmf.read_meshtags(msh, name=name)
            if tags.dim == tdim and cell_tags is None:
                cell_tags = tags
            elif tags.dim == tdim - 1 and facet_tags is None:
                facet_tags = tags
    _raise_from_root(comm, _check_dims(path, tdim, gdim, str(msh.topology.cell_type.name))
                     if comm.rank == 0 else None)
    if msh.geometry.dim != tdim:  # the same on every rank
        raise collective(MeshError(f"mesh file {str(path)!r}: geometry has {msh.geometry.dim} coordinates "
                                   f"for {tdim}-dimensional cells; write the mesh with gdim={tdim}"))
    meshdata = MeshData(msh, cell_tags, facet_tags, {})
    if min_quality is not None:
        _validate_cells(meshdata, path, min_quality)
    return meshdata


def _mesh_grid_name(mesh_names: Sequence[str]) -> str:
    return "mesh" if "mesh" in mesh_names else mesh_names[0]


def _xdmf_array(path: Path, item: ElementTree.Element | None, dtype: type) -> np.ndarray | None:
    """The array of an XDMF ``DataItem`` in XML or HDF5 format (``None`` for any other layout)."""
    if item is None or not item.get("Dimensions"):
        return None
    shape = [int(n) for n in str(item.get("Dimensions")).split()]
    text = (item.text or "").strip()
    fmt = item.get("Format", "XML")
    if fmt == "XML":
        return np.array(text.split(), dtype=dtype).reshape(shape)
    if fmt == "HDF" and ":" in text:
        import h5py

        file, dataset = text.split(":", 1)
        with h5py.File(path.parent / file, "r") as h5:
            return np.asarray(h5[dataset][...], dtype=dtype).reshape(shape)
    return None


def _check_xdmf_grid(path: Path, grid: ElementTree.Element) -> str | None:
    """Rank 0's check of an XDMF mesh grid's raw arrays before ``XDMFFile.read_mesh`` distributes them.

    An out-of-range index there ends in an MPI abort (an invalid destination rank), so the
    arrays are read here once more; a layout this reader does not know is left to the
    collective checks after reading.
    """
    try:
        cells = _xdmf_array(path, grid.find("Topology/DataItem"), np.int64)
        x = _xdmf_array(path, grid.find("Geometry/DataItem"), np.float64)
    except (OSError, KeyError, ValueError):
        return None
    if cells is None or x is None:
        return None
    return _check_raw_arrays(path, cells.reshape(len(cells), -1), [], x.reshape(len(x), -1))


def _integer_cell_data(mesh: Any, block: int) -> np.ndarray | None:
    """The integer tags of one meshio cell block (``gmsh:physical`` first), or ``None``."""
    keys = sorted(mesh.cell_data, key=lambda k: (k != "gmsh:physical", k))
    for key in keys:
        data = np.asarray(mesh.cell_data[key][block])
        if data.ndim == 1 and np.issubdtype(data.dtype, np.integer):
            return data.astype(np.int32)
    return None


def _read_meshio_on_root(path: Path, gdim: int | None, validate: bool) -> tuple[str | None, dict[str, Any]]:
    import meshio

    try:
        m = meshio.read(str(path))
    except (Exception, SystemExit) as exc:  # meshio raises many kinds of errors, and may sys.exit
        return f"mesh file {str(path)!r} could not be read by meshio (corrupt or unknown format?): " \
               f"{type(exc).__name__}: {exc}", {}
    found = [b.type for b in m.cells]
    higher = [t for t in found if t not in _MESHIO_CELLS and t not in _MESHIO_FACETS]
    if higher:
        return (f"mesh file {str(path)!r}: unsupported cell type(s) {higher} "
                f"(only linear cells: {sorted(_MESHIO_CELLS)})"), {}
    known = [(i, b) for i, b in enumerate(m.cells) if b.type in _MESHIO_CELLS and len(b.data)]
    if not known:
        return (f"mesh file {str(path)!r} has no supported cells (found: {found or 'none'}; supported "
                f"linear cells: {sorted(_MESHIO_CELLS)})"), {}
    tdim = max(_MESHIO_CELLS[b.type][1] for _, b in known)
    top = [(i, b) for i, b in known if _MESHIO_CELLS[b.type][1] == tdim]
    if len({b.type for _, b in top}) > 1:
        return f"mesh file {str(path)!r}: mixed cell types {[b.type for _, b in top]} are not supported", {}
    error = _check_dims(path, tdim, gdim, top[0][1].type)
    if error:
        return error, {}
    cell_type = _MESHIO_CELLS[top[0][1].type][0]
    cells = np.concatenate([b.data for _, b in top]).astype(np.int64)
    cell_values = [_integer_cell_data(m, i) for i, _ in top]
    tagged = [v for v in cell_values if v is not None]
    cell_tags = np.concatenate(tagged) if len(tagged) == len(cell_values) else None
    facets = [(b.data.astype(np.int64), _integer_cell_data(m, i)) for i, b in enumerate(m.cells)
              if _MESHIO_FACETS.get(b.type) == tdim - 1]
    facets = [(f, v) for f, v in facets if v is not None and len(f)]
    x = np.asarray(m.points, dtype=np.float64)
    error = _check_raw_arrays(path, cells, [f for f, _ in facets], x) if validate else None
    if error:
        return error, {}
    if x.shape[1] > tdim and np.any(np.abs(x[:, tdim:]) > 0):
        return (f"mesh file {str(path)!r}: {tdim}-dimensional cells have non-zero coordinates beyond "
                f"axis {tdim} (a manifold, not a domain)"), {}
    groups = {str(k): (int(v[1]), int(v[0])) for k, v in (m.field_data or {}).items() if len(v) >= 2}
    return None, {"tdim": tdim, "cell_type": cell_type, "cells": cells, "x": x[:, :tdim].copy(),
                  "cell_tags": cell_tags, "facets": facets, "groups": groups}


def _load_meshio(path: Path, comm: MPI.Comm, gdim: int | None, min_quality: float | None) -> MeshData:
    """Read with meshio on rank 0 and distribute; validate with ``min_quality`` unless it is ``None``."""
    from basix.ufl import element

    error, data = (None, {}) if comm.rank != 0 else _read_meshio_on_root(path, gdim, min_quality is not None)
    _raise_from_root(comm, error)
    tdim, cell_type, has_cell_tags, has_facets = comm.bcast(
        (data.get("tdim"), data.get("cell_type"), data.get("cell_tags") is not None,
         len(data.get("facets", [])) > 0), root=0)
    ct = dmesh.to_type(cell_type)
    nv = {"interval": 2, "triangle": 3, "quadrilateral": 4, "tetrahedron": 4, "hexahedron": 8}[cell_type]
    perm = dolfinx.io.gmsh.cell_perm_array(ct, nv)  # VTK/meshio and gmsh agree for linear cells
    if comm.rank == 0:
        cells, x = data["cells"][:, perm], data["x"]
    else:
        cells, x = np.zeros((0, nv), dtype=np.int64), np.zeros((0, tdim), dtype=np.float64)
    coord_el = element("Lagrange", cell_type, 1, shape=(tdim,), dtype=np.float64)
    # create_mesh's annotation lists basix.ufl._BasixElement; it takes any basix.ufl element,
    # here a blocked one (as in DOLFINx's own demos).
    msh = dmesh.create_mesh(comm, cells, coord_el, x)  # type: ignore[arg-type]

    def tags_of(dim: int, entities: np.ndarray, values: np.ndarray) -> dmesh.MeshTags:
        local_e, local_v = dolfinx.io.distribute_entity_data(msh, dim, entities, values)
        msh.topology.create_connectivity(dim, tdim)
        adj = dolfinx.graph.adjacencylist(local_e)
        return dmesh.meshtags_from_entities(msh, dim, adj, local_v.astype(np.int32, copy=False))

    cell_tags = facet_tags = None
    if has_cell_tags:
        if comm.rank == 0:
            ent, val = data["cells"], data["cell_tags"]
        else:
            ent, val = np.zeros((0, nv), dtype=np.int64), np.zeros(0, dtype=np.int32)
        cell_tags = tags_of(tdim, ent, val)
    if has_facets:
        nfv = comm.bcast(data["facets"][0][0].shape[1] if comm.rank == 0 else None, root=0)
        if comm.rank == 0:
            ent = np.concatenate([f for f, _ in data["facets"] if f.shape[1] == nfv])
            val = np.concatenate([v for f, v in data["facets"] if f.shape[1] == nfv])
        else:
            ent, val = np.zeros((0, nfv), dtype=np.int64), np.zeros(0, dtype=np.int32)
        facet_tags = tags_of(tdim - 1, ent, val)
    groups = comm.bcast(data.get("groups", {}), root=0)
    meshdata = MeshData(msh, cell_tags, facet_tags, groups)
    if min_quality is not None:
        _validate_cells(meshdata, path, min_quality)
    return meshdata


def global_triangles(meshdata: MeshData) -> tuple[np.ndarray, np.ndarray]:
    """The whole affine triangle mesh on every rank: vertices (V, 2) and triangles (T, 3).

    For a representation of an unknown on the mesh that every rank holds whole (its nodal values
    are replicated parameters, like a network's weights), numbered by the mesh's input order, so
    that 1 and N ranks give the same arrays.

    Raises:
        ValueError: The mesh is not made of affine triangles in 2D.
    """
    msh = meshdata.mesh
    dofmap = msh.geometry.dofmaps[0]
    if meshdata.tdim != 2 or dofmap.shape[1] != 3:
        raise ValueError(f"a mesh field needs affine triangles in 2D, got {dofmap.shape[1]}-node cells "
                         f"of dimension {meshdata.tdim}")
    owned = msh.topology.index_map(2).size_local
    cells = np.asarray(dofmap[:owned], dtype=np.int64)
    ids = np.asarray(msh.geometry.input_global_indices, dtype=np.int64)
    comm = meshdata.comm
    parts = comm.allgather((ids[cells], ids, np.asarray(msh.geometry.x[:, :2])))
    all_ids = np.concatenate([p[1] for p in parts])
    all_x = np.concatenate([p[2] for p in parts])
    # the nodes present anywhere, in input order; a ghost node appears on several ranks alike
    unique, first = np.unique(all_ids, return_index=True)
    triangles = np.searchsorted(unique, np.concatenate([p[0] for p in parts]))
    return np.ascontiguousarray(all_x[first]), np.ascontiguousarray(triangles)
