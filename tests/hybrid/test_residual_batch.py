"""Residual mini-batches: a fresh, reproducible batch per step, counted as the batch."""

from dataclasses import replace

import numpy as np
import pytest
from hybrid_problems import FisherKPP, fk_data, fk_grid

import hybrid


def _fit(batch, steps=3, **kwargs):
    x = fk_grid(9, 9)
    cfg = hybrid.BiLOConfig.smoke()
    cfg = replace(cfg, res_batch=batch, pretrain=replace(cfg.pretrain, steps=steps),
                  finetune=replace(cfg.finetune, steps=steps))
    return hybrid.BiLO(cfg).fit(FisherKPP(), x, x[::7], fk_data(x[::7]), {"rD": 1.0, "rrho": 1.0},
                                progress=False, dtype="float64", seed=3, **kwargs)


def test_batches_are_fresh_per_step_and_reproducible(monkeypatch):
    seen = []
    original = hybrid.training.Run.residual_points

    def spy(self, phase, step):
        x, count = original(self, phase, step)
        seen.append((phase, step, x.detach().numpy().copy(), count))
        return x, count

    monkeypatch.setattr(hybrid.training.Run, "residual_points", spy)
    a = _fit(20)
    first = list(seen)
    seen.clear()
    b = _fit(20)
    assert a.theta == b.theta  # the same batches, the same run
    assert all(np.array_equal(p[2], q[2]) for p, q in zip(first, seen, strict=True))
    assert {len(p[2]) for p in first} == {20} and {p[3] for p in first} == {20}
    # each step its own batch, drawn from the 81 points
    assert not np.array_equal(first[0][2], first[1][2])
    assert len({tuple(r) for p in first for r in p[2]}) > 20


def test_a_batch_as_large_as_the_points_is_no_batch_and_bad_sizes_are_refused():
    assert _fit(10_000, steps=1).theta == _fit(None, steps=1).theta
    with pytest.raises(ValueError, match="res_batch"):
        hybrid.BiLOConfig(res_batch=0)
    with pytest.raises(ValueError, match="res_batch"):
        hybrid.PINNConfig(res_batch=-3)
