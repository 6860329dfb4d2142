"""Bad inputs and faults against the command lines, as a new user and a tester would try them.

Each case runs a real command (a subprocess, some under ``mpirun -n 2``) and records its exit
status, the message it printed, whether a traceback appeared, and the state of its output folder
afterwards. The table goes to ``docs/robustness/probe.md``:

    .venv/bin/python docs/robustness/probe.py            # about 5 minutes on 2 cores

A case passes when a bad input is refused (exit status ≠ 0) with a one-line message and no
traceback, or a good one is accepted, and the folder holds no report of another run, no file of
another run, and no report after a failure.
"""

from __future__ import annotations

import json
import os
import pickle
import platform
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import meshio
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable
MPIRUN = str(Path(PY).parent / "mpirun")
HEAT = ["-m", "comparisons.heat", "--preset", "smoke", "--quiet", "--methods", "bilo"]
DARCY = ["-m", "comparisons.darcy", "--preset", "smoke", "--quiet"]
FK = ["-m", "comparisons.fisher_kpp", "--preset", "smoke", "--quiet"]
FIDELITY = ["-m", "comparisons.darcy_fidelity", "--preset", "smoke", "--quiet"]


@dataclass
class Case:
    """One probe: a name, what to set up in a fresh folder, the command, and what is expected."""

    name: str
    args: Callable[[Path], list[str]]
    refused: bool = True
    setup: Callable[[Path], None] | None = None
    ranks: int = 1
    check: Callable[[Path], str | None] | None = None  # a problem with the folder afterwards


def run(args: list[str], ranks: int = 1, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """``python ARGS`` from the repository root (under ``mpirun -n ranks`` when > 1)."""
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    cmd = [PY, *args] if ranks == 1 else [MPIRUN, "-n", str(ranks), PY, *args]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


# -- set-ups ---------------------------------------------------------------------------------------


def finished_heat_run(d: Path) -> None:
    """A complete heat smoke run in ``d/out`` with checkpoints."""
    proc = run([*HEAT, "--out", str(d / "out"), "--checkpoint-every", "50"])
    assert proc.returncode == 0, proc.stderr


class Payload:
    """Unpickling this creates the file ``ran``: proof that a load ran code."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Callable[..., None], tuple[Path]]:
        return (Path.touch, (self.marker,))


def poisoned_checkpoint(d: Path) -> None:
    """A finished run whose BiLO checkpoint is replaced by a pickle that would touch ``ran``."""
    finished_heat_run(d)
    with open(d / "out" / "checkpoints" / "bilo" / "seed0" / "checkpoint.pt", "wb") as fh:
        pickle.dump({"phase": "finetune", "step": 1, "model": Payload(d / "ran")}, fh)


def damaged_checkpoint(how: str) -> Callable[[Path], None]:
    """A finished run whose BiLO checkpoint is cut in half (``truncated``) or text."""
    def setup(d: Path) -> None:
        finished_heat_run(d)
        path = d / "out" / "checkpoints" / "bilo" / "seed0" / "checkpoint.pt"
        data = path.read_bytes()
        if how == "truncated":
            path.write_bytes(data[: len(data) // 2])
        else:
            path.write_text("not a checkpoint\n")

    return setup


def write_mesh(name: str, points: np.ndarray, cells: np.ndarray) -> Callable[[Path], None]:
    """A set-up writing a triangle mesh with meshio."""
    def setup(d: Path) -> None:
        meshio.write(d / name, meshio.Mesh(points, [("triangle", cells)]))

    return setup


def square(n: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """A structured triangle mesh of the unit square: points (z = 0 dropped) and cells."""
    xs = np.linspace(0, 1, n + 1)
    pts = np.array([[x, y] for y in xs for x in xs])
    tri = []
    for j in range(n):
        for i in range(n):
            a = j * (n + 1) + i
            tri += [[a, a + 1, a + n + 2], [a, a + n + 2, a + n + 1]]
    return pts, np.array(tri)


def folded() -> tuple[np.ndarray, np.ndarray]:
    """A mesh with overlapping (inverted) cells."""
    pts, tri = square()
    pts = pts.copy()
    pts[6] = [0.6, 0.3]  # the interior vertex (0.25, 0.25) pushed past its neighbours: cells overlap
    return pts, tri


def zero_area() -> tuple[np.ndarray, np.ndarray]:
    """A mesh with a cell of zero area."""
    pts, tri = square()
    pts = np.vstack([pts, [[0.375, 0.0]]])  # on the edge from vertex 1 (0.25, 0) to 2 (0.5, 0)
    return pts, np.vstack([tri, [[1, len(pts) - 1, 2]]])  # a cell of three collinear points


def nan_point() -> tuple[np.ndarray, np.ndarray]:
    """A mesh with a NaN coordinate."""
    pts, tri = square()
    pts = pts.copy()
    pts[7, 0] = np.nan
    return pts, tri


def out_of_range() -> tuple[np.ndarray, np.ndarray]:
    """A mesh whose connectivity names a vertex that does not exist."""
    pts, tri = square()
    tri = tri.copy()
    tri[3, 1] = len(pts) + 10
    return pts, tri


def no_interior() -> tuple[np.ndarray, np.ndarray]:
    """Two triangles: every vertex on the boundary."""
    return square(1)


def no_report(d: Path) -> str | None:
    """The folder must hold no report after a failure."""
    return "a report after a failure" if (d / "out" / "report.json").exists() else None


def payload_not_run(d: Path) -> str | None:
    """The poisoned checkpoint must not have run, nor a report appear."""
    return "the pickle's payload ran" if (d / "ran").exists() else no_report(d)


def only_this_run(d: Path) -> str | None:
    """After --overwrite/--resume: a complete report and no file of the earlier run."""
    out = d / "out"
    if (out / "stale.png").exists():
        return "a file of the earlier run beside the new report"
    js = json.loads((out / "report.json").read_text()) if (out / "report.json").exists() else {}
    return None if js.get("status") == "complete" else "no complete report"


def foreign_kept(d: Path) -> str | None:
    """A folder the toolkit did not write must be left alone."""
    return None if (d / "out" / "mine.txt").exists() else "removed a folder this toolkit did not write"


def foreign(d: Path) -> None:
    """A folder of the user's, with a file in it."""
    (d / "out").mkdir()
    (d / "out" / "mine.txt").write_text("mine")


def stale_run(d: Path) -> None:
    """A finished run plus a file that no run of these flags writes."""
    finished_heat_run(d)
    (d / "out" / "stale.png").write_text("")


def out(d: Path) -> list[str]:
    """``--out <tmp>/out``."""
    return ["--out", str(d / "out")]


CASES = [
    # method options and flags
    Case("pinn(w_dat=-100)", lambda d: [*FK, "--methods", "pinn(w_dat=-100)", *out(d)]),
    Case("bilo(lr_theta=-1)", lambda d: [*FK, "--methods", "bilo(lr_theta=-1)", *out(d)]),
    Case("w_reg on scalar unknowns", lambda d: [*FK, "--methods", "bilo(w_reg=0.1)", *out(d)]),
    Case("bilo(w_reg=-1) on a field", lambda d: [*HEAT[:-1], "bilo(w_reg=-1)", *out(d)]),
    Case("unknown method", lambda d: [*FK, "--methods", "bilo,foo", *out(d)]),
    Case("unknown option", lambda d: [*FK, "--methods", "pinn(width=3)", *out(d)]),
    Case("unbalanced parentheses", lambda d: [*FK, "--methods", "pinn(w_dat=1", *out(d)]),
    Case("option not a number", lambda d: [*FK, "--methods", "pinn(w_dat=ten)", *out(d)]),
    Case("--noise -1", lambda d: [*FK, "--noise", "-1", *out(d)]),
    Case("--noise nan", lambda d: [*FK, "--noise", "nan", *out(d)]),
    Case("--seeds 0", lambda d: [*FK, "--seeds", "0", *out(d)]),
    Case("--threads 0", lambda d: [*FK, "--threads", "0", *out(d)]),
    Case("--truth -1,2", lambda d: [*FK, "--truth", "-1,2", *out(d)]),
    Case("--truth 1 (one value)", lambda d: [*FK, "--truth", "1", *out(d)]),
    Case("--checkpoint-every 0", lambda d: [*HEAT, "--checkpoint-every", "0", *out(d)]),
    Case("--resume with --overwrite", lambda d: [*HEAT, "--resume", "--overwrite", *out(d)]),
    Case("darcy --dirichlet-tags two", lambda d: [*DARCY, "--dirichlet-tags", "two", *out(d)]),
    Case("darcy --grf-seed=-1", lambda d: [*DARCY, "--grf-seed=-1", *out(d)]),
    Case("darcy --cells 1", lambda d: [*DARCY, "--cells", "1", *out(d)]),
    Case("darcy --mesh missing.msh", lambda d: [*DARCY, "--mesh", str(d / "missing.msh"), *out(d)]),
    Case("darcy_fidelity --grf-seed=-1", lambda d: [*FIDELITY, "--grf-seed=-1"]),
    Case("darcy_fidelity --cells 1", lambda d: [*FIDELITY, "--cells", "1"]),
    Case("darcy_fidelity --out a file", lambda d: [*FIDELITY, "--out", str(d / "f")],
         setup=lambda d: (d / "f").write_text("")),
    # output folders
    Case("--out is a file", lambda d: [*HEAT, "--out", str(d / "f")],
         setup=lambda d: (d / "f").write_text("")),
    Case("--out under a file", lambda d: [*HEAT, "--out", str(d / "f" / "sub")],
         setup=lambda d: (d / "f").write_text("")),
    Case("--out a folder of the user's", lambda d: [*HEAT, *out(d)], setup=foreign, check=foreign_kept),
    Case("--overwrite a folder of the user's", lambda d: [*HEAT, *out(d), "--overwrite"], setup=foreign,
         check=foreign_kept),
    Case("--resume a folder of the user's", lambda d: [*HEAT, *out(d), "--resume"], setup=foreign,
         check=foreign_kept),
    Case("--out an earlier run", lambda d: [*HEAT, *out(d)], setup=finished_heat_run),
    Case("--overwrite an earlier run", lambda d: [*HEAT, *out(d), "--overwrite"], refused=False,
         setup=stale_run, check=only_this_run),
    Case("--resume a finished run", lambda d: [*HEAT, *out(d), "--resume"], refused=False,
         setup=stale_run, check=only_this_run),
    # checkpoints
    Case("checkpoint.pt is a malicious pickle", lambda d: [*HEAT, *out(d), "--resume"],
         setup=poisoned_checkpoint, check=payload_not_run),
    Case("checkpoint.pt truncated", lambda d: [*HEAT, *out(d), "--resume"],
         setup=damaged_checkpoint("truncated"), check=no_report),
    Case("checkpoint.pt is text", lambda d: [*HEAT, *out(d), "--resume"],
         setup=damaged_checkpoint("text"), check=no_report),
    Case("--resume with other data (--noise 0.05)", lambda d: [*HEAT, *out(d), "--resume", "--noise", "0.05"],
         setup=finished_heat_run, check=no_report),
    Case("--resume with another dtype", lambda d: [*HEAT, *out(d), "--resume", "--dtype", "float64"],
         setup=finished_heat_run, check=no_report),
    # meshes (loaded through comparisons.darcy --mesh)
    *[Case(f"mesh: {name}", lambda d, n=name: [*DARCY, "--mesh", str(d / f"{n}.vtu"), "--methods", "adjoint",
                                               *out(d)],
           setup=write_mesh(f"{name}.vtu", *make()), check=no_report)
      for name, make in (("folded", folded), ("zero-area cell", zero_area), ("NaN coordinate", nan_point),
                         ("cell index out of range", out_of_range), ("no interior node", no_interior))],
    # under MPI
    Case("2 ranks: --seeds 0", lambda d: [*FK, "--seeds", "0", *out(d)], ranks=2),
    Case("2 ranks: --out a folder of the user's", lambda d: [*HEAT, *out(d)], ranks=2, setup=foreign,
         check=foreign_kept),
    Case("2 ranks: mesh with a NaN coordinate", lambda d: [*DARCY, "--mesh", str(d / "nan.vtu"), "--methods",
                                                          "adjoint", *out(d)],
         ranks=2, setup=write_mesh("nan.vtu", *nan_point()), check=no_report),
]


def main() -> None:
    """Run every case; write the table; exit 1 if a case is not as expected."""
    rows, failures = [], 0
    counts = {"silent acceptances": 0, "tracebacks for user errors": 0, "stale or mixed folders": 0,
              "messages over one line": 0}
    for case in CASES:
        d = Path(tempfile.mkdtemp(prefix="probe-"))
        try:
            if case.setup is not None:
                case.setup(d)
            proc = run(case.args(d), case.ranks)
            lines = [ln for ln in proc.stderr.splitlines() if "error" in ln.lower()]
            problems = []
            if case.refused and proc.returncode == 0:
                counts["silent acceptances"] += 1
                problems.append("accepted")
            if not case.refused and proc.returncode != 0:
                problems.append(f"refused: {proc.stderr[-300:]}")
            if "Traceback" in proc.stderr:
                counts["tracebacks for user errors"] += 1
                problems.append("traceback")
            if case.refused and len(lines) != 1:
                counts["messages over one line"] += 1
                problems.append(f"{len(lines)} error lines")
            folder = case.check(d) if case.check is not None else None
            if folder:
                counts["stale or mixed folders"] += 1
                problems.append(folder)
            failures += bool(problems)
            message = lines[-1] if lines else ("(accepted)" if proc.returncode == 0 else proc.stderr[-200:])
            message = message.replace(str(d), "<tmp>").replace("|", "\\|")
            rows.append(f"| {case.name} | {case.ranks} | {proc.returncode} | {message} | "
                        f"{'ok' if not problems else '; '.join(problems)} |")
            print(rows[-1], flush=True)
        finally:
            shutil.rmtree(d, ignore_errors=True)
    lines = [
        "# Robustness probe: bad inputs and faults against the command lines",
        "",
        f"Produced by `.venv/bin/python docs/robustness/probe.py` on {platform.system()} "
        f"{platform.machine()}, {os.cpu_count()} cores; every row is a real command run in a fresh "
        "temporary folder (`<tmp>`). The kill -9 / `--resume` equality is the test "
        "`tests/inverse/test_run_folders.py::test_kill_9_then_resume_gives_the_uninterrupted_report`.",
        "",
        "Totals: " + ", ".join(f"{v} {k}" for k, v in counts.items()) + f"; {len(CASES)} cases, "
        f"{failures} not as expected.",
        "",
        "| case | ranks | exit | message | verdict |",
        "| --- | --- | --- | --- | --- |",
        *rows,
        "",
    ]
    target = ROOT / "docs" / "robustness" / "probe.md"
    target.write_text("\n".join(lines))
    print(f"wrote {target}: {failures} of {len(CASES)} cases not as expected")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
