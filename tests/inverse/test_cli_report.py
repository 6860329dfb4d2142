"""The shared command line (methods parsed against the typed method classes) and the report."""

import json
import math
from dataclasses import replace

import pytest

pytest.importorskip("fem")
pytest.importorskip("dolfinx")

from comparisons import poisson  # noqa: E402
from inverse import PINN, BiLO, ProblemFlag  # noqa: E402
from inverse.arguments import float_tuple  # noqa: E402
from inverse.method_options import parse_methods, split_top_level  # noqa: E402
from inverse.report import Report, summarize  # noqa: E402
from inverse.unknowns import Scalars  # noqa: E402

STUDY = poisson.PRESETS["smoke"][0]()


def test_parse_methods_with_typed_options_and_the_study_configs():
    methods = parse_methods("bilo, pinn(w_dat=10),pinn(w_dat=1e3, w_reg=0),adjoint_gd(w_reg=0.01)", STUDY)
    assert list(methods) == ["bilo", "pinn(w_dat=10)", "pinn(w_dat=1000,w_reg=0)", "adjoint_gd(w_reg=0.01)"]
    p = methods["pinn(w_dat=1000,w_reg=0)"]
    assert isinstance(p, PINN) and p.w_dat == 1000.0 and p.w_reg == 0.0
    assert p.config is STUDY.configs["pinn"]  # the preset's config, not a default one
    assert isinstance(methods["bilo"], BiLO) and methods["bilo"].config is STUDY.configs["bilo"]
    assert methods["adjoint_gd(w_reg=0.01)"].optimizer == "gd"


def test_a_steps_option_sets_the_fine_tuning_steps_and_shares_the_pre_training():
    from mpi4py import MPI

    from inverse import make_data, solve
    from inverse.method import RunOptions

    study = replace(STUDY, configs={k: (replace(c, pretrain=replace(c.pretrain, steps=3),
                                                 finetune=replace(c.finetune, steps=4))
                                         if k in ("bilo", "pinn") else c) for k, c in STUDY.configs.items()})
    methods = parse_methods("bilo,bilo(steps=2),pinn(steps=3),adjoint_nn(steps=1)", study)
    assert methods["bilo(steps=2)"].steps == 2 and methods["bilo"].steps is None
    problem = study.problem
    data = make_data(problem, problem.discretise(MPI.COMM_WORLD), noise=0.0, seed=0)
    opts = RunOptions(progress=False)
    steps = {label: solve(problem, m, data, options=opts).cost.steps
             for label, m in methods.items() if label != "adjoint_nn(steps=1)"}
    assert steps == {"bilo": 4, "bilo(steps=2)": 2, "pinn(steps=3)": 3}
    # both BiLO labels fine-tune from the one pre-training this seed made
    assert len([k for k in data.cache if "bilo-pretraining" in str(k)]) == 1


def test_pretrain_steps_and_amsgrad_options_reach_the_configs_and_get_their_own_pre_training():
    from mpi4py import MPI

    from inverse import make_data, solve
    from inverse.method import RunOptions

    study = replace(STUDY, configs={**STUDY.configs, "bilo": replace(
        STUDY.configs["bilo"], pretrain=replace(STUDY.configs["bilo"].pretrain, steps=3),
        finetune=replace(STUDY.configs["bilo"].finetune, steps=2))})
    methods = parse_methods("bilo,bilo(pretrain_steps=4,amsgrad=TRUE),bilo(amsgrad=0)", study)
    assert list(methods) == ["bilo", "bilo(pretrain_steps=4,amsgrad=true)", "bilo(amsgrad=false)"]
    m = methods["bilo(pretrain_steps=4,amsgrad=true)"]
    assert m._pretrain_config().steps == 4 and m._pretrain_config().amsgrad
    assert m._finetune_config().amsgrad and not methods["bilo"]._finetune_config().amsgrad
    assert methods["bilo(amsgrad=false)"]._pretrain_config() == study.configs["bilo"].pretrain
    pinn = parse_methods("pinn(amsgrad=yes,pretrain_steps=2)", study)["pinn(amsgrad=true,pretrain_steps=2)"]
    assert pinn.amsgrad is True and pinn.pretrain_steps == 2
    methods["pinn"] = pinn
    problem = study.problem
    data = make_data(problem, problem.discretise(MPI.COMM_WORLD), noise=0.0, seed=0)
    for method in methods.values():
        solve(problem, method, data, options=RunOptions(progress=False))
    # amsgrad=false is the config's pre-training, shared with bilo; the other pre-trains itself
    pretrainings = [v for k, v in data.cache.items() if "bilo-pretraining" in str(k)]
    assert sorted(fit.pretrain_steps for fit in pretrainings) == [3, 4]
    [pinn_pre] = [v for k, v in data.cache.items() if "pinn-pretraining" in str(k)]
    assert pinn_pre.pretrain_steps == 2


@pytest.mark.parametrize(
    "text, message",
    [
        ("bilo,fnox", "unknown method 'fnox'"),
        ("pinn(w=1)", "has no option 'w'"),
        ("pinn(w_dat=abc)", "is not a number"),
        ("pinn(w_dat=nan)", "must be finite"),
        ("pinn(w_dat=-100)", "w_dat must be > 0"),
        ("bilo(lr_theta=0)", "lr_theta must be > 0"),
        ("bilo(steps=0)", "steps must be > 0"),
        ("bilo(pretrain_steps=0)", "pretrain_steps must be > 0"),
        ("bilo(amsgrad=maybe)", "amsgrad.*'maybe' is not true or false"),
        ("bilo(lr_theta_final=1)", r"bilo: lr_theta_final must be in \[0, lr_theta = 0.001\], got 1"),
        ("bilo(lr_theta=1e-4,lr_theta_final=1e-3)", r"lr_theta_final must be in \[0, lr_theta = 0.0001\]"),
        ("pinn(steps=1.5)", "steps"),
        ("adjoint(w_reg=-1)", "w_reg must be >= 0"),
        ("adjoint_gd(optimizer=tao)", "has no option 'optimizer'"),
        ("pinn(w_dat=1", "unbalanced"),
        ("bilo,bilo", "twice"),
        ("", "empty"),
    ],
)
def test_parse_methods_errors(text, message):
    with pytest.raises(ValueError, match=message):
        parse_methods(text, STUDY)


def test_split_and_float_tuple():
    assert split_top_level("a(x=1,y=2), b ,") == ["a(x=1,y=2)", "b"]
    assert float_tuple(("a", "b"))("2,3") == (2.0, 3.0)
    import argparse

    for bad in ("1", "1,inf", "x,1"):
        with pytest.raises(argparse.ArgumentTypeError):
            float_tuple(("a", "b"))(bad)


def test_help_lists_presets_and_method_options(capsys):
    with pytest.raises(SystemExit) as exc:
        poisson.main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "'smoke'" in out
    assert "pinn(w_dat, w_reg, lr_theta, field, steps, pretrain_steps, amsgrad, derivatives)" in out


def test_summarize_and_report(tmp_path):
    s = summarize([1.0, 3.0, float("nan")])
    assert s == {"mean": 2.0, "std": math.sqrt(2.0), "n": 2}
    rep = Report(problem="p", preset="smoke", noise=0.0, seeds=2, ranks=1, device="cpu", config={"a": 1})
    rep.record("bilo").add({"rel_err[rD]": 0.1, "u_rel_l2": 0.01}, wall_s=1.0, steps=10, s_per_step=0.1)
    rep.record("bilo").add({"rel_err[rD]": 0.3, "u_rel_l2": 0.03}, wall_s=2.0, steps=10, s_per_step=0.2)
    rep.reference_rows["paper"] = {"rel_err[rD]": 0.05}
    rep.write(tmp_path)
    js = json.loads((tmp_path / "report.json").read_text())
    assert set(js) >= {"problem", "preset", "noise", "seeds", "ranks", "device", "config", "methods"}
    m = js["methods"]["bilo"]
    assert m["metrics"]["rel_err[rD]"]["mean"] == pytest.approx(0.2)
    assert m["metrics"]["rel_err[rD]"]["n"] == 2
    assert m["wall_s"] == 3.0 and m["steps"] == 10
    md = (tmp_path / "report.md").read_text()
    assert "| bilo |" in md and "published, not run" in md


def test_a_config_of_the_wrong_type_is_refused():
    from inverse.methods import METHODS
    from inverse.runner import configure

    wrong = replace(STUDY, configs={**STUDY.configs, "pinn": STUDY.configs["bilo"]})
    with pytest.raises(TypeError, match=r"pinn reads configs\['pinn'\] as a PINNConfig, got a BiLOConfig"):
        configure(wrong, "pinn", {}, METHODS)


def test_time_to_accuracy_is_the_time_after_which_the_error_stays_small():
    from inverse.runner import time_to_accuracy

    class P:
        unknowns = Scalars(names=("a", "b"), truth=(2.0, 1.0), init=(1.0, 1.0))

    rows = [{"time": 0.0, "theta_a": 1.0, "theta_b": 1.0},
            {"time": 1.0, "theta_a": 2.01, "theta_b": 1.5},  # a within 1 %, then out again
            {"time": 2.0, "theta_a": 2.1, "theta_b": 1.2},
            {"time": 3.0, "theta_a": 1.995, "theta_b": 1.2},
            {"time": 4.0, "theta_a": 2.0, "theta_b": 1.2}]
    t = time_to_accuracy(P(), rows)
    assert t["t_1pct[a]"] == 3.0 and math.isnan(t["t_1pct[b]"])
    assert time_to_accuracy(P(), [{"step": 0}]) == {}


def test_a_problem_refuses_a_noise_level_its_data_cannot_take_before_any_work():
    from mpi4py import MPI

    from comparisons.singular import PRESETS
    from inverse import make_data

    problem = PRESETS["smoke"][0]().problem
    with pytest.raises(ValueError, match="--noise 0.1: the data are particles"):
        make_data(problem, problem.discretise(MPI.COMM_WORLD), noise=0.1, seed=0)
    with pytest.raises(ValueError, match="--noise nan: the noise level must be a finite number >= 0"):
        STUDY.problem.check_noise(float("nan"))


def test_a_noise_range_declares_the_levels_and_names_them_in_the_message():
    from comparisons.gbm import GBMProblem

    problem = GBMProblem(window_mm=20, steps=2, n_res=10)
    problem.check_noise(0.0)
    problem.check_noise(1.0)
    message = r"--noise 1.5: the label noise, a fraction of edge voxels, must be a finite number in \[0, 1\]"
    with pytest.raises(ValueError, match=message):
        problem.check_noise(1.5)
    with pytest.raises(ValueError, match="--noise -1: the noise level must be a finite number >= 0"):
        STUDY.problem.check_noise(-1.0)


def test_a_problem_without_a_weak_form_says_so_where_one_is_asked():
    from comparisons.singular import SingularProblem

    with pytest.raises(NotImplementedError, match="singular declares no weak form"):
        SingularProblem().weak_residual(None, {}, None)


def test_jet_derivatives_are_refused_for_a_strong_form_without_jets():
    from comparisons.fisher_kpp import FisherKPPProblem
    from comparisons.singular import SingularProblem
    from inverse.methods.bilo import BiLO
    from inverse.methods.pinn import PINN

    for method in (BiLO(derivatives="compiled"), PINN(derivatives="jet")):
        why = method.refuse(SingularProblem())
        assert why is not None and "needs a strong form written on jets" in why
        assert method.refuse(FisherKPPProblem()) is None
    assert BiLO(derivatives="autograd").refuse(SingularProblem()) is None


def test_problem_flags_set_one_field_each_and_a_bad_value_names_the_flags(capsys):
    from comparisons import fisher_kpp

    c = fisher_kpp.COMPARISON
    preset = fisher_kpp.PRESETS["smoke"][0]()
    p = c.parser()
    assert "--truth" in p.format_help() and "--init" in p.format_help()
    args = p.parse_args(["--init", "1.5,0.5"])
    study = ProblemFlag.apply(c.flags, preset, args)
    assert study.problem.init_theta == (1.5, 0.5)
    assert study.problem.truth_theta == preset.problem.truth_theta  # unset: the preset's value
    assert ProblemFlag.apply(c.flags, preset, p.parse_args([])) == preset
    # the problem's check() runs on the result: a guess below the unknowns' lower bound is refused
    with pytest.raises(ValueError, match="^--init: "):
        ProblemFlag.apply(c.flags, preset, p.parse_args(["--init", "-1,1"]))
    with pytest.raises(ValueError, match="^--truth/--init: "):
        ProblemFlag.apply(c.flags, preset, p.parse_args(["--truth", "-1,1", "--init", "1,1"]))
    # on the command line: one line, exit status 2, before any work
    with pytest.raises(SystemExit) as exit_:
        c.main(["--preset", "smoke", "--init", "-1,1", "--out", "/nonexistent/never-written"])
    assert exit_.value.code == 2 and "--init: " in capsys.readouterr().err
