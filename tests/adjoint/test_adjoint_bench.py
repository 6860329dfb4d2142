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


@pytest.mark.mpi
def test_transient_adjoint_cost_runs_and_writes_json(tmp_path):
    from bench import transient_adjoint_cost

    summary = transient_adjoint_cost.run(cells=10, steps=10, repeats=1, nprocs=(1,), out=tmp_path)
    (run,) = summary["runs"]
    # the record, not the speed (that is bench/): 21 P2 dofs, ≥ 1 Newton step per time step
    assert run["dofs"] == 21 and run["steps"] == 10 and run["newton_iterations_per_step"] >= 1
    assert math.isfinite(run["ratio"]) and run["ratio"] > 1
    assert json.loads((tmp_path / "transient_adjoint_cost.json").read_text())["runs"][0]["cells"] == 10
