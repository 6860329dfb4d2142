"""Two-rank runs: Taylor rates and the same TAO optimum as in serial."""

import json

import pytest

pytest.importorskip("fem")  # loads MPI before dolfinx
pytest.importorskip("dolfinx")

import adjoint_cases  # noqa: E402

SCRIPT = "tests/adjoint/adjoint_mpi_checks.py"


@pytest.mark.mpi
def test_taylor_two_ranks(mpirun):
    mpirun(2, [SCRIPT, "taylor"], timeout=300)


@pytest.mark.mpi
def test_tao_two_ranks_matches_serial(mpirun):
    proc = mpirun(2, [SCRIPT, "tao"], timeout=300)
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT "))
    parallel = json.loads(line[len("RESULT "):])
    serial = adjoint_cases.tao_run()
    assert serial["converged"] and parallel["converged"], (serial, parallel)
    assert parallel["J"] == pytest.approx(serial["J"], rel=1e-5)
    assert parallel["norm_m"] == pytest.approx(serial["norm_m"], rel=1e-6)
    assert serial["err_m"] < 0.05
    # the 1D Poisson problem (point observations, fixed ends) on 2 ranks
    assert serial["converged_1d"] and parallel["converged_1d"], (serial, parallel)
    assert parallel["J_1d"] == pytest.approx(serial["J_1d"], rel=1e-5)
    assert parallel["norm_m_1d"] == pytest.approx(serial["norm_m_1d"], rel=1e-6)
