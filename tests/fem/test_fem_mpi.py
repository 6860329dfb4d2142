"""Checks on 2 ranks, each a function of ``fem_mpi_checks.py`` run under ``mpirun -n 2``."""

import pytest

pytest.importorskip("fem")
pytest.importorskip("dolfinx")

SCRIPT = "tests/fem/fem_mpi_checks.py"

pytestmark = pytest.mark.mpi


@pytest.mark.parametrize("name", ["points", "gmsh", "load_errors", "fisher", "metrics"])
def test_on_two_ranks(mpirun, tmp_path, name):
    proc = mpirun(2, [SCRIPT, name, str(tmp_path)], timeout=240)
    assert f"{name}: ok on 2 ranks" in proc.stdout


def test_error_on_one_rank_ends_the_job(mpirun, tmp_path):
    """Rank 1 raises while rank 0 waits in a barrier: the job must end, non-zero, with the message."""
    proc = mpirun(2, [SCRIPT, "rank1_raises", str(tmp_path)], timeout=120, check=False)
    assert proc.returncode != 0
    output = proc.stdout + proc.stderr
    assert "[rank 1/2] error: ValueError: boom from rank 1" in output


def test_forward_demo_on_two_ranks(mpirun, tmp_path):
    proc = mpirun(2, ["-m", "comparisons.forward_demo", "--out", str(tmp_path), "--n", "8"], timeout=240)
    assert "forward demo on 2 rank(s)" in proc.stdout
    for name in ("plate.msh", "square.xdmf", "square.bp", "plate.xdmf", "plate.bp", "forward_demo.png"):
        assert (tmp_path / name).exists(), name


def test_forward_demo_in_process(tmp_path):
    from comparisons.forward_demo import main

    results = main(["--out", str(tmp_path), "--n", "6"])
    assert [r["name"] for r in results] == ["square", "plate"]
    assert all(r["u_max"] > 0 and r["u_min"] > -1e-10 for r in results)
