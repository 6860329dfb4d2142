"""Per-seed accuracy and training residuals of the BiLO runs in result folders, as a Markdown table.

    python docs/results/training_table.py results/RUN [results/RUN ...]

For every method of every folder whose name starts with ``bilo``: each seed's accuracy and
field_rel_sq (from ``report.json``), the last logged pre-training residual, and the largest
logged fine-tuning residual after step 500 (from ``histories.csv``): a spike there is the lower
level losing its fit while θ moves.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path


def rows(folder: Path) -> list[str]:
    """One table row per BiLO method of the folder."""
    report = json.loads((folder / "report.json").read_text())
    with (folder / "histories.csv").open() as f:
        history = list(csv.DictReader(f))
    out = []
    for label, entry in report["methods"].items():
        if not label.startswith("bilo"):
            continue
        seeds = entry["per_seed"]
        pre, spike = [], []
        for s in range(len(seeds)):
            mine = [r for r in history if r["method"] == label and r["seed"] == str(s)]
            pre.append(float([r for r in mine if r["phase"] == "pretrain"][-1]["res"]))
            spike.append(max(float(r["res"]) for r in mine if r["phase"] == "finetune" and int(r["step"]) > 500))
        acc = [100 * p["accuracy"] for p in seeds]
        mean = sum(acc) / len(acc)
        sq = sum(p["field_rel_sq"] for p in seeds) / len(seeds)
        out.append(f"| `{label}` | {mean:.2f} % ({', '.join(f'{a:.2f}' for a in acc)}) | {sq:.4f} | "
                   f"{', '.join(f'{v:.1e}' for v in pre)} | {', '.join(f'{v:.2g}' for v in spike)} |")
    return out


def main(argv: list[str]) -> None:
    """Print the table for the folders in ``argv``."""
    print("| method | accuracy, mean (seeds 0, 1, 2) | field_rel_sq, mean | last pre-training residual "
          "| largest fine-tuning residual after step 500 |")
    print("|---|---|---|---|---|")
    for folder in argv:
        print("\n".join(rows(Path(folder))))


if __name__ == "__main__":
    main(sys.argv[1:])
