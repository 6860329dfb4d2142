"""BiLO vs BPN on the toy problem: the strong form, the error curves, the smoke run."""

import json
import math

import numpy as np
import pytest

pytest.importorskip("fem")  # loads MPI before dolfinx
pytest.importorskip("dolfinx")

import torch  # noqa: E402

from comparisons import bpn  # noqa: E402
from inverse import InverseResult  # noqa: E402
from inverse.method import Cost  # noqa: E402


def test_the_exact_solution_satisfies_the_strong_form_and_the_transform_its_boundary_values():
    x = torch.linspace(0, 1, 17, dtype=torch.float64)[:, None].requires_grad_(True)
    theta = torch.tensor([[0.3, -0.7]], dtype=torch.float64).expand(17, 2)
    pde = bpn.BoundaryPoisson()
    u = torch.as_tensor(bpn.exact(x[:, 0], 0.3, -0.7))
    assert float(pde.residual(x, u, theta).detach().abs().max()) < 1e-12
    # any network output N leaves u(0) = θ0 and u(1) = θ1
    ends = torch.tensor([[0.0], [1.0]], dtype=torch.float64)
    u_ends = pde.output_transform(ends, torch.tensor([5.0, -3.0], dtype=torch.float64), theta[:2])
    assert u_ends.tolist() == [0.3, -0.7]


def test_the_error_curve_starts_at_the_guess_and_counts_lower_iterations():
    problem = bpn.BPNToyProblem()
    history = [{"step": 1, "phase": "pretrain", "time": 2.0, "theta_theta0": 1.0, "theta_theta1": 0.0},
               {"step": 1, "phase": "finetune", "time": 3.0, "lower_iterations": 64,
                "theta_theta0": 0.5, "theta_theta1": 0.9},
               {"step": 2, "phase": "finetune", "time": 4.0, "lower_iterations": 128,
                "theta_theta0": 0.005, "theta_theta1": 0.998}]
    result = InverseResult(method="bpn", theta={}, field=None, u=None, u_is_network=True,
                           cost=Cost(wall_s=4.0, steps=2, s_per_step=1.0), history=history)
    curve = bpn.error_curve(problem, result)
    assert curve["lower_iterations"] == [0.0, 64.0, 128.0]
    assert curve["seconds"] == [0.0, 1.0, 2.0]
    assert curve["error"] == pytest.approx([1.0, 0.5, 0.005])
    assert bpn.first_below(curve) == {"lower_iters_to_0.01": 128.0, "s_to_0.01": 2.0}
    assert math.isnan(bpn.first_below(curve, tol=1e-3)["s_to_0.01"])


def test_smoke_run(tmp_path):
    bpn.main(["--preset", "smoke", "--quiet", "--out", str(tmp_path), "--device", "cpu"])
    js = json.loads((tmp_path / "report.json").read_text())
    assert set(js["methods"]) == {"bilo", "bpn"}
    conv = json.loads((tmp_path / "convergence.json").read_text())
    assert set(conv) == {"bilo", "bpn"}
    for label, entry in conv.items():
        errors = np.array(entry["curve"]["error"])
        assert np.all(np.isfinite(errors)) and entry["initial_error"] == pytest.approx(1.0), label
        # both methods move θ towards the truth within the smoke budget
        assert entry["final_error"] < entry["initial_error"], (label, entry["final_error"])
        assert math.isfinite(js["methods"][label]["metrics"]["u_rel_l2"]["mean"]), label
    assert (tmp_path / "convergence.png").stat().st_size > 0
