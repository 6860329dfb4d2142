"""The shipped example domain (comparisons/meshes/): loads, regenerates, and carries an exact ADF.

Also a script: ``mpirun -n 2 python tests/comparisons/test_example_mesh.py DIR`` runs the checks
on every rank and writes the boundary segments to ``DIR/segments.npy``.
"""

import importlib.util
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

fem = pytest.importorskip("fem")
pytest.importorskip("dolfinx")
pytest.importorskip("gmsh")
import torch  # noqa: E402
from mpi4py import MPI  # noqa: E402

from fem.boundary import boundary_segments  # noqa: E402
from fem.quality import check_cell_quality  # noqa: E402
from hybrid.geometry import DistanceFunction  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
MESHES = ROOT / "comparisons" / "meshes"
SHIPPED = MESHES / "example_domain.msh"
COMM = MPI.COMM_WORLD


def _script():
    spec = importlib.util.spec_from_file_location("make_example_domain", MESHES / "make_example_domain.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def area(md: Any) -> float:
    import dolfinx.fem
    import ufl

    form = dolfinx.fem.form(1.0 * ufl.dx(domain=md.mesh))
    return md.comm.allreduce(dolfinx.fem.assemble_scalar(form))


def check_example_domain(md: Any) -> None:
    """Tags, area, cell quality and size of the example domain (collective)."""
    script = _script()
    facet_tags = {int(v) for part in md.comm.allgather(np.unique(md.facet_tags.values)) for v in part}
    cell_tags = {int(v) for part in md.comm.allgather(np.unique(md.cell_tags.values)) for v in part}
    assert facet_tags == {script.OUTER, script.HOLES} == {2, 3}, facet_tags
    assert cell_tags == {script.DOMAIN} == {1}, cell_tags
    assert md.physical_groups == {"domain": (2, 1), "outer": (1, 2), "holes": (1, 3)}
    assert abs(area(md) / script.exact_area() - 1) < 0.01
    assert check_cell_quality(md).min_quality > 0.3
    assert md.mesh.topology.index_map(2).size_global < 3000


def check_distance_vanishes(md: Any) -> np.ndarray:
    """The ADF of the mesh boundary is zero on boundary samples of both tags and positive inside."""
    segments = boundary_segments(md)
    phi = DistanceFunction(segments)
    for tag in (2, 3):
        x = torch.from_numpy(fem.sample_boundary(md, tag, 3, seed=1))
        assert md.comm.allreduce(len(x)) > 0
        assert len(x) == 0 or phi(x).abs().max() < 1e-12, tag
    x = torch.from_numpy(fem.sample_interior(md, 1, seed=2)).requires_grad_(True)
    value, grad, lap = phi.derivatives(x)
    assert (value > 0).all() and phi.inside(x.detach()).all()
    assert torch.isfinite(grad).all() and torch.isfinite(lap).all()
    return segments


def test_shipped_mesh_on_one_rank():
    md = fem.load_mesh(SHIPPED, COMM)
    check_example_domain(md)
    segments = check_distance_vanishes(md)
    outer, holes = boundary_segments(md, 2), boundary_segments(md, 3)
    assert len(outer) + len(holes) == len(segments)
    np.testing.assert_allclose(np.linalg.norm(holes[:, 1] - holes[:, 0], axis=1).sum(),
                               2 * np.pi * (0.1 + 0.08), rtol=0.01)


@pytest.mark.mpi
def test_shipped_mesh_on_two_ranks(mpirun, tmp_path):
    proc = mpirun(2, [__file__, str(tmp_path)], timeout=120)
    assert "example mesh: ok on 2 ranks" in proc.stdout
    np.testing.assert_array_equal(np.load(tmp_path / "segments.npy"),
                                  boundary_segments(fem.load_mesh(SHIPPED, COMM)))


def test_script_regenerates_an_equivalent_mesh(tmp_path):
    out = tmp_path / "regenerated.msh"
    subprocess.run([sys.executable, str(MESHES / "make_example_domain.py"), "--out", str(out)],
                   check=True, capture_output=True, text=True, timeout=120)
    assert out.read_text().startswith("$MeshFormat\n4.1 ")
    md, shipped = fem.load_mesh(out, COMM), fem.load_mesh(SHIPPED, COMM)
    check_example_domain(md)
    assert abs(area(md) / area(shipped) - 1) < 0.01
    n, n_shipped = (m.mesh.topology.index_map(2).size_global for m in (md, shipped))
    assert abs(n / n_shipped - 1) < 0.1, (n, n_shipped)


def test_readme_names_the_tags():
    text = (MESHES / "README.md").read_text()
    assert "make_example_domain.py" in text and all(f"| {t} |" in text for t in (1, 2, 3))


def _main(out: Path) -> None:
    md = fem.load_mesh(SHIPPED, COMM)
    check_example_domain(md)
    segments = check_distance_vanishes(md)
    assert all(np.array_equal(s, segments) for s in COMM.allgather(segments))
    if COMM.rank == 0:
        np.save(out / "segments.npy", segments)
        print(f"example mesh: ok on {COMM.size} ranks", flush=True)


if __name__ == "__main__":
    from fem.parallel import run_collectively

    run_collectively(lambda: _main(Path(sys.argv[1])))
