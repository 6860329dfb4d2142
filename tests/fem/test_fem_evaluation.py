import numpy as np
import pytest

fem = pytest.importorskip("fem")
pytest.importorskip("dolfinx")
import dolfinx.fem  # noqa: E402
from mpi4py import MPI  # noqa: E402

COMM = MPI.COMM_WORLD
MESHES = {
    "interval": lambda: fem.interval(COMM, 7),
    "triangle": lambda: fem.rectangle(COMM, (4, 3)),
    "quadrilateral": lambda: fem.rectangle(COMM, (3, 3), cell="quadrilateral"),
    "tetrahedron": lambda: fem.box(COMM, (2, 2, 2)),
}


@pytest.mark.parametrize("degree", [1, 2])
@pytest.mark.parametrize("name", MESHES)
def test_linear_function_is_exact_at_random_points(name, degree):
    md = MESHES[name]()
    V = dolfinx.fem.functionspace(md.mesh, ("Lagrange", degree))
    coef = np.array([0.3, -1.7, 2.5])[: md.gdim]
    u = dolfinx.fem.Function(V)
    u.interpolate(lambda x: 1.0 + coef @ x[: md.gdim])
    x = np.random.default_rng(0).random((40, md.gdim))
    exact = 1.0 + x @ coef
    ev = fem.PointEvaluator(V, x)
    assert ev.inside.all() and ev.n_outside == 0
    np.testing.assert_allclose(ev.evaluate(u), exact, atol=1e-12, rtol=0)
    owned = u.x.array[: V.dofmap.index_map.size_local]
    np.testing.assert_allclose(ev.evaluate(owned), exact, atol=1e-12, rtol=0)
    # the observation matrix gives the same values, as PETSc and as scipy
    B = ev.matrix()
    y = B.createVecLeft()
    B.mult(u.x.petsc_vec, y)
    np.testing.assert_allclose(y.array, exact, atol=1e-12, rtol=0)
    np.testing.assert_allclose(ev.to_scipy() @ u.x.array, exact, atol=1e-12, rtol=0)
    # B^T maps a data residual to a dof vector: <B^T r, u> = <r, B u>
    r = B.createVecLeft()
    r.array[:] = np.linspace(-1, 1, len(r.array))
    z = B.createVecRight()
    B.multTranspose(r, z)
    assert np.isclose(z.dot(u.x.petsc_vec), r.dot(y), rtol=1e-12)


def test_nonlinear_function_matches_function_eval():
    md = fem.rectangle(COMM, (5, 5), cell="quadrilateral")
    V = dolfinx.fem.functionspace(md.mesh, ("Lagrange", 2))
    u = dolfinx.fem.Function(V)
    u.interpolate(lambda x: np.sin(3 * x[0]) * np.exp(x[1]))
    ev = fem.PointEvaluator(V, np.random.default_rng(1).random((30, 2)))
    np.testing.assert_allclose(ev.to_scipy() @ u.x.array, ev.evaluate(u), atol=1e-13)


def test_vector_space_evaluation():
    md = fem.rectangle(COMM, (3, 3))
    V = dolfinx.fem.functionspace(md.mesh, ("Lagrange", 1, (2,)))
    u = dolfinx.fem.Function(V)
    u.interpolate(lambda x: np.stack([x[0], 2 * x[1]]))
    x = np.array([[0.2, 0.3], [0.7, 0.9]])
    np.testing.assert_allclose(fem.PointEvaluator(V, x).evaluate(u), x * [1, 2], atol=1e-14)


def test_points_outside_raise_with_count_and_example():
    V = dolfinx.fem.functionspace(fem.rectangle(COMM, (2, 2)).mesh, ("Lagrange", 1))
    x = np.array([[0.5, 0.5], [1.5, 0.5], [0.2, -0.3]])
    match = r"2 of 3 evaluation points lie outside the mesh.*\[1\.5, 0\.5\]"
    with pytest.raises(fem.PointsOutsideError, match=match):
        fem.PointEvaluator(V, x)


def test_points_outside_give_nan_and_empty_rows(caplog):
    V = dolfinx.fem.functionspace(fem.rectangle(COMM, (2, 2)).mesh, ("Lagrange", 1))
    x = np.array([[0.5, 0.5], [1.5, 0.5]])
    ev = fem.PointEvaluator(V, x, on_outside="nan")
    assert "1 of 2 evaluation points lie outside" in caplog.text
    assert ev.n_outside == 1 and ev.inside.tolist() == [True, False]
    u = dolfinx.fem.Function(V)
    u.x.array[:] = 2.0
    values = ev.evaluate(u)
    assert values[0] == pytest.approx(2.0) and np.isnan(values[1])
    B = ev.to_scipy()
    assert B.shape[0] == 2 and B[1].nnz == 0


def test_points_on_the_boundary_are_inside():
    V = dolfinx.fem.functionspace(fem.rectangle(COMM, (2, 2)).mesh, ("Lagrange", 1))
    x = fem.grid_points(((0, 0), (1, 1)), (3, 3))
    assert fem.PointEvaluator(V, x).inside.all()


def test_bad_point_shapes():
    V = dolfinx.fem.functionspace(fem.rectangle(COMM, (2, 2)).mesh, ("Lagrange", 1))
    with pytest.raises(ValueError, match=r"shape \(N, 2\)"):
        fem.PointEvaluator(V, np.zeros((3, 3)))
    with pytest.raises(ValueError, match="NaN"):
        fem.PointEvaluator(V, np.full((1, 2), np.nan))
