"""Training history: one row per logged step, written as CSV and JSON."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any, final


@final
class History:
    """Rows of ``{"step", "phase", "time", <losses>, theta_<name>, ...}``."""

    def __init__(self, rows: list[dict[str, Any]] | None = None) -> None:
        self.rows: list[dict[str, Any]] = list(rows or [])

    def append(self, row: dict[str, Any]) -> None:
        """Add one row."""
        self.rows.append(row)

    def write(self, out_dir: Path | str, stem: str = "history") -> tuple[Path, Path]:
        """Write ``<stem>.csv`` and ``<stem>.json`` into ``out_dir``; return both paths."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        csv_path, json_path = self.write_csv(out / f"{stem}.csv"), out / f"{stem}.json"
        # JSON has no NaN/inf: write them as null so any JSON reader accepts the file.
        clean = [{k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in r.items()}
                 for r in self.rows]
        json_path.write_text(json.dumps(clean, indent=1))
        return csv_path, json_path

    def write_csv(self, path: Path) -> Path:
        """Write the rows as CSV: every key any row has, in first-seen order (empty where absent)."""
        keys: list[str] = []
        for row in self.rows:
            keys += [k for k in row if k not in keys]
        with path.open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=keys)
            writer.writeheader()
            writer.writerows(self.rows)
        return path
