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


def test_elliptic_field_is_the_eigen_series_and_a_function_of_position():
    from fem.random_fields import EllipticRandomField
    f = EllipticRandomField(dim=2, seed=5, n_modes=8)
    x = np.random.default_rng(2).random((300, 2))
    c = f.coefficients()
    e = lambda j, s: np.cos(j * np.pi * s) * (1.0 if j == 0 else np.sqrt(2.0))  # noqa: E731
    direct = sum(c[i, j] * e(i, x[:, 0]) * e(j, x[:, 1]) for i in range(8) for j in range(8))
    np.testing.assert_allclose(f(x), direct, atol=1e-12)
    perm = np.random.default_rng(1).permutation(300)
    np.testing.assert_allclose(f(x)[perm], f(x[perm]), atol=1e-12)
    np.testing.assert_allclose(f.as_interpolant()(np.c_[x, np.zeros(300)].T), f(x), atol=1e-12)
    # 3D contracts its dimensions the same way: a field constant in z is the 2D one's series
    f3 = EllipticRandomField(dim=3, seed=5, n_modes=4)
    c3 = f3.coefficients()
    direct3 = sum(c3[i, j, k] * e(i, x[:, 0]) * e(j, x[:, 1]) * e(k, 0.3) for i in range(4) for j in range(4)
                  for k in range(4))
    np.testing.assert_allclose(f3(np.c_[x, np.full(300, 0.3)]), direct3, atol=1e-12)


def test_elliptic_field_statistics_match_the_operator():
    # Over 400 seeds the covariance of ψ(x), ψ(y) is c² Σ_k λ_k^(-α) e_k(x) e_k(y); its mean
    # variance over the square is σ². Standard error of a variance from 400 draws ~ 7 %: tolerance 0.2.
    from fem.random_fields import EllipticRandomField
    sigma = 2.0
    pts = np.array([[0.2, 0.7], [0.3, 0.7]])
    vals = np.array([EllipticRandomField(dim=2, sigma=sigma, seed=s, n_modes=16)(pts) for s in range(400)])
    k = np.arange(16)
    lam = np.pi**2 * (k[:, None] ** 2 + k[None, :] ** 2) + 9.0
    std2 = lam**-2.0
    std2[0, 0] = 0.0
    c2 = sigma**2 / std2.sum()
    e = lambda s: np.cos(k * np.pi * s) * np.where(k == 0, 1.0, np.sqrt(2.0))  # noqa: E731
    cov = lambda p, q: c2 * np.einsum(  # noqa: E731
        "i,j,ij,i,j->", e(p[0]), e(p[1]), std2, e(q[0]), e(q[1]))
    emp = np.cov(vals.T)
    assert emp[0, 0] / cov(pts[0], pts[0]) == pytest.approx(1.0, abs=0.2)
    assert emp[0, 1] / cov(pts[0], pts[1]) == pytest.approx(1.0, abs=0.25)


@pytest.mark.parametrize("kw", [dict(dim=4), dict(dim=2, tau=0), dict(dim=2, alpha=-1),
                                dict(dim=2, n_modes=1)])
def test_elliptic_field_rejects_bad_parameters(kw):
    from fem.random_fields import EllipticRandomField
    with pytest.raises(ValueError):
        EllipticRandomField(**kw)
