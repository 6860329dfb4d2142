import numpy as np
import pytest

fem = pytest.importorskip("fem")
pytest.importorskip("dolfinx")
meshio = pytest.importorskip("meshio")
from fem_mpi_checks import DOMAIN, HOLE, OUTER, check_plate, measure, write_plate_msh  # noqa: E402
from mpi4py import MPI  # noqa: E402

COMM = MPI.COMM_WORLD


@pytest.mark.parametrize("make", [
    lambda: fem.interval(COMM, 4, (0.0, 2.0)),
    lambda: fem.rectangle(COMM, (3, 2), ((0.0, 0.0), (2.0, 1.0))),
    lambda: fem.rectangle(COMM, (3, 2), ((0.0, 0.0), (2.0, 1.0)), cell="quadrilateral"),
    lambda: fem.box(COMM, (2, 2, 1), ((0, 0, 0), (2, 1, 1))),
    lambda: fem.box(COMM, (2, 2, 1), ((0, 0, 0), (2, 1, 1)), cell="hexahedron"),
], ids=["interval", "triangle", "quadrilateral", "tetrahedron", "hexahedron"])
def test_builtin_meshes_tag_domain_and_whole_boundary(make):
    md = make()
    assert md.gdim == md.tdim
    assert np.isclose(measure(md, 1), 2.0)
    boundary = fem.locate_boundary_facets(md)
    np.testing.assert_array_equal(boundary, fem.locate_boundary_facets(md, 1))
    assert md.physical_groups == {"domain": (md.tdim, 1), "boundary": (md.tdim - 1, 1)}


def test_missing_facet_tag_lists_available_tags():
    with pytest.raises(fem.MeshError, match=r"facet tag\(s\) \[7\] not found.*available facet tags: \[1\]"):
        fem.locate_boundary_facets(fem.rectangle(COMM, (2, 2)), 7)


def test_gmsh_file_keeps_cell_and_facet_tags(tmp_path):
    md = fem.load_mesh(write_plate_msh(tmp_path / "plate.msh", COMM))
    check_plate(md)
    assert set(md.cell_tags.values) == {DOMAIN}
    assert md.physical_groups == {"domain": (2, DOMAIN), "outer": (1, OUTER), "hole": (1, HOLE)}
    hole = fem.locate_boundary_facets(md, HOLE)
    assert len(hole) == np.sum(md.facet_tags.values == HOLE)
    # the outer and hole tags together are the whole boundary; either alone is not
    assert fem.covers_boundary(md, (OUTER, HOLE)) and fem.covers_boundary(md, None)
    assert not fem.covers_boundary(md, (HOLE,)) and not fem.covers_boundary(md, OUTER)


@pytest.mark.parametrize("suffix", [".vtu", ".xdmf"])
def test_meshio_route_reads_the_same_mesh_with_tags(tmp_path, suffix):
    m = meshio.read(write_plate_msh(tmp_path / "plate.msh", COMM))
    path = tmp_path / f"plate{suffix}"
    meshio.write(path, meshio.Mesh(m.points, m.cells, cell_data=m.cell_data))
    check_plate(fem.load_mesh(path, COMM))


def test_dolfinx_xdmf_roundtrip_keeps_tags(tmp_path):
    import dolfinx.io

    md = fem.load_mesh(write_plate_msh(tmp_path / "plate.msh", COMM))
    with dolfinx.io.XDMFFile(COMM, tmp_path / "plate.xdmf", "w") as xdmf:
        xdmf.write_mesh(md.mesh)
        md.mesh.topology.create_connectivity(1, 2)
        xdmf.write_meshtags(md.cell_tags, md.mesh.geometry)
        xdmf.write_meshtags(md.facet_tags, md.mesh.geometry)
    check_plate(fem.load_mesh(tmp_path / "plate.xdmf", COMM))


def test_quadrilateral_meshio_file(tmp_path):
    points = np.array([[0, 0], [1, 0], [2, 0], [0, 1], [1, 1], [2, 1]], dtype=float)
    quads = np.array([[0, 1, 4, 3], [1, 2, 5, 4]])  # counter-clockwise, as VTK
    meshio.write(tmp_path / "quads.vtu", meshio.Mesh(points, [("quad", quads)]))
    md = fem.load_mesh(tmp_path / "quads.vtu", COMM)
    assert md.mesh.topology.cell_type.name == "quadrilateral"
    import dolfinx.fem
    import ufl

    area = dolfinx.fem.assemble_scalar(dolfinx.fem.form(1.0 * ufl.dx(domain=md.mesh)))
    assert np.isclose(area, 2.0) and md.cell_tags is None


def test_missing_file(tmp_path):
    with pytest.raises(fem.MeshError, match=r"nowhere\.msh' does not exist"):
        fem.load_mesh(tmp_path / "nowhere.msh")


@pytest.mark.parametrize("name", ["garbage.msh", "garbage.vtu", "garbage.xdmf"])
def test_corrupt_file(tmp_path, name):
    (tmp_path / name).write_bytes(b"\x00\xff\x13 not a mesh " * 40)
    with pytest.raises(fem.MeshError, match=name.replace(".", r"\.") + ".*(corrupt|not readable)"):
        fem.load_mesh(tmp_path / name)


def test_vertex_only_file_is_unsupported(tmp_path):
    meshio.write(tmp_path / "pts.vtu", meshio.Mesh(np.random.rand(3, 3), [("vertex", np.arange(3)[:, None])]))
    with pytest.raises(fem.MeshError, match=r"no supported cells \(found: \['vertex'\]"):
        fem.load_mesh(tmp_path / "pts.vtu")


def test_line_cells_asked_as_2d_domain(tmp_path):
    points = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0]], dtype=float)
    meshio.write(tmp_path / "lines.vtu", meshio.Mesh(points, [("line", np.array([[0, 1], [1, 2]]))]))
    with pytest.raises(fem.MeshError, match="asked for a 2-dimensional domain.*1-dimensional"):
        fem.load_mesh(tmp_path / "lines.vtu", gdim=2)


def test_mixed_cell_types_are_rejected(tmp_path):
    points = np.array([[0, 0], [1, 0], [1, 1], [0, 1], [2, 0], [2, 1]], dtype=float)
    cells = [("triangle", np.array([[0, 1, 2], [0, 2, 3]])), ("quad", np.array([[1, 4, 5, 2]]))]
    meshio.write(tmp_path / "mixed.vtu", meshio.Mesh(points, cells))
    with pytest.raises(fem.MeshError, match=r"mixed cell types"):
        fem.load_mesh(tmp_path / "mixed.vtu")


def test_second_order_cells_are_unsupported(tmp_path):
    points = np.array([[0, 0], [1, 0], [0, 1], [0.5, 0], [0.5, 0.5], [0, 0.5]], dtype=float)
    meshio.write(tmp_path / "p2.vtu", meshio.Mesh(points, [("triangle6", np.arange(6)[None, :])]))
    with pytest.raises(fem.MeshError, match=r"unsupported cell type\(s\) \['triangle6'\]"):
        fem.load_mesh(tmp_path / "p2.vtu")
