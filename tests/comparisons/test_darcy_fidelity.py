"""The Darcy gradient-fidelity diagnostic: both gradients it compares are checked by finite differences."""

import json
from dataclasses import replace

import numpy as np
import pytest

pytest.importorskip("fem")
torch = pytest.importorskip("torch")
darcy = pytest.importorskip("comparisons.darcy")
from mpi4py import MPI  # noqa: E402

import fem  # noqa: E402
from adjoint import ReducedFunctional  # noqa: E402
from comparisons import darcy_fidelity  # noqa: E402
from hybrid import BiLO  # noqa: E402


@pytest.fixture(scope="module")
def pretrained():
    comm = MPI.COMM_WORLD
    cfg = replace(darcy.DarcyConfig.preset("smoke"), cells=8)
    bilo = replace(cfg.bilo, pretrain=replace(cfg.bilo.pretrain, steps=20),
                   finetune=replace(cfg.bilo.finetune, steps=0))
    setup = darcy.make_setup(cfg, None, None, 4, comm)
    res = BiLO(bilo).fit(darcy.DarcyPDE(), x_res=setup.x_res, x_dat=setup.x_nodes, u_dat=setup.u_true,
                         theta_init=setup.a_init(setup.x_res), u_ref=setup.u_init, x_ref=setup.x_nodes,
                         device="cpu", dtype="float64", progress=False)
    return setup, res.model, comm


def _losses(setup, model):
    """(FEM data loss at I_h f_V, the network's own data loss)."""
    B = fem.PointEvaluator(setup.V, setup.x_nodes).matrix()
    rf = ReducedFunctional(setup.md.mesh, observation=B, data=setup.u_true, coefficient_space="P1",
                           source=1.0)
    with torch.no_grad():
        m = model.function(torch.as_tensor(fem.dof_coordinates(rf.Q))).numpy()
        x = torch.as_tensor(setup.x_nodes)
        l_nn = float((model.u(x, model.expand(x)) - torch.as_tensor(setup.u_true)).square().mean())
    return 2.0 * rf.misfit(m) / len(setup.x_nodes), l_nn


def test_both_gradients_match_finite_differences_in_V(pretrained):
    setup, model, comm = pretrained
    g = darcy_fidelity.gradients(model, setup, setup.u_true, comm)
    g_bilo, g_exact, density, L = g.bilo_V, g.exact_V, g.exact_density, g.loss_fem
    V = model.unknowns()
    rng = np.random.default_rng(1)
    dirs = [torch.as_tensor(rng.standard_normal(p.shape)) for p in V]
    d = torch.cat([t.reshape(-1) for t in dirs]).numpy()
    base = _losses(setup, model)
    assert L == pytest.approx(base[0], rel=1e-12)
    eps = 1e-5
    with torch.no_grad():
        for p, t in zip(V, dirs, strict=True):
            p.add_(eps * t)
    plus = _losses(setup, model)
    with torch.no_grad():
        for p, t in zip(V, dirs, strict=True):
            p.sub_(2 * eps * t)
    minus = _losses(setup, model)
    with torch.no_grad():
        for p, t in zip(V, dirs, strict=True):
            p.add_(eps * t)
    fd_fem = (plus[0] - minus[0]) / (2 * eps)
    fd_nn = (plus[1] - minus[1]) / (2 * eps)
    # central differences in float64: O(eps²) truncation, far below 1e-6 relative
    assert g_exact @ d == pytest.approx(fd_fem, rel=1e-6)
    assert g_bilo @ d == pytest.approx(fd_nn, rel=1e-6)
    assert density.shape == (len(setup.x_nodes),) and np.all(np.isfinite(density))
    assert g.bilo_z.shape == (len(setup.x_nodes),)


def test_cli_reports_agreement_metrics(tmp_path):
    out = darcy_fidelity.main(["--preset", "smoke", "--cells", "6", "--pretrain", "5", "--quiet",
                               "--out", str(tmp_path)])
    for key in ("cos_V", "rel_err_V", "cos_function", "norm_ratio_V"):
        assert np.isfinite(out[key]) and (key not in ("cos_V", "cos_function") or abs(out[key]) <= 1 + 1e-12)
    assert (tmp_path / "fidelity.json").exists()


@pytest.mark.mpi
def test_two_ranks_give_the_serial_gradients(mpirun, tmp_path):
    args = ["--preset", "smoke", "--cells", "6", "--pretrain", "5", "--quiet"]
    serial = darcy_fidelity.main(args)
    mpirun(2, ["-m", "comparisons.darcy_fidelity", *args, "--out", str(tmp_path)], timeout=300)
    par = json.loads((tmp_path / "fidelity.json").read_text())
    assert par["ranks"] == 2
    for key in ("cos_V", "norm_ratio_V", "cos_function", "data_loss_fem", "data_loss_bilo"):
        # data-parallel pre-training equals the serial one up to summation order
        assert par[key] == pytest.approx(serial[key], rel=1e-6), key
