"""GBM on an atlas slice: offline atlas, mesh quality, the forward model, the masks' loss, runs."""

import json
import math
import socket

import numpy as np
import pytest

pytest.importorskip("fem")  # loads MPI before dolfinx
pytest.importorskip("dolfinx")

import torch  # noqa: E402
from mpi4py import MPI  # noqa: E402

import fem  # noqa: E402
import hybrid  # noqa: E402
from comparisons import gbm  # noqa: E402
from fem.atlas import flip_near_edges, mni152_slice, tissue_images  # noqa: E402
from hybrid.likelihood import segmentation_loss  # noqa: E402
from inverse import SpaceTimeGrid  # noqa: E402

SMALL = dict(window_mm=40, steps=20, n_res=200)


def test_the_atlas_loads_without_network_access(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("network access")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    s = mni152_slice(20.0)
    assert s.wm.shape == s.gm.shape == (197, 233) and s.z_mm == 20.0
    # white matter at the default seed, nothing at the volume's corner
    i, j = s.voxel((25.0, 20.0))
    assert s.wm[i, j] > 0.9 and s.wm[0, 0] == s.gm[0, 0] == 0.0
    brain = (s.wm + s.gm) > 0.5
    # the template's axial section at z = 20 mm is about a 14 cm × 17 cm ellipse: π·70·85 mm² ≈ 187 cm²
    # of tissue and CSF, ≈ 178 cm² of it tissue (1 voxel = 1 mm²)
    assert 15_000 < brain.sum() < 21_000
    with pytest.raises(ValueError, match="leaves the atlas"):
        s.window((95.0, 20.0), 80)


def test_the_window_mesh_passes_the_cell_quality_check():
    problem = gbm.GBMProblem()
    md = problem.mesh(MPI.COMM_WORLD)
    quality = fem.check_cell_quality(md, min_quality=0.3)
    assert quality is not None
    images = problem.images
    assert images.shape == (4, 81, 81) and np.all(images[0] >= 0) and np.all(images[3] <= 1)


def test_the_tissue_gradient_is_the_derivative_of_the_diffusivity():
    w = mni152_slice(20.0).window((25.0, 20.0), 80)
    P, Px, _, _ = tissue_images(w, 0.1)
    # central differences in unit-square coordinates: 80 voxels per unit
    assert Px[40, 40] == pytest.approx((P[41, 40] - P[39, 40]) * 80 / 2)


def test_the_forward_model_stays_in_the_unit_interval_and_grows():
    problem = gbm.GBMProblem(**SMALL)
    disc = problem.discretise(MPI.COMM_WORLD)
    times = np.array([0.0, 0.5, 1.0])
    grid = SpaceTimeGrid(times=times, space=disc.x_u.space)
    u = problem.forward(disc, problem.theta_true(), grid).reshape(len(times), -1)
    # P1 Galerkin with a consistent mass matrix is not positivity preserving: at the foot of the
    # steep initial Gaussian (σ = 3 mm on 1 mm cells, 20 steps) it undershoots by < 1 % of the peak
    assert u.min() > -0.01 * u.max() and u.max() < 1.0
    mass = u @ disc.w_u
    # logistic growth and diffusion with no flux out: the total tumour burden grows
    assert mass[0] < mass[1] < mass[2] and mass[2] > 2 * mass[0]


def test_the_masks_loss_and_its_gradient_in_numpy_and_torch_agree():
    like = gbm.GBMProblem().likelihood()
    rng = np.random.default_rng(0)
    u = rng.uniform(0, 1, 50)
    masks = np.stack([u > 0.3, u > 0.6]).astype(float)
    labels = like.labels(masks)
    assert set(np.unique(labels)) <= {0.0, 1.0, 3.0} and np.array_equal(like.masks(labels), masks)
    th = np.array([0.35, 0.55])
    loss = like.loss(u, labels, th)
    positives = torch.tensor(masks.sum(axis=1))
    t = segmentation_loss(torch.tensor(u), torch.tensor(labels), torch.tensor(th), sharpness=20.0,
                          positives=positives)
    assert float(t) == pytest.approx(loss, rel=1e-12)
    g_u, g_th = like.loss_gradient(u, labels, th)
    h = 1e-6
    for k in range(2):
        e = np.zeros(2)
        e[k] = h
        fd = (like.loss(u, labels, th + e) - like.loss(u, labels, th - e)) / (2 * h)
        assert g_th[k] == pytest.approx(fd, rel=1e-6)
    e = np.zeros(50)
    e[7] = h
    assert g_u[7] == pytest.approx((like.loss(u + e, labels, th) - like.loss(u - e, labels, th)) / (2 * h),
                                   rel=1e-6)
    assert np.allclose(like.dice(u, labels, np.array([0.3, 0.6])), 1.0)
    with pytest.raises(ValueError, match="integers in"):
        like.masks(np.array([0.5]))


def test_label_noise_flips_only_edge_voxels():
    mask = np.zeros((20, 20), dtype=bool)
    mask[5:15, 5:15] = True
    noisy = flip_near_edges(mask, np.ones_like(mask), 1.0, np.random.default_rng(0))
    changed = noisy != mask
    assert changed.any() and not changed[8:12, 8:12].any() and not changed[:3].any()


def test_bilo_trains_the_thresholds_in_the_upper_level_only():
    problem = gbm.GBMProblem(**SMALL)
    disc = problem.discretise(MPI.COMM_SELF)
    x_dat = disc.x_dat.points()[::10]
    labels = np.tile([0.0, 1.0, 3.0], len(x_dat))[: len(x_dat)]
    res = hybrid.BiLO(hybrid.BiLOConfig.smoke()).fit(
        problem.pde, disc.x_res[:100], x_dat, labels, {"rD": 1.0, "rrho": 1.0}, progress=False,
        likelihood=problem.likelihood())
    assert set(res.theta) == {"rD", "rrho", "th1", "th2"}
    assert res.theta["th1"] != 0.25 and res.theta["th2"] != 0.5
    # not embedded: the network sees (rD, rrho) only
    assert res.model.theta is not None and res.model.theta.shape == (2,)
    rows = [h for h in res.history if h["phase"] == "finetune"]
    assert {"res", "rgrad", "data", "theta_th1", "theta_th2"} <= set(rows[-1])


def test_the_segmentation_adjoint_gradient_passes_a_taylor_test():
    import adjoint
    from inverse.adjoint_bridge import AdjointConfig, segmentation_functional

    problem = gbm.GBMProblem(window_mm=20, steps=8, width=0.1, height=0.6)
    disc = problem.discretise(MPI.COMM_WORLD)
    u = problem.forward(disc, problem.theta_true(), disc.x_dat, truth=True)
    _, labels = problem.observe(disc, u, 0.0, 0)
    rf = segmentation_functional(problem, disc, labels, cfg=AdjointConfig())
    root = MPI.COMM_WORLD.rank == 0
    m0 = np.array([1.2, 1.1, 0.28, 0.55] if root else [])
    dm = np.array([0.3, -0.2, 0.05, 0.04] if root else [])
    check = adjoint.taylor_check(rf.J, rf.derivative, m0, dm)
    assert check.check() is None, check


def test_smoke_run_under_two_ranks(mpirun, tmp_path):
    mpirun(2, ["-m", "comparisons.gbm", "--preset", "smoke", "--quiet", "--methods",
               "bilo,adjoint", "--out", str(tmp_path)], timeout=400)
    js = json.loads((tmp_path / "report.json").read_text())
    assert js["ranks"] == 2
    for label in ("bilo", "adjoint"):
        metrics = js["methods"][label]["metrics"]
        for name in ("dice[th1]", "dice[th2]", "seg_loss", "rel_err[th1]"):
            assert math.isfinite(metrics[name]["mean"]), (label, name)
    assert "dice_fem[th1]" in js["methods"]["bilo"]["metrics"]
    assert (tmp_path / "masks.png").stat().st_size > 0 and (tmp_path / "gbm.xdmf").exists()


def test_bad_flags_are_refused_in_one_line(capsys):
    for argv, words in ((["--noise", "1.5"], "fraction of edge voxels"),
                        (["--seed-mm", "-5,0"], "seed is not in brain tissue"),
                        (["--slice", "500"], "outside the atlas"),
                        (["--methods", "fno"], "fno cannot solve gbm")):
        with pytest.raises(SystemExit):
            gbm.main(["--preset", "smoke", *argv])
        err = capsys.readouterr().err
        assert "Traceback" not in err and words in err.strip().splitlines()[-1], (argv, err)


def test_a_failed_forward_solve_at_a_tao_trial_point_is_a_one_line_error():
    # 5 BDF2 steps of 0.2: at the line search's first trial (rρ ≈ 2.3) Newton diverges
    from hybrid.training import DivergenceError
    from inverse import AdjointConfig, make_data
    from inverse.methods.adjoint import Adjoint

    problem = gbm.GBMProblem(window_mm=20, steps=5, n_res=20)
    disc = problem.discretise(MPI.COMM_WORLD)
    data = make_data(problem, disc, noise=0.01, seed=0)
    with pytest.raises(DivergenceError, match=r"a trial point's forward solve failed") as info:
        Adjoint(config=AdjointConfig(max_iter=5)).solve(problem, data)
    assert "\n" not in str(info.value)
