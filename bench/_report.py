"""What every benchmark does with its result: print its summary, write ``<out>/<name>.json``."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any


def publish(name: str, result: dict[str, Any], summary: Callable[[dict[str, Any]], str],
            out: str | Path) -> None:
    """Print ``summary(result)`` and write the result as ``<out>/<name>.json``."""
    print(summary(result))
    path = Path(out)
    path.mkdir(parents=True, exist_ok=True)
    (path / f"{name}.json").write_text(json.dumps(result, indent=1))
