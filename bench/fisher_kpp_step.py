"""Seconds per fine-tuning step and peak memory, BiLO vs PINN, on Fisher–KPP at the paper's sizes.

2,601 residual points (51×51 grid of (t, x) ∈ [0,1]²), 121 data points (11×11), depth 4 width 128
tanh, float32, 2 threads. Both methods run side by side in one process, alternating rounds so
that load from other processes hits both alike; each round warms up, then times every step (a
callback timestamps each step; the median over all timed steps is reported). Peak memory is
the ``ru_maxrss`` growth of a fresh subprocess per method during a short fit. The matmul FLOPs of
one step of each (``bench._flops``: every forward and backward pass the step runs)
give the ratio the measured one is read against: the exact residual-gradient by reverse over
reverse costs BiLO twice the PINN's matmuls, not the naive 1 + n_θ. ``--modes jet,autograd,compiled``
adds the jets under ``torch.compile`` (``derivatives="compiled"``; no peak memory: the compiler's
own would dominate it).

Run: ``python -m bench.fisher_kpp_step`` (or ``python -m bench`` for every benchmark).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

import hybrid
from bench import _flops
from bench._memory import peak_growth_mb
from bench._report import publish

# The comparison's own problem, so the benchmark times exactly what the comparison trains.
from comparisons.pdes import FisherKPP

PARAMS = FisherKPP().param_names

NAME = "fisher_kpp_step"


def fk_grid(n: int) -> np.ndarray:
    """The n×n grid of (t, x) ∈ [0, 1]², t the first column."""
    t, x = np.meshgrid(np.linspace(0, 1, n), np.linspace(0, 1, n), indexing="ij")
    return np.stack([t.ravel(), x.ravel()], axis=1)


def _method(name: str, derivatives: str, steps: int) -> hybrid.BiLO | hybrid.PINN:
    pre = hybrid.PretrainConfig(steps=0)
    if name == "bilo":
        return hybrid.BiLO(hybrid.BiLOConfig(pretrain=pre, derivatives=derivatives,  # type: ignore[arg-type]
                                             finetune=hybrid.BiLOFinetuneConfig(steps=steps),
                                             log_every=10**9))
    return hybrid.PINN(hybrid.PINNConfig(pretrain=pre, derivatives=derivatives,  # type: ignore[arg-type]
                                         finetune=hybrid.PINNFinetuneConfig(steps=steps), log_every=10**9))


def _fit(name: str, derivatives: str, steps: int, callback: Any = None, grid: tuple[int, int] = (51, 11),
         ) -> hybrid.FitResult:
    xr, xd = fk_grid(grid[0]), fk_grid(grid[1])
    u_dat = 0.5 * np.sin(np.pi * xd[:, 1]) ** 2   # values do not matter for timing
    return _method(name, derivatives, steps).fit(FisherKPP(), xr, xd, u_dat, dict.fromkeys(PARAMS, 1.0),
                                                 device="cpu", dtype="float32", progress=False,
                                                 callback=callback)


def step_times(name: str, derivatives: str, *, warmup: int, steps: int) -> list[float]:
    """Per-step wall times of ``steps`` fine-tuning steps after ``warmup`` untimed ones."""
    stamps: list[float] = []
    _fit(name, derivatives, warmup + steps + 1, callback=lambda row: stamps.append(time.perf_counter()))
    return list(np.diff(stamps)[warmup:])


def step_flops(name: str, derivatives: str = "jet", grid: tuple[int, int] = (51, 11)) -> int:
    """Matmul FLOPs of one fine-tuning step, grid[0]² residual and grid[1]² data points (``bench._flops``)."""
    return _flops.step_flops(lambda callback: _fit(name, derivatives, 4, callback=callback, grid=grid))


def peak_memory_mb(name: str, derivatives: str, steps: int = 20) -> float:
    """Peak RSS growth (MB) during a short fit, in this (fresh) process (``bench._memory``)."""
    tiny = hybrid.NetworkConfig(depth=2, width=2)

    def warm() -> None:
        hybrid.PINN(hybrid.PINNConfig(network=tiny, pretrain=hybrid.PretrainConfig(steps=1),
                                      finetune=hybrid.PINNFinetuneConfig(steps=1))).fit(
            FisherKPP(), fk_grid(2), fk_grid(2), np.zeros(4), dict.fromkeys(PARAMS, 1.0), progress=False,
            device="cpu")

    return peak_growth_mb(lambda: _fit(name, derivatives, steps), warm)


def _memory_in_subprocess(name: str, derivatives: str, threads: int) -> float:
    out = subprocess.run([sys.executable, "-m", "bench.fisher_kpp_step", "--memory", name,
                          "--derivatives", derivatives, "--threads", str(threads)],
                         capture_output=True, text=True, check=True, cwd=Path(__file__).resolve().parents[1])
    return float(out.stdout.strip().splitlines()[-1])


def run(*, steps: int = 60, warmup: int = 10, rounds: int = 2, threads: int = 2,
        modes: tuple[str, ...] = ("jet", "autograd"), memory: bool = True) -> dict[str, Any]:
    """Measure every (method, derivative mode); return the results as a JSON-ready dict."""
    hybrid.set_threads(threads)
    times: dict[str, list[float]] = {}
    for _ in range(rounds):
        for mode in modes:
            for name in ("bilo", "pinn"):
                timed = step_times(name, mode, warmup=warmup, steps=steps)
                times.setdefault(f"{name}/{mode}", []).extend(timed)
    result: dict[str, Any] = {
        "benchmark": NAME, "threads": threads, "dtype": "float32", "n_res": 51 * 51, "n_dat": 121,
        "network": "depth 4 width 128 tanh", "steps_per_round": steps, "warmup": warmup, "rounds": rounds,
        "torch": torch.__version__, "modes": {}}
    for mode in modes:
        b, p = (float(np.median(times[f"{n}/{mode}"])) for n in ("bilo", "pinn"))
        entry: dict[str, Any] = {"bilo_s_per_step": b, "pinn_s_per_step": p, "ratio": b / p,
                                 "bilo_steps_timed": len(times[f"bilo/{mode}"])}
        if memory and mode != "compiled":  # a compiled run's peak RSS would count the compiler itself
            entry["bilo_peak_mb"] = _memory_in_subprocess("bilo", mode, threads)
            entry["pinn_peak_mb"] = _memory_in_subprocess("pinn", mode, threads)
        result["modes"][mode] = entry
    best = result["modes"][modes[0]]
    # the naive count (1 + n_θ tangent channels through the network), printed beside the matmul
    # FLOPs the step really runs, which the measured ratio is read against
    result["naive_flop_ratio"] = 1 + len(PARAMS)
    flops = {n: step_flops(n, modes[0]) for n in ("bilo", "pinn")}
    result["gflop_per_step"] = {n: f / 1e9 for n, f in flops.items()}
    result["flop_ratio"] = flops["bilo"] / flops["pinn"]
    result["targets"] = {"ratio<=2.0": best["ratio"] <= 2.0}
    if "bilo_peak_mb" in best:
        result["memory_ratio"] = best["bilo_peak_mb"] / best["pinn_peak_mb"]
        result["targets"]["memory_ratio<=2.5"] = result["memory_ratio"] <= 2.5
    if "compiled" in modes and modes[0] != "compiled":
        c = result["modes"]["compiled"]
        # torch.compile's BiLO step against the eager jets' of the same run (the issue's "today's")
        result["compiled_over_eager"] = c["bilo_s_per_step"] / best["bilo_s_per_step"]
        result["targets"]["compiled ratio<=2.0"] = c["ratio"] <= 2.0
        result["targets"]["compiled BiLO step<=0.6x eager"] = result["compiled_over_eager"] <= 0.6
    return result


def summary(result: dict[str, Any]) -> str:
    """One line per derivative mode."""
    lines = [f"{NAME}: Fisher–KPP, {result['n_res']} res pts, {result['network']}, {result['dtype']}, "
             f"{result['threads']} threads"]
    for mode, e in result["modes"].items():
        mem = (f"  peak MB BiLO {e['bilo_peak_mb']:.0f} PINN {e['pinn_peak_mb']:.0f}"
               if "bilo_peak_mb" in e else "")
        lines.append(f"  {mode:8s} BiLO {e['bilo_s_per_step']:.4f} s/step  "
                     f"PINN {e['pinn_s_per_step']:.4f} s/step  ratio {e['ratio']:.2f}{mem}")
    if "flop_ratio" in result:
        g = result["gflop_per_step"]
        lines.append(f"  matmul GFLOP per step: BiLO {g['bilo']:.2f}, PINN {g['pinn']:.2f}, ratio "
                     f"{result['flop_ratio']:.2f} (the naive ratio is {result['naive_flop_ratio']}, "
                     "1 + n_θ tangent channels)")
    if "compiled_over_eager" in result:
        lines.append(f"  compiled BiLO step / {next(iter(result['modes']))} BiLO step: "
                     f"{result['compiled_over_eager']:.2f} (torch.compile; its first step compiles, "
                     "outside the timed steps)")
    for k, v in result.get("targets", {}).items():
        lines.append(f"  target {k}: {'met' if v else 'NOT met'}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any] | None:
    """Command line: measure, print the summary, write ``results/bench/fisher_kpp_step.json``."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--modes", default="jet,autograd",
                    help="derivative modes, comma-separated: jet, autograd, compiled (default jet,autograd)")
    ap.add_argument("--no-memory", action="store_true")
    ap.add_argument("--out", default="results/bench")
    ap.add_argument("--memory", choices=["bilo", "pinn"], help=argparse.SUPPRESS)
    ap.add_argument("--derivatives", default="jet", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    hybrid.set_threads(args.threads)
    if args.memory:
        print(peak_memory_mb(args.memory, args.derivatives))
        return None
    result = run(steps=args.steps, warmup=args.warmup, rounds=args.rounds, threads=args.threads,
                 modes=tuple(args.modes.split(",")), memory=not args.no_memory)
    publish(NAME, result, summary, args.out)
    return result


if __name__ == "__main__":
    main()
