import json
import math

import pytest

pytest.importorskip("fem")  # loads MPI before dolfinx
pytest.importorskip("dolfinx")

from bench import adjoint_cost  # noqa: E402


@pytest.mark.mpi
def test_adjoint_cost_runs_and_writes_json(tmp_path):
    summary = adjoint_cost.run(n=16, repeats=1, nprocs=(1,), solvers=("iterative",), out=tmp_path)
    (run,) = summary["runs"]
    # timings are noisy on a shared machine: check the record, not the speed (that is bench/)
    assert run["dofs"] == 17 * 17 and run["ranks"] == 1 and math.isfinite(run["ratio"]) and run["ratio"] > 0
    assert json.loads((tmp_path / "adjoint_cost_np1.json").read_text())["runs"][0]["n"] == 16
