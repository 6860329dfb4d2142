"""Mesh validation at load time (issue 2.8): every defect a user's file can carry is refused by
``fem.load_mesh`` before a solver sees it, in one line that names the file and the cells, on
every rank; and a command given such a mesh exits 2 with that line and no traceback.

Also a script: ``mpirun -n 2 python tests/fem/test_mesh_validation.py DIR`` runs the checks on
2 ranks (the cells are named by their index in the file, whatever rank holds them).
"""

import sys
from pathlib import Path

import numpy as np
import pytest

fem = pytest.importorskip("fem")
pytest.importorskip("dolfinx")
meshio = pytest.importorskip("meshio")
from mpi4py import MPI  # noqa: E402

COMM = MPI.COMM_WORLD
# a unit square of 4 triangles around its centre (vertex 4)
SQUARE = np.array([[0, 0], [1, 0], [1, 1], [0, 1], [0.5, 0.5]], dtype=float)
FAN = np.array([[0, 1, 4], [1, 2, 4], [2, 3, 4], [3, 0, 4]])


def _write(path: Path, points, cells) -> Path:
    """A VTU file (meshio writes any connectivity and coordinates, good or bad)."""
    points = np.asarray(points, dtype=float)
    points = np.hstack([points, np.zeros((len(points), 3 - points.shape[1]))])
    if COMM.rank == 0:
        meshio.write(path, meshio.Mesh(points, [("triangle", np.asarray(cells))]))
    COMM.barrier()
    return path


# name -> (points, cells, the message's pattern); every pattern names the file and the cell(s)
DEFECTS = {
    "zero-area": (np.vstack([SQUARE, [[0.5, 0.0]]]), np.array([[0, 5, 4], [5, 1, 4], [1, 2, 4], [2, 3, 4],
                                                               [3, 0, 4], [0, 1, 5]]),
                  r"flat\.vtu'.*1 of 6 cells are degenerate.*cell 5 \(zero area, quality 0"),
    "sliver": (np.vstack([SQUARE, [[0.5, 1e-5]]]), np.array([[0, 5, 4], [5, 1, 4], [1, 2, 4], [2, 3, 4],
                                                             [3, 0, 4], [0, 1, 5]]),
               r"sliver\.vtu'.*1 of 6 cells are degenerate \(quality < 0\.001.*cell 5 \(sliver, quality"),
    "folded": (np.vstack([SQUARE[:4], [[1.5, 0.5]]]), FAN,
               r"folded\.vtu'.*interior facets have both their cells on the same side.*cell \d and cell \d"),
    "non-finite": (np.vstack([SQUARE[:4], [[np.nan, 0.5]]]), FAN,
                   r"nan\.vtu'.*1 of 5 points have non-finite coordinates.*point 4 = \(nan, 0\.5(, 0\.0)?\).*"
                   r"cells using them \(4 of 4\): cell 0, cell 1, cell 2, \.\.\."),
    "out-of-range": (SQUARE, np.vstack([FAN[:3], [[3, 0, 7]]]),
                     r"range\.vtu'.*1 of 4 cells refer to vertices that do not exist.*cell 3 \(vertices "
                     r"\[3, 0, 7\]"),
}
FILES = {"zero-area": "flat.vtu", "sliver": "sliver.vtu", "folded": "folded.vtu", "non-finite": "nan.vtu",
         "out-of-range": "range.vtu"}


def _one_line(exc: BaseException) -> None:
    assert "\n" not in str(exc)


@pytest.mark.parametrize("defect", list(DEFECTS))
def test_load_mesh_refuses_the_defect_and_names_the_cells(defect, tmp_path):
    points, cells, pattern = DEFECTS[defect]
    path = _write(tmp_path / FILES[defect], points, cells)
    with pytest.raises(fem.MeshError, match=pattern) as info:
        fem.load_mesh(path)
    _one_line(info.value)


def test_the_good_fan_loads_and_validate_false_reads_a_bad_mesh_as_it_is(tmp_path):
    md = fem.load_mesh(_write(tmp_path / "fan.vtu", SQUARE, FAN))
    assert md.mesh.topology.index_map(2).size_global == 4
    points, cells, _ = DEFECTS["folded"]
    md = fem.load_mesh(_write(tmp_path / "folded.vtu", points, cells), validate=False)
    assert md.mesh.topology.index_map(2).size_global == 4


def test_the_quality_threshold_is_the_users_and_is_checked(tmp_path):
    points, cells, _ = DEFECTS["sliver"]
    path = _write(tmp_path / "sliver.vtu", points, cells)
    fem.load_mesh(path, min_quality=1e-6)  # the sliver's quality is ~2e-5: accepted below it
    with pytest.raises(ValueError, match=r"min_quality must be in \[0, 1\)"):
        fem.load_mesh(path, min_quality=1.0)


def test_a_dirichlet_problem_without_an_interior_node_is_refused(tmp_path):
    # two triangles: all four vertices on the boundary, so u = 0 there leaves no unknown
    md = fem.load_mesh(_write(tmp_path / "two.vtu", SQUARE[:4], [[0, 1, 2], [0, 2, 3]]))
    facets = fem.locate_boundary_facets(md, None)
    expected = r"no interior node: every one of the mesh.s 4 vertices lies on the Dirichlet boundary"
    with pytest.raises(fem.MeshError, match=expected) as info:
        fem.check_interior_nodes(md, facets)
    _one_line(info.value)
    fan = fem.load_mesh(_write(tmp_path / "fan.vtu", SQUARE, FAN))
    assert fem.check_interior_nodes(fan, fem.locate_boundary_facets(fan, None)) == 1


def test_a_comparison_given_a_bad_mesh_exits_2_with_one_line_and_no_traceback(tmp_path, mpirun):
    points, cells, _ = DEFECTS["folded"]
    path = _write(tmp_path / "folded.vtu", points, cells)
    proc = mpirun(2, ["-m", "comparisons.darcy", "--preset", "smoke", "--quiet", "--methods", "adjoint",
                      "--mesh", str(path), "--out", str(tmp_path / "run")], timeout=300, check=False)
    assert proc.returncode == 2, proc.stderr[-2000:]
    lines = [line for line in proc.stderr.splitlines() if "folded.vtu" in line]
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert not (tmp_path / "run" / "report.json").exists()


def test_the_checks_agree_on_two_ranks(tmp_path, mpirun):
    mpirun(2, [str(Path(__file__)), str(tmp_path)], timeout=300)


def _main(out: Path) -> None:
    """The checks above on every rank of COMM_WORLD (run under mpirun)."""
    for defect, (points, cells, pattern) in DEFECTS.items():
        path = _write(out / FILES[defect], points, cells)
        with pytest.raises(fem.MeshError, match=pattern):  # on every rank: nobody waits in a collective
            fem.load_mesh(path)
    md = fem.load_mesh(_write(out / "two.vtu", SQUARE[:4], [[0, 1, 2], [0, 2, 3]]))
    with pytest.raises(fem.MeshError, match="no interior node"):
        fem.check_interior_nodes(md, fem.locate_boundary_facets(md, None))


if __name__ == "__main__":
    _main(Path(sys.argv[1]))
