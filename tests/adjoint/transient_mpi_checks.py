"""Run under ``mpirun -n 2 python tests/adjoint/transient_mpi_checks.py``: prints the summaries as JSON."""

from __future__ import annotations

import json

import transient_cases
from mpi4py import MPI

from fem.parallel import print0, run_collectively


def main() -> None:
    comm = MPI.COMM_WORLD
    assert comm.size > 1
    out = {name: transient_cases.summary(*getattr(transient_cases, name)(comm))
           for name in ("fisher_kpp", "heat_ic")}
    print0("RESULT " + json.dumps(out))


if __name__ == "__main__":
    run_collectively(main)
