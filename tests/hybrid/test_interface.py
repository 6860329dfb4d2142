import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from hybrid_problems import FisherKPP, VarPoisson, fk_data, fk_grid

import hybrid
from hybrid import PINN, BiLO, BiLOConfig, PINNConfig

THETA0 = {"rD": 1.0, "rrho": 1.0}


def test_import_hybrid_leaves_dolfinx_out():
    code = ("import sys, hybrid; "
            "print(json.dumps([m for m in ('dolfinx', 'petsc4py', 'fem', 'ufl') if m in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", "import json; " + code], capture_output=True, text=True,
                         check=True)
    assert json.loads(out.stdout) == []


def test_public_api_exports():
    for name in ("BiLO", "PINN", "AbstractPDE", "AbstractFunctionPDE", "FitResult", "DivergenceError",
                 "CheckpointConfig", "residual_gradient", "DataParallel"):
        assert hasattr(hybrid, name)


def test_paper_parameter_counts():
    pde = FisherKPP()
    res = BiLO(BiLOConfig(pretrain=hybrid.PretrainConfig(steps=0),
                          finetune=hybrid.BiLOFinetuneConfig(steps=0))).fit(
        pde, fk_grid(3, 3), fk_grid(2, 2), fk_data(fk_grid(2, 2)), THETA0, progress=False)
    n = sum(p.numel() for p in res.model.parameters())
    assert n == 33_795  # the authors' code: 33,793 weights + 2 scalars
    pinn = PINN(PINNConfig(pretrain=hybrid.PretrainConfig(steps=0),
                           finetune=hybrid.PINNFinetuneConfig(steps=0))).fit(
        pde, fk_grid(3, 3), fk_grid(2, 2), fk_data(fk_grid(2, 2)), THETA0, progress=False)
    assert sum(p.numel() for p in pinn.model.parameters()) == 33_539
    assert res.model.theta.dtype == torch.float32


def test_embedding_can_be_frozen_and_fourier_features_are_frozen():
    net = hybrid.LocalOperator(2, 2, hybrid.NetworkConfig(width=8, train_embedding=False, fourier=True))
    trainable = [n for n, p in net.named_parameters() if p.requires_grad]
    assert not any(n.startswith("embedding") for n in trainable)
    assert "features.A" in dict(net.named_buffers())
    assert net.input.in_features == 8
    y = net(torch.rand(5, 2), torch.ones(5, 2))
    assert y.shape == (5,)


def test_function_network_fourier_features_are_frozen_buffers():
    cfg = hybrid.FunctionNetworkConfig(width=8, fourier=True, fourier_sigma=2.0)
    net = hybrid.FunctionNetwork(2, cfg)
    assert "features.A" in dict(net.named_buffers())
    assert not any(n.startswith("features") for n, _ in net.named_parameters())
    assert net.mlp[0].in_features == 8 and net.features.sigma == 2.0
    x = torch.rand(5, 2)
    assert net(x).shape == (5,)
    # off by default: the plain MLP of x, as in the paper
    assert hybrid.FunctionNetwork(2, hybrid.FunctionNetworkConfig(width=8)).features is None


@pytest.mark.parametrize("method", [BiLO(BiLOConfig.smoke()), PINN(PINNConfig.smoke())])
def test_fit_returns_numpy_and_writes_history(method, tmp_path):
    pde = FisherKPP()
    xr, xd = fk_grid(5, 5), fk_grid(3, 3)
    res = method.fit(pde, xr, xd, fk_data(xd), THETA0, u_ref=fk_data(xr), progress=False, out_dir=tmp_path,
                     dtype="float64", device="cpu")
    assert set(res.theta) == {"rD", "rrho"}
    u = res.predict(xd)
    assert u.shape == (9,) and u.dtype == np.float64
    # The output transform imposes the initial condition exactly.
    np.testing.assert_allclose(res.predict(xr[:5]), 0.5 * np.sin(np.pi * xr[:5, 1]) ** 2, atol=1e-14)
    assert res.steps == 5 and res.s_per_step > 0 and res.wall_s > 0
    phases = [r["phase"] for r in res.history]
    assert phases == ["pretrain"] * 5 + ["finetune"] * 5
    assert {"res", "data", "theta_rD", "time"} <= set(res.history[-1])
    assert "ref" in res.history[0]
    assert (tmp_path / "history.csv").exists()
    assert len(json.loads((tmp_path / "history.json").read_text())) == 10
    assert res.predict(xd, theta={"rD": 2.0, "rrho": 2.0}).shape == (9,)


@pytest.mark.parametrize("bad, match", [
    (dict(x_res=np.zeros((4, 3))), r"x_res must have shape \(N, 2\)"),
    (dict(u_dat=np.zeros(3)), r"u_dat must have shape \(4,\)"),
    (dict(u_dat=np.array([0, np.nan, 0, 0])), "non-finite"),
    (dict(theta_init={"rD": 1.0, "rho": 1.0}), r"unknown \['rho'\], missing \['rrho'\]"),
    (dict(theta_init=np.ones(3)), "theta must have 2 entries"),
    (dict(u_ref=np.zeros(2)), r"u_ref must have shape \(9,\)"),
])
def test_fit_validates_inputs(bad, match):
    args = dict(x_res=fk_grid(3, 3), x_dat=fk_grid(2, 2), u_dat=np.zeros(4), theta_init=THETA0)
    args.update(bad)
    with pytest.raises(ValueError, match=match):
        BiLO(BiLOConfig.smoke()).fit(FisherKPP(), progress=False, **args)


def test_config_is_frozen_and_rejects_unknown_keys():
    with pytest.raises(TypeError):
        BiLOConfig(nonsense=1)
    with pytest.raises(AttributeError):
        BiLOConfig().log_every = 3  # type: ignore[misc]
    with pytest.raises(ValueError):
        hybrid.NetworkConfig(depth=1)


def test_function_unknown_fit_smoke(tmp_path):
    pde = VarPoisson()
    xr = np.linspace(0, 1, 11)[:, None]
    xd = np.linspace(0, 1, 6)[:, None]
    reg = hybrid.RegularizerConfig(kind="h1", weight=1e-3)
    cfg = BiLOConfig.smoke()
    cfg = BiLOConfig(network=cfg.network, function_network=cfg.function_network, pretrain=cfg.pretrain,
                     finetune=hybrid.BiLOFinetuneConfig(steps=3, regularizer=reg), log_every=1)
    res = BiLO(cfg).fit(pde, xr, xd, np.sin(np.pi * xd[:, 0]), np.ones(11), u_ref=np.sin(np.pi * xr[:, 0]),
                        progress=False)
    assert res.theta == {}
    f = res.function(xr)
    assert f.shape == (11,) and f[0] == pytest.approx(1.0) and f[-1] == pytest.approx(1.0)
    assert "func" in res.history[0] and "reg" in res.history[-1]
    pcfg = PINNConfig(network=cfg.network, function_network=cfg.function_network, pretrain=cfg.pretrain,
                      finetune=hybrid.PINNFinetuneConfig(steps=3, regularizer=hybrid.RegularizerConfig(
                          kind="tv", weight=1e-3)), log_every=1)
    pres = PINN(pcfg).fit(pde, xr, xd, np.sin(np.pi * xd[:, 0]), np.ones(11), progress=False)
    assert "reg" in pres.history[-1] and "func" in pres.history[0]
    with pytest.raises(ValueError, match="theta_init"):
        BiLO(cfg).fit(pde, xr, xd, np.zeros(6), np.ones(5), progress=False)


def test_progress_bar_runs_without_warnings(capsys):
    xr, xd = fk_grid(3, 3), fk_grid(2, 2)
    BiLO(BiLOConfig.smoke()).fit(FisherKPP(), xr, xd, fk_data(xd), THETA0, progress=True)


def test_darcy_function_fit_with_tv_and_fourier_features():
    from hybrid_problems import Darcy
    g = fk_grid(5, 5)
    cfg = BiLOConfig(network=hybrid.NetworkConfig(depth=3, width=8, fourier=True),
                     function_network=hybrid.FunctionNetworkConfig.smoke(),
                     pretrain=hybrid.PretrainConfig(steps=2),
                     finetune=hybrid.BiLOFinetuneConfig(
                         steps=2, regularizer=hybrid.RegularizerConfig(kind="tv", weight=1e-9)))
    res = BiLO(cfg).fit(Darcy(), g, g, np.zeros(25), np.full(25, 7.5), u_ref=np.zeros(25), progress=False)
    f = res.function(g)
    assert np.all((f > 3) & (f < 12))
    assert res.predict(g).shape == (25,)
