"""Residual-gradient against finite differences, losses on exact functions, gradient routing."""

import numpy as np
import pytest
import torch
from hybrid_problems import FisherKPP, VarPoisson, fk_data, fk_grid

import hybrid
from hybrid import PINN, BiLO, BiLOConfig, HybridModel, PINNConfig

SMALL = hybrid.NetworkConfig(depth=3, width=10)


def _fk_model():
    torch.manual_seed(1)
    return HybridModel(FisherKPP(), torch.tensor([1.3, 0.7]), embed=True, network=SMALL,
                       function_network=hybrid.FunctionNetworkConfig.smoke()).double()


def _residual_at(model, x, theta_pt):
    xg = x.clone().requires_grad_(True)
    return model.pde.residual(xg, model.u(xg, theta_pt), theta_pt).detach()


@pytest.mark.parametrize("p", [0, 1])
def test_fk_residual_gradient_matches_central_differences(p):
    model = _fk_model()
    x = torch.rand(7, 2, dtype=torch.float64)
    r, g = model.residual(x, with_gradient=True)
    assert g.shape == (7, 2)
    theta = model.theta.detach().expand(7, 2).clone()
    h = 1e-5
    # Perturbing θ_p uniformly moves every r_i by dr_i/dθ_p (the network is point-wise) ...
    e = torch.zeros_like(theta)
    e[:, p] = h
    fd = (_residual_at(model, x, theta + e) - _residual_at(model, x, theta - e)) / (2 * h)
    np.testing.assert_allclose(g[:, p].detach(), fd, rtol=1e-6, atol=1e-8)
    # ... and perturbing it at one point moves only that point's residual.
    e = torch.zeros_like(theta)
    e[3, p] = h
    fd = (_residual_at(model, x, theta + e) - _residual_at(model, x, theta - e)) / (2 * h)
    np.testing.assert_allclose(fd[[0, 1, 2, 4, 5, 6]], 0.0, atol=1e-9)
    np.testing.assert_allclose(g[3, p].item(), fd[3].item(), rtol=1e-6)
    # The loss is the mean over points of the sum over parameters.
    xg = x.clone().requires_grad_(True)
    th = model.expand(xg)
    r2 = model.pde.residual(xg, model.u(xg, th), th)
    L = hybrid.residual_gradient_loss(r2, th)
    assert L.item() == pytest.approx((g ** 2).sum(1).mean().item(), rel=1e-12)


def test_function_residual_gradient_wrt_z_matches_central_differences():
    torch.manual_seed(2)
    model = HybridModel(VarPoisson(), None, embed=True, network=SMALL,
                        function_network=hybrid.FunctionNetworkConfig.smoke()).double()
    x = torch.rand(6, 1, dtype=torch.float64)
    r, g = model.residual(x, with_gradient=True)
    assert g.shape == (6, 1)

    def r_shift(i, h):
        # z + constant at point i: moves z_i but not z_x (∂z/∂x is treated as fixed, spec §1.3).
        xg = x.clone().requires_grad_(True)
        z = model.expand(xg)
        dz = torch.zeros_like(z)
        dz[i, 0] = h
        zp = z + dz
        return model.pde.residual(xg, model.u(xg, zp), zp).detach()

    h = 1e-5
    for i in (0, 4):
        fd = (r_shift(i, h) - r_shift(i, -h)) / (2 * h)
        assert g[i, 0].item() == pytest.approx(fd[i].item(), rel=1e-6, abs=1e-9)
        np.testing.assert_allclose(np.delete(fd.numpy(), i), 0.0, atol=1e-8)


def test_regularizers_and_data_loss_on_exact_functions():
    x = torch.rand(9, 2, dtype=torch.float64, requires_grad=True)
    f = 3 * x[:, 0] - 4 * x[:, 1]
    assert hybrid.h1_regularizer(f, x).item() == pytest.approx(25.0)
    assert hybrid.tv_regularizer(f, x).item() == pytest.approx(7.0)
    u = torch.tensor([1.0, 2.0, 3.0])
    assert hybrid.data_loss(u, torch.zeros(3)).item() == pytest.approx(14 / 3)
    assert hybrid.data_loss(u, torch.zeros(3), count=7).item() == pytest.approx(2.0)
    assert hybrid.residual_loss(u).item() == pytest.approx(14 / 3)


def _adam1(g):
    return g / (g.abs() + 1e-8)


def _one_step(method, cfg):
    pde = FisherKPP()
    xr, xd = fk_grid(4, 4), fk_grid(3, 3)
    res = method(cfg).fit(pde, xr, xd, fk_data(xd), {"rD": 1.0, "rrho": 1.0}, progress=False,
                          dtype="float64", seed=3)
    torch.manual_seed(3)
    ref = HybridModel(pde, torch.ones(2, dtype=torch.float64), embed=method is BiLO, network=cfg.network,
                      function_network=cfg.function_network).double()
    return res, ref, torch.as_tensor(xr), torch.as_tensor(xd), torch.as_tensor(fk_data(xd))


def test_bilo_lower_step_moves_only_W_upper_step_only_theta():
    cfg = BiLOConfig(network=SMALL, pretrain=hybrid.PretrainConfig(steps=0),
                     finetune=hybrid.BiLOFinetuneConfig(steps=1, lr_W=1e-3, lr_theta=1e-2, w_rgrad=0.1))
    res, ref, xr, xd, ud = _one_step(BiLO, cfg)
    W = ref.weights()
    r, g = ref.residual(xr, with_gradient=True)
    lower = (r ** 2).mean() + 0.1 * (g ** 2).sum(1).mean()
    g_W = torch.autograd.grad(lower, W)
    rr, gg = ref.residual(xr, with_gradient=True)
    g_W_from_lower_theta = torch.autograd.grad((rr ** 2).mean() + 0.1 * (gg ** 2).sum(1).mean(), ref.theta)[0]
    data = ((ref.u(xd, ref.expand(xd)) - ud) ** 2).mean()
    g_theta = torch.autograd.grad(data, ref.theta)[0]
    # Each group's .grad is the gradient of its own loss only.
    np.testing.assert_allclose(res.model.theta.grad, g_theta, rtol=1e-12)
    assert not torch.allclose(g_theta, g_theta + g_W_from_lower_theta)  # the lower loss does depend on θ
    for p, gw in zip(res.model.weights(), g_W, strict=True):
        np.testing.assert_allclose(p.grad, gw, rtol=1e-12, atol=1e-300)
    # Adam's first step is lr·g/(|g| + eps): θ moved by lr_θ along -sign(∂L_dat/∂θ), W by lr_W.
    np.testing.assert_allclose(res.model.theta.detach(), 1.0 - 1e-2 * _adam1(g_theta), atol=1e-13)
    for p, p0, gw in zip(res.model.weights(), W, g_W, strict=True):
        np.testing.assert_allclose((p - p0).detach(), -1e-3 * _adam1(gw), atol=1e-13)


def test_bilo_pretraining_keeps_theta_frozen():
    cfg = BiLOConfig(network=SMALL, pretrain=hybrid.PretrainConfig(steps=3),
                     finetune=hybrid.BiLOFinetuneConfig(steps=0))
    res, *_ = _one_step(BiLO, cfg)
    assert res.theta == {"rD": 1.0, "rrho": 1.0}


def test_pinn_step_trains_theta_and_W_on_one_loss():
    cfg = PINNConfig(network=SMALL, pretrain=hybrid.PretrainConfig(steps=0),
                     finetune=hybrid.PINNFinetuneConfig(steps=1, w_dat=10.0, lr_W=1e-3, lr_theta=1e-2))
    res, ref, xr, xd, ud = _one_step(PINN, cfg)
    assert res.model.net.n_params == 0
    r, _ = ref.residual(xr, with_gradient=False)
    loss = (r ** 2).mean() + 10.0 * ((ref.u(xd, ref.expand(xd)) - ud) ** 2).mean()
    grads = torch.autograd.grad(loss, ref.weights() + [ref.theta])
    np.testing.assert_allclose(res.model.theta.grad, grads[-1], rtol=1e-12)
    np.testing.assert_allclose(res.model.theta.detach(), 1.0 - 1e-2 * _adam1(grads[-1]), atol=1e-13)


def test_gradient_agreement():
    cos, rel = hybrid.gradient_agreement(np.array([1.0, 0.0]), np.array([2.0, 0.0]))
    assert cos == pytest.approx(1.0) and rel == pytest.approx(0.5)
    with pytest.raises(ValueError, match="shape"):
        hybrid.gradient_agreement(np.ones(2), np.ones(3))


def test_darcy_2d_residual_gradient_with_fourier_features():
    from hybrid_problems import Darcy
    torch.manual_seed(5)
    model = HybridModel(Darcy(), None, embed=True,
                        network=hybrid.NetworkConfig(depth=3, width=10, fourier=True),
                        function_network=hybrid.FunctionNetworkConfig.smoke()).double()
    x = torch.rand(5, 2, dtype=torch.float64)
    _, g = model.residual(x, with_gradient=True)

    def r_shift(h):
        xg = x.clone().requires_grad_(True)
        z = model.expand(xg)
        dz = torch.zeros_like(z)
        dz[2, 0] = h
        return model.pde.residual(xg, model.u(xg, z + dz), z + dz).detach()

    fd = (r_shift(1e-5) - r_shift(-1e-5)) / 2e-5
    assert g[2, 0].item() == pytest.approx(fd[2].item(), rel=1e-6, abs=1e-9)


def test_lower_update_alone_leaves_theta_and_upper_update_alone_leaves_W():
    from hybrid.objectives import fit_term, residual_terms
    from hybrid.training import Run, adam
    xr, xd = fk_grid(4, 4), fk_grid(3, 3)
    run = Run(FisherKPP(), xr, xd, fk_data(xd), {"rD": 1.0, "rrho": 1.0}, None, None, embed=True,
              network=SMALL, function_network=hybrid.FunctionNetworkConfig.smoke(), log_every=1,
              derivatives="auto", device="cpu", dtype="float64", seed=0, progress=False, callback=None,
              checkpoint=None, out_dir=None, comm=None)
    m, d = run.model, run.data
    opt_W = adam([{"params": m.weights(), "lr": 1e-2}], amsgrad=False)
    opt_T = adam([{"params": m.unknowns(), "lr": 1e-2}], amsgrad=False)

    def snapshot():
        return [p.detach().clone() for p in m.weights()], m.theta.detach().clone()

    W0, T0 = snapshot()
    losses = residual_terms(m, d.x_res, run.n_res, with_rgrad=True)
    run.update([(m.weights(), losses["res"] + 0.1 * losses["rgrad"], opt_W)], losses, phase="t", step=1)
    W1, T1 = snapshot()
    assert torch.equal(T1, T0) and m.theta.grad is None
    assert all(not torch.equal(a, b) for a, b in zip(W0, W1, strict=True))
    losses = {"data": fit_term(m, d.x_dat, d.u_dat, run.n_dat)}
    grads_before = [p.grad.clone() for p in m.weights()]
    run.update([(m.unknowns(), losses["data"], opt_T)], losses, phase="t", step=2)
    W2, T2 = snapshot()
    assert all(torch.equal(a, b) for a, b in zip(W1, W2, strict=True))
    assert all(torch.equal(p.grad, g) for p, g in zip(m.weights(), grads_before, strict=True))
    assert not torch.equal(T2, T1) and m.theta.grad is not None
