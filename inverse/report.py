"""One report per comparison run: a printed table, ``report.json`` and ``report.md``.

``report.json`` layout (shared by every comparison)::

    {"problem", "preset", "noise", "seeds", "ranks", "device", "config": {...},
     "methods": {NAME: {"metrics": {METRIC: {"mean", "std", "n"}},
                        "wall_s", "steps", "s_per_step", "extra": {...}}},
     "reference_rows": {...}, "baseline_rows": {...}, "notes": [...]}
"""

from __future__ import annotations

import json
import math
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def summarize(values: list[float]) -> dict[str, float | int]:
    """Mean, sample standard deviation (0 for one value) and count of the finite values."""
    finite = [float(v) for v in values if v is not None and math.isfinite(v)]
    if not finite:
        return {"mean": float("nan"), "std": float("nan"), "n": 0}
    std = statistics.stdev(finite) if len(finite) > 1 else 0.0
    return {"mean": statistics.fmean(finite), "std": std, "n": len(finite)}


@dataclass
class MethodRecord:
    """Per-seed results of one method, aggregated on demand."""

    runs: list[dict[str, float]] = field(default_factory=list)
    wall_s: list[float] = field(default_factory=list)
    steps: list[int] = field(default_factory=list)
    s_per_step: list[float] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def add(self, metrics: dict[str, float], *, wall_s: float, steps: int, s_per_step: float) -> None:
        """Record one seed's metrics and cost."""
        self.runs.append(dict(metrics))
        self.wall_s.append(wall_s)
        self.steps.append(steps)
        self.s_per_step.append(s_per_step)

    def to_json(self) -> dict[str, Any]:
        """The method's entry of ``report.json``."""
        names = sorted({k for r in self.runs for k in r})
        return {
            "metrics": {k: summarize([r.get(k, float("nan")) for r in self.runs]) for k in names},
            "wall_s": sum(self.wall_s),
            "steps": int(statistics.median(self.steps)) if self.steps else 0,
            "s_per_step": statistics.median(self.s_per_step) if self.s_per_step else float("nan"),
            "per_seed": self.runs,
            "extra": self.extra,
        }


@dataclass
class Report:
    """Everything a comparison run produced, ready to print and write."""

    problem: str
    preset: str
    noise: float
    seeds: int
    ranks: int
    device: str
    config: dict[str, Any]
    methods: dict[str, MethodRecord] = field(default_factory=dict)
    reference_rows: dict[str, dict[str, float]] = field(default_factory=dict)
    baseline_rows: dict[str, dict[str, float]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def record(self, label: str) -> MethodRecord:
        """The record of method ``label``, created on first use."""
        return self.methods.setdefault(label, MethodRecord())

    def to_json(self) -> dict[str, Any]:
        """The ``report.json`` document."""
        return {
            "problem": self.problem,
            "preset": self.preset,
            "noise": self.noise,
            "seeds": self.seeds,
            "ranks": self.ranks,
            "device": self.device,
            "config": self.config,
            "methods": {k: v.to_json() for k, v in self.methods.items()},
            "reference_rows": self.reference_rows,
            "baseline_rows": self.baseline_rows,
            "notes": self.notes,
        }

    def metric_names(self) -> list[str]:
        """Metric columns in a stable order: parameter errors first, then fields, then data."""
        order = ("rel_err", "field_rel_l2", "field_rel_sq", "accuracy", "u_rel_l2", "data_mse", "grad_cos")
        names = sorted({k for rec in self.methods.values() for r in rec.runs for k in r})
        return sorted(names, key=lambda n: (next((i for i, p in enumerate(order) if n.startswith(p)), 99), n))

    def table(self) -> str:
        """A markdown table: one row per method, mean ± std over seeds, then cost."""
        names = self.metric_names()
        head = ["method", *names, "wall s", "steps", "s/step"]
        rows = [head, ["---"] * len(head)]
        for label, rec in self.methods.items():
            js = rec.to_json()
            cells = [label]
            for n in names:
                s = js["metrics"].get(n)
                cells.append(
                    "—"
                    if not s or s["n"] == 0
                    else f"{s['mean']:.3g} ± {s['std']:.2g}"
                    if s["n"] > 1
                    else f"{s['mean']:.3g}"
                )
            cells += [f"{js['wall_s']:.1f}", str(js["steps"]), f"{js['s_per_step']:.4f}"]
            rows.append(cells)
        extra = [(f"{k} (computed, no fit)", v) for k, v in self.baseline_rows.items()]
        extra += [(f"{k} (published, not run)", v) for k, v in self.reference_rows.items()]
        for label, vals in extra:
            rows.append([label, *[f"{vals[n]:.3g}" if n in vals else "—" for n in names], "—", "—", "—"])
        return "\n".join("| " + " | ".join(r) + " |" for r in rows)

    def to_markdown(self) -> str:
        """``report.md``: the settings, the table and the notes."""
        lines = [
            f"# {self.problem}: preset `{self.preset}`, noise σ = {self.noise}",
            "",
            f"seeds {self.seeds}, MPI ranks {self.ranks}, device {self.device}",
            "",
            self.table(),
            "",
        ]
        lines += [f"- {n}" for n in self.notes]
        lines += [
            "",
            "## Configuration",
            "",
            "```json",
            json.dumps(self.config, indent=2, default=str),
            "```",
            "",
        ]
        return "\n".join(lines)

    def write(self, out: Path) -> list[Path]:
        """Write ``report.md``, then ``report.json`` (each through a rename) into ``out``; the paths.

        ``report.json`` comes last and says ``"status": "complete"``: a folder that has one holds
        a finished run.
        """
        from inverse.outputs import write_atomic

        out.mkdir(parents=True, exist_ok=True)
        pm = write_atomic(out / "report.md", self.to_markdown())
        pj = write_atomic(out / "report.json",
                          json.dumps({"status": "complete", **self.to_json()}, indent=2,
                                     default=_json_default) + "\n")
        return [pj, pm]


def _json_default(obj: Any) -> Any:
    import numpy as np

    if isinstance(obj, (np.ndarray, np.generic)):
        return obj.tolist()
    return str(obj)
