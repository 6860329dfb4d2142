"""Every registered method on every comparison's problem: it runs and gives finite metrics, or it
refuses the problem with a one-line reason before any work (e.g. gradient descent on named scalars).
"""

from dataclasses import replace

import numpy as np
import pytest

pytest.importorskip("fem")
pytest.importorskip("dolfinx")

from mpi4py import MPI  # noqa: E402

from comparisons import bpn, burgers, darcy, fisher_kpp, gbm, heat, poisson, singular  # noqa: E402
from hybrid import (  # noqa: E402
    BiLOConfig,
    DeepONetConfig,
    FNOConfig,
    FunctionNetworkConfig,
    NetworkConfig,
    PINNConfig,
    PretrainConfig,
)
from hybrid.bpn import BPNConfig, BPNFinetuneConfig  # noqa: E402
from inverse import METHODS, AdjointConfig, evaluate, make_data  # noqa: E402
from inverse.runner import configure  # noqa: E402

# Tiny problems and five steps per level: this checks the wiring, not accuracy.
PROBLEMS = {
    "fisher_kpp": replace(
        fisher_kpp.PRESETS["smoke"][0](),
        problem=fisher_kpp.FisherKPPProblem(
            cells=10, steps=10, fidelity_cells=8, fidelity_steps=8, n_res=6, n_dat=4
        ),
    ),
    "poisson": replace(
        poisson.PRESETS["smoke"][0](),
        problem=poisson.PoissonProblem(cells=40, n_res=11, n_dat=6, n_eval=21, operator_samples=10),
    ),
    "darcy": replace(darcy.PRESETS["smoke"][0](), problem=darcy.DarcyProblem(cells=4, operator_samples=10)),
    "heat": replace(heat.PRESETS["smoke"][0](), problem=heat.HeatProblem(cells=10, steps=10, n_res=6, n_dat=6,
                                                                         n_eval=21)),
    "burgers": replace(burgers.PRESETS["smoke"][0](), problem=burgers.BurgersProblem(cells=50, n_res=6,
                                                                                     n_eval=21)),
    "singular": replace(singular.PRESETS["smoke"][0](),
                        problem=singular.SingularProblem(snapshots=5, n_res=11)),
    "bpn": bpn.PRESETS["smoke"][0](),
    "gbm": replace(gbm.PRESETS["smoke"][0](), problem=gbm.GBMProblem(window_mm=20, steps=20, n_res=20)),
}
REFUSED = {("fisher_kpp", "adjoint_gd"): "no step rule for scalar unknowns"}
REFUSED[("darcy", "deeponet")] = "a field on a 1D stationary problem"
REFUSED[("fisher_kpp", "fno")] = "maps a field on a 1D or 2D grid to the solution of a stationary problem"
# small data sets (36, 10 and 10 tiny FEM solves), nothing written to disk
OPTIONS = {("fisher_kpp", "deeponet"): {"dataset": "coarse", "cache": ""},
           ("poisson", "deeponet"): {"dataset": "l0.2", "cache": ""},
           ("poisson", "fno"): {"dataset": "l0.2", "cache": ""},
           ("darcy", "fno"): {"dataset": "id", "cache": ""}}
REFUSED[("fisher_kpp", "adjoint_nn")] = "field unknown of a stationary problem"
for _name in ("heat", "burgers"):  # an unknown initial condition
    REFUSED[(_name, "adjoint_nn")] = "field unknown of a stationary problem"
    REFUSED[(_name, "deeponet")] = "a field on a 1D stationary problem"
    REFUSED[(_name, "fno")] = "to the solution of a stationary problem"
REFUSED[("heat", "adjoint_gd")] = "no step rule for an initial condition"
for _name in ("adjoint", "adjoint_tao", "adjoint_gd", "adjoint_newton"):
    for _problem in ("burgers", "singular", "bpn"):  # closed-form or finite-volume references
        REFUSED[(_problem, _name)] = "no weak form"
for _problem in ("poisson", "darcy", "heat", "burgers"):
    REFUSED[(_problem, "bpn")] = "this problem's unknown is a function"
REFUSED[("singular", "bpn")] = "this problem has interface conditions"
for _problem in ("singular", "bpn"):  # two named scalars
    REFUSED[(_problem, "adjoint_nn")] = "field unknown of a stationary problem"
REFUSED[("bpn", "deeponet")] = "no operator data set"  # BPN's toy problem declares none
REFUSED[("bpn", "fno")] = "no operator data set"
REFUSED[("gbm", "deeponet")] = "no operator data set"  # (and its data are masks)
REFUSED[("gbm", "fno")] = "the solution of a stationary problem"
REFUSED[("gbm", "bpn")] = "this problem's data are segmentation masks"
REFUSED[("gbm", "adjoint_nn")] = "field unknown of a stationary problem"
REFUSED[("gbm", "adjoint_gd")] = "no step rule for scalar unknowns"
OPTIONS[("singular", "deeponet")] = {"dataset": "id", "cache": ""}
OPTIONS[("singular", "fno")] = {"dataset": "id", "cache": ""}


def _tiny(study):
    configs = dict(study.configs)
    for key in ("bilo", "pinn"):
        c = configs.get(key, BiLOConfig() if key == "bilo" else PINNConfig())
        configs[key] = replace(
            c,
            network=NetworkConfig(depth=3, width=8),
            function_network=FunctionNetworkConfig(depth=2, width=8),
            pretrain=PretrainConfig(steps=5),
            finetune=replace(c.finetune, steps=5),
            **({"log_every": 1} if key == "bilo" else {}),
        )
    configs["bilo"] = replace(configs["bilo"], finetune=replace(configs["bilo"].finetune, fidelity_every=5))
    cfg = configs.get("adjoint", AdjointConfig())
    configs["adjoint"] = replace(cfg, max_iter=5, gd_max_iter=5)
    configs["deeponet"] = DeepONetConfig(width=8, basis=8, train_steps=5, invert_steps=5, log_every=1)
    configs["fno"] = FNOConfig(n_modes=4, hidden_channels=4, n_layers=1, grid=9, train_steps=5,
                               invert_steps=5, log_every=1)
    configs["bpn"] = BPNConfig(network=NetworkConfig(depth=3, width=8), pretrain=PretrainConfig(steps=5),
                               finetune=BPNFinetuneConfig(upper_steps=2, lower_steps=3, broyden_iterations=3))
    return replace(study, configs=configs)


@pytest.mark.parametrize("problem_name", list(PROBLEMS))
def test_every_registered_method_runs_or_refuses(problem_name):
    study = _tiny(PROBLEMS[problem_name])
    problem = study.problem
    disc = problem.discretise(MPI.COMM_WORLD)
    # the point process's data take no noise level (its particles are the randomness)
    data = make_data(problem, disc, noise=0.0 if problem_name == "singular" else 0.01, seed=0)
    for name in METHODS:
        method = configure(study, name, OPTIONS.get((problem_name, name), {}), METHODS)
        if (problem_name, name) in REFUSED:
            reason = method.refusal(problem)
            assert reason is not None and REFUSED[problem_name, name] in reason, (name, reason)
            assert "\n" not in reason
            with pytest.raises(ValueError, match=f"cannot solve {problem.name}"):
                method.solve(problem, data)
            continue
        assert method.refusal(problem) is None, name
        result = method.solve(problem, data)
        metrics, _ = evaluate(problem, data, result)
        # t_1pct[·] is NaN when a run never settles within 1 % (five steps here)
        finite = {k: v for k, v in metrics.items() if not k.startswith("t_1pct")}
        assert finite and all(np.isfinite(v) for v in finite.values()), (name, metrics)
        assert result.cost.steps >= 0 and result.cost.wall_s > 0, name
        if name == "bilo" and problem.weak_form and problem.likelihood() is None:
            # the fidelity check ran against the exact gradient (FEM differences or the adjoint)
            assert "grad_cos" in metrics and -1 - 1e-12 <= metrics["grad_cos"] <= 1 + 1e-12


@pytest.mark.parametrize("problem_name", list(PROBLEMS))
def test_prior_draws_are_admissible_distinct_and_reproducible(problem_name):
    # the operator-learning data sets (issue 2.3) sample the problem's prior and solve the FEM there
    problem = PROBLEMS[problem_name].problem
    disc = problem.discretise(MPI.COMM_WORLD)
    draws = [problem.sample_prior(np.random.default_rng(s)) for s in (0, 0, 1)]
    u = [problem.forward(disc, d, disc.x_dat) for d in draws]
    assert all(problem.inadmissible(d, disc) is None for d in draws)
    assert np.array_equal(u[0], u[1]) and not np.allclose(u[0], u[2])
