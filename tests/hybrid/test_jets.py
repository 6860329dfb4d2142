"""The forward-tangent (jet) path against autograd and finite differences."""

import numpy as np
import pytest
import torch
from hybrid_problems import FisherKPP, FisherKPPJet, fk_data, fk_grid

import hybrid
from hybrid import HybridModel


def _model(pde, derivatives, *, fourier=False, embed=True):
    torch.manual_seed(4)
    return HybridModel(pde, torch.tensor([1.3, 0.7]), embed=embed,
                       network=hybrid.NetworkConfig(depth=4, width=12, fourier=fourier),
                       function_network=hybrid.FunctionNetworkConfig.smoke(),
                       derivatives=derivatives).double()


@pytest.mark.parametrize("fourier", [False, True])
@pytest.mark.parametrize("embed", [False, True])
def test_jet_residual_and_rgrad_equal_autograd(fourier, embed):
    x = torch.rand(9, 2, dtype=torch.float64)
    jet = _model(FisherKPPJet(), "jet", fourier=fourier, embed=embed)
    ag = _model(FisherKPPJet(), "autograd", fourier=fourier, embed=embed)
    ref = _model(FisherKPP(), "auto", fourier=fourier, embed=embed)  # the hand-written autograd residual
    assert jet.jet and not ag.jet and not ref.jet
    r1, g1 = jet.residual(x, with_gradient=True)
    r2, g2 = ag.residual(x, with_gradient=True)
    r3, g3 = ref.residual(x, with_gradient=True)
    for r, g in ((r2, g2), (r3, g3)):
        np.testing.assert_allclose(r1.detach(), r.detach(), rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(g1.detach(), g.detach(), rtol=1e-10, atol=1e-14)
    # W-gradients of the lower-level loss agree too.
    L1 = (r1 ** 2).mean() + 0.1 * (g1 ** 2).sum(1).mean()
    L3 = (r3 ** 2).mean() + 0.1 * (g3 ** 2).sum(1).mean()
    g1, g3 = torch.autograd.grad(L1, jet.weights()), torch.autograd.grad(L3, ref.weights())
    for a, b in zip(g1, g3, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-13)


def test_jet_rgrad_matches_central_differences():
    model = _model(FisherKPPJet(), "jet")
    x = torch.rand(5, 2, dtype=torch.float64)
    _, g = model.residual(x, with_gradient=True)
    h = 1e-5
    for p in range(2):
        e = torch.zeros(2, dtype=torch.float64)
        e[p] = h
        rs = []
        for s in (1, -1):
            with torch.no_grad():
                model.theta += s * e
            rs.append(model.residual(x, with_gradient=False)[0].detach())
            with torch.no_grad():
                model.theta -= s * e
        np.testing.assert_allclose(g[:, p].detach(), (rs[0] - rs[1]) / (2 * h), rtol=1e-6, atol=1e-9)


def test_jet_and_autograd_fits_agree():
    xr, xd = fk_grid(5, 5), fk_grid(3, 3)
    out = []
    for d in ("jet", "autograd"):
        cfg = hybrid.BiLOConfig(network=hybrid.NetworkConfig(depth=3, width=8), derivatives=d,
                                pretrain=hybrid.PretrainConfig(steps=3),
                                finetune=hybrid.BiLOFinetuneConfig(steps=3))
        out.append(hybrid.BiLO(cfg).fit(FisherKPPJet(), xr, xd, fk_data(xd), {"rD": 1.0, "rrho": 1.0},
                                        u_ref=fk_data(xr), dtype="float64", progress=False))
    assert out[0].theta == pytest.approx(out[1].theta, rel=1e-10)


def test_jet_requires_a_jet_problem():
    with pytest.raises(ValueError, match="AbstractJetPDE"):
        _model(FisherKPP(), "jet")
