"""Run every benchmark: ``python -m bench [--quick] [NAME ...]``.

Each module in ``bench/`` with a ``main(argv)`` is a benchmark; it prints its own summary and
writes ``results/bench/<name>.json``. A benchmark that cannot be imported here (e.g. one needing
dolfinx on a machine without it) or that fails is reported and skipped; the rest still run.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time
import traceback
from pathlib import Path

# Arguments for a quick pass (few steps), per benchmark that supports one.
QUICK_ARGS = {
    "fisher_kpp_step": ["--steps", "10", "--warmup", "2", "--rounds", "1", "--no-memory"],
    "darcy_step": ["--steps", "5", "--warmup", "2", "--rounds", "1", "--no-memory"],
    "adjoint_cost": ["--n", "64", "--repeats", "2"],
    "transient_adjoint_cost": ["--cells", "50", "--steps", "50", "--repeats", "2"],
    "threads": ["--methods", "bilo"],
    "time_to_answer": ["--preset", "smoke", "--methods", "bilo,adjoint"],
    "batched_seeds": ["--steps", "2"],
    "compiled_step": ["--steps", "2", "--width", "8", "--grid", "5"],
    "allocator": ["--rounds", "1", "--steps", "5"],
}


def discover() -> list[str]:
    """Names of the benchmark modules in this package."""
    here = Path(__file__).resolve().parent
    return sorted(m.name for m in pkgutil.iter_modules([str(here)]) if not m.name.startswith("_"))


def main(argv: list[str] | None = None) -> int:
    """Run the selected (default: all) benchmarks; return the number that failed."""
    args = list(sys.argv[1:] if argv is None else argv)
    quick = "--quick" in args
    known = discover()
    unknown = [a for a in args if a != "--quick" and a not in known]
    if unknown:
        print(f"unknown arguments {unknown}; usage: python -m bench [--quick] [NAME ...] with NAME in {known}"
              " (options of one benchmark: python -m bench.NAME --help)", file=sys.stderr)
        return 2
    names = [a for a in args if a in known] or known
    status: dict[str, str] = {}
    for name in names:
        t0 = time.perf_counter()
        try:
            module = importlib.import_module(f"bench.{name}")
        except ImportError as exc:
            status[name] = f"skipped (cannot import: {exc})"
            continue
        run = getattr(module, "main", None)
        if run is None:
            continue
        try:
            run(QUICK_ARGS.get(name, []) if quick else [])
            status[name] = f"ok ({time.perf_counter() - t0:.0f} s)"
        except Exception:  # noqa: BLE001 - one broken benchmark must not hide the others
            traceback.print_exc()
            status[name] = "FAILED"
    print("\nbenchmarks:")
    for name, s in status.items():
        print(f"  {name:24s} {s}")
    return sum(s == "FAILED" for s in status.values())


if __name__ == "__main__":
    sys.exit(main())
