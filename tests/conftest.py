"""Shared fixtures: fixed seeds, and a launcher for MPI tests in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def pytest_configure(config) -> None:
    # One torch thread in the test process and in every process a test starts (OMP_NUM_THREADS is
    # the thread policy's override): the test networks are small, and two threads on a loaded
    # 2-core machine (or beside an mpirun -n 2 test) spend their time waiting on each other.
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    try:
        import hybrid
    except ImportError:
        return
    hybrid.set_threads(1)


@pytest.fixture(autouse=True)
def _seed() -> None:
    np.random.seed(0)
    try:
        import torch
    except ImportError:
        return
    torch.manual_seed(0)


def run_mpi(n: int, args: list[str], timeout: float = 300, check: bool = True) -> subprocess.CompletedProcess:
    """Run ``mpirun -n n python ARGS`` from the repository root and return the completed process.

    A hang (e.g. one rank blocked in a collective after another died) shows up as a
    ``subprocess.TimeoutExpired`` instead of a stuck test suite.
    """
    mpirun = BIN / "mpirun"
    if not mpirun.exists():
        pytest.skip("mpirun not found next to the test interpreter")
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    proc = subprocess.run(
        [str(mpirun), "-n", str(n), sys.executable, *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"mpirun -n {n} {' '.join(args)} failed ({proc.returncode}):\n"
                             f"{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    return proc


@pytest.fixture
def mpirun():
    """The :func:`run_mpi` launcher as a fixture."""
    return run_mpi
