"""What the operator baselines (DeepONet, FNO) share as methods: their data set, device and costs."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from inverse.datasets import OperatorDataset, operator_dataset
from inverse.method import RunOptions
from inverse.problem import AbstractInverseProblem


def dataset_with_progress(label: str, problem: AbstractInverseProblem, name: str, comm: Any, cache: str,
                          field_points: np.ndarray | None, options: RunOptions) -> OperatorDataset:
    """The problem's data set ``name`` (cached under ``cache``; "" : none), with a progress bar."""
    show = options.progress and comm.rank == 0
    bar = tqdm(total=0, desc=f"{label}: FEM data set", disable=not show, leave=False)

    def progress(done: int, total: int) -> None:
        bar.total = total
        bar.update(done - bar.n)

    try:
        return operator_dataset(problem, problem.operator_datasets()[name], comm, cache_dir=cache or None,
                                field_points=field_points, log=print if comm.rank == 0 else None,
                                progress=progress)
    finally:
        bar.close()


def torch_device(options: RunOptions) -> tuple[str, torch.dtype]:
    """The run's device (CUDA when available, unless given) and dtype."""
    device = options.device or ("cuda" if torch.cuda.is_available() else "cpu")
    return device, torch.float64 if options.dtype == "float64" else torch.float32


def costs(ds: OperatorDataset, t_data: float, t_train: float, t_invert: float, train_loss: float,
          val_loss: float) -> dict[str, float]:
    """The three costs in separate columns, the data set's size and the operator's fit.

    ``t_data_s`` is what this run spent on the data set (about 0 when it was read from the cache);
    ``t_generate_s`` what generating it cost, when it was generated (recorded in the cache).
    """
    out = {"t_data_s": t_data, "t_generate_s": ds.generation_s, "t_train_s": t_train, "t_invert_s": t_invert,
           "n_samples": float(len(ds.inputs)), "op_train_loss": train_loss}
    if np.isfinite(val_loss):
        out["op_val_loss"] = val_loss
    return out


def dataset_note(label: str, name: str, problem: AbstractInverseProblem, ds: OperatorDataset) -> str:
    """``fno: data set 'id': 1000 draws of … (generated in 12.3 s)``."""
    spec = problem.operator_datasets()[name]
    return (f"{label}: data set {name!r}: {spec.describe()}"
            + (f" (read from the cache; generated in {ds.generation_s:.1f} s)" if ds.from_cache
               else f" (generated in {ds.generation_s:.1f} s)"))
