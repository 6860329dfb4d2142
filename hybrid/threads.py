"""Thread policy: how many torch/OpenMP threads a process uses, so that processes never oversubscribe.

Two rules, applied by every entry point (the comparisons' command line, the benchmarks) and by
every fit that no entry point configured:

- **Threads = the cores this process may use / the ranks on its node.** The cores come from the
  affinity mask (``taskset``, cgroups, a batch scheduler's binding), not from the machine's core
  count; the ranks on the node from MPI's shared-memory split. ``OMP_NUM_THREADS`` and
  ``--threads`` override.
- **Idle OpenMP threads spin briefly, then sleep** (``GOMP_SPINCOUNT=1000``, set in
  ``hybrid/__init__`` before torch loads its OpenMP runtime, unless the user set it or
  ``OMP_WAIT_POLICY``). libgomp's own default spins 300,000 rounds (milliseconds) before a
  thread sleeps, holding its core between parallel regions: beside one other busy process on 2
  cores the Fisher–KPP smoke comparison then took 2.75× its time alone. Sleeping at once
  (``OMP_WAIT_POLICY=PASSIVE``, this module's earlier policy) gives the core back but pays a
  wake-up on every parallel op of a step: alone, the same comparison took 1.65× as long as with
  a 1,000-round spin. 1,000 rounds (about ten microseconds) bridge the gap from one op to the
  next and still sleep between steps and beside other jobs: loaded, the comparison took 1.58×
  its time alone (2-core CPU; ``python -m bench.threads --passive --spinning`` measures all
  three policies, ``docs/results/speed.md`` has the numbers).
"""

from __future__ import annotations

import os
from typing import Any

import torch

_configured: int | None = None


def available_cores() -> int:
    """Cores this process may run on (its affinity mask; the CPU count where there is none)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def local_ranks(comm: Any | None = None) -> int:
    """Ranks of ``comm`` on this node (1 without a communicator)."""
    if comm is None or comm.Get_size() == 1:
        return 1
    from mpi4py import MPI

    node = comm.Split_type(MPI.COMM_TYPE_SHARED)
    try:
        return int(node.Get_size())
    finally:
        node.Free()


def default_threads(comm: Any | None = None) -> int:
    """The policy's thread count: ``OMP_NUM_THREADS`` if set, else cores / ranks on this node (≥ 1)."""
    env = os.environ.get("OMP_NUM_THREADS", "").strip()
    if env.isdigit() and int(env) > 0:
        return int(env)  # the user's own choice
    return max(1, available_cores() // local_ranks(comm))


def set_threads(threads: int | None = None, comm: Any | None = None) -> int:
    """Set torch's intra-op threads to ``threads`` (None: :func:`default_threads`); return the count.

    Collective over ``comm`` when ``threads`` is None (the node split is).

    Raises:
        ValueError: ``threads`` < 1.
    """
    global _configured
    if threads is not None and threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    n = default_threads(comm) if threads is None else int(threads)
    torch.set_num_threads(n)
    _configured = n
    return n


def ensure_threads(comm: Any | None = None) -> int:
    """Apply the default policy unless this process has set its threads already; return the count.

    Called by every fit, so a script that calls ``BiLO.fit`` under ``mpirun`` without choosing
    gets the policy, and an entry point's ``--threads`` is never overridden.
    """
    if _configured is not None:
        return _configured
    if comm is not None and comm.Get_size() > 1:
        return set_threads(None, comm)
    # Serial and unconfigured: torch's own default is already the cores it may use.
    return torch.get_num_threads()
