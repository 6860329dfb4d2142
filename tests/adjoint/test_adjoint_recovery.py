"""Known minimisers: noise-free data from a known coefficient are fitted back."""

import numpy as np
import pytest

pytest.importorskip("fem")  # loads MPI before dolfinx
pytest.importorskip("dolfinx")

import adjoint_cases  # noqa: E402

import adjoint  # noqa: E402


@pytest.mark.parametrize("space", ["P1", "DG0"])
def test_misfit_vanishes_at_truth(space):
    rf, m_true = adjoint_cases.make_problem(space)
    assert rf.J(m_true) < 1e-20
    assert rf.misfit(m_true) < 1e-20


def test_tao_recovers_1d_hat_diffusion():
    # The 1D experiment's set-up (its comparison-level test is in tests/comparisons/test_poisson.py),
    # noise-free data from the same discretisation, 50 cells, 51 observations, w = 1e-8.
    p = adjoint_cases.poisson_1d(n_cells=50, n_obs=51, weight=1e-8)
    result = adjoint.minimize_tao(p.rf, p.m_init, adjoint.TaoConfig(lower=0.1, upper=10.0, max_iter=1000,
                                                                     gatol=0.0, grtol=0.0, gttol=1e-8))
    rel = np.linalg.norm(result.coefficient - p.m_true) / np.linalg.norm(p.m_true)
    assert rel < 5e-3, rel  # measured 2.2e-3
    assert np.abs(result.coefficient - p.m_true).max() < 0.03
    assert np.all(result.m[p.rf.fixed_dofs] == 1.0)  # D(0) = D(1) = 1 stay fixed
    assert result.J < 1e-7 and result.J_history[0] > 1e-2
    assert result.n_forward >= result.iterations and result.n_adjoint >= result.iterations


def test_tao_recovers_2d_coefficient_with_bounds():
    rf, m_true = adjoint_cases.make_problem("P1", (adjoint.H1Seminorm(weight=1e-6),), dim=2, n=8)
    m0 = rf.parameter_from_coefficient(6.0)
    result = adjoint.minimize_tao(rf, m0, adjoint.TaoConfig(lower=3.0, upper=12.0, max_iter=500,
                                                            gatol=0.0, grtol=0.0, gttol=1e-6))
    assert result.converged, result.reason
    rel = np.linalg.norm(result.m - m_true) / np.linalg.norm(m_true)
    assert rel < 0.02, rel  # measured 1.0e-2 (boundary nodes are weakly identified)
    assert np.all((result.m >= 3.0) & (result.m <= 12.0))


def test_tao_with_sigmoid_map_and_tv_decreases_j():
    # The Darcy set-up: a = 3 + 9 sigmoid(m), TV, DG0, f = 1 on a coarse mesh.
    rf, m_true = adjoint_cases.make_problem("DG0", (adjoint.TotalVariation(weight=1e-6, eps=1e-2),),
                                            adjoint.SigmoidMap(lo=3.0, hi=12.0), n=6)
    m0 = rf.parameter_from_coefficient(7.5)
    result = adjoint.minimize_tao(rf, m0, adjoint.TaoConfig(max_iter=40))
    assert result.J < 1e-2 * result.J_history[0]
    assert np.all((result.coefficient > 3.0) & (result.coefficient < 12.0))


def test_gradient_descent_decreases_j_and_keeps_fixed_ends():
    p = adjoint_cases.poisson_1d(n_cells=50, n_obs=51, weight=1e-3)
    config = adjoint.GradientDescentConfig(step=0.01, max_iter=200, gtol=1e-10)
    result = adjoint.gradient_descent(p.rf, p.m_init, config)
    J = np.array(result.J_history)
    assert np.all(np.diff(J) <= 0.0) and J[-1] < 0.1 * J[0]
    assert np.all(result.m[p.rf.fixed_dofs] == 1.0)
    assert result.iterations == 200 and not result.converged and result.reason == "max_iter"
    assert (result.n_forward, result.n_adjoint) == (201, 201)
    # and it stops at the gradient-norm tolerance
    loose = adjoint.gradient_descent(p.rf, p.m_init, adjoint.GradientDescentConfig(step=0.01, gtol=0.5))
    assert loose.converged and loose.gradient_norm_history[-1] < 0.5 <= loose.gradient_norm_history[-2]


def test_gradient_descent_along_the_euclidean_derivative():
    p = adjoint_cases.poisson_1d(n_cells=50, n_obs=51, weight=1e-3)
    config = adjoint.GradientDescentConfig(step=0.5, max_iter=20, direction="derivative")
    result = adjoint.gradient_descent(p.rf, p.m_init, config)
    assert np.all(np.diff(result.J_history) <= 0.0) and result.J < 0.5 * result.J_history[0]


def test_gradient_descent_with_too_large_a_step_stops_cleanly():
    p = adjoint_cases.poisson_1d(n_cells=50, n_obs=51, weight=1e-2)
    result = adjoint.gradient_descent(p.rf, p.m_init, adjoint.GradientDescentConfig(step=1.0, max_iter=50))
    assert result.reason == "invalid_coefficient" and not result.converged
    assert np.all(result.coefficient > 0) and len(result.J_history) == result.iterations + 1
    bad = p.m_init.copy()
    bad[5] = -1.0
    with pytest.raises(adjoint.CoefficientError):
        adjoint.gradient_descent(p.rf, bad, adjoint.GradientDescentConfig(step=1.0))


def test_tao_options_pass_through_prefix():
    p = adjoint_cases.poisson_1d(n_cells=20, n_obs=11, weight=1e-3)
    config = adjoint.TaoConfig(tao_type="bqnls", lower=0.1, max_iter=100, options={"tao_max_it": 3},
                               options_prefix="opt_test_")
    result = adjoint.minimize_tao(p.rf, p.m_init, config)
    assert result.iterations == 3 and result.reason == "DIVERGED_MAXITS" and not result.converged
    assert result.method == "tao_bqnls" and len(result.J_history) == 4
