"""Observation operators: exactness on linear functions, interoperability with fem.PointEvaluator."""

import numpy as np
import pytest

pytest.importorskip("fem")  # loads MPI before dolfinx
pytest.importorskip("dolfinx")

import adjoint_cases  # noqa: E402
import dolfinx  # noqa: E402
from mpi4py import MPI  # noqa: E402

import adjoint  # noqa: E402


def test_point_observation_is_exact_on_linear_functions():
    msh = dolfinx.mesh.create_unit_square(MPI.COMM_WORLD, 5, 4)
    V = dolfinx.fem.functionspace(msh, ("Lagrange", 1))
    u = dolfinx.fem.Function(V)
    u.interpolate(lambda x: 1.0 + 2.0 * x[0] - 3.0 * x[1])
    pts = np.random.default_rng(3).random((40, 2))
    B, idx = adjoint.point_observation(V, pts)
    values = B.createVecLeft()
    B.mult(u.x.petsc_vec, values)
    np.testing.assert_allclose(values.array, 1.0 + 2.0 * pts[idx, 0] - 3.0 * pts[idx, 1], atol=1e-13)
    with pytest.raises(ValueError, match="outside the mesh"):
        adjoint.point_observation(V, np.array([[2.0, 0.5]]))


def test_nodal_observation_returns_owned_dofs():
    rf, m_true = adjoint_cases.make_problem("P1")
    u = rf.state(m_true)
    np.testing.assert_allclose(rf.observe(m_true), u.x.array[: rf.V.dofmap.index_map.size_local])


def test_fem_point_evaluator_matrix_is_accepted():
    evaluation = pytest.importorskip("fem.evaluation")
    msh = dolfinx.mesh.create_unit_square(MPI.COMM_WORLD, 6, 6)
    V = dolfinx.fem.functionspace(msh, ("Lagrange", 1))
    pts = np.random.default_rng(4).random((25, 2))
    B_fem = evaluation.PointEvaluator(V, pts).matrix()
    B_own, idx = adjoint.point_observation(V, pts)
    d = np.linspace(0.0, 0.1, 25)
    rf_fem = adjoint.ReducedFunctional(msh, observation=B_fem, data=d, source=50.0)
    rf_own = adjoint.ReducedFunctional(msh, observation=B_own, data=d[idx], source=50.0)
    m = rf_fem.parameter_from_coefficient(adjoint_cases.a_probe)
    assert rf_fem.J(m) == pytest.approx(rf_own.J(m), rel=1e-10)
    np.testing.assert_allclose(rf_fem.derivative(m).array, rf_own.derivative(m).array, rtol=1e-8, atol=1e-14)
