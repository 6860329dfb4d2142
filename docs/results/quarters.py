"""BiLO's fine-tuning by quarter of the run: the lower level's residual and the data loss.

    python docs/results/quarters.py results/RUN [results/RUN ...]

For every BiLO method and seed of each folder's ``histories.csv``: per quarter of the fine-tuning
steps, the largest and the median logged residual and the median data loss, and the last data
loss. A residual or data loss that rises in the last quarter is a run that stopped converging.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from statistics import median


def rows(folder: Path) -> list[str]:
    """One table row per BiLO method, seed and quarter of the folder."""
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


def main(argv: list[str]) -> None:
    """Print the table for the folders in ``argv``."""
    print("| method | seed | steps | largest residual | median residual | median data loss "
          "| last data loss |")
    print("|---|---|---|---|---|---|---|")
    for folder in argv:
        print("\n".join(rows(Path(folder))))


if __name__ == "__main__":
    main(sys.argv[1:])
