"""The variable-diffusion Poisson comparison: smoke run, residual and its z-gradient, adjoint, errors."""

import json
import math

import numpy as np
import pytest

pytest.importorskip("fem")  # loads MPI before dolfinx
pytest.importorskip("dolfinx")

import torch  # noqa: E402
from mpi4py import MPI  # noqa: E402

from comparisons import poisson  # noqa: E402
from fem.metrics import relative_l2_error, trapezoid_weights  # noqa: E402
from hybrid import FunctionNetworkConfig, HybridModel, NetworkConfig, residual_gradient  # noqa: E402
from inverse import Adjoint, AdjointConfig, evaluate, make_data  # noqa: E402
from inverse.adjoint_bridge import reduced_functional  # noqa: E402

X_EVAL = np.linspace(0.0, 1.0, 1001)
W_EVAL = trapezoid_weights(1001, ((0.0,), (1.0,)))


def test_smoke_run_writes_report_and_bilo_improves_on_the_initial_guess(tmp_path):
    report = poisson.main(["--preset", "smoke", "--out", str(tmp_path), "--quiet"])
    js = json.loads((tmp_path / "report.json").read_text())
    assert set(js) >= {"problem", "preset", "noise", "seeds", "ranks", "device", "config", "methods"}
    assert js["problem"] == "poisson" and js["preset"] == "smoke"
    assert set(js["methods"]) == {
        "bilo(w_reg=0.001)",
        "pinn(w_dat=100,w_reg=0.001)",
        "adjoint_gd(w_reg=0.001)",
        "adjoint_tao(w_reg=0.001)",
    }
    for label, entry in js["methods"].items():
        own = {"n_forward", "n_adjoint"} if "adjoint" in label else {"u_rel_l2"}
        names = {"field_rel_l2", "data_mse"} | own
        assert names <= set(entry["metrics"]), label
        for name in names:
            assert math.isfinite(entry["metrics"][name]["mean"]), (label, name)
        assert entry["steps"] > 0 and entry["wall_s"] > 0
    assert (tmp_path / "D.png").stat().st_size > 0 and (tmp_path / "u.png").stat().st_size > 0
    init = relative_l2_error(np.ones_like(X_EVAL), poisson.hat(X_EVAL), weights=W_EVAL)
    bilo = js["methods"]["bilo(w_reg=0.001)"]["metrics"]["field_rel_l2"]["mean"]
    assert bilo < 0.7 * init, (bilo, init)
    assert report.methods["bilo(w_reg=0.001)"].runs[0]["field_rel_l2"] == pytest.approx(bilo)


def _points(n=41):
    return torch.linspace(0.02, 0.98, n, dtype=torch.float64)[:, None].requires_grad_(True)


def test_strong_residual_of_a_manufactured_pair():
    # D = 1 + x, u = sin(πx): (D u')' = π cos(πx) − (1 + x) π² sin(πx), exactly, under autograd.
    pde = poisson.PoissonProblem().pde
    x = _points()
    s = x[:, 0]
    z = (1 + s)[:, None]
    u = torch.sin(math.pi * s)
    r = pde.residual(x, u, z)
    expected = (
        math.pi * torch.cos(math.pi * s)
        - (1 + s) * math.pi**2 * torch.sin(math.pi * s)
        + math.pi**2 * torch.sin(math.pi * s)
    )
    torch.testing.assert_close(r, expected, rtol=0, atol=1e-12)
    # and at the initial guess D ≡ 1 the FEM's u0 = sin(πx) makes it vanish
    r0 = pde.residual(x, torch.sin(math.pi * x[:, 0]), torch.ones_like(z))
    assert r0.abs().max() < 1e-12


def test_residual_gradient_wrt_z_matches_finite_differences():
    # r(z) = z_x u_x(z) + z u_xx(z) − f with u = x(1−x) N(x, z): dr_i/dz_i holds z_x fixed, so a
    # constant shift z + δ (same z_x) is the finite-difference direction.
    torch.manual_seed(0)
    pde = poisson.PoissonProblem().pde
    model = HybridModel(
        pde,
        None,
        embed=True,
        network=NetworkConfig(depth=3, width=16),
        function_network=FunctionNetworkConfig(depth=3, width=16),
    ).double()
    x = _points()

    def residual(shift):
        z = model.expand(x) + shift
        return pde.residual(x, model.u(x, z), z), z

    r, z = residual(0.0)
    g = residual_gradient(r, z)[:, 0].detach()
    delta = 1e-5
    fd = (residual(delta)[0] - residual(-delta)[0]).detach() / (2 * delta)
    torch.testing.assert_close(g, fd, rtol=1e-6, atol=1e-8)
    assert g.abs().max() > 1e-2  # not trivially zero


def _problem_and_data(cells=400, noise=0.0):
    problem = poisson.PoissonProblem(cells=cells)
    disc = problem.discretise(MPI.COMM_WORLD)
    return problem, disc, make_data(problem, disc, noise=noise, seed=0)


def test_weak_residual_matches_the_fem_reference():
    # The adjoint's P1 state (from the same weak residual) against the P2 reference, at the truth.
    problem, disc, data = _problem_and_data()
    rf = reduced_functional(
        problem, disc, np.zeros(51), cfg=AdjointConfig(cells=200, misfit="mean"), w_reg=0.0
    )
    m_true = rf.parameter_from_coefficient(lambda x: poisson.hat(x[0]))
    u_p1 = rf.observe(m_true) * np.sqrt(51)
    np.testing.assert_allclose(u_p1, data.u_obs, atol=2e-5)
    # J = ½ mean misfit²: with zero data, 2J is the mean of u²
    assert 2 * rf.misfit(m_true) == pytest.approx(np.mean(u_p1**2), rel=1e-10)


def test_adjoint_recovers_the_truth_from_noise_free_data():
    problem, disc, data = _problem_and_data()
    cfg = AdjointConfig(cells=50, misfit="mean", w_reg=1e-8, max_iter=1000, gatol=0.0, gttol=1e-8)
    result = Adjoint(config=cfg).solve(problem, data)
    D = result.field(X_EVAL[:, None])
    err = relative_l2_error(D, poisson.hat(X_EVAL), weights=W_EVAL)
    assert err < 1e-2, err
    assert D[[0, -1]] == pytest.approx([1.0, 1.0], abs=1e-12)  # D(0) = D(1) = 1 stay fixed (to round-off)
    metrics, _ = evaluate(problem, data, result)
    assert metrics["data_mse"] < 1e-9


def test_inadmissible_coefficients_get_no_fem_solve():
    problem, disc, _ = _problem_and_data(cells=20)
    assert "not positive" in problem.inadmissible(lambda x: 1.0 - 2 * x[:, 0], disc)
    assert "not positive" in problem.inadmissible(lambda x: np.full(len(x), np.inf), disc)
    assert problem.inadmissible(poisson.hat, disc) is None


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--methods", "bilo,fnox"], "unknown method 'fnox'"),
        (["--methods", "fno"], "no operator data set 'id'"),
        (["--methods", "pinn(w_reg=1e-3,lr=1)"], "has no option 'lr'"),
        (["--methods", "bilo(w_reg=-1)"], "w_reg must be >= 0"),
        (["--methods", "pinn(w_dat=0)"], "w_dat must be > 0"),
        (["--noise", "-0.1"], "expected a finite number >= 0"),
        (["--noise", "nan"], "expected a finite number >= 0"),
        (["--threads", "0"], "--threads must be >= 1"),
    ],
)
def test_bad_command_lines_are_rejected(argv, message, capsys, tmp_path):
    with pytest.raises(SystemExit):
        poisson.main(["--preset", "smoke", "--out", str(tmp_path), *argv])
    assert message in capsys.readouterr().err


def test_every_preset_builds_and_an_unknown_one_is_refused(capsys):
    for name, (make, _) in poisson.PRESETS.items():
        assert make().problem.name == "poisson", name
    with pytest.raises(SystemExit):
        poisson.main(["--preset", "huge"])
    assert "invalid choice" in capsys.readouterr().err
