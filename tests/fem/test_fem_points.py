import numpy as np
import pytest

fem = pytest.importorskip("fem")
pytest.importorskip("dolfinx")
from mpi4py import MPI  # noqa: E402

COMM = MPI.COMM_WORLD


def test_grid_points_order_is_ij_c_order():
    x = fem.grid_points(((0.0, 0.0), (1.0, 2.0)), (2, 3))
    expected = [[0, 0], [0, 1], [0, 2], [1, 0], [1, 1], [1, 2]]
    np.testing.assert_array_equal(x, expected)
    assert x.dtype == np.float64
    assert fem.grid_points((0.0, 1.0), 51).shape == (51, 1)
    assert fem.grid_points(((0, 0), (1, 1)), (51, 51)).shape == (2601, 2)


def test_grid_points_rejects_bad_bounds():
    with pytest.raises(ValueError, match="upper corner must exceed"):
        fem.grid_points((1.0, 0.0), 3)


MESHES = {
    "interval": lambda: fem.interval(COMM, 5, (0.0, 2.0)),
    "triangle": lambda: fem.rectangle(COMM, (3, 2), ((0.0, 0.0), (2.0, 1.0))),
    "quadrilateral": lambda: fem.rectangle(COMM, (3, 2), ((0.0, 0.0), (2.0, 1.0)), cell="quadrilateral"),
    "tetrahedron": lambda: fem.box(COMM, (2, 1, 1), ((0, 0, 0), (2, 1, 1))),
    "hexahedron": lambda: fem.box(COMM, (2, 1, 1), ((0, 0, 0), (2, 1, 1)), cell="hexahedron"),
}


@pytest.mark.parametrize("name", MESHES)
def test_samplers_shapes_ranges_and_seeds(name):
    md = MESHES[name]()
    d = md.gdim
    upper = np.array([2.0, 1.0, 1.0][:d])
    n_cells = md.mesh.topology.index_map(d).size_local
    p = fem.sample_interior(md, 3, seed=4)
    assert p.shape == (3 * n_cells, d) and p.dtype == np.float64
    assert (p > 0).all() and (p < upper).all()
    np.testing.assert_array_equal(p, fem.sample_interior(md, 3, seed=4))
    assert not np.array_equal(p, fem.sample_interior(md, 3, seed=5))
    assert fem.sample_interior(md, n=17).shape == (17, d)
    assert fem.sample_interior(md, method="midpoint").shape == (n_cells, d)
    # quadrature: exact volume and second moment
    x, w = fem.quadrature_points(md, 2)
    assert x.shape == (len(w), d)
    assert np.isclose(w.sum(), 2.0, rtol=1e-12)
    assert np.isclose(w @ x[:, 0] ** 2, 8.0 / 3.0, rtol=1e-12)
    # boundary points lie on the boundary of the box
    b = fem.sample_boundary(md, n_per_facet=2, seed=1)
    assert b.shape[1] == d and len(b) > 0
    on_face = np.isclose(b, 0.0) | np.isclose(b, upper)
    assert on_face.any(axis=1).all()
    assert (b >= -1e-14).all() and (b <= upper + 1e-14).all()


def test_boundary_sampling_by_tag(tmp_path):
    from fem_mpi_checks import HOLE, R, write_plate_msh

    md = fem.load_mesh(write_plate_msh(tmp_path / "plate.msh", COMM))
    b = fem.sample_boundary(md, HOLE, n_per_facet=3)
    r = np.hypot(b[:, 0] - 0.5, b[:, 1] - 0.5)
    assert len(b) == 3 * np.sum(md.facet_tags.values == HOLE)
    assert (r <= R + 1e-12).all() and (r > 0.9 * R).all()  # chords of the circle
    with pytest.raises(fem.MeshError, match="not found"):
        fem.sample_boundary(md, 99)


def test_dof_coordinates_match_dofs():
    import dolfinx.fem

    md = fem.rectangle(COMM, (3, 3))
    V = dolfinx.fem.functionspace(md.mesh, ("Lagrange", 2))
    x = fem.dof_coordinates(V)
    assert x.shape == (V.dofmap.index_map.size_local, 2)
    u = dolfinx.fem.Function(V)
    u.interpolate(lambda y: y[0] + 3 * y[1])
    np.testing.assert_allclose(u.x.array[: len(x)], x[:, 0] + 3 * x[:, 1], atol=1e-14)
