"""The Poisson results table (paper Table 2) from the `report.json` of one run per noise level.

Prints the D error of every method and weight, then, per noise level, each method family at its
best weight and whether BiLO's error is at most the best PINN's and the best adjoint's. Nothing is
hard-coded: the sentences are computed from the reports. Used by `make_poisson_table.sh`:

    python docs/results/poisson_table.py results/poisson-default-noise0 results/poisson-default-noise0.01 ...
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def _family(label: str) -> str:
    return label.split("(")[0]


def results_table(paths: list[str | Path]) -> str:
    """Markdown: D and u errors per method (rows) and noise level (columns), best weights, the claims."""
    reports = [json.loads((Path(p) / "report.json").read_text()) for p in paths]
    reports.sort(key=lambda r: r["noise"])
    labels = list(dict.fromkeys(lab for r in reports for lab in r["methods"]))

    def cell(r: dict, lab: str, metric: str) -> str:
        m = r["methods"].get(lab, {}).get("metrics", {}).get(metric)
        if not m or m["n"] == 0:
            return "—"
        return f"{m['mean']:.3g} ± {m['std']:.2g}" if m["n"] > 1 else f"{m['mean']:.3g}"

    noise = [f"σ = {r['noise']:g}" for r in reports]
    head = [f"{what}, {n}" for what in ("D rel. L2", "u rel. L2", "wall s") for n in noise]
    lines = ["| method | " + " | ".join(head) + " |", "| --- |" + " --- |" * len(head)]
    for lab in labels:
        walls = [f"{r['methods'][lab]['wall_s']:.0f}" if lab in r["methods"] else "—" for r in reports]
        cells = [cell(r, lab, m) for m in ("field_rel_l2", "u_rel_l2") for r in reports] + walls
        lines.append(f"| {lab} | " + " | ".join(cells) + " |")
    lines += ["", "Each family at its best weight (lowest mean D error):", ""]
    for r in reports:
        best: dict[str, tuple[float, str]] = {}
        for lab, entry in r["methods"].items():
            m = entry["metrics"].get("field_rel_l2", {"mean": float("nan"), "n": 0})
            if m["n"] and (_family(lab) not in best or m["mean"] < best[_family(lab)][0]):
                best[_family(lab)] = (m["mean"], lab)
        parts = ", ".join(f"{lab} {v:.3g}" for v, lab in best.values())
        claim = ""
        if "bilo" in best:
            b = best["bilo"][0]
            verdicts = []
            for fam in ("pinn", "adjoint_gd", "adjoint_tao"):
                if fam in best:
                    v, lab = best[fam]
                    verdicts.append(f"BiLO {'≤' if b <= v else '>'} {lab} ({b:.3g} vs {v:.3g})")
            claim = "; " + "; ".join(verdicts)
        lines.append(f"- σ = {r['noise']:g} ({r['seeds']} seed(s)): {parts}{claim}.")
    return "\n".join(lines)


if __name__ == "__main__":
    print(results_table(sys.argv[1:]))
