"""Compare the same comparison run on different rank counts: one markdown table.

Usage: python docs/results/rank_agreement.py DIR_A DIR_B [DIR ...] >> page.md

Each DIR is the --out of one run (same preset, seeds and data; only the number of MPI ranks
differs). For every method and metric the table lists the value per run and the largest
relative difference to the first run.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(argv: list[str]) -> None:
    """Print the agreement table of the runs in the given folders."""
    if len(argv) < 2:
        raise SystemExit(__doc__)
    runs = [json.loads((Path(d) / "report.json").read_text()) for d in argv]
    ranks = [js["ranks"] for js in runs]
    print("| method | metric | " + " | ".join(f"{r} rank(s)" for r in ranks) + " | max rel. diff |")
    print("| --- | --- | " + " | ".join("---" for _ in ranks) + " | --- |")
    for label, m in runs[0]["methods"].items():
        for metric in ("field_rel_l2", "accuracy", "u_rel_l2", "data_mse"):
            if metric not in m["metrics"]:
                continue
            vals = [js["methods"][label]["metrics"][metric]["mean"] for js in runs]
            diff = max(abs(v - vals[0]) / abs(vals[0]) for v in vals[1:]) if vals[0] else float("nan")
            print(f"| {label} | {metric} | " + " | ".join(f"{v:.4g}" for v in vals) + f" | {diff:.1%} |")


if __name__ == "__main__":
    main(sys.argv[1:])
