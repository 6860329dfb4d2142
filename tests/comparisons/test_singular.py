"""Singular forcing: the closed form against a FEM point-load solve, the sampler, the strong form, runs."""

import json
import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pytest

pytest.importorskip("fem")  # loads MPI before dolfinx
pytest.importorskip("dolfinx")

import dolfinx  # noqa: E402
import dolfinx.fem  # noqa: E402
import scipy.sparse.linalg  # noqa: E402
import torch  # noqa: E402
import ufl  # noqa: E402
from mpi4py import MPI  # noqa: E402

import fem  # noqa: E402
import hybrid  # noqa: E402
from comparisons import singular  # noqa: E402
from comparisons.pdes import SingularForcing  # noqa: E402
from hybrid.likelihood import point_process_loss  # noqa: E402
from inverse.method import AbstractMethod  # noqa: E402

LAM, MU = 500.0, 10.0


def _fem_point_load(cells: int, lam: float, mu: float) -> float:
    """Max nodal error of P1 for −u'' + μu = λδ(x − ½), u(0) = u(1) = 0 (the load on a node)."""
    md = fem.interval(MPI.COMM_SELF, cells)
    V = dolfinx.fem.functionspace(md.mesh, ("Lagrange", 1))
    u, v = ufl.TrialFunction(V), ufl.TestFunction(V)
    a = dolfinx.fem.form(ufl.inner(ufl.grad(u), ufl.grad(v)) * ufl.dx + mu * u * v * ufl.dx)
    x = V.tabulate_dof_coordinates()[:, 0]
    ends = np.flatnonzero(np.isclose(x, 0) | np.isclose(x, 1))
    bc = dolfinx.fem.dirichletbc(0.0, ends.astype(np.int32), V)
    A = dolfinx.fem.assemble_matrix(a, bcs=[bc]).to_scipy()
    b = np.zeros(len(x))
    b[np.argmin(np.abs(x - 0.5))] = lam  # ∫ λδ(x − ½) v dx = λ v(½)
    uh = scipy.sparse.linalg.spsolve(A.tocsc(), b)
    return float(np.abs(uh - singular.exact(x, lam, mu)).max())


def test_the_closed_form_is_the_limit_of_the_fem_point_load_solve():
    errors = [_fem_point_load(n, LAM, MU) for n in (16, 32, 64, 128)]
    orders = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    # P1 for a 1D reaction-diffusion problem: second order at the nodes
    assert np.all(orders > 1.9), (errors, orders)
    assert errors[-1] < 1e-3 * LAM / (2 * math.sqrt(MU))  # a thousandth of the peak (≈ 79)


def test_the_closed_form_satisfies_the_jump_and_the_mean_count():
    x = np.array([0.5 - 1e-7, 0.5, 0.5 + 1e-7])
    u = singular.exact(x, LAM, MU)
    jump = (u[2] - u[1]) / 1e-7 - (u[1] - u[0]) / 1e-7
    assert jump == pytest.approx(-LAM, rel=1e-4)
    xs, w = fem.simpson_rule(0, 1, 2000)
    assert float(w @ singular.exact(xs, LAM, MU)) == pytest.approx(singular.expected_count(LAM, MU), rel=1e-6)


def test_the_thinning_sampler_counts_and_places_particles_as_the_intensity_says():
    M = 200
    particles = hybrid.sample_point_process(lambda x: singular.exact(x, LAM, MU), M, np.random.default_rng(1))
    mean = M * singular.expected_count(LAM, MU)  # the count is Poisson(M ∫u)
    # 4 standard deviations: a correct sampler fails this with probability 6e-5
    assert abs(len(particles) - mean) < 4 * math.sqrt(mean), (len(particles), mean)
    # and their positions follow u/∫u: the fraction in the middle fifth (binomial, 4 sd)
    inside = np.mean(np.abs(particles - 0.5) < 0.1)
    xs, w = fem.simpson_rule(0.4, 0.6, 200)
    p = float(w @ singular.exact(xs, LAM, MU)) / singular.expected_count(LAM, MU)
    assert abs(inside - p) < 4 * math.sqrt(p * (1 - p) / len(particles)), (inside, p)


def _network_inputs(x):
    x = torch.as_tensor(x, dtype=torch.float64)
    return torch.stack([x, (x - 0.5).abs()], 1).requires_grad_(True)


def test_the_strong_form_and_the_jump_vanish_at_the_exact_solution():
    # u = exact(x) written through (x, φ): sinh terms of x and φ reproduce the kink exactly
    pde = SingularForcing()
    k, lam = math.sqrt(MU), LAM
    # away from z: at z the strong form holds only with the δ (the jump, checked below)
    X = _network_inputs(np.linspace(0.01, 0.99, 40))
    assert np.abs(X[:, 1].detach().numpy()).min() > 0

    def u_of(X):
        x, phi = X[:, 0], X[:, 1]
        # min(x, z) = (x + z − φ)/2 and 1 − max(x, z) = (1 − x − z + ... ) written with φ
        lo, hi = 0.5 * (x + 0.5 - phi), 1 - 0.5 * (x + 0.5 + phi)
        return lam * torch.sinh(k * lo) * torch.sinh(k * hi) / (k * math.sinh(k))

    theta = torch.tensor([[LAM / 100, MU]], dtype=torch.float64).expand(len(X), 2)
    r = pde.residual(X, u_of(X), theta)
    assert float(r.detach().abs().max()) < 1e-9 * lam
    Z = torch.tensor([[0.5, 0.0]], dtype=torch.float64, requires_grad=True)
    J = pde.interface_residual(Z, u_of(Z), theta[:1])
    assert abs(float(J.detach())) < 1e-9 * lam


def test_the_point_process_loss_is_the_nll_over_the_particle_count():
    lik = singular.SingularProblem().likelihood()
    rng = np.random.default_rng(0)
    u_q, u_p = rng.uniform(1, 2, len(lik.w_quad)), rng.uniform(1, 2, 37)
    loss = point_process_loss(torch.tensor(u_q), torch.tensor(lik.w_quad), torch.tensor(u_p),
                              snapshots=lik.snapshots, count=37)
    assert float(loss) * 37 == pytest.approx(lik.nll(u_q, u_p), rel=1e-12)
    assert lik.nll(u_q, np.array([1.0, 0.0])) == math.inf


def test_bilo_every_trainable_tensor_gets_a_gradient_from_its_own_level():
    problem = singular.SingularProblem(snapshots=5)
    x_res = problem.inputs(np.linspace(0, 1, 11))
    res = hybrid.BiLO(hybrid.BiLOConfig.smoke()).fit(
        problem.pde, x_res, problem.inputs(np.array([0.3, 0.5, 0.6])), np.zeros(3), {"lmbd": 2.5, "mu": 5.0},
        progress=False, dtype="float64", likelihood=problem.likelihood())
    rows = [h for h in res.history if h["phase"] == "finetune"]
    assert {"res", "rgrad", "jump", "djump", "data"} <= set(rows[-1])
    assert res.theta != {"lmbd": 2.5, "mu": 5.0}


def test_smoke_run(tmp_path):
    singular.main(["--preset", "smoke", "--quiet", "--out", str(tmp_path)])
    js = json.loads((tmp_path / "report.json").read_text())
    assert set(js["methods"]) == {"bilo", "pinn(w_dat=1)", "pinn(w_dat=10)"}
    for entry in js["methods"].values():
        for name in ("rel_err[lmbd]", "rel_err[mu]", "u_rel_l2", "nll"):
            assert math.isfinite(entry["metrics"][name]["mean"]), name
    assert (tmp_path / "u.png").stat().st_size > 0


def test_fno_smoke_run_minimises_the_nll_over_a_parameter_grid(tmp_path):
    # the scalar FNO: trained on the closed form over the `id` grid of (lmbd, μ), then inverted
    # frozen on the particles' NLL (no cache: the data set costs 0.1 s)
    singular.main(["--preset", "smoke", "--quiet", "--methods", "fno(dataset=id,cache=)",
                   "--out", str(tmp_path)])
    js = json.loads((tmp_path / "report.json").read_text())
    metrics = {k: v["mean"] for k, v in js["methods"]["fno(dataset=id,cache=)"]["metrics"].items()}
    for name in ("rel_err[lmbd]", "rel_err[mu]", "nll", "u_rel_l2", "op_train_loss"):
        assert math.isfinite(metrics[name]), name
    assert metrics["n_samples"] == 256 and metrics["truth_in_dataset"] == 1.0


def test_the_fno_data_sets_hold_the_truth_or_not():
    problem = singular.SingularProblem()
    sets = problem.operator_datasets()
    truth, guess = problem.unknowns.truth, problem.unknowns.init
    assert sets["id"].contains(truth) and not sets["ood"].contains(truth)
    assert sets["id"].contains(guess) and sets["ood"].contains(guess)
    # both presets but the smoke one run the FNO on both
    assert "fno(dataset=id)" in singular.PRESETS["default"][0]().methods.split(",")
    assert "fno(dataset=ood)" in singular.PRESETS["paper"][0]().methods.split(",")


def test_noise_and_the_methods_without_a_likelihood_are_refused_in_one_line(capsys):
    with pytest.raises(SystemExit):
        singular.main(["--preset", "smoke", "--noise", "0.1"])
    assert "--noise must be 0" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        singular.main(["--preset", "smoke", "--methods", "adjoint"])
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "adjoint cannot solve singular" in err and "weak form" in err


def test_a_method_that_fits_squared_errors_refuses_point_process_data():
    @dataclass(frozen=True)
    class SquaredErrorOnly(AbstractMethod):
        name: ClassVar[str] = "plain"
        config_key: ClassVar[str] = "bilo"

        def refuse(self, problem):
            return None

        def run(self, problem, data, options):
            raise AssertionError("never run")

    with pytest.raises(ValueError, match="particles of a Poisson point process"):
        SquaredErrorOnly().check(singular.SingularProblem())


def test_smoke_run_under_two_ranks(mpirun, tmp_path):
    mpirun(2, ["-m", "comparisons.singular", "--preset", "smoke", "--quiet", "--methods", "bilo",
               "--out", str(tmp_path)], timeout=300)
    js = json.loads((tmp_path / "report.json").read_text())
    assert js["ranks"] == 2 and math.isfinite(js["methods"]["bilo"]["metrics"]["nll"]["mean"])


def test_bilo_interface_weights_are_method_options_and_checked():
    from comparisons import fisher_kpp
    from inverse import METHODS
    from inverse.runner import configure

    study = singular.PRESETS["smoke"][0]()
    method = configure(study, "bilo", {"w_rgrad": 10.0, "w_djump": 1.0}, METHODS)
    assert method.refuse(study.problem) is None
    assert method.label == "bilo(w_rgrad=10,w_djump=1)"
    reason = method.refuse(fisher_kpp.PRESETS["smoke"][0]().problem)
    assert reason is not None and "w_djump" in reason and "\n" not in reason
    with pytest.raises(ValueError, match="w_rgrad must be >= 0"):
        configure(study, "bilo", {"w_rgrad": -1.0}, METHODS)
