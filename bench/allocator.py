"""Allocator policy A/B: the Fisher–KPP step with glibc's default thresholds and with ``hybrid``'s.

Each round runs ``python -m bench.fisher_kpp_step`` (jet mode, no memory pass) in two fresh
processes, one with ``HYBRID_MALLOC=default`` (glibc as it ships) and one with the policy of
``hybrid/allocator.py``, alternating which goes first; the medians over the rounds of each
process's median s/step are reported, with their ratio. Quiet machine only (2 cores: nothing else
running). Run: ``python -m bench.allocator [--rounds 3] [--threads 2]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from bench._report import publish

NAME = "allocator"


def _one(policy: bool, threads: int, steps: int) -> dict[str, float]:
    env = dict(os.environ)
    env.pop("HYBRID_MALLOC", None)
    if not policy:
        env["HYBRID_MALLOC"] = "default"
    with tempfile.TemporaryDirectory() as out:
        subprocess.run([sys.executable, "-m", "bench.fisher_kpp_step", "--modes", "jet", "--no-memory",
                        "--rounds", "1", "--steps", str(steps), "--threads", str(threads), "--out", out],
                       env=env, check=True, capture_output=True, text=True)
        e = json.loads((Path(out) / "fisher_kpp_step.json").read_text())["modes"]["jet"]
    return {"bilo": e["bilo_s_per_step"], "pinn": e["pinn_s_per_step"]}


def run(*, rounds: int = 3, threads: int = 2, steps: int = 40) -> dict[str, Any]:
    """Alternate the two settings ``rounds`` times; return the JSON-ready result."""
    runs: dict[str, list[dict[str, float]]] = {"glibc": [], "policy": []}
    for r in range(rounds):
        for policy in ((False, True) if r % 2 == 0 else (True, False)):
            runs["policy" if policy else "glibc"].append(_one(policy, threads, steps))
    med = {k: {m: float(np.median([x[m] for x in v])) for m in ("bilo", "pinn")} for k, v in runs.items()}
    return {"benchmark": NAME, "threads": threads, "rounds": rounds, "steps": steps, "runs": runs,
            "median_s_per_step": med,
            "ratio_policy_over_glibc": {m: med["policy"][m] / med["glibc"][m] for m in ("bilo", "pinn")}}


def summary(r: dict[str, Any]) -> str:
    """The printed lines."""
    lines = [f"{NAME}: Fisher–KPP step (jet), {r['threads']} threads, {r['rounds']} rounds, medians"]
    for m in ("bilo", "pinn"):
        g, p = r["median_s_per_step"]["glibc"][m], r["median_s_per_step"]["policy"][m]
        lines.append(f"  {m:4s} glibc defaults {g:.4f} s/step, policy {p:.4f} s/step: "
                     f"{r['ratio_policy_over_glibc'][m]:.2f}×")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Command line (see the module docstring)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--out", default="results/bench")
    args = ap.parse_args(argv)
    result = run(rounds=args.rounds, threads=args.threads, steps=args.steps)
    publish(NAME, result, summary, args.out)
    return result


if __name__ == "__main__":
    main()
