"""MPI helpers shared by every entry point.

Under MPICH, a rank that raises and exits leaves the other ranks blocked in their next
collective forever. Every program of the toolkit therefore runs its ``main`` inside
:func:`abort_on_error`, which prints the error with the rank that raised it and calls
``MPI.COMM_WORLD.Abort`` so that the whole job ends with the message.
"""

from __future__ import annotations

import contextlib
import sys
import traceback
from collections.abc import Callable, Iterator

from mpi4py import MPI


@contextlib.contextmanager
def abort_on_error(comm: MPI.Comm = MPI.COMM_WORLD) -> Iterator[None]:
    """Run a block; if it raises on any rank, print the error and abort every rank.

    In a serial run the exception propagates unchanged (so tests and notebooks see it).
    ``SystemExit`` with code 0 (e.g. ``--help``) is passed through.
    """
    try:
        yield
    except SystemExit as exc:
        if comm.size > 1 and exc.code not in (0, None):
            sys.stderr.write(f"[rank {comm.rank}/{comm.size}] exit: {exc.code}\n")
            sys.stderr.flush()
            comm.Abort(exc.code if isinstance(exc.code, int) else 1)
        raise
    except BaseException as exc:
        if comm.size == 1:
            raise
        sys.stderr.write(f"[rank {comm.rank}/{comm.size}] error: {type(exc).__name__}: {exc}\n")
        sys.stderr.write("".join(traceback.format_exception(exc)))
        sys.stderr.flush()
        comm.Abort(1)


def run_collectively[T](main: Callable[[], T], comm: MPI.Comm = MPI.COMM_WORLD) -> T:
    """Call ``main()`` under :func:`abort_on_error` and return its result."""
    with abort_on_error(comm):
        return main()


def print0(*args: object, comm: MPI.Comm = MPI.COMM_WORLD, **kwargs: object) -> None:
    """Print on rank 0 only (flushed), so output under mpirun is not repeated per rank."""
    if comm.rank == 0:
        print(*args, **kwargs, flush=True)  # type: ignore[call-overload]
