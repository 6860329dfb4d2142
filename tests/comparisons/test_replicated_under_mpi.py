"""Fisher–KPP and Poisson under ``mpirun -n 2``: the FEM mesh is distributed, the (small) network
problems are solved on every rank from the same data, and the report equals the serial one.
"""

import json

import pytest

pytest.importorskip("fem")
pytest.importorskip("dolfinx")

from comparisons import fisher_kpp, poisson  # noqa: E402

CASES = {
    # (module, arguments): a single network method keeps each run near 30 s on one core
    "fisher_kpp": (fisher_kpp, ["--preset", "smoke", "--methods", "bilo,adjoint"]),
    "poisson": (poisson, ["--preset", "smoke", "--methods", "pinn(w_dat=100,w_reg=0.001),adjoint_tao"]),
}


@pytest.mark.slow
@pytest.mark.mpi
@pytest.mark.parametrize("name", list(CASES))
def test_two_ranks_give_the_serial_report(name, mpirun, tmp_path):
    module, args = CASES[name]
    serial = module.main([*args, "--quiet", "--out", str(tmp_path / "serial")])
    mpirun(2, ["-m", f"comparisons.{name}", *args, "--quiet", "--out", str(tmp_path / "mpi")], timeout=900)
    par = json.loads((tmp_path / "mpi" / "report.json").read_text())
    assert par["ranks"] == 2 and set(par["methods"]) == set(serial.methods)
    for label, record in serial.methods.items():
        for metric, value in record.runs[0].items():
            if metric.startswith("t_1pct"):
                continue  # a wall time, not a result
            # the same data on every rank; the FEM solves on 2 ranks differ from serial only by
            # Krylov/LU round-off, which the networks' float32 training does not see. TAO stops at
            # its iteration limit here (200, not converged), and 200 L-BFGS steps carry that
            # round-off along: measured 1.3e-4 relative in field_rel_l2, hence 1e-3 for it
            # (and its line search may take a few more or fewer trial steps: 324 against 327 solves)
            rel = 1e-3 if label.startswith("adjoint") else 1e-4
            rel = 0.05 if metric in ("n_forward", "n_adjoint") else rel
            assert par["methods"][label]["per_seed"][0][metric] == pytest.approx(value, rel=rel, abs=1e-9), (
                label, metric)
