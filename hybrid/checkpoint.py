"""Checkpoints: network, unknowns, optimiser states, step, history and RNG state in one file."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

FILENAME = "checkpoint.pt"


def save_checkpoint(directory: Path | str, state: dict[str, Any]) -> Path:
    """Write ``state`` atomically (temporary file, then rename), so a crash never leaves a torn file.

    Args:
        directory: Checkpoint directory (created if missing).
        state: Anything ``torch.save`` accepts; RNG states are added here.

    Returns:
        The checkpoint path.
    """
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    path = d / FILENAME
    tmp = d / (FILENAME + ".tmp")
    full = dict(state, rng_torch=torch.get_rng_state(), rng_numpy=np.random.get_state())
    torch.save(full, tmp)
    os.replace(tmp, path)
    return path


def load_checkpoint(directory: Path | str) -> dict[str, Any] | None:
    """Load the last checkpoint in ``directory`` and restore the RNG states; None if there is none."""
    path = Path(directory) / FILENAME
    if not path.exists():
        return None
    state: dict[str, Any] = torch.load(path, map_location="cpu", weights_only=False)
    torch.set_rng_state(state["rng_torch"])
    np.random.set_state(state["rng_numpy"])
    return state
