"""Checkpoints and resume, divergence, the gradient-fidelity hook, seeds."""

from dataclasses import dataclass, field

import numpy as np
import pytest
import torch
from hybrid_problems import FisherKPP, VarPoisson, fk_data, fk_grid

import hybrid
from hybrid import PINN, BiLO, BiLOConfig, CheckpointConfig, PINNConfig

THETA0 = {"rD": 1.0, "rrho": 1.0}
XR, XD = fk_grid(4, 4), fk_grid(3, 3)


def _bilo_cfg(pre=4, fine=6, **fine_kw):
    return BiLOConfig(network=hybrid.NetworkConfig(depth=3, width=8),
                      pretrain=hybrid.PretrainConfig(steps=pre),
                      finetune=hybrid.BiLOFinetuneConfig(steps=fine, **fine_kw), log_every=1)


def _fit(method, **kw):
    return method.fit(FisherKPP(), XR, XD, fk_data(XD), THETA0, u_ref=fk_data(XR), progress=False,
                      dtype="float64", **kw)


class _Stop(Exception):
    pass


def _stop_at(phase, step):
    def cb(row):
        if row["phase"] == phase and row["step"] == step:
            raise _Stop
    return cb


def _state(res):
    return [t.detach().clone() for t in res.model.state_dict().values()]


def _strip(history):
    return [{k: v for k, v in r.items() if k != "time"} for r in history]


@pytest.mark.parametrize("make, stop", [
    (lambda: BiLO(_bilo_cfg()), ("finetune", 3)),
    (lambda: BiLO(_bilo_cfg()), ("pretrain", 3)),
    (lambda: PINN(PINNConfig(network=hybrid.NetworkConfig(depth=3, width=8),
                             pretrain=hybrid.PretrainConfig(steps=4),
                             finetune=hybrid.PINNFinetuneConfig(steps=6), log_every=1)), ("finetune", 3)),
])
def test_resume_from_checkpoint_equals_uninterrupted_run(tmp_path, make, stop):
    full = _fit(make())
    ck = CheckpointConfig(dir=tmp_path / "ck", every=2, resume=True)
    with pytest.raises(_Stop):
        _fit(make(), checkpoint=ck, callback=_stop_at(*stop))
    assert (tmp_path / "ck" / "checkpoint.pt").exists()
    resumed = _fit(make(), checkpoint=ck)
    for a, b in zip(_state(full), _state(resumed), strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-14)
    assert _strip(resumed.history) == _strip(full.history)
    assert resumed.steps == 6


@dataclass(frozen=True, kw_only=True)
class _NaNAfter(FisherKPP):
    calls: list = field(default_factory=list)
    after: int = 5

    def residual(self, x, u, theta):
        self.calls.append(1)
        r = super().residual(x, u, theta)
        return r * float("nan") if len(self.calls) > self.after else r


def test_non_finite_loss_stops_with_clear_error_and_keeps_checkpoint(tmp_path):
    ck = CheckpointConfig(dir=tmp_path, every=2)
    with pytest.raises(hybrid.DivergenceError, match=r"finetune step 2: non-finite res loss = nan"):
        BiLO(_bilo_cfg()).fit(_NaNAfter(after=5), XR, XD, fk_data(XD), THETA0, progress=False,
                              checkpoint=ck)
    state = hybrid.load_checkpoint(tmp_path)
    assert state["phase"] == "pretrain" and state["step"] == 4
    assert all(torch.isfinite(t).all() for t in state["model"].values())


def test_fidelity_hook_records_cosine_and_relative_error():
    seen = []

    def exact(theta):
        seen.append(theta.copy())
        return np.array([1.0, -2.0])

    res = _fit(BiLO(_bilo_cfg(pre=0, fine=4, fidelity_every=2)), exact_data_gradient=exact)
    rows = [r for r in res.history if "fidelity_cos" in r]
    assert [r["step"] for r in rows] == [2, 4] and len(seen) == 2
    before = {r["step"]: r for r in res.history}
    np.testing.assert_allclose(seen[1], [before[3]["theta_rD"], before[3]["theta_rrho"]])
    for r in rows:
        cos, rel = hybrid.gradient_agreement(np.array([r["grad_rD"], r["grad_rrho"]]), np.array([1.0, -2.0]))
        assert r["fidelity_cos"] == pytest.approx(cos) and r["fidelity_rel"] == pytest.approx(rel)


def test_fidelity_against_exact_gradient_of_the_same_functional(monkeypatch):
    # With exact_data_gradient = the gradient of BiLO's own data MSE (by central differences on
    # u(x, θ) of the network at frozen W), the recorded agreement is perfect.
    holder = {}

    def exact(theta):
        model = holder["model"]
        xd = torch.as_tensor(XD)
        ud = torch.as_tensor(fk_data(XD))
        g = []
        for p in range(2):
            e = np.zeros(2)
            e[p] = 1e-6
            f = [((model.predict(xd, torch.as_tensor(theta + s * e)) - ud) ** 2).mean().item()
                 for s in (1, -1)]
            g.append((f[0] - f[1]) / 2e-6)
        return np.array(g)

    import hybrid.training as tr
    orig = tr.Run.__init__

    def spy(self, *a, **k):
        orig(self, *a, **k)
        holder["model"] = self.model

    monkeypatch.setattr(tr.Run, "__init__", spy)
    res = _fit(BiLO(_bilo_cfg(pre=2, fine=2, fidelity_every=1)), exact_data_gradient=exact)
    rows = [r for r in res.history if "fidelity_cos" in r]
    assert len(rows) == 2
    for r in rows:
        assert r["fidelity_cos"] == pytest.approx(1.0, abs=1e-9)
        assert r["fidelity_rel"] < 1e-6


def test_seed_determines_the_run():
    a = _fit(BiLO(_bilo_cfg(pre=1, fine=2)), seed=5)
    b = _fit(BiLO(_bilo_cfg(pre=1, fine=2)), seed=5)
    c = _fit(BiLO(_bilo_cfg(pre=1, fine=2)), seed=6)
    assert a.theta == b.theta and a.theta != c.theta


@pytest.fixture
def one_thread():
    # Many small ops: with several threads on a loaded 2-core machine, OpenMP barriers made this
    # test 40x slower (727 s instead of 17 s); one thread is also the fastest here when idle.
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.mark.slow
def test_bilo_recovers_fisher_kpp_parameters(one_thread):
    from hybrid_problems import FisherKPPJet, fk_reference
    xr, xd = fk_grid(16, 16), fk_grid(11, 11)
    cfg = BiLOConfig(network=hybrid.NetworkConfig(width=64), pretrain=hybrid.PretrainConfig(steps=1000),
                     finetune=hybrid.BiLOFinetuneConfig(steps=2500), log_every=500)
    res = BiLO(cfg).fit(FisherKPPJet(), xr, xd, fk_reference(2, 2, xd), THETA0, u_ref=fk_reference(1, 1, xr),
                        progress=False)
    assert abs(res.theta["rD"] - 2) < 0.1 and abs(res.theta["rrho"] - 2) < 0.03


def test_finetune_from_a_pretrained_fit_skips_pretraining(tmp_path):
    pre = _fit(BiLO(_bilo_cfg(pre=4, fine=0)))
    assert pre.pretrain_steps == 4 and pre.steps == 0
    full = _fit(BiLO(_bilo_cfg(pre=4, fine=3)))
    again = _fit(BiLO(_bilo_cfg(pre=4, fine=3)), pretrained=pre)
    assert again.pretrain_steps == 0 and again.steps == 3
    assert [r["phase"] for r in again.history] == ["finetune"] * 3
    # Same weights after pre-training, fresh optimisers in both: the same fine-tuning.
    for a, b in zip(_state(full), _state(again), strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-14)
    # Resuming a fine-tuning that started from a pretrained fit does not pre-train again.
    ck = CheckpointConfig(dir=tmp_path, every=1, resume=True)
    with pytest.raises(_Stop):
        _fit(BiLO(_bilo_cfg(pre=4, fine=3)), pretrained=pre, checkpoint=ck, callback=_stop_at("finetune", 2))
    resumed = _fit(BiLO(_bilo_cfg(pre=4, fine=3)), checkpoint=ck)
    assert [r["phase"] for r in resumed.history] == ["finetune"] * 3
    for a, b in zip(_state(full), _state(resumed), strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-14)
    with pytest.raises(ValueError, match="pretrained does not match"):
        _fit(PINN(PINNConfig.smoke()), pretrained=pre)


def test_function_fidelity_compares_data_gradients_in_V():
    # Start fine-tuning from a finished pre-training: the check at step 1 happens before the
    # update, so both gradients can be recomputed from the pre-trained model here.
    pde = VarPoisson()
    xr = np.linspace(0, 1, 11)[:, None]
    xd = np.linspace(0, 1, 6)[:, None]
    ud = np.sin(np.pi * xd[:, 0]) * 1.1
    reg = hybrid.RegularizerConfig(kind="h1", weight=1e-2)
    base = BiLOConfig.smoke()

    def cfg(fine):
        return BiLOConfig(network=base.network, function_network=base.function_network,
                          pretrain=hybrid.PretrainConfig(steps=3), log_every=1,
                          finetune=hybrid.BiLOFinetuneConfig(steps=fine, regularizer=reg, fidelity_every=1))

    common = dict(u_ref=np.sin(np.pi * xr[:, 0]), progress=False, dtype="float64")
    pre = BiLO(cfg(0)).fit(pde, xr, xd, ud, np.ones(11), **common)
    xg = np.linspace(0.05, 0.95, 7)[:, None]
    exact = hybrid.FunctionGradient(x=xg, derivative=lambda f: f - 1.5)
    res = BiLO(cfg(1)).fit(pde, xr, xd, ud, np.ones(11), pretrained=pre, exact_data_gradient=exact, **common)
    row = [r for r in res.history if "fidelity_cos" in r]
    assert [r["step"] for r in row] == [1]

    model = pre.model
    V = model.unknowns()
    x = torch.as_tensor(xg, dtype=torch.float64)
    f = model.function(x)
    g_exact = torch.autograd.grad(f, V, grad_outputs=f.detach() - 1.5)
    xdt = torch.as_tensor(xd, dtype=torch.float64)
    data = (model.u(xdt, model.expand(xdt)) - torch.as_tensor(ud)).square().mean()
    g_data = torch.autograd.grad(data, V)      # the data part only: the regulariser is left out

    def flat(gs):
        return torch.cat([g.reshape(-1) for g in gs]).detach().numpy()

    cos, rel = hybrid.gradient_agreement(flat(g_data), flat(g_exact))
    assert row[0]["fidelity_cos"] == pytest.approx(cos, rel=1e-10)
    assert row[0]["fidelity_rel"] == pytest.approx(rel, rel=1e-10)
    ratio = np.linalg.norm(flat(g_data)) / np.linalg.norm(flat(g_exact))
    assert row[0]["fidelity_norm_ratio"] == pytest.approx(ratio, rel=1e-10)


def test_fidelity_kind_must_match_the_unknown():
    xr = np.linspace(0, 1, 5)[:, None]
    with pytest.raises(ValueError, match="FunctionGradient"):
        BiLO(BiLOConfig.smoke()).fit(VarPoisson(), xr, xr, np.zeros(5), np.ones(5), progress=False,
                                     exact_data_gradient=lambda t: t)
    with pytest.raises(ValueError, match="FunctionGradient"):
        _fit(BiLO(_bilo_cfg(pre=0, fine=1)),
             exact_data_gradient=hybrid.FunctionGradient(x=XR, derivative=lambda f: f))


def test_lower_steps_give_w_extra_steps_and_theta_one(monkeypatch):
    # lower_steps = 3: per iteration two updates of W alone, then the simultaneous one
    calls = []
    original = hybrid.training.Run.update

    def spy(self, groups, losses, *, phase, step):
        calls.append((phase, len(groups)))
        return original(self, groups, losses, phase=phase, step=step)

    monkeypatch.setattr(hybrid.training.Run, "update", spy)
    res = _fit(BiLO(_bilo_cfg(pre=2, fine=4, lower_steps=3)))
    fine = [n for phase, n in calls if phase == "finetune"]
    assert fine == [1, 1, 2] * 4
    assert len([r for r in res.history if r["phase"] == "finetune"]) == 4
    with pytest.raises(ValueError, match="lower_steps"):
        hybrid.BiLOFinetuneConfig(lower_steps=0)


def test_theta_learning_rate_follows_the_cosine_schedule(monkeypatch):
    # the optimiser of θ steps with lr_theta at the first step and lr_theta_final at the last
    cfg = hybrid.BiLOFinetuneConfig(steps=5, lr_theta=1e-2, lr_theta_final=1e-4)
    lrs = [cfg.theta_lr(k) for k in range(1, 6)]
    assert lrs[0] == pytest.approx(1e-2) and lrs[-1] == pytest.approx(1e-4)
    assert lrs[2] == pytest.approx(0.5 * (1e-2 + 1e-4))
    assert all(a > b for a, b in zip(lrs[:-1], lrs[1:], strict=True))
    assert hybrid.BiLOFinetuneConfig(steps=5, lr_theta=1e-2).theta_lr(3) == 1e-2
    seen = []
    original = hybrid.training.Run.update

    def spy(self, groups, losses, *, phase, step):
        if phase == "finetune":
            seen.append(groups[-1][2].param_groups[0]["lr"])
        return original(self, groups, losses, phase=phase, step=step)

    monkeypatch.setattr(hybrid.training.Run, "update", spy)
    _fit(BiLO(_bilo_cfg(pre=1, fine=5, lr_theta=1e-2, lr_theta_final=1e-4)))
    assert seen == pytest.approx(lrs)
    with pytest.raises(ValueError, match="lr_theta_final"):
        hybrid.BiLOFinetuneConfig(lr_theta=1e-3, lr_theta_final=1e-2)
