"""Operator data sets: the problem's FEM over a parameter set, cached, checked, the same under MPI."""

import json

import h5py
import numpy as np
import pytest

pytest.importorskip("fem")
pytest.importorskip("dolfinx")

from mpi4py import MPI  # noqa: E402

from comparisons.fisher_kpp import FisherKPPProblem  # noqa: E402
from inverse import ParameterGrid, PriorSamples, operator_dataset  # noqa: E402

PROBLEM = FisherKPPProblem(cells=8, steps=8, n_res=5, n_dat=3)
GRID = ParameterGrid.linspace((0.5, 3.0, 3), (0.5, 3.0, 2))


def test_dataset_is_the_fem_at_each_input():
    ds = operator_dataset(PROBLEM, GRID, MPI.COMM_WORLD, cache_dir=None)
    assert ds.inputs.shape == (6, 2) and ds.points.shape == (25, 2) and ds.outputs.shape == (6, 25)
    disc = PROBLEM.discretise(MPI.COMM_SELF)
    for row, out in zip(ds.inputs, ds.outputs, strict=True):
        u = PROBLEM.forward(disc, {"rD": row[0], "rrho": row[1]}, disc.x_ref)
        np.testing.assert_allclose(out, u, rtol=0, atol=1e-12)
    draws = operator_dataset(PROBLEM, PriorSamples(n=3, seed=4), MPI.COMM_WORLD, cache_dir=None)
    assert draws.inputs.shape == (3, 2) and np.all((draws.inputs >= 0.5) & (draws.inputs <= 3.0))


def test_cache_is_reused_and_a_corrupt_or_foreign_file_is_rebuilt(tmp_path):
    messages = []
    first = operator_dataset(PROBLEM, GRID, MPI.COMM_WORLD, cache_dir=tmp_path, log=messages.append)
    (path,) = tmp_path.glob("fisher_kpp-*.h5")
    again = operator_dataset(PROBLEM, GRID, MPI.COMM_WORLD, cache_dir=tmp_path, log=messages.append)
    assert not first.from_cache and again.from_cache and again.generation_s == first.generation_s > 0
    assert np.array_equal(first.outputs, again.outputs) and not messages

    with h5py.File(path, "r+") as f:  # one changed value: the checksum no longer matches
        f["outputs"][0, 0] += 1e-3
    rebuilt = operator_dataset(PROBLEM, GRID, MPI.COMM_WORLD, cache_dir=tmp_path, log=messages.append)
    assert not rebuilt.from_cache and np.array_equal(rebuilt.outputs, first.outputs)
    assert "checksum does not match" in messages[-1]

    path.write_bytes(b"not an HDF5 file")
    operator_dataset(PROBLEM, GRID, MPI.COMM_WORLD, cache_dir=tmp_path, log=messages.append)
    assert "cannot be read" in messages[-1]

    with h5py.File(path, "r+") as f:  # a file under this name from other settings
        f.attrs["key"] = "something else"
    operator_dataset(PROBLEM, GRID, MPI.COMM_WORLD, cache_dir=tmp_path, log=messages.append)
    assert "key does not match" in messages[-1]
    assert operator_dataset(PROBLEM, GRID, MPI.COMM_WORLD, cache_dir=tmp_path).from_cache


def test_the_key_follows_what_the_data_depend_on(tmp_path):
    a = operator_dataset(PROBLEM, GRID, MPI.COMM_WORLD, cache_dir=tmp_path)
    finer = operator_dataset(FisherKPPProblem(cells=8, steps=16, n_res=5, n_dat=3), GRID, MPI.COMM_WORLD,
                             cache_dir=tmp_path)
    other = operator_dataset(PROBLEM, ParameterGrid.linspace((0.5, 3.0, 2), (0.5, 3.0, 2)), MPI.COMM_WORLD,
                             cache_dir=tmp_path)
    assert len({a.key, finer.key, other.key}) == 3 and len(list(tmp_path.glob("*.h5"))) == 3


def test_bad_specs_are_named():
    with pytest.raises(ValueError, match="ParameterGrid has 1 axes"):
        operator_dataset(PROBLEM, ParameterGrid.linspace((0.5, 3.0, 3)), MPI.COMM_WORLD, cache_dir=None)
    with pytest.raises(ValueError, match="not admissible: rD must be > 0"):
        operator_dataset(PROBLEM, ParameterGrid.linspace((-1.0, 1.0, 2), (1.0, 1.0, 1)), MPI.COMM_WORLD,
                         cache_dir=None)


@pytest.mark.mpi
def test_two_ranks_give_the_serial_data_set(mpirun, tmp_path):
    script = tmp_path / "gen.py"
    script.write_text(
        "import json, sys\nfrom mpi4py import MPI\nfrom fem.parallel import run_collectively\n"
        "from comparisons.fisher_kpp import FisherKPPProblem\n"
        "from inverse import ParameterGrid, operator_dataset\n"
        "PROBLEM = FisherKPPProblem(cells=8, steps=8, n_res=5, n_dat=3)\n"
        "GRID = ParameterGrid.linspace((0.5, 3.0, 3), (0.5, 3.0, 2))\n"
        "def main():\n"
        f"    ds = operator_dataset(PROBLEM, GRID, MPI.COMM_WORLD, cache_dir={str(tmp_path)!r})\n"
        "    if MPI.COMM_WORLD.rank == 0:\n"
        "        print('RESULT ' + json.dumps({'outputs': ds.outputs.tolist(), 'key': ds.key}))\n"
        "run_collectively(main)\n")
    proc = mpirun(2, [str(script)], timeout=300)
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT "))
    parallel = json.loads(line[len("RESULT "):])
    serial = operator_dataset(PROBLEM, GRID, MPI.COMM_WORLD, cache_dir=None)
    # each rank solves whole samples on its own serial mesh: the same numbers, bit for bit
    assert parallel["key"] == serial.key
    assert np.array_equal(np.array(parallel["outputs"]), serial.outputs)
