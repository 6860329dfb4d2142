"""Checkpoints: network, unknowns, optimiser states, step, history and RNG state in one file.

A checkpoint holds tensors and plain data only (numbers, strings, lists, dicts) and is read
with ``torch.load(..., weights_only=True)``: a file that would unpickle code is refused before
anything in it runs. Each checkpoint carries the fingerprint of the run that wrote it (problem,
data, method config, seed, ranks, dtype), and a resume is refused when the fingerprints differ.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import pickle
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

FILENAME = "checkpoint.pt"


class CheckpointError(ValueError):
    """A checkpoint that cannot be read, or that another run wrote (the message names the file).

    Every rank reads the same file, so every rank raises it alike (``collective``): a command
    line prints it once.
    """

    collective = True


def digest(obj: Any) -> str:
    """A stable 16-hex-digit hash of configs, arrays and plain data (not of their ``repr``'s cut-offs).

    Dataclasses hash by field, arrays and tensors by dtype, shape and bytes, mappings by sorted
    key; anything else by ``repr``.
    """
    h = hashlib.sha256()

    def feed(x: Any) -> None:
        if isinstance(x, torch.Tensor):
            x = x.detach().cpu().numpy()
        if isinstance(x, np.ndarray):
            a = np.ascontiguousarray(x)
            h.update(f"array{a.dtype.str}{a.shape}".encode())
            h.update(a.tobytes())
        elif dataclasses.is_dataclass(x) and not isinstance(x, type):
            h.update(type(x).__qualname__.encode())
            for f in dataclasses.fields(x):
                h.update(f.name.encode())
                feed(getattr(x, f.name))
        elif isinstance(x, Mapping):
            h.update(b"map")
            for k in sorted(x, key=repr):
                h.update(repr(k).encode())
                feed(x[k])
        elif isinstance(x, list | tuple):
            h.update(f"seq{len(x)}".encode())
            for v in x:
                feed(v)
        else:
            h.update(repr(x).encode())

    feed(obj)
    return h.hexdigest()[:16]


def _plain(x: Any) -> Any:
    """Numpy scalars and arrays as Python numbers and tensors, so that ``weights_only`` can load them."""
    if isinstance(x, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(x))
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, Mapping):
        return {k: _plain(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return type(x)(_plain(v) for v in x)
    return x


def save_checkpoint(directory: Path | str, state: Mapping[str, Any]) -> Path:
    """Write ``state`` atomically (temporary file, then rename), so a crash never leaves a torn file.

    Args:
        directory: Checkpoint directory (created if missing).
        state: Tensors and plain data (numpy values are converted); RNG states are added here.

    Returns:
        The checkpoint path.
    """
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    path = d / FILENAME
    # a name of its own per process: replicated runs under MPI may write the same checkpoint
    tmp = d / f"{FILENAME}.{os.getpid()}.tmp"
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    full = dict(_plain(dict(state)), rng_torch=torch.get_rng_state(),
                rng_numpy={"kind": str(kind), "keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)),
                           "pos": int(pos), "has_gauss": int(has_gauss), "cached": float(cached)})
    torch.save(full, tmp)
    os.replace(tmp, path)
    return path


def read_checkpoint(path: Path | str) -> dict[str, Any]:
    """Read a checkpoint file without running any code in it (``weights_only=True``).

    Raises:
        CheckpointError: The file is truncated, not a torch file, or holds anything beyond
            tensors and plain data (such as a pickled object); raised alike on every rank.
    """
    path = Path(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, OSError, ValueError, TypeError,
            AttributeError, ImportError, KeyError, IndexError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if isinstance(exc, pickle.UnpicklingError) and "weights_only" in str(exc):
            reason = "it holds pickled objects, not only tensors and plain data; nothing in it was run"
        raise CheckpointError(f"checkpoint {path} cannot be read: {reason[:300]}") from None
    if not isinstance(state, dict) or not {"phase", "step", "model"} <= set(state):
        raise CheckpointError(f"checkpoint {path} is not a checkpoint of this toolkit")
    return state


def load_checkpoint(
    directory: Path | str, fingerprint: Mapping[str, str] | None = None
) -> dict[str, Any] | None:
    """Load the checkpoint in ``directory`` and restore the RNG states; None if there is none.

    Args:
        directory: The checkpoint directory.
        fingerprint: What determines the run (name -> digest); when given, it must equal the
            one stored in the checkpoint.

    Raises:
        CheckpointError: Unreadable file, or written by a run with another fingerprint (the
            message lists what differs).
    """
    path = Path(directory) / FILENAME
    if not path.exists():
        return None
    state = read_checkpoint(path)
    if fingerprint is not None:
        stored = state.get("fingerprint", {})
        differ = sorted(k for k in set(stored) | set(fingerprint) if stored.get(k) != fingerprint.get(k))
        if differ:
            raise CheckpointError(
                f"checkpoint {path} was written by another run ({', '.join(differ)} differ); "
                "remove it, or rerun without --resume")
    torch.set_rng_state(state["rng_torch"])
    r = state["rng_numpy"]
    np.random.set_state((r["kind"], r["keys"].numpy().astype(np.uint32), r["pos"], r["has_gauss"],
                         r["cached"]))
    return state
