"""Checkpoints never run code, name the file they cannot read, and refuse to resume another run."""

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from hybrid_problems import FisherKPP, fk_data, fk_grid

import hybrid
from hybrid import PINN, CheckpointConfig, PINNConfig
from hybrid.checkpoint import FILENAME, CheckpointError, load_checkpoint

THETA0 = {"rD": 1.0, "rrho": 1.0}
XR, XD = fk_grid(4, 4), fk_grid(3, 3)


def _cfg(width=8, fine=4):
    return PINNConfig(network=hybrid.NetworkConfig(depth=3, width=width),
                      pretrain=hybrid.PretrainConfig(steps=3),
                      finetune=hybrid.PINNFinetuneConfig(steps=fine), log_every=1)


def _fit(ck, *, width=8, fine=4, u_dat=None, seed=0):
    u = fk_data(XD) if u_dat is None else u_dat
    return PINN(_cfg(width, fine)).fit(FisherKPP(), XR, XD, u, THETA0, u_ref=fk_data(XR), progress=False,
                                       dtype="float64", checkpoint=ck, seed=seed)


class _Payload:
    """Unpickling this touches a file: the proof that a load ran code."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_a_pickled_payload_is_refused_and_nothing_runs(tmp_path):
    marker = tmp_path / "ran"
    with open(tmp_path / FILENAME, "wb") as fh:
        pickle.dump({"phase": "pretrain", "step": 1, "model": _Payload(marker)}, fh)
    with pytest.raises(CheckpointError, match=rf"{FILENAME}.*pickled objects.*nothing in it was run"):
        load_checkpoint(tmp_path)
    assert not marker.exists()
    # the same through torch.save (its zip format)
    torch.save({"phase": "pretrain", "step": 1, "model": _Payload(marker)}, tmp_path / FILENAME)
    with pytest.raises(CheckpointError, match="pickled objects"):
        load_checkpoint(tmp_path)
    assert not marker.exists()


@pytest.mark.parametrize("damage", ["truncated", "text", "empty", "other dict"])
def test_a_damaged_file_is_named_in_the_error(tmp_path, damage):
    _fit(CheckpointConfig(dir=tmp_path, every=2))
    path = tmp_path / FILENAME
    good = path.read_bytes()
    if damage == "truncated":
        path.write_bytes(good[: len(good) // 2])
    elif damage == "text":
        path.write_text("not a checkpoint\n")
    elif damage == "empty":
        path.write_bytes(b"")
    else:
        torch.save({"weights": torch.zeros(2)}, path)
    with pytest.raises(CheckpointError, match=rf"checkpoint {path}"):
        load_checkpoint(tmp_path)
    with pytest.raises(CheckpointError, match=rf"checkpoint {path}"):
        _fit(CheckpointConfig(dir=tmp_path, every=2, resume=True))


def test_checkpoints_load_with_weights_only(tmp_path):
    _fit(CheckpointConfig(dir=tmp_path, every=2))
    state = torch.load(tmp_path / FILENAME, weights_only=True)
    assert state["phase"] == "finetune" and state["step"] == 4
    assert set(state["fingerprint"]) == {"problem", "data", "method config", "seed", "ranks", "dtype"}


@pytest.mark.parametrize(("change", "differs"), [
    ({"u_dat": fk_data(XD) + 0.1}, "data"),
    ({"width": 16}, "method config"),
    ({"fine": 6}, "method config"),
    ({"seed": 1}, "seed"),
])
def test_resume_refuses_a_checkpoint_of_another_run(tmp_path, change, differs):
    _fit(CheckpointConfig(dir=tmp_path, every=2))
    with pytest.raises(CheckpointError, match=rf"written by another run \({differs} differ"):
        _fit(CheckpointConfig(dir=tmp_path, every=2, resume=True), **change)


def test_resuming_a_finished_fit_runs_no_step_and_returns_it(tmp_path):
    full = _fit(CheckpointConfig(dir=tmp_path, every=1000))  # saved at the phase ends anyway
    again = _fit(CheckpointConfig(dir=tmp_path, every=1000, resume=True))
    assert again.steps == full.steps == 4
    assert again.theta == full.theta and again.history == full.history
    assert again.s_per_step == full.s_per_step
    assert again.wall_s >= full.wall_s  # the first run's time counts


def test_numpy_rng_state_round_trips(tmp_path):
    np.random.seed(3)
    hybrid.save_checkpoint(tmp_path, {"phase": "pretrain", "step": 0, "model": {}})
    expected = np.random.rand(3)
    np.random.seed(99)
    load_checkpoint(tmp_path)
    np.testing.assert_array_equal(np.random.rand(3), expected)
