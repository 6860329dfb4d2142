"""The inviscid Burgers comparison: smoke runs, the strong form, the Godunov reference, refusals."""

import json
import math

import numpy as np
import pytest

pytest.importorskip("fem")  # loads MPI before dolfinx
pytest.importorskip("dolfinx")

import torch  # noqa: E402
from mpi4py import MPI  # noqa: E402

import fem  # noqa: E402
from comparisons import burgers  # noqa: E402
from inverse import Adjoint  # noqa: E402


def _check_report(path, case):
    js = json.loads((path / "report.json").read_text())
    assert js["problem"] == "burgers" and js["config"]["problem"]["case"] == case
    assert set(js["methods"]) == {"bilo", "pinn"}
    for label, entry in js["methods"].items():
        for name in ("field_rel_l2", "u_rel_l2", "data_mse"):
            assert math.isfinite(entry["metrics"][name]["mean"]), (label, name)
    assert (path / "u0.png").stat().st_size > 0 and (path / "u_xt.png").stat().st_size > 0
    return js


@pytest.mark.parametrize("case", ["shock", "rarefaction"])
def test_smoke_run_writes_the_report(tmp_path, case):
    burgers.main(["--preset", "smoke", "--case", case, "--out", str(tmp_path), "--quiet"])
    _check_report(tmp_path, case)


def test_smoke_run_under_two_ranks(mpirun, tmp_path):
    mpirun(2, ["-m", "comparisons.burgers", "--preset", "smoke", "--quiet", "--case", "rarefaction",
               "--out", str(tmp_path)], timeout=300)
    _check_report(tmp_path, "rarefaction")


def test_the_adjoint_and_a_bad_case_are_usage_errors(capsys):
    with pytest.raises(SystemExit):
        burgers.main(["--preset", "smoke", "--methods", "adjoint", "--quiet"])
    assert "no weak form" in capsys.readouterr().err
    assert Adjoint().refuse(burgers.BurgersProblem()) is not None
    with pytest.raises(SystemExit):
        burgers.main(["--preset", "smoke", "--case", "wave"])
    assert "invalid choice" in capsys.readouterr().err


def test_strong_form_of_an_exact_solution():
    # u = x/(1 + a t): u_t = −a x/(1 + a t)² = −a u u_x
    pde = burgers.BurgersProblem().pde
    x = torch.rand(50, 2, dtype=torch.float64).requires_grad_(True)
    u = x[:, 1] / (1 + pde.a * x[:, 0])
    assert pde.residual(x, u, torch.zeros(50, 1)).abs().max() < 1e-12


@pytest.mark.parametrize("case", ["shock", "rarefaction"])
def test_the_reference_is_the_godunov_solution_and_stays_inside(case):
    problem = burgers.BurgersProblem(case=case, cells=400)
    disc = problem.discretise(MPI.COMM_WORLD)
    u = problem.forward(disc, problem.truth, disc.x_u, truth=True).reshape(problem.n_res, problem.n_res)
    fv = fem.solve_burgers(lambda x: problem.truth(x[:, None]), a=problem.a, t_end=1.0, cells=400,
                           times=disc.x_u.times)
    np.testing.assert_array_equal(u, fv.sample(disc.x_u.space[:, 0], disc.x_u.times))
    # the profile's support moves right by at most a·max u·t = 0.2: nothing reaches the boundary
    # (zero within the first and last tenth at every time)
    assert np.abs(u[:, :5]).max() < 1e-12 and np.abs(u[:, -5:]).max() < 1e-12
    x0, rise, fall = burgers.CASES[case]
    shock_time = 2 * fall / (math.pi * problem.a)
    assert (shock_time < 1) == (case == "shock")
    # the initial condition is C¹: the profile's values and slopes match at the joins
    xs = np.array([x0, x0 + rise, x0 + rise + fall])[:, None]
    h = 1e-7
    np.testing.assert_allclose(problem.truth(xs + h), problem.truth(xs - h), atol=1e-6)
