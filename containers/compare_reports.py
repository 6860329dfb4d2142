"""Compare two comparison-run ``report.json`` files (e.g. container vs. venv) metric by metric.

usage: python containers/compare_reports.py A/report.json B/report.json
           [--rtol-adjoint 1e-6] [--rtol-network 1e-3] [--atol 1e-12]

Checks that both reports ran the same problem, preset, noise, seeds, ranks and device, list the same
methods with the same metrics and sample counts, and that every metric mean agrees within a relative
tolerance: ``|a - b| <= atol + rtol * max(|a|, |b|)``. Method labels starting with ``adjoint`` use
``--rtol-adjoint``; every other method (BiLO, PINN, operators: trained networks) uses ``--rtol-network``.

Why these defaults: the image installs the same wheels from the same lock, runs the same code with
the same seeds, 2 MPI ranks and one torch/OpenMP thread per rank on the same CPU. The adjoint is a
float64 PETSc/TAO solve: anything beyond round-off (1e-6 relative) is a real difference. The networks
train in float32 for tens of steps; a last-bit difference in a BLAS kernel or libm (a different CPU
dispatch path, a different glibc in another base image) can grow through training to ~1e-4, so they
get 1e-3. On one machine with the stand-in base image the two runs are expected to agree exactly;
the largest relative difference is printed either way. Timings (wall_s, s_per_step) are not compared.

Exit status 0 when everything agrees, 1 otherwise (each difference is printed).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

SETTINGS = ("problem", "preset", "noise", "seeds", "ranks", "device")


def _close(a: float, b: float, rtol: float, atol: float) -> tuple[bool, float]:
    """Whether a and b agree, and their relative difference (0 when equal, NaN == NaN)."""
    if a is None or b is None:
        return a is b, 0.0 if a is b else math.inf
    a, b = float(a), float(b)
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b), 0.0 if math.isnan(a) and math.isnan(b) else math.inf
    if a == b:
        return True, 0.0
    scale = max(abs(a), abs(b))
    rel = abs(a - b) / scale if scale > 0 else math.inf
    return abs(a - b) <= atol + rtol * scale, rel


def compare(a: dict, b: dict, rtol_adjoint: float, rtol_network: float, atol: float) -> tuple[list[str], list[str]]:
    """Return (problems, lines): every disagreement, and one summary line per method."""
    problems, lines = [], []
    for key in SETTINGS:
        if a.get(key) != b.get(key):
            problems.append(f"setting {key}: {a.get(key)!r} != {b.get(key)!r}")
    ma, mb = a.get("methods", {}), b.get("methods", {})
    if list(ma) != list(mb):
        problems.append(f"methods differ: {list(ma)} != {list(mb)}")
    if not ma:
        problems.append("no methods in the first report")
    for label in [m for m in ma if m in mb]:
        rtol = rtol_adjoint if label.startswith("adjoint") else rtol_network
        xa, xb = ma[label].get("metrics", {}), mb[label].get("metrics", {})
        if sorted(xa) != sorted(xb):
            problems.append(f"{label}: metrics differ: {sorted(xa)} != {sorted(xb)}")
        if ma[label].get("steps") != mb[label].get("steps"):
            problems.append(f"{label}: steps {ma[label].get('steps')} != {mb[label].get('steps')}")
        worst = 0.0
        for name in sorted(set(xa) & set(xb)):
            sa, sb = xa[name], xb[name]
            if sa.get("n") != sb.get("n"):
                problems.append(f"{label} {name}: n {sa.get('n')} != {sb.get('n')}")
            ok, rel = _close(sa.get("mean"), sb.get("mean"), rtol, atol)
            worst = max(worst, rel)
            if not ok:
                problems.append(f"{label} {name}: mean {sa.get('mean')!r} vs {sb.get('mean')!r} "
                                f"(relative difference {rel:.3g} > rtol {rtol:g})")
        lines.append(f"{label}: {len(xa)} metrics, largest relative difference {worst:.3g} (rtol {rtol:g})")
    return problems, lines


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("first", type=Path)
    p.add_argument("second", type=Path)
    p.add_argument("--rtol-adjoint", type=float, default=1e-6, help="relative tolerance, adjoint methods")
    p.add_argument("--rtol-network", type=float, default=1e-3, help="relative tolerance, network methods")
    p.add_argument("--atol", type=float, default=1e-12, help="absolute tolerance (metrics near zero)")
    args = p.parse_args(argv)
    a, b = (json.loads(path.read_text()) for path in (args.first, args.second))
    problems, lines = compare(a, b, args.rtol_adjoint, args.rtol_network, args.atol)
    print(f"[compare] {args.first} vs {args.second}")
    for line in lines:
        print("  " + line)
    if problems:
        print("[compare] DIFFERENT:")
        for pr in problems:
            print("  " + pr)
        return 1
    print("[compare] same methods, every metric mean within tolerance")
    return 0


if __name__ == "__main__":
    sys.exit(main())
