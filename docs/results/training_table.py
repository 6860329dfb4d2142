"""Per-seed accuracy and training residuals of the BiLO runs in result folders, as a Markdown table.

    python docs/results/training_table.py [--quarters] results/RUN [results/RUN ...]

For every method of every folder whose name starts with ``bilo``: each seed's accuracy and
field_rel_sq (from ``report.json``), the last logged pre-training residual, and the largest
logged fine-tuning residual after step 500 (from ``histories.csv``): a spike there is the lower
level losing its fit while θ moves.

``--quarters``: per BiLO method, seed and quarter of the fine-tuning steps, the largest and the
median logged residual, the median data loss and the last one. A residual or data loss that
rises in the last quarter is a run that stopped converging.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from statistics import median


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
            spike.append(max(float(r["res"]) for r in mine
                             if r["phase"] == "finetune" and int(r["step"]) > 500))
        acc = [100 * p["accuracy"] for p in seeds]
        mean = sum(acc) / len(acc)
        sq = sum(p["field_rel_sq"] for p in seeds) / len(seeds)
        out.append(f"| `{label}` | {mean:.2f} % ({', '.join(f'{a:.2f}' for a in acc)}) | {sq:.4f} | "
                   f"{', '.join(f'{v:.1e}' for v in pre)} | {', '.join(f'{v:.2g}' for v in spike)} |")
    return out


def quarter_rows(folder: Path) -> list[str]:
    """One table row per BiLO method, seed and quarter of the fine-tuning steps of the folder."""
    with (folder / "histories.csv").open() as f:
        history = [r for r in csv.DictReader(f)
                   if r["phase"] == "finetune" and r["method"].startswith("bilo")]
    out = []
    for label in dict.fromkeys(r["method"] for r in history):
        for seed in dict.fromkeys(r["seed"] for r in history if r["method"] == label):
            mine = [r for r in history if r["method"] == label and r["seed"] == seed]
            last = max(int(r["step"]) for r in mine)
            for q in range(4):
                lo, hi = q * last // 4, (q + 1) * last // 4
                part = [r for r in mine if lo < int(r["step"]) <= hi]
                res = [float(r["res"]) for r in part]
                data = [float(r["data"]) for r in part if r["data"]]
                out.append(f"| `{label}` | {seed} | {lo + 1}–{hi} | {max(res):.2g} | {median(res):.2g} | "
                           f"{median(data):.3g} | {data[-1]:.3g} |")
    return out


TABLES = {
    "seeds": ("| method | accuracy, mean (seeds 0, 1, 2) | field_rel_sq, mean | last pre-training residual "
              "| largest fine-tuning residual after step 500 |", "|---|---|---|---|---|", rows),
    "quarters": ("| method | seed | steps | largest residual | median residual | median data loss "
                 "| last data loss |", "|---|---|---|---|---|---|---|", quarter_rows),
}


def main(argv: list[str]) -> None:
    """Print the table (``--quarters``: the quarters' one) for the folders in ``argv``."""
    head, rule, table = TABLES["quarters" if "--quarters" in argv else "seeds"]
    print(head)
    print(rule)
    for folder in (a for a in argv if a != "--quarters"):
        print("\n".join(table(Path(folder))))


if __name__ == "__main__":
    main(sys.argv[1:])
