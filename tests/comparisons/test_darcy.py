import json
from types import SimpleNamespace

import numpy as np
import pytest

pytest.importorskip("fem")
darcy = pytest.importorskip("comparisons.darcy")
from mpi4py import MPI  # noqa: E402

from inverse.runner import estimate_metrics  # noqa: E402

MESH = "comparisons/meshes/example_domain.msh"


def _check_report(path, ranks):
    js = json.loads((path / "report.json").read_text())
    assert js["ranks"] == ranks
    init = js["baseline_rows"]["initial guess"]
    for label, m in js["methods"].items():
        metrics = {k: v["mean"] for k, v in m["metrics"].items()}
        assert all(np.isfinite(v) for v in metrics.values()), (label, metrics)
        # better than the initial guess it started from (the smoke FNO: 60 steps, trained only)
        assert label.startswith("fno") or metrics["field_rel_l2"] < init["field_rel_l2"], label
        for sums in m["extra"].get("rank_weight_checksums", []):
            assert len(sums) == ranks and max(sums) == min(sums), (label, sums)
    return js


@pytest.mark.slow
@pytest.mark.mpi
def test_smoke_comparison_under_mpi_unit_square(mpirun, tmp_path):
    mpirun(
        2, ["-m", "comparisons.darcy", "--preset", "smoke", "--out", str(tmp_path), "--quiet",
            "--methods", "bilo,pinn(w_dat=100),adjoint,adjoint_nn,fno(cache=)"], timeout=600
    )
    js = _check_report(tmp_path, 2)
    assert set(js["methods"]) == {"bilo", "pinn(w_dat=100)", "adjoint", "adjoint_nn", "fno(cache=)"}
    # the FNO's three costs, and a data set of the truth's law generated over both ranks
    fno = {k: v["mean"] for k, v in js["methods"]["fno(cache=)"]["metrics"].items()}
    assert fno["n_samples"] == 40 and fno["t_generate_s"] > 0 and fno["t_train_s"] > 0
    # BiLO's gradient is compared with the adjoint's during fine-tuning
    assert -1.0 <= js["methods"]["bilo"]["metrics"]["grad_cos"]["mean"] <= 1.0
    for name in ("darcy_fields.png", "darcy.xdmf", "a_bilo.bp"):
        assert (tmp_path / name).exists()


@pytest.mark.slow
@pytest.mark.mpi
def test_smoke_comparison_under_mpi_on_the_example_domain(mpirun, tmp_path):
    mpirun(
        2,
        [
            "-m",
            "comparisons.darcy",
            "--preset",
            "smoke",
            "--mesh",
            MESH,
            "--methods",
            "bilo,adjoint",
            "--out",
            str(tmp_path),
            "--quiet",
        ],
        timeout=600,
    )
    js = _check_report(tmp_path, 2)
    assert js["config"]["problem"]["mesh_path"] == MESH


def test_metric_definitions_on_analytic_fields():
    # quadrature points of the unit square on a fine grid (midpoint rule), truth 12 for x < 0.5
    n = 200
    xs = (np.arange(n) + 0.5) / n
    X, Y = np.meshgrid(xs, xs, indexing="ij")
    pts = np.c_[X.ravel(), Y.ravel()]
    w = np.full(len(pts), 1.0 / n**2)
    truth = np.where(pts[:, 0] < 0.5, 12.0, 3.0)
    accuracy = darcy.ThresholdAccuracy(threshold=darcy.THRESHOLD)
    # a wrong classification on the strip 0.5 <= x < 0.6 (area 0.1): accuracy 0.9
    wrong = np.where(pts[:, 0] < 0.6, 12.0, 3.0)
    assert accuracy(wrong, truth, w, None)["accuracy"] == pytest.approx(0.9, abs=1e-12)
    # on two ranks' halves the global accuracy is the same
    assert accuracy(wrong, truth, w, MPI.COMM_WORLD)["accuracy"] == pytest.approx(0.9, abs=1e-12)
    # a 10 % perturbation everywhere has relative L2 error 0.1 and accuracy 1
    disc = SimpleNamespace(x_field=pts, w_field=w, metric_comm=None)
    problem = SimpleNamespace(
        unknowns=darcy.DarcyProblem.unknowns,
        truth=lambda x: np.where(x[:, 0] < 0.5, 12.0, 3.0),
        field_metrics=(accuracy,),
    )
    m = estimate_metrics(problem, disc, lambda x: 1.1 * problem.truth(x))
    assert m["field_rel_l2"] == pytest.approx(0.1, rel=1e-12)
    assert m["accuracy"] == pytest.approx(1.0, abs=1e-12)
    # the squared error of the strip: 0.1·9² / (0.5·12² + 0.5·3²) = 8.1 / 76.5
    sq = darcy.RelativeSquaredError()(wrong, truth, w, MPI.COMM_WORLD)["field_rel_sq"]
    assert sq == pytest.approx(8.1 / 76.5, rel=1e-9)


def test_pino_law_truth_is_two_valued_and_rank_free_and_needs_no_length():
    # PINO's law thresholded at 0: both values present on the square, the same draw at any points
    problem = darcy.DarcyProblem(law="pino", grf_seed=1)
    x = np.random.default_rng(0).random((4000, 2))
    a = problem.truth(x)
    assert set(np.unique(a)) == {darcy.LO, darcy.HI} and 0.15 < np.mean(a == darcy.HI) < 0.85
    np.testing.assert_array_equal(problem.truth(x[:100]), a[:100])
    g = problem.initial_guess(x)  # ψ0 of the same law, mean σ = 1: the guess spreads over (3, 12)
    assert darcy.LO < g.min() and g.max() < darcy.HI and g.std() > 1.0
    assert "PINO" in problem.describe()


def test_missing_tag_gets_a_clear_error(capsys):
    with pytest.raises(SystemExit):
        darcy.main(["--preset", "smoke", "--mesh", MESH, "--dirichlet-tags", "99", "--out", "/tmp/unused"])
    assert "facet tag(s) [99] not found" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--mesh", "missing.msh"], "no such file"),
        (["--dirichlet-tags", "a,b"], "expected comma-separated integers"),
        (["--cells", "1"], "--cells must be >= 2"),
        (["--grf-length", "-1"], "--grf-length: expected a positive number, got '-1'"),
        (["--law", "pino", "--grf-length", "0.2"], "--law pino has none"),
        (["--methods", "pinn(w_dat=-100)"], "w_dat must be > 0"),
        (["--methods", "adjoint(optimizer=gd)"], "has no option 'optimizer'"),
        (["--mesh", MESH, "--dirichlet-tags", "2"], "leaves part of the boundary"),
    ],
)
def test_bad_inputs_are_usage_errors(argv, message, capsys):
    with pytest.raises(SystemExit):
        darcy.main(["--preset", "smoke", *argv])
    assert message in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.mpi
def test_one_and_four_ranks_agree(mpirun, tmp_path):
    # Data parallelism with global-mean losses: the same seeds on 1 and 4 ranks (oversubscribed)
    # give the same metrics up to the summation order of the gradients (issue: within 10 %).
    runs = {}
    for n in (1, 4):
        out = tmp_path / f"n{n}"
        mpirun(
            n,
            [
                "-m",
                "comparisons.darcy",
                "--preset",
                "smoke",
                "--methods",
                "bilo,adjoint,adjoint_nn",
                "--out",
                str(out),
                "--quiet",
            ],
            timeout=900,
        )
        runs[n] = json.loads((out / "report.json").read_text())["methods"]
    for label in ("bilo", "adjoint", "adjoint_nn"):
        for metric in ("field_rel_l2", "accuracy"):
            a, b = (runs[n][label]["metrics"][metric]["mean"] for n in (1, 4))
            assert abs(a - b) <= 0.1 * abs(a), (label, metric, a, b)


def test_smoke_comparison_in_process(tmp_path):
    rep = darcy.main(["--preset", "smoke", "--methods", "bilo,adjoint", "--out", str(tmp_path), "--quiet"])
    js = _check_report(tmp_path, 1)
    assert set(js["methods"]) == {"bilo", "adjoint"} and rep.methods["bilo"].runs[0]["u_rel_l2"] < 0.1
    # the adjoint from the problem's own weak residual: measured 0.339 against the guess's 0.565
    init = js["baseline_rows"]["initial guess"]["field_rel_l2"]
    assert js["methods"]["adjoint"]["metrics"]["field_rel_l2"]["mean"] < 0.8 * init
    for name in ("darcy_fields.png", "darcy.xdmf", "a_bilo.bp", "u_adjoint.bp", "report.md"):
        assert (tmp_path / name).exists(), name


def test_field_representations_in_process(tmp_path):
    # the unknown as P1 nodal values (starting exactly at the initial guess) and as a Fourier MLP
    rep = darcy.main(["--preset", "smoke", "--methods", "bilo(field=p1),pinn(field=fourier),"
                      "adjoint_nn(field=fourier)", "--out", str(tmp_path), "--quiet"])
    js = json.loads((tmp_path / "report.json").read_text())
    init = js["baseline_rows"]["initial guess"]["field_rel_l2"]
    for label in ("bilo(field=p1)", "pinn(field=fourier)", "adjoint_nn(field=fourier)"):
        assert np.isfinite(rep.methods[label].runs[0]["field_rel_l2"]), label
    # 60 steps of lr 1e-3 move the nodal values little: the error stays near the guess's
    assert abs(rep.methods["bilo(field=p1)"].runs[0]["field_rel_l2"] - init) < 0.1
