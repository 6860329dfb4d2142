"""derivatives="compiled": the same residual and residual-gradient as the eager jets, by torch.compile."""

import numpy as np
import pytest
import torch
from hybrid_problems import Darcy, FisherKPP, FisherKPPJet

import hybrid
from hybrid import HybridModel
from hybrid.compiled import jet_residual_and_gradient


def _model(pde, derivatives, *, embed):
    torch.manual_seed(4)
    theta = None if isinstance(pde, Darcy) else torch.tensor([1.3, 0.7])
    return HybridModel(pde, theta, embed=embed, network=hybrid.NetworkConfig(depth=3, width=10, fourier=True),
                       function_network=hybrid.FunctionNetworkConfig(depth=3, width=6, fourier=True),
                       derivatives=derivatives).double()


def _lower_loss(model, x):
    r, g = model.residual(x, with_gradient=model.net.n_params > 0)
    L = r.square().mean() + (0.0 if g is None else 0.1 * g.square().sum(1).mean())
    params = model.weights() + ([] if model.net.n_params else model.unknowns())
    return r, g, torch.autograd.grad(L, params)


def _agree(model_a, model_b, x):
    ra, ga, wa = _lower_loss(model_a, x)
    rb, gb, wb = _lower_loss(model_b, x)
    np.testing.assert_allclose(ra.detach(), rb.detach(), rtol=1e-10, atol=1e-13)
    if ga is not None:
        np.testing.assert_allclose(ga.detach(), gb.detach(), rtol=1e-10, atol=1e-13)
    for a, b in zip(wa, wb, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("pde", [FisherKPPJet(), Darcy()], ids=["scalars", "function"])
def test_the_functional_residual_gradient_is_the_engines(pde):
    # what derivatives="compiled" compiles, run eagerly: dr/dθ by torch.func.vjp equals the
    # engine's reverse-over-reverse one, and so does W's gradient through it
    x = torch.rand(11, 2, dtype=torch.float64)
    model = _model(pde, "jet", embed=True)
    r, g = model.residual(x, with_gradient=True)
    first, second = pde.jet_first(), pde.second_derivatives
    if isinstance(pde, Darcy):
        zj, theta = model._field_jet(x, first, second)
        dz = [zj.du[i].unsqueeze(-1) for i in first]
        d2z = [zj.d2u[i].unsqueeze(-1) for i in second]
    else:
        theta, dz, d2z = model.expand(x), None, None
    r2, g2 = jet_residual_and_gradient(model.net, pde, x, theta, dz, d2z, *model._coefficient_jets(x))
    np.testing.assert_allclose(r2.detach(), r.detach(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(g2.detach(), g.detach(), rtol=1e-12, atol=1e-14)
    L1 = r.square().mean() + g.square().sum()
    L2 = r2.square().mean() + g2.square().sum()
    for a, b in zip(torch.autograd.grad(L1, model.weights()), torch.autograd.grad(L2, model.weights()),
                    strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-13)


def test_compiled_needs_a_jet_problem():
    with pytest.raises(ValueError, match="derivatives='compiled' needs an AbstractJetPDE"):
        _model(FisherKPP(), "compiled", embed=True)


@pytest.mark.slow
def test_compiled_models_agree_with_the_eager_jets():
    # one compile per case (about 10-40 s each on this 2-core CPU): BiLO with scalar unknowns
    # (residual and residual-gradient), and the PINN of a function unknown (the residual only,
    # with f_V's graph through the compiled function)
    x = torch.rand(13, 2, dtype=torch.float64)
    for pde, embed in ((FisherKPPJet(), True), (Darcy(), False)):
        compiled, eager = _model(pde, "compiled", embed=embed), _model(pde, "jet", embed=embed)
        assert compiled.compiled and not eager.compiled
        _agree(compiled, eager, x)

