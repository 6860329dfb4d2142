"""Darcy: seconds per fine-tuning step, before/after jets, BiLO/PINN, memory, and 1 vs 2 ranks.

The problem is the comparison's own ``DarcyPDE`` (f_V = 9·sigmoid(MLP_V) + 3 with Fourier
features as in the presets, local operator with random Fourier features, residual −∇·(z∇u) − 1)
on the 51×51 grid of the unit square (2,601 points, the paper's size), split across ranks. The
data values do not matter for timing. One invocation measures BiLO and the PINN with both
derivative modes side by side, alternating rounds (median per-step time after a warm-up):
``autograd`` (nested backward passes through u's and f_V's graphs: the engine before the jets)
and ``jet`` (forward tangents through f_V's jet and the local operator; the default), and on
1 rank also ``compiled`` (the jets under ``torch.compile``, ``derivatives="compiled"``). ``run()``
launches the 1-rank measurement (threads by the policy, ``hybrid.set_threads``: all cores), the
1-rank × 1-thread and the 2-rank × 1-thread measurements for the same *global* point count, and
the peak memory of each method in a fresh process, and the matmul FLOPs of one step of each
(method, mode) at the same size (``bench._flops``), the ratios the measured ones are read
against. The parallel efficiency is the strong scaling
at one core per rank, t(1 rank) / (2·t(2 ranks)); beside it, how the same 2 cores do as 2 threads
of one rank against 2 ranks.

    python -m bench.darcy_step                 # everything; writes results/bench/darcy_step.json
    mpirun -n 2 python -m bench.darcy_step --measure   # one measurement (what run() launches)
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench import _flops

NAME = "darcy_step"
ROOT = Path(__file__).resolve().parents[1]


def _points(n: int, rank: int, size: int) -> np.ndarray:
    g = np.linspace(0.0, 1.0, n)
    X, Y = np.meshgrid(g, g, indexing="ij")
    return np.c_[X.ravel(), Y.ravel()][rank::size]


def _fit(name: str, derivatives: str, steps: int, comm: Any = None, callback: Any = None,
         n: int = 51) -> None:
    import hybrid
    from comparisons.pdes import DarcyPDE

    pts = _points(n, 0 if comm is None else comm.rank, 1 if comm is None else comm.size)
    u = np.sin(np.pi * pts[:, 0]) * np.sin(np.pi * pts[:, 1]) * 0.01
    a0 = 3.0 + 9.0 / (1.0 + np.exp(-np.cos(4 * pts[:, 0])))
    net = hybrid.NetworkConfig(depth=4, width=128, fourier=True)
    fnet = hybrid.FunctionNetworkConfig(fourier=True)
    pre = hybrid.PretrainConfig(steps=0)
    common: Any = {"network": net, "function_network": fnet, "pretrain": pre, "log_every": 10**9,
                   "derivatives": derivatives}
    method: Any
    if name == "bilo":
        method = hybrid.BiLO(hybrid.BiLOConfig(**common, finetune=hybrid.BiLOFinetuneConfig(steps=steps)))
    else:
        method = hybrid.PINN(hybrid.PINNConfig(**common, finetune=hybrid.PINNFinetuneConfig(steps=steps)))
    method.fit(DarcyPDE(), pts, pts, u, a0, device="cpu", dtype="float32", progress=False,
               comm=comm if comm is not None and comm.size > 1 else None, callback=callback)


def step_flops(name: str, derivatives: str, n: int = 51) -> int:
    """Matmul FLOPs of one fine-tuning step on the n×n grid, one rank (``bench._flops``)."""
    return _flops.step_flops(lambda callback: _fit(name, derivatives, 4, callback=callback, n=n))


def measure(steps: int, warmup: int, modes: tuple[str, ...] = ("autograd", "jet"), rounds: int = 2,
            n: int = 51, threads: int | None = None) -> dict[str, Any]:
    """Per-step medians of BiLO and the PINN per derivative mode on this communicator."""
    import torch
    from mpi4py import MPI

    import hybrid

    comm = MPI.COMM_WORLD
    hybrid.set_threads(threads, comm)  # None: the policy, the node's cores shared among its ranks
    out: dict[str, Any] = {"ranks": comm.size, "points": n * n, "threads": torch.get_num_threads()}
    times: dict[str, list[float]] = {}
    for _ in range(rounds):
        for mode in modes:
            for name in ("bilo", "pinn"):
                stamps: list[float] = []
                _fit(name, mode, warmup + steps + 1, comm,
                     lambda row, stamps=stamps: stamps.append(time.perf_counter()), n)
                times.setdefault(f"{name}/{mode}", []).extend(np.diff(stamps)[warmup:])
    for key, ts in times.items():
        out[f"{key.replace('/', '_')}_s_per_step"] = float(np.median(ts))
    return out


def peak_memory_mb(name: str, derivatives: str, steps: int = 10) -> float:
    """Peak RSS growth (MB) of a short fit in this (fresh) process."""
    from bench._memory import peak_growth_mb

    return peak_growth_mb(lambda: _fit(name, derivatives, steps), lambda: _fit(name, derivatives, 1, n=3))


def _json_line(cmd: list[str]) -> Any:
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run(steps: int = 30, warmup: int = 5, out: str | Path = "results/bench", rounds: int = 2,
        memory: bool = True) -> dict[str, Any]:
    """1 rank (both modes), memory per method (fresh processes), 2 ranks (jets); write and return the JSON."""
    me = [sys.executable, "-m", "bench.darcy_step"]
    args = ["--measure", "--steps", str(steps), "--warmup", str(warmup), "--rounds", str(rounds)]
    one = _json_line([*me, *args, "--modes", "autograd,jet,compiled"])
    serial = _json_line([*me, *args, "--modes", "jet", "--threads", "1"])
    two = _json_line([str(Path(sys.executable).with_name("mpirun")), "-n", "2", *me, *args, "--modes", "jet"])
    s: dict[str, Any] = {"benchmark": NAME, "runs": [one, serial, two]}
    s["gflop_per_step"] = {f"{m}/{d}": step_flops(m, d) / 1e9
                           for d in ("autograd", "jet") for m in ("bilo", "pinn")}
    s["bilo_jet_over_autograd"] = one["bilo_jet_s_per_step"] / one["bilo_autograd_s_per_step"]
    s["bilo_pinn_ratio_jet"] = one["bilo_jet_s_per_step"] / one["pinn_jet_s_per_step"]
    s["bilo_pinn_ratio_autograd"] = one["bilo_autograd_s_per_step"] / one["pinn_autograd_s_per_step"]
    s["bilo_compiled_over_autograd"] = one["bilo_compiled_s_per_step"] / one["bilo_autograd_s_per_step"]
    s["bilo_pinn_ratio_compiled"] = one["bilo_compiled_s_per_step"] / one["pinn_compiled_s_per_step"]
    # Strong scaling at one core per rank: 1 rank × 1 thread against 2 ranks × 1 thread.
    s["bilo_parallel_efficiency"] = serial["bilo_jet_s_per_step"] / (2 * two["bilo_jet_s_per_step"])
    s["pinn_parallel_efficiency"] = serial["pinn_jet_s_per_step"] / (2 * two["pinn_jet_s_per_step"])
    # The same cores used as 2 threads of 1 rank or as 2 ranks (> 1: the ranks are faster).
    s["bilo_threads_over_ranks"] = one["bilo_jet_s_per_step"] / two["bilo_jet_s_per_step"]
    targets = {"bilo_jet_over_autograd<=0.5": s["bilo_jet_over_autograd"] <= 0.5,
               "bilo_pinn_ratio_jet<=1.8": s["bilo_pinn_ratio_jet"] <= 1.8,
               "bilo_parallel_efficiency>=0.8": s["bilo_parallel_efficiency"] >= 0.8}
    if memory:
        s["peak_mb"] = {f"{m}/{d}": float(_json_line([*me, "--memory", m, "--derivatives", d]))
                        for d in ("autograd", "jet") for m in ("bilo", "pinn")}
        s["bilo_pinn_memory_ratio_jet"] = s["peak_mb"]["bilo/jet"] / s["peak_mb"]["pinn/jet"]
        targets["bilo_pinn_memory_ratio_jet<=2.5"] = s["bilo_pinn_memory_ratio_jet"] <= 2.5
    s["targets"] = targets
    path = Path(out)
    path.mkdir(parents=True, exist_ok=True)
    (path / f"{NAME}.json").write_text(json.dumps(s, indent=1))
    return s


def summary(s: dict[str, Any]) -> str:
    """The printed lines."""
    one = s["runs"][0]
    lines = [f"{NAME}: Darcy, {one['points']} points, s/step (median), BiLO / PINN"]
    for r in s["runs"]:
        for mode in ("autograd", "jet", "compiled"):
            if f"bilo_{mode}_s_per_step" in r:
                b, p = r[f"bilo_{mode}_s_per_step"], r[f"pinn_{mode}_s_per_step"]
                lines.append(f"  {r['ranks']} rank(s) × {r['threads']} thread(s), {mode:8s}: "
                             f"BiLO {b:.4f}  PINN {p:.4f}")
    lines.append(f"  BiLO jet / autograd {s['bilo_jet_over_autograd']:.2f} (target ≤ 0.5); BiLO/PINN "
                 f"{s['bilo_pinn_ratio_jet']:.2f} with jets (≤ 1.8), "
                 f"{s['bilo_pinn_ratio_autograd']:.2f} without")
    if "bilo_compiled_over_autograd" in s:
        lines.append("  jets under torch.compile: BiLO compiled / autograd "
                     f"{s['bilo_compiled_over_autograd']:.2f}, "
                     f"BiLO/PINN {s['bilo_pinn_ratio_compiled']:.2f} (the first step compiles, outside "
                     "the timed steps)")
    lines.append(f"  parallel efficiency 1→2 ranks, 1 core each: BiLO {s['bilo_parallel_efficiency']:.2f} "
                 f"(≥ 0.8), PINN {s['pinn_parallel_efficiency']:.2f}; on the same 2 cores, "
                 f"1 rank × 2 threads takes {s['bilo_threads_over_ranks']:.2f}× the time of 2 ranks × "
                 "1 thread")
    if "gflop_per_step" in s:
        g = s["gflop_per_step"]
        lines.append("  matmul GFLOP per step: " + ", ".join(f"{k} {v:.2f}" for k, v in g.items())
                     + f"; BiLO jet / autograd {g['bilo/jet'] / g['bilo/autograd']:.2f}, "
                     f"BiLO/PINN with jets {g['bilo/jet'] / g['pinn/jet']:.2f}")
    if "peak_mb" in s:
        lines.append("  peak MB: " + ", ".join(f"{k} {v:.0f}" for k, v in s["peak_mb"].items())
                     + f"; BiLO/PINN with jets {s['bilo_pinn_memory_ratio_jet']:.2f} (≤ 2.5)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any] | None:
    """Command line (see the module docstring)."""
    ap = argparse.ArgumentParser(description="Darcy step time: jets vs autograd, BiLO/PINN, memory, "
                                 "1 vs 2 ranks")
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=2, help="alternating rounds per measurement")
    ap.add_argument("--no-memory", action="store_true")
    ap.add_argument("--out", default="results/bench")
    ap.add_argument("--measure", action="store_true", help="one measurement on this communicator (JSON line)")
    ap.add_argument("--modes", default="autograd,jet", help=argparse.SUPPRESS)
    ap.add_argument("--threads", type=int, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--memory", choices=["bilo", "pinn"], help=argparse.SUPPRESS)
    ap.add_argument("--derivatives", default="jet", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.memory:
        import hybrid

        hybrid.set_threads(None)
        print(json.dumps(peak_memory_mb(args.memory, args.derivatives)))
        return None
    if args.measure:
        from fem.parallel import run_collectively

        res = run_collectively(lambda: measure(args.steps, args.warmup, tuple(args.modes.split(",")),
                                               args.rounds, threads=args.threads))
        from mpi4py import MPI

        if MPI.COMM_WORLD.rank == 0:
            print(json.dumps(res), flush=True)
        return None
    s = run(args.steps, args.warmup, args.out, args.rounds, memory=not args.no_memory)
    print(summary(s))
    return s


if __name__ == "__main__":
    main()
