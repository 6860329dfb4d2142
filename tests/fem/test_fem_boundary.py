"""Boundary segments/triangles (fem/boundary.py) and cell-quality checks (fem/quality.py).

Also a script: ``mpirun -n 2 python tests/fem/test_fem_boundary.py DIR`` runs the parallel checks
and writes the plate's boundary segments to ``DIR/segments.npy``.
"""

import sys
from pathlib import Path

import numpy as np
import pytest

fem = pytest.importorskip("fem")
pytest.importorskip("dolfinx")
meshio = pytest.importorskip("meshio")
from fem_mpi_checks import HOLE, OUTER, R, write_plate_msh  # noqa: E402
from mpi4py import MPI  # noqa: E402

from fem.boundary import boundary_segments, boundary_triangles  # noqa: E402
from fem.quality import cell_quality, check_cell_quality  # noqa: E402

COMM = MPI.COMM_WORLD


def _write(path: Path, points, cells, cell_data=None) -> Path:
    """A meshio file with 3D points (VTU requires them; z = 0 is dropped on reading)."""
    points = np.asarray(points, dtype=float)
    points = np.hstack([points, np.zeros((len(points), 3 - points.shape[1]))])
    if COMM.rank == 0:
        meshio.write(path, meshio.Mesh(points, cells, cell_data=cell_data))
    COMM.barrier()
    return path


def _check_segments_bound(segments: np.ndarray, inside_point: np.ndarray) -> None:
    """Segments are oriented with the domain on the left: the outward normal points away from it."""
    d = segments[:, 1] - segments[:, 0]
    outward = np.stack([d[:, 1], -d[:, 0]], axis=1)
    assert np.all(np.einsum("ng,ng->n", outward, segments.mean(axis=1) - inside_point) > 0)


@pytest.mark.parametrize("cell", ["triangle", "quadrilateral"])
def test_rectangle_boundary_segments(cell):
    md = fem.rectangle(COMM, (3, 2), ((0.0, 0.0), (2.0, 1.0)), cell=cell)
    segments = boundary_segments(md)
    assert segments.shape == (2 * (3 + 2), 2, 2)
    assert np.isclose(np.linalg.norm(segments[:, 1] - segments[:, 0], axis=1).sum(), 6.0)
    _check_segments_bound(segments, np.array([1.0, 0.5]))
    x, y = segments[..., 0], segments[..., 1]
    on_edge = np.isclose(x, 0) | np.isclose(x, 2) | np.isclose(y, 0) | np.isclose(y, 1)
    assert on_edge.all()
    np.testing.assert_array_equal(segments, boundary_segments(md, 1))


def test_plate_segments_by_tag(tmp_path):
    md = fem.load_mesh(write_plate_msh(tmp_path / "plate.msh", COMM))
    hole, outer, both = (boundary_segments(md, t) for t in (HOLE, OUTER, [OUTER, HOLE]))
    assert len(hole) + len(outer) == len(both) == len(boundary_segments(md))
    assert np.allclose(np.linalg.norm(hole - 0.5, axis=2), R)  # end points on the circle
    assert np.isclose(np.linalg.norm(outer[:, 1] - outer[:, 0], axis=1).sum(), 4.0)
    # around the hole the domain is outside the circle: the normal (dy, -dx) points to its centre
    d = hole[:, 1] - hole[:, 0]
    assert np.all(np.einsum("ng,ng->n", np.stack([d[:, 1], -d[:, 0]], 1), hole.mean(1) - 0.5) < 0)


def test_unknown_tag_names_available_tags(tmp_path):
    md = fem.load_mesh(write_plate_msh(tmp_path / "plate.msh", COMM))
    with pytest.raises(fem.MeshError, match=r"\[7\] not found.*available facet tags: \[2, 3\]"):
        boundary_segments(md, 7)


def test_tag_on_interior_facets_only(tmp_path):
    points = [[0, 0], [1, 0], [1, 1], [0, 1]]
    lines = np.array([[0, 1], [1, 2], [2, 3], [3, 0], [0, 2]])  # the last one is the diagonal
    triangles = np.array([[0, 1, 2], [0, 2, 3]])
    path = _write(tmp_path / "diag.vtu", points, [("triangle", triangles), ("line", lines)],
                  {"gmsh:physical": [np.array([1, 1]), np.array([1, 1, 1, 1, 5])]})
    md = fem.load_mesh(path, COMM)
    assert len(boundary_segments(md, 1)) == 4
    with pytest.raises(fem.MeshError, match=r"\[5\] mark no exterior facet; available facet tags: \[1, 5\]"):
        boundary_segments(md, 5)


@pytest.mark.parametrize(("make", "wrong", "hint"), [
    (lambda: fem.interval(COMM, 4), boundary_segments, "1D interval mesh.*its boundary is a set of points"),
    (lambda: fem.box(COMM, (1, 1, 1)), boundary_segments, "needs a 2D mesh.*use boundary_triangles"),
    (lambda: fem.rectangle(COMM, (2, 2)), boundary_triangles, "needs a 3D mesh.*use boundary_segments"),
], ids=["interval", "box", "rectangle"])
def test_wrong_dimension(make, wrong, hint):
    with pytest.raises(fem.MeshError, match=hint):
        wrong(make())


@pytest.mark.parametrize("cell", ["tetrahedron", "hexahedron"])
def test_box_boundary_triangles_point_outward(cell):
    md = fem.box(COMM, (2, 1, 1), ((0, 0, 0), (2, 1, 1)), cell=cell)
    triangles = boundary_triangles(md)
    normals = np.cross(triangles[:, 1] - triangles[:, 0], triangles[:, 2] - triangles[:, 0])
    assert np.isclose(np.linalg.norm(normals, axis=1).sum() / 2, 2 * (2 + 2 + 1))  # surface area
    assert np.all(np.einsum("ng,ng->n", normals, triangles.mean(1) - [1.0, 0.5, 0.5]) > 0)


@pytest.mark.parametrize("make", [
    lambda: fem.interval(COMM, 3),
    lambda: fem.rectangle(COMM, (3, 3)),
    lambda: fem.rectangle(COMM, (3, 3), cell="quadrilateral"),
    lambda: fem.box(COMM, (1, 1, 1)),
    lambda: fem.box(COMM, (1, 1, 1), cell="hexahedron"),
], ids=["interval", "triangle", "quadrilateral", "tetrahedron", "hexahedron"])
def test_structured_meshes_pass_the_quality_check(make):
    md = make()
    report = check_cell_quality(md)
    assert report.n_degenerate == report.n_folded_facets == 0
    assert 0.4 < report.min_quality <= 1.0 + 1e-12
    assert report.n_cells == md.mesh.topology.index_map(md.tdim).size_global


def test_mixed_cell_orientation_is_not_inverted(tmp_path):
    """DOLFINx does not need a consistent vertex order: a valid mesh with mixed orientation passes."""
    points = [[0, 0], [1, 0], [1, 1], [0, 1], [0.5, 0.5]]
    cells = np.array([[0, 1, 4], [2, 1, 4], [2, 3, 4], [0, 3, 4]])
    report = check_cell_quality(fem.load_mesh(_write(tmp_path / "mixed.vtu", points, [("triangle", cells)])))
    assert np.isclose(report.min_quality, np.sqrt(3) / 2)  # right isosceles triangles


def test_zero_area_triangle(tmp_path):
    points = [[0, 0], [1, 0], [1, 1], [0, 1], [0.5, 0]]
    cells = np.array([[0, 4, 3], [4, 1, 2], [4, 2, 3], [0, 1, 4]])  # the last one is flat
    md = fem.load_mesh(_write(tmp_path / "flat.vtu", points, [("triangle", cells)]), validate=False)
    assert np.sort(cell_quality(md))[0] == 0.0
    with pytest.raises(fem.MeshError, match=r"1 of 4 cells are degenerate .*near-zero area.*\(0\.5, 0\.0\)"):
        check_cell_quality(md)


def test_inverted_triangle(tmp_path):
    points = [[0, 0], [1, 0], [1, 1], [0, 1], [1.5, 0.5]]  # centre vertex pulled outside: a fold
    cells = np.array([[0, 1, 4], [1, 2, 4], [2, 3, 4], [3, 0, 4]])
    md = fem.load_mesh(_write(tmp_path / "fold.vtu", points, [("triangle", cells)]), validate=False)
    with pytest.raises(fem.MeshError, match=r"2 interior facets have both their cells on the same side"):
        check_cell_quality(md)


def test_non_convex_quadrilateral(tmp_path):
    points = [[0, 0], [1, 0], [0.3, 0.3], [0, 1]]  # counter-clockwise dart
    md = fem.load_mesh(_write(tmp_path / "dart.vtu", points, [("quad", np.array([[0, 1, 2, 3]]))]),
                       validate=False)
    assert cell_quality(md)[0] < 0
    with pytest.raises(fem.MeshError, match=r"1 of 1 cells are degenerate"):
        check_cell_quality(md)


@pytest.mark.mpi
def test_on_two_ranks(mpirun, tmp_path):
    proc = mpirun(2, [__file__, str(tmp_path)], timeout=120)
    assert "boundary: ok on 2 ranks" in proc.stdout
    md = fem.load_mesh(tmp_path / "plate.msh", COMM)
    np.testing.assert_array_equal(np.load(tmp_path / "segments.npy"), boundary_segments(md))


def _main(out: Path) -> None:
    """Parallel checks: identical segments on every rank; errors raised on every rank."""
    md = fem.load_mesh(write_plate_msh(out / "plate.msh", COMM), COMM)
    segments = boundary_segments(md)
    assert all(np.array_equal(s, segments) for s in COMM.allgather(segments))
    if COMM.rank == 0:
        np.save(out / "segments.npy", segments)
    for error, check in (("mark no exterior|not found", lambda: boundary_segments(md, 7)),
                         ("1 of 4 cells are degenerate", lambda: check_cell_quality(fem.load_mesh(_write(
                             out / "flat.vtu", [[0, 0], [1, 0], [1, 1], [0, 1], [0.5, 0]],
                             [("triangle", np.array([[0, 4, 3], [4, 1, 2], [4, 2, 3], [0, 1, 4]]))]),
                             validate=False)))):
        with pytest.raises(fem.MeshError, match=error):  # on every rank: nobody waits in a collective
            check()
    if COMM.rank == 0:
        print(f"boundary: ok on {COMM.size} ranks", flush=True)


if __name__ == "__main__":
    from fem.parallel import run_collectively

    run_collectively(lambda: _main(Path(sys.argv[1])))
