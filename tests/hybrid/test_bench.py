import json

import pytest

from bench import fisher_kpp_step


def test_fisher_kpp_step_benchmark_computes_its_numbers(tmp_path):
    import torch
    # main() sets torch's thread count (2 by default); left at 2, every later test in the session
    # ran up to 20x slower on a loaded 2-core machine (OpenMP barriers).
    threads = torch.get_num_threads()
    try:
        res = fisher_kpp_step.main(["--steps", "3", "--warmup", "1", "--rounds", "1", "--modes", "jet",
                                    "--no-memory", "--out", str(tmp_path)])
    finally:
        torch.set_num_threads(threads)
    e = res["modes"]["jet"]
    assert e["bilo_s_per_step"] > 0 and e["pinn_s_per_step"] > 0 and e["bilo_steps_timed"] == 3
    assert json.loads((tmp_path / "fisher_kpp_step.json").read_text())["n_res"] == 2601
    assert res["targets"] == {"ratio<=2.0": e["ratio"] <= 2.0} and res["naive_flop_ratio"] == 3
    assert 1.9 < res["flop_ratio"] < 2.1 and res["gflop_per_step"]["bilo"] > 0


def test_a_bilo_step_costs_twice_the_pinn_matmuls():
    # reverse over reverse: the residual-gradient's backward and its own backward double every
    # residual-point matmul; the data points' matmuls (a fifth of the points here) are shared
    import torch

    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        bilo, pinn = (fisher_kpp_step.step_flops(n, grid=(11, 5)) for n in ("bilo", "pinn"))
    finally:
        torch.set_num_threads(threads)
    assert 1.8 < bilo / pinn < 2.1, (bilo, pinn)


def test_benchmark_problem_matches_the_spec():
    import torch
    pde = fisher_kpp_step.FisherKPP()
    x = torch.tensor([[0.0, 0.25], [0.5, 0.0], [0.5, 1.0]])
    u = pde.output_transform(x, torch.full((3,), 7.0), torch.ones(3, 2))
    torch.testing.assert_close(u, torch.tensor([0.25, 0.0, 0.0]))


def test_time_to_answer_reads_the_first_row_after_which_every_parameter_stays_within():
    from bench.time_to_answer import settled

    rows = [{"step": k, "theta_a": a, "theta_b": b} for k, (a, b) in
            enumerate([(1.0, 1.0), (1.99, 2.0), (1.97, 2.0), (1.995, 1.985), (2.01, 1.99), (2.0, 2.0)])]
    assert settled(rows, ("a", "b"), (2.0, 2.0))["step"] == 3        # row 2 has a 1.5 % off
    assert settled(rows, ("a", "b"), (2.0, 2.0), tol=0.001)["step"] == 5
    assert settled(rows[:3], ("a", "b"), (2.0, 2.0)) is None           # the last row is outside


def test_darcy_step_measures_both_derivative_modes():
    import torch

    import hybrid
    from bench import darcy_step

    threads = torch.get_num_threads()
    try:
        r = darcy_step.measure(steps=2, warmup=1, rounds=1, n=5, threads=1)
    finally:
        hybrid.set_threads(threads)
    for key in ("bilo_autograd", "bilo_jet", "pinn_autograd", "pinn_jet"):
        assert r[f"{key}_s_per_step"] > 0
    assert r["points"] == 25 and r["threads"] == 1


def test_jets_take_matmuls_out_of_the_darcy_step():
    # the jet engine replaces nested backward passes by forward tangents: fewer products per step,
    # for BiLO (whose residual-gradient the autograd engine nests once more) and for the PINN
    import pytest
    import torch

    from bench import darcy_step
    from bench._flops import step_flops

    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        g = {(m, d): darcy_step.step_flops(m, d, n=7) for m in ("bilo", "pinn") for d in ("autograd", "jet")}
    finally:
        torch.set_num_threads(threads)
    for m in ("bilo", "pinn"):
        assert g[m, "jet"] < 0.8 * g[m, "autograd"], g
    assert g["bilo", "jet"] > g["pinn", "jet"], g
    with pytest.raises(ValueError, match="fewer than 3"):
        step_flops(lambda cb: darcy_step._fit("pinn", "jet", 2, callback=cb, n=3))
    # and the profiler, started after its second step, was stopped with the fit
    assert torch.autograd.profiler._is_profiler_enabled is False


def test_batched_seeds_reports_the_flop_floor_of_batching():
    import torch

    from bench import batched_seeds
    from bench._flops import call_flops

    a, b = torch.randn(8, 16), torch.randn(16, 4)
    assert call_flops(lambda: a @ b) == 2 * 8 * 16 * 4
    # at the session's thread count: run() sets torch's threads (see the first test)
    r = batched_seeds.run(seeds=2, steps=1, warmup=0, width=8, grid=5, threads=torch.get_num_threads())
    assert r["gflop_one"] > 0 and r["matmul_gflop_per_s"] > 0
    # the floor is two networks' FLOPs at the machine's rate, in units of one network's time
    assert r["floor_over_one"] == pytest.approx(2 * r["gflop_one"] / r["matmul_gflop_per_s"] / r["s_one"])
    assert r["max_rel_gradient_difference"] < 1e-4


def test_counting_flops_prints_nothing_and_keeps_the_steps_own_messages(capfd):
    import os

    import torch

    from bench._flops import call_flops

    a = torch.randn(8, 8)

    def step() -> None:
        os.write(2, b"the step's own line\n")  # native stderr inside the profiled call is kept
        _ = a @ a

    assert call_flops(step) == 2 * 8**3
    err = capfd.readouterr().err
    assert "USDT" not in err and "profiler_start" not in err
    assert "the step's own line" in err


def test_the_compiled_bilo_loss_is_the_engines_loss():
    # what bench.compiled_step compiles (dr/dθ by torch.func.vjp) against the engine's eager loss
    # (reverse over reverse): same value, same W-gradient, before any compiling
    import torch

    from bench import compiled_step

    fns, W = compiled_step.losses(width=16, grid=7)
    a, b = fns["bilo"](), fns["bilo_functional"]()
    assert torch.allclose(a, b, rtol=1e-6)
    for ga, gb in zip(torch.autograd.grad(a, W["bilo"]), torch.autograd.grad(b, W["bilo"]), strict=True):
        assert torch.allclose(ga, gb, rtol=1e-5, atol=1e-8)


@pytest.mark.slow
def test_compiled_step_benchmark_runs_and_agrees(tmp_path):
    import torch

    from bench import compiled_step

    threads = torch.get_num_threads()
    try:
        r = compiled_step.main(["--steps", "1", "--width", "8", "--grid", "5", "--threads", str(threads),
                                "--out", str(tmp_path)])
    finally:
        torch.set_num_threads(threads)
    for m in r["methods"].values():
        assert m["eager_s"] > 0 and m["compiled_s"] > 0 and m["first_compiled_call_s"] > 0
        assert m["max_rel_gradient_difference"] < 1e-4
    assert json.loads((tmp_path / "compiled_step.json").read_text())["points"] == 25
