import json

import pytest


@pytest.mark.mpi
def test_data_parallel_equals_serial_on_union(mpirun, tmp_path):
    out = tmp_path / "mpi.json"
    mpirun(2, ["tests/hybrid/mpi_fit.py", str(out)], timeout=240)
    res = json.loads(out.read_text())
    for name in ("bilo", "pinn"):
        assert res[name]["rank_spread"] == 0.0, name           # identical weights on every rank
        assert res[name]["serial_diff"] < 1e-12, name           # = serial run, up to round-off
        assert res[name]["loss_diff"] < 1e-12, name             # global means, not per-rank means


def test_serial_data_parallel_is_a_no_op():
    import torch

    from hybrid import DataParallel
    dp = DataParallel(None)
    t = torch.ones(3)
    dp.allreduce_sum([t])
    dp.broadcast([t])
    assert not dp.active and dp.global_count(7) == 7 and t.tolist() == [1.0, 1.0, 1.0]
