"""Run a benchmark's ``--worker`` mode under ``mpirun`` and read back its JSON result."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any


def run_worker(module: str, nprocs: int, args: list[str], timeout: float = 1800) -> Any:
    """``mpirun -n nprocs python -m module --worker args`` (one torch/OpenMP thread per rank).

    The worker prints one line ``RESULT <json>`` on rank 0; its value is returned.

    Raises:
        RuntimeError: the run failed (the message holds the tail of its output).
    """
    mpirun = Path(sys.executable).parent / "mpirun"
    cmd = [str(mpirun), "-n", str(nprocs), sys.executable, "-m", module, "--worker", *args]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT "))
    return json.loads(line[len("RESULT "):])
