"""The thread policy under load: a comparison alone, and beside a concurrent single-thread job.

Runs the Fisher–KPP smoke comparison (BiLO and the PINN, the project's defaults: threads = the
cores this process may use / the ranks on its node, idle OpenMP threads spinning 1,000 rounds
before they sleep) in a fresh process, first alone, then while another process runs a
single-threaded torch loop on one of the cores. The target is a slowdown ≤ 2× (issue 2.9). For
contrast, the same two runs with other wait policies: ``--spinning`` libgomp's own default, idle
threads spinning 300,000 rounds (``GOMP_SPINCOUNT=300000``), and ``--passive`` threads that sleep
at once (``OMP_WAIT_POLICY=PASSIVE``, the project's earlier policy).
Every time is the median over ``--repeats`` runs of the whole command (imports, FEM data and
training included).

    python -m bench.threads [--repeats 1] [--spinning] [--passive]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench._report import publish

NAME = "threads"
ROOT = Path(__file__).resolve().parents[1]
# One core busy with a single-threaded torch job (what another user's training looks like).
BUSY = ("import torch; torch.set_num_threads(1); a = torch.randn(256, 256)\n"
        "while True: a = torch.tanh(a @ a)")


def _comparison(env: dict[str, str], methods: str) -> float:
    """Wall seconds of one Fisher–KPP smoke comparison in a fresh process."""
    with tempfile.TemporaryDirectory() as out:
        cmd = [sys.executable, "-m", "comparisons.fisher_kpp", "--preset", "smoke", "--methods", methods,
               "--quiet", "--out", out, "--overwrite"]
        t0 = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, env=env, check=True, capture_output=True, text=True)
        return time.perf_counter() - t0


def _timed(env: dict[str, str], methods: str, repeats: int, *, loaded: bool) -> list[float]:
    times = []
    for _ in range(repeats):
        busy = subprocess.Popen([sys.executable, "-c", BUSY], env={**env, "OMP_NUM_THREADS": "1"}) \
            if loaded else None
        try:
            if busy is not None:
                time.sleep(2.0)  # torch imported, the loop running
            times.append(_comparison(env, methods))
        finally:
            if busy is not None:
                busy.kill()
                busy.wait()
    return times


# The contrasting wait policies, by name: the environment each adds.
CONTRASTS = {"spinning": {"GOMP_SPINCOUNT": "300000"}, "passive": {"OMP_WAIT_POLICY": "PASSIVE"}}


def run(repeats: int = 1, methods: str = "bilo,pinn", spinning: bool = False,
        passive: bool = False) -> dict[str, Any]:
    """Measure alone / loaded under the policy (and the contrasts asked for); return the JSON-ready result."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("OMP_WAIT_POLICY", "OMP_NUM_THREADS", "GOMP_SPINCOUNT")}
    cases = {"alone": _timed(env, methods, repeats, loaded=False),
             "beside_one_busy_thread": _timed(env, methods, repeats, loaded=True)}
    contrasts = [c for c, asked in (("spinning", spinning), ("passive", passive)) if asked]
    for c in contrasts:
        cenv = {**env, **CONTRASTS[c]}
        cases[f"alone_{c}"] = _timed(cenv, methods, repeats, loaded=False)
        cases[f"beside_one_busy_thread_{c}"] = _timed(cenv, methods, repeats, loaded=True)
    med = {k: float(np.median(v)) for k, v in cases.items()}
    slowdown = med["beside_one_busy_thread"] / med["alone"]
    result: dict[str, Any] = {
        "benchmark": NAME, "command": f"python -m comparisons.fisher_kpp --preset smoke --methods {methods}",
        "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "repeats": repeats, "seconds": cases, "median_s": med, "slowdown_loaded": slowdown,
        "targets": {"slowdown_loaded<=2": slowdown <= 2.0}}
    for c in contrasts:
        result[f"slowdown_loaded_{c}"] = med[f"beside_one_busy_thread_{c}"] / med[f"alone_{c}"]
    return result


def summary(r: dict[str, Any]) -> str:
    """The printed lines."""
    lines = [f"{NAME}: {r['command']} on {r['cores']} cores, median of {r['repeats']}"]
    for k, v in r["median_s"].items():
        lines.append(f"  {k:34s} {v:7.1f} s  ({v / r['median_s']['alone']:.2f}× alone)")
    for c, label in (("spinning", "libgomp's default spinning"), ("passive", "sleeping at once")):
        if f"slowdown_loaded_{c}" in r:
            lines.append(f"  {label}: loaded {r[f'slowdown_loaded_{c}']:.2f}× its own time alone")
    lines.append(f"  target: loaded ≤ 2× alone: {'met' if r['targets']['slowdown_loaded<=2'] else 'NOT met'}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Command line (see the module docstring)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--repeats", type=int, default=1, help="runs per case (median)")
    ap.add_argument("--methods", default="bilo,pinn", help="the comparison's --methods")
    ap.add_argument("--spinning", action="store_true",
                    help="also both runs with libgomp's default spinning (GOMP_SPINCOUNT=300000)")
    ap.add_argument("--passive", action="store_true",
                    help="also both runs with threads that sleep at once (OMP_WAIT_POLICY=PASSIVE)")
    ap.add_argument("--out", default="results/bench")
    args = ap.parse_args(argv)
    r = run(args.repeats, args.methods, args.spinning, args.passive)
    publish(NAME, r, summary, args.out)
    return r


if __name__ == "__main__":
    main()
