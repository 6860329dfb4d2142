"""The thread policy: cores from the affinity mask, shared among a node's ranks; sleeping OpenMP threads."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import hybrid
from hybrid import threads

ROOT = Path(__file__).resolve().parents[2]


def test_default_is_the_affinity_divided_by_the_local_ranks(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(threads, "available_cores", lambda: 8)
    monkeypatch.setattr(threads, "local_ranks", lambda comm=None: 3)
    assert threads.default_threads() == 2
    monkeypatch.setattr(threads, "local_ranks", lambda comm=None: 16)
    assert threads.default_threads() == 1


def test_omp_num_threads_is_the_users_choice(monkeypatch):
    monkeypatch.setattr(threads, "available_cores", lambda: 8)
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert threads.default_threads() == 3
    monkeypatch.setenv("OMP_NUM_THREADS", "garbage")
    assert threads.default_threads() == 8


def test_available_cores_follows_the_affinity_mask():
    if not hasattr(os, "sched_getaffinity"):
        pytest.skip("no affinity masks here")
    assert threads.available_cores() == len(os.sched_getaffinity(0))


def test_set_threads_sets_torch_and_is_not_overridden_by_a_fit():
    before = torch.get_num_threads()
    try:
        assert hybrid.set_threads(1) == 1
        assert torch.get_num_threads() == 1
        # A fit applies the policy only when nobody chose: an explicit choice stays.
        assert threads.ensure_threads() == 1
        with pytest.raises(ValueError, match="threads must be >= 1"):
            hybrid.set_threads(0)
    finally:
        hybrid.set_threads(before)


def _openmp_settings(code: str, **env: str) -> str:
    """What libgomp prints of the settings it started with (OMP_DISPLAY_ENV=VERBOSE)."""
    base = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          env={**base, "OMP_DISPLAY_ENV": "VERBOSE", **env}, check=True)
    return proc.stdout + proc.stderr


@pytest.mark.parametrize("entry", ["comparisons.fisher_kpp", "inverse"])
def test_openmp_threads_sleep_when_idle(entry):
    # The entry point must set the policy before torch loads libgomp, or a run beside another busy
    # process spins its cores away. Without it libgomp spins 300,000 rounds before sleeping.
    assert "GOMP_SPINCOUNT = '1000'" in _openmp_settings(f"import {entry}, torch; torch.ones(1)")


def test_without_the_policy_libgomp_spins():
    # what the check above tells apart: torch alone keeps libgomp's default
    assert "GOMP_SPINCOUNT = '300000'" in _openmp_settings("import torch; torch.ones(1)")


def test_a_user_wait_policy_wins():
    out = _openmp_settings("import hybrid, torch; torch.ones(1)", OMP_WAIT_POLICY="ACTIVE")
    assert "OMP_WAIT_POLICY = 'ACTIVE'" in out


def test_a_user_spin_count_wins():
    out = _openmp_settings("import hybrid, torch; torch.ones(1)", GOMP_SPINCOUNT="7")
    assert "GOMP_SPINCOUNT = '7'" in out
