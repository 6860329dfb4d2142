"""Observation operators: the nodal B, and interoperability with fem.PointEvaluator."""

import numpy as np
import pytest

pytest.importorskip("fem")  # loads MPI before dolfinx
pytest.importorskip("dolfinx")

import adjoint_cases  # noqa: E402
import dolfinx  # noqa: E402

import adjoint  # noqa: E402
from fem.evaluation import PointEvaluator  # noqa: E402


def test_nodal_observation_returns_owned_dofs():
    rf, m_true = adjoint_cases.make_problem("P1")
    u = rf.state(m_true)
    np.testing.assert_allclose(rf.observe(m_true), u.x.array[: rf.V.dofmap.index_map.size_local])


def test_fem_point_evaluator_matrix_is_accepted():
    # B from fem.PointEvaluator at the owned nodes equals the nodal B = I: same J and derivative.
    msh = adjoint_cases.make_mesh(2, 6)
    V = dolfinx.fem.functionspace(msh, ("Lagrange", 1))
    n_owned = V.dofmap.index_map.size_local
    B_fem = PointEvaluator(V, V.tabulate_dof_coordinates()[:n_owned, :2]).matrix()
    d = np.linspace(0.0, 0.1, n_owned)
    rf_nodal = adjoint.ReducedFunctional(msh, observation=adjoint.nodal_observation(V), data=d, source=50.0)
    rf_fem = adjoint.ReducedFunctional(msh, observation=B_fem, data=d, source=50.0)
    m = rf_fem.parameter_from_coefficient(adjoint_cases.a_probe)
    assert rf_fem.J(m) == pytest.approx(rf_nodal.J(m), rel=1e-10)
    np.testing.assert_allclose(rf_fem.derivative(m).array, rf_nodal.derivative(m).array,
                               rtol=1e-8, atol=1e-14)
