"""Run under ``mpirun -n 2 python tests/adjoint/adjoint_mpi_checks.py NAME``; exit non-zero on failure.

NAME: ``taylor`` (rates ≥ 1.9 for P1/DG0 × H1/TV, 2 ± 0.1 for two nonlinear residuals) or
``tao`` (prints the optimum as JSON).
"""

from __future__ import annotations

import json
import sys

import adjoint_cases
from mpi4py import MPI

from fem.parallel import print0, run_collectively


def check_taylor() -> None:
    comm = MPI.COMM_WORLD
    assert comm.size > 1
    for space in ("P1", "DG0"):
        for reg in ("H1", "TV"):
            rates = adjoint_cases.taylor_rates(space, reg, comm=comm)
            print0(f"taylor {space} {reg}: rates {rates}")
            assert rates.min() >= 1.9, (space, reg, rates)
    import adjoint  # CG + GAMG in parallel too

    rates = adjoint_cases.taylor_rates("P1", "TV", adjoint.SigmoidMap(), comm=comm,
                                       solver=adjoint.SolverConfig.iterative())
    print0(f"taylor P1 TV sigmoid CG+GAMG: rates {rates}")
    assert rates.min() >= 1.9, rates
    # nonlinear state equations (Newton), one of them with advection (a non-symmetric tangent)
    from test_adjoint_nonlinear import CASES, make_problem

    for space, residual in CASES:
        rf, m = make_problem(space, residual)
        check = adjoint.taylor_check(rf.J, rf.derivative, m, adjoint_cases.direction(rf), comm=comm)
        print0(f"taylor nonlinear {space} {residual.__name__}: rates {check.usable_rates}")
        assert check.check() is None, check.check()


def check_tao() -> None:
    summary = adjoint_cases.tao_run(MPI.COMM_WORLD)
    print0("RESULT " + json.dumps(summary))


if __name__ == "__main__":
    checks = {"taylor": check_taylor, "tao": check_tao}
    run_collectively(checks[sys.argv[1]])
