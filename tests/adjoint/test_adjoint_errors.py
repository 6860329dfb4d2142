"""Bad inputs raise clear errors."""

import numpy as np
import pytest

pytest.importorskip("fem")  # loads MPI before dolfinx
pytest.importorskip("dolfinx")

import adjoint_cases  # noqa: E402
import dolfinx  # noqa: E402
from mpi4py import MPI  # noqa: E402

import adjoint  # noqa: E402


@pytest.fixture(scope="module")
def square():
    msh = dolfinx.mesh.create_unit_square(MPI.COMM_WORLD, 4, 4)
    V = dolfinx.fem.functionspace(msh, ("Lagrange", 1))
    return msh, adjoint.nodal_observation(V)


def test_negative_and_nonfinite_coefficient():
    rf, m_true = adjoint_cases.make_problem("P1")
    bad = m_true.copy()
    bad[3] = -1.0
    with pytest.raises(ValueError, match=r"a = g\(m\) must be finite and > 0"):
        rf.J(bad)
    bad[3] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        rf.derivative(bad)
    with pytest.raises(ValueError, match="expected"):
        rf.J(m_true[:-1])


def test_wrong_data_length_and_nonfinite_data(square):
    msh, B = square
    with pytest.raises(ValueError, match=r"B rows != len\(d\)"):
        adjoint.ReducedFunctional(msh, observation=B, data=np.zeros(B.getSize()[0] + 1))
    data = np.zeros(B.getSize()[0])
    data[0] = np.inf
    with pytest.raises(ValueError, match="non-finite"):
        adjoint.ReducedFunctional(msh, observation=B, data=data)


def test_observation_operator_not_matching_state_space(square):
    msh, _ = square
    V2 = dolfinx.fem.functionspace(msh, ("Lagrange", 2))
    B2 = adjoint.nodal_observation(V2)
    with pytest.raises(ValueError, match="columns"):
        adjoint.ReducedFunctional(msh, observation=B2, data=np.zeros(B2.getSize()[0]))


def test_tv_eps_and_weights():
    with pytest.raises(ValueError, match="eps > 0"):
        adjoint.TotalVariation(weight=1.0, eps=0.0)
    with pytest.raises(ValueError, match="eps > 0"):
        adjoint.TotalVariation(weight=1.0, eps=-1e-3)
    with pytest.raises(ValueError, match="weight"):
        adjoint.H1Seminorm(weight=-1.0)
    with pytest.raises(ValueError, match="lo < hi"):
        adjoint.SigmoidMap(lo=12.0, hi=3.0)


def test_unknown_tags(square):
    msh, B = square
    facets = dolfinx.mesh.locate_entities_boundary(msh, 1, lambda x: np.isclose(x[0], 0.0))
    tags = dolfinx.mesh.meshtags(msh, 1, facets, np.full(len(facets), 7, dtype=np.int32))
    data = np.zeros(B.getLocalSize()[0])
    with pytest.raises(ValueError, match=r"unknown facet tag\(s\) \[8\]; the facet tags are \[7\]"):
        adjoint.ReducedFunctional(msh, observation=B, data=data, facet_tags=tags,
                                  dirichlet=(adjoint.DirichletData(tags=(8,)),))
    with pytest.raises(ValueError, match="FixedCoefficient: unknown facet tag"):
        adjoint.ReducedFunctional(msh, observation=B, data=data, facet_tags=tags,
                                  fixed_coefficient=adjoint.FixedCoefficient(tags=(3,)))
    with pytest.raises(ValueError, match="no facet_tags"):
        adjoint.ReducedFunctional(msh, observation=B, data=data,
                                  dirichlet=(adjoint.DirichletData(tags=(7,)),))
    # a known tag works: u = 1 on x = 0 only (natural condition elsewhere)
    rf = adjoint.ReducedFunctional(msh, observation=B, data=data, facet_tags=tags, source=0.0,
                                   dirichlet=(adjoint.DirichletData(value=1.0, tags=(7,)),))
    np.testing.assert_allclose(rf.observe(rf.parameter_from_coefficient(2.0)), 1.0, atol=1e-8)


def test_config_errors():
    with pytest.raises(ValueError, match="step"):
        adjoint.GradientDescentConfig(step=0.0)
    with pytest.raises(ValueError, match="lower <= upper"):
        adjoint.TaoConfig(lower=2.0, upper=1.0)
    with pytest.raises(ValueError, match="coefficient_space"):
        adjoint_cases.make_problem("P2")
    with pytest.raises(ValueError, match=r"lo < a < hi"):
        adjoint.SigmoidMap().inverse(np.array([3.0]))
