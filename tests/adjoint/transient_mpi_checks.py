"""Run under ``mpirun -n 2 python tests/adjoint/transient_mpi_checks.py``: prints the summaries as JSON.

The Taylor summaries of both cases and TAO's BLMVM and Newton (bnls) recoveries on 2 ranks.
"""

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
    out.update({tao_type: transient_cases.tao_recovery(comm, tao_type) for tao_type in ("blmvm", "bnls")})
    print0("RESULT " + json.dumps(out))


if __name__ == "__main__":
    run_collectively(main)
