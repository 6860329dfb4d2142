import json

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


def test_benchmark_problem_matches_the_spec():
    import torch
    pde = fisher_kpp_step.FisherKPP()
    x = torch.tensor([[0.0, 0.25], [0.5, 0.0], [0.5, 1.0]])
    u = pde.output_transform(x, torch.full((3,), 7.0), torch.ones(3, 2))
    torch.testing.assert_close(u, torch.tensor([0.25, 0.0, 0.0]))
