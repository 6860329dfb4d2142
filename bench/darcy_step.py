"""Darcy: seconds per fine-tuning step, BiLO/PINN ratio, and data-parallel efficiency on 1 vs 2 ranks.

The problem is the comparison's own ``DarcyPDE`` (f_V = 9·sigmoid(MLP_V) + 3, local operator
with random Fourier features, residual −∇·(z∇u) − 1) on the 51×51 grid of the unit square
(2,601 points, the paper's size), split across ranks. The data values do not matter for
timing. One invocation measures BiLO and the PINN side by side (median per-step time after a
warm-up); ``run()`` launches the 1-rank and the 2-rank measurements for the same *global*
point count and reports the parallel efficiency t1 / (2·t2).

    python -m bench.darcy_step                 # both rank counts; writes results/bench/darcy_step.json
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

NAME = "darcy_step"
ROOT = Path(__file__).resolve().parents[1]


def measure(steps: int, warmup: int, n: int = 51) -> dict[str, Any]:
    """Per-step medians of BiLO and the PINN on this communicator (each rank: its share of points)."""
    import torch
    from mpi4py import MPI

    import hybrid
    from comparisons.pdes import DarcyPDE

    comm = MPI.COMM_WORLD
    hybrid.set_threads(None, comm)  # the policy: the node's cores shared among its ranks
    g = np.linspace(0.0, 1.0, n)
    X, Y = np.meshgrid(g, g, indexing="ij")
    pts = np.c_[X.ravel(), Y.ravel()][comm.rank::comm.size]
    u = np.sin(np.pi * pts[:, 0]) * np.sin(np.pi * pts[:, 1]) * 0.01
    a0 = 3.0 + 9.0 / (1.0 + np.exp(-np.cos(4 * pts[:, 0])))
    net = hybrid.NetworkConfig(depth=4, width=128, fourier=True)
    pre = hybrid.PretrainConfig(steps=0)
    out: dict[str, Any] = {"ranks": comm.size, "points": n * n, "threads": torch.get_num_threads()}
    for name in ("bilo", "pinn"):
        if name == "bilo":
            bilo_ft = hybrid.BiLOFinetuneConfig(steps=warmup + steps + 1)
            method: Any = hybrid.BiLO(hybrid.BiLOConfig(network=net, pretrain=pre, log_every=10**9,
                                                        finetune=bilo_ft))
        else:
            pinn_ft = hybrid.PINNFinetuneConfig(steps=warmup + steps + 1)
            method = hybrid.PINN(hybrid.PINNConfig(network=net, pretrain=pre, log_every=10**9,
                                                   finetune=pinn_ft))
        stamps: list[float] = []
        method.fit(DarcyPDE(), pts, pts, u, a0, device="cpu", dtype="float32", progress=False,
                   comm=comm if comm.size > 1 else None,
                   callback=lambda row, stamps=stamps: stamps.append(time.perf_counter()))
        out[f"{name}_s_per_step"] = float(np.median(np.diff(stamps)[warmup:]))
    out["ratio"] = out["bilo_s_per_step"] / out["pinn_s_per_step"]
    return out


def run(steps: int = 30, warmup: int = 5, out: str | Path = "results/bench") -> dict[str, Any]:
    """Measure on 1 and 2 ranks (same global points) in subprocesses; write and return the JSON."""
    mpirun = Path(sys.executable).with_name("mpirun")
    results = []
    for ranks in (1, 2):
        cmd = [sys.executable, "-m", "bench.darcy_step", "--measure", "--steps", str(steps),
               "--warmup", str(warmup)]
        if ranks > 1:
            cmd = [str(mpirun), "-n", str(ranks), *cmd]
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True)
        results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    one, two = results
    summary = {"benchmark": NAME, "runs": results,
               "bilo_parallel_efficiency": one["bilo_s_per_step"] / (2 * two["bilo_s_per_step"]),
               "bilo_pinn_ratio_1rank": one["ratio"],
               "targets": {"efficiency>=0.7": None, "ratio<=1.3": one["ratio"] <= 1.3}}
    summary["targets"]["efficiency>=0.7"] = summary["bilo_parallel_efficiency"] >= 0.7
    path = Path(out)
    path.mkdir(parents=True, exist_ok=True)
    (path / f"{NAME}.json").write_text(json.dumps(summary, indent=1))
    return summary


def main(argv: list[str] | None = None) -> dict[str, Any] | None:
    """Command line (see the module docstring)."""
    ap = argparse.ArgumentParser(description="Darcy BiLO/PINN step time and 1-vs-2-rank efficiency")
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--out", default="results/bench")
    ap.add_argument("--measure", action="store_true", help="one measurement on this communicator (JSON line)")
    args = ap.parse_args(argv)
    if args.measure:
        from fem.parallel import run_collectively

        res = run_collectively(lambda: measure(args.steps, args.warmup))
        from mpi4py import MPI

        if MPI.COMM_WORLD.rank == 0:
            print(json.dumps(res), flush=True)
        return None
    s = run(args.steps, args.warmup, args.out)
    for r in s["runs"]:
        print(f"darcy_step: {r['ranks']} rank(s), {r['points']} points: "
              f"BiLO {r['bilo_s_per_step']:.4f} s/step, PINN {r['pinn_s_per_step']:.4f} s/step, "
              f"ratio {r['ratio']:.2f}")
    print(f"darcy_step: BiLO parallel efficiency 1→2 ranks {s['bilo_parallel_efficiency']:.2f} "
          f"(target ≥ 0.7); BiLO/PINN {s['bilo_pinn_ratio_1rank']:.2f} (target ≤ 1.3)")
    return s


if __name__ == "__main__":
    main()
