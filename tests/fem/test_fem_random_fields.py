import numpy as np
import pytest

from fem.random_fields import GaussianRandomField


def test_grf_is_a_function_of_position():
    grf = GaussianRandomField(dim=2, seed=3)
    x = np.random.default_rng(0).random((500, 2))
    # same values whatever the order or batching of the points (rank- and mesh-independent)
    perm = np.random.default_rng(1).permutation(500)
    np.testing.assert_allclose(grf(x)[perm], grf(x[perm]), rtol=0, atol=1e-12)
    np.testing.assert_allclose(grf(np.c_[x, np.zeros(500)]), grf(x), atol=1e-12)
    np.testing.assert_allclose(grf.as_interpolant()(np.c_[x, np.zeros(500)].T), grf(x), atol=1e-12)


def test_grf_statistics_match_the_covariance():
    # Over many independent seeds, the sample variance at a point is σ² and the correlation at
    # distance ℓ is exp(-1/2). 400 draws: standard error ~ 0.07, so tolerances of 0.2 are ~3σ.
    sigma, ell = 1.5, 0.2
    pts = np.array([[0.3, 0.3], [0.3 + ell, 0.3]])
    vals = np.array([GaussianRandomField(dim=2, sigma=sigma, length_scale=ell, seed=s, n_features=1024)(pts)
                     for s in range(400)])
    assert vals[:, 0].var() / sigma**2 == pytest.approx(1.0, abs=0.2)
    corr = np.corrcoef(vals.T)[0, 1]
    assert corr == pytest.approx(np.exp(-0.5), abs=0.12)


@pytest.mark.parametrize("kw", [dict(dim=4), dict(dim=2, sigma=0), dict(dim=2, length_scale=-1),
                                dict(dim=2, n_features=0)])
def test_grf_rejects_bad_parameters(kw):
    with pytest.raises(ValueError):
        GaussianRandomField(**kw)
