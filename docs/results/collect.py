"""Collect comparison reports (report.json) into one markdown page.

Usage: python docs/results/collect.py DIR [DIR ...] > page.md

Each DIR is the --out of one comparison run (one noise level). The page states the machine,
the preset, the commands' settings and, per noise level, the table of the report plus a
computed verdict: BiLO's parameter/field error against the best other method of each family.
"""

from __future__ import annotations

import json
import os
import platform
import sys
from pathlib import Path


def machine() -> str:
    """A one-line description of the machine this page was made on."""
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores ({cpu}), no GPU used"


def error_metrics(js: dict) -> list[str]:
    """The error metrics on which methods are compared: parameter errors or the field error."""
    names = sorted({k for m in js["methods"].values() for k in m["metrics"]})
    fields = [n for n in names if n == "field_rel_l2"]
    return fields or [n for n in names if n.startswith("rel_err[")]


def score(method: dict, metrics: list[str]) -> float:
    """Mean over the compared metrics of their means (lower is better)."""
    vals = [method["metrics"][m]["mean"] for m in metrics if m in method["metrics"]]
    return sum(vals) / len(vals) if vals else float("inf")


def verdict(js: dict) -> str:
    """BiLO against the best method of each other family, on the compared error metrics."""
    metrics = error_metrics(js)
    families: dict[str, list[tuple[float, str]]] = {}
    for label, m in js["methods"].items():
        families.setdefault(label.split("(")[0], []).append((score(m, metrics), label))
    if "bilo" not in families:
        return "no BiLO run in this report."
    bilo_score, bilo_label = min(families.pop("bilo"))
    if not families:
        return "BiLO only: no other method in this report to compare with."
    parts = []
    for fam, entries in sorted(families.items()):
        best, label = min(entries)
        rel = "≤" if bilo_score <= best else ">"
        parts.append(f"BiLO ({bilo_label}) {bilo_score:.3g} {rel} best {fam} ({label}) {best:.3g}")
    return f"mean of {', '.join(metrics)}: " + "; ".join(parts) + "."


def main(dirs: list[str]) -> None:
    """Print the page."""
    reports = [json.loads((Path(d) / "report.json").read_text()) for d in dirs]
    first = reports[0]
    print(f"# {first['problem']}: results, preset `{first['preset']}`\n")
    print(f"Machine: {machine()}; MPI ranks {first['ranks']}; device {first['device']}.\n")
    print("Produced by the command in the `run_*.sh` script beside this page; every number below "
          "is read from the runs' `report.json` files by `docs/results/collect.py`.\n")
    for js in reports:
        wall = sum(m["wall_s"] for m in js["methods"].values())
        prob = js["config"]["problem"] if isinstance(js["config"]["problem"], dict) else {}
        case = prob.get("case")
        where = f"case `{case}`, " if case else ""
        if "law" in prob:  # Darcy: the law of the truth's field
            where += f"law `{prob['law']}`" + (f" (ℓ = {prob['grf_length']})" if prob["law"] == "se" else "") + ", "
        # a pre-training shared by several rows is charged to each of them, so the sum counts it repeatedly
        print(f"## {where}noise σ = {js['noise']}  (seeds: {js['seeds']}, sum of the rows' wall times "
              f"{wall:.0f} s)\n")
        from inverse.report import MethodRecord, Report

        rep = Report(problem=js["problem"], preset=js["preset"], noise=js["noise"], seeds=js["seeds"],
                     ranks=js["ranks"], device=js["device"], config=js["config"],
                     reference_rows=js.get("reference_rows", {}), baseline_rows=js.get("baseline_rows", {}))
        for label, m in js["methods"].items():
            rec = MethodRecord(runs=m["per_seed"], wall_s=[m["wall_s"]], steps=[m["steps"]],
                               s_per_step=[m["s_per_step"]])
            rep.methods[label] = rec
        print(rep.table() + "\n")
        print(f"Verdict (computed): {verdict(js)}\n")
        for note in js.get("notes", []):
            print(f"- {note}")
        print()


if __name__ == "__main__":
    main(sys.argv[1:])
