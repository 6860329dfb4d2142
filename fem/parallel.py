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
from collections.abc import Callable, Iterator, Mapping

from mpi4py import MPI


def collective[E: BaseException](exc: E) -> E:
    """Mark ``exc`` as raised alike on every rank (a checked input, a broadcast verdict).

    The command lines print such an error once, from rank 0, and every rank exits with status
    2 without an MPI abort; an unmarked error is printed by the rank that raised it, which then
    aborts the job.
    """
    exc.collective = True  # type: ignore[attr-defined]
    return exc


def is_collective(exc: BaseException) -> bool:
    """Whether ``exc`` was marked by :func:`collective`."""
    return bool(getattr(exc, "collective", False))


@contextlib.contextmanager
def abort_on_error(
    comm: MPI.Comm = MPI.COMM_WORLD, messages: Mapping[type[BaseException], int] | None = None
) -> Iterator[None]:
    """Run a block; if it raises on any rank, print the error and end every rank.

    In a serial run an exception propagates unchanged (so tests and notebooks see it), unless
    its type is in ``messages``. ``SystemExit`` with code 0 (e.g. ``--help``) is passed through.

    Args:
        comm: The communicator whose ranks end together.
        messages: Exception types that are the user's errors (a bad input, a checkpoint of
            another run) -> exit status: they are printed as one line ``error: <message>``, with
            no traceback; once, from rank 0, when marked :func:`collective` (every rank exits
            with the status, no abort), else from the rank that raised it (which aborts the job).
    """
    try:
        yield
    except SystemExit as exc:
        if comm.size > 1 and exc.code not in (0, None) and not is_collective(exc):
            sys.stderr.write(f"[rank {comm.rank}/{comm.size}] exit: {exc.code}\n")
            sys.stderr.flush()
            comm.Abort(exc.code if isinstance(exc.code, int) else 1)
        raise
    except BaseException as exc:
        status = next((code for kind, code in (messages or {}).items() if isinstance(exc, kind)), None)
        if status is not None:
            line = " ".join(str(exc).split()) or type(exc).__name__
            if is_collective(exc):
                if comm.rank == 0:
                    sys.stderr.write(f"error: {line}\n")
                    sys.stderr.flush()
                raise SystemExit(status) from None
            where = f"[rank {comm.rank}/{comm.size}] " if comm.size > 1 else ""
            sys.stderr.write(f"{where}error: {line}\n")
            sys.stderr.flush()
            if comm.size > 1:
                comm.Abort(status)
            raise SystemExit(status) from None
        if comm.size == 1:
            raise
        sys.stderr.write(f"[rank {comm.rank}/{comm.size}] error: {type(exc).__name__}: {exc}\n")
        sys.stderr.write("".join(traceback.format_exception(exc)))
        sys.stderr.flush()
        comm.Abort(1)


def run_collectively[T](
    main: Callable[[], T], comm: MPI.Comm = MPI.COMM_WORLD,
    messages: Mapping[type[BaseException], int] | None = None,
) -> T:
    """Call ``main()`` under :func:`abort_on_error` (with its ``messages``) and return its result."""
    with abort_on_error(comm, messages):
        return main()


def print0(*args: object, comm: MPI.Comm = MPI.COMM_WORLD, **kwargs: object) -> None:
    """Print on rank 0 only (flushed), so output under mpirun is not repeated per rank."""
    if comm.rank == 0:
        print(*args, **kwargs, flush=True)  # type: ignore[call-overload]
