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
from inverse import BiLO, RunOptions, make_data  # noqa: E402


@pytest.fixture(scope="module")
def pretrained():
    comm = MPI.COMM_WORLD
    study = darcy.PRESETS["smoke"][0]()
    problem = replace(study.problem, cells=8)
    bilo = study.configs["bilo"]
    bilo = replace(
        bilo,
        pretrain=replace(bilo.pretrain, steps=20),
        finetune=replace(bilo.finetune, steps=0, fidelity_every=0),
    )
    disc = problem.discretise(comm)
    data = make_data(problem, disc, noise=0.0, seed=0)
    res = BiLO(config=bilo).solve(problem, data, RunOptions(device="cpu", dtype="float64"))
    return problem, disc, data.u_obs, res.trained.model


def _losses(disc, u_true, model):
    """(FEM data loss at I_h f_V, the network's own data loss)."""
    V = disc.extra["V"]
    x_nodes = np.asarray(disc.x_dat)
    B = fem.PointEvaluator(V, x_nodes).matrix()
    rf = ReducedFunctional(disc.mesh.mesh, observation=B, data=u_true, coefficient_space="P1", source=1.0)
    with torch.no_grad():
        m = model.function(torch.as_tensor(fem.dof_coordinates(rf.Q))).numpy()
        x = torch.as_tensor(x_nodes)
        l_nn = float((model.u(x, model.expand(x)) - torch.as_tensor(u_true)).square().mean())
    return 2.0 * rf.misfit(m) / len(x_nodes), l_nn


def test_both_gradients_match_finite_differences_in_V(pretrained):
    problem, disc, u_true, model = pretrained
    g = darcy_fidelity.gradients(model, problem, disc, u_true)
    g_bilo, g_exact, density, L = g.bilo_V, g.exact_V, g.exact_density, g.loss_fem
    V = model.unknowns()
    rng = np.random.default_rng(1)
    dirs = [torch.as_tensor(rng.standard_normal(p.shape)) for p in V]
    d = torch.cat([t.reshape(-1) for t in dirs]).numpy()
    base = _losses(disc, u_true, model)
    assert L == pytest.approx(base[0], rel=1e-12)
    eps = 1e-5
    with torch.no_grad():
        for p, t in zip(V, dirs, strict=True):
            p.add_(eps * t)
    plus = _losses(disc, u_true, model)
    with torch.no_grad():
        for p, t in zip(V, dirs, strict=True):
            p.sub_(2 * eps * t)
    minus = _losses(disc, u_true, model)
    with torch.no_grad():
        for p, t in zip(V, dirs, strict=True):
            p.add_(eps * t)
    fd_fem = (plus[0] - minus[0]) / (2 * eps)
    fd_nn = (plus[1] - minus[1]) / (2 * eps)
    # central differences in float64: O(eps²) truncation, far below 1e-6 relative
    assert g_exact @ d == pytest.approx(fd_fem, rel=1e-6)
    assert g_bilo @ d == pytest.approx(fd_nn, rel=1e-6)
    assert density.shape == (len(disc.x_dat),) and np.all(np.isfinite(density))
    assert g.bilo_z.shape == (len(disc.x_dat),)


def test_cli_reports_agreement_metrics(tmp_path):
    out = darcy_fidelity.main(
        ["--preset", "smoke", "--cells", "6", "--pretrain", "5", "--quiet", "--out", str(tmp_path)]
    )
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
