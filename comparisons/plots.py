"""PNG figures shared by the comparisons (matplotlib, Agg backend, rank 0 only)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def plot_trajectories(histories: dict[str, list[dict[str, Any]]], params: tuple[str, ...],
                      truth: tuple[float, ...], path: Path) -> Path:
    """θ against fine-tuning step, one panel per parameter, one line per method; dashed truth."""
    fig, axes = plt.subplots(1, len(params), figsize=(5 * len(params), 3.6), squeeze=False)
    for ax, p, true in zip(axes[0], params, truth, strict=True):
        for label, hist in histories.items():
            rows = [h for h in hist if h.get("phase") == "finetune" and f"theta_{p}" in h]
            if rows:
                ax.plot([h["step"] for h in rows], [h[f"theta_{p}"] for h in rows], label=label)
        ax.axhline(true, color="k", ls="--", lw=1, label="truth")
        ax.set_xlabel("fine-tuning step")
        ax.set_ylabel(p)
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_fields(fields: dict[str, np.ndarray], shape: tuple[int, int], path: Path,
                axes_labels: tuple[str, str] = ("x", "y")) -> Path:
    """For each method: u_NN, u_FEM at the inferred parameters, and their difference, on a grid.

    ``fields[label]`` has shape (2, N) with N = shape[0]·shape[1], rows (u_NN, u_FEM), in the
    C order of ``fem.points.grid_points`` (first axis slow).
    """
    n = len(fields)
    fig, axes = plt.subplots(n, 3, figsize=(11, 3.2 * n), squeeze=False)
    for row, (label, (u_nn, u_fem)) in zip(axes, fields.items(), strict=True):
        for ax, data, title in zip(row, (u_nn, u_fem, u_nn - u_fem),
                                   (f"{label}: u_NN", "u_FEM at inferred θ", "u_NN − u_FEM"), strict=True):
            im = ax.imshow(np.asarray(data).reshape(shape), origin="lower", extent=(0, 1, 0, 1),
                           aspect="auto", cmap="RdBu_r" if "−" in title else "viridis")
            ax.set_title(title, fontsize=9)
            ax.set_xlabel(axes_labels[0])
            ax.set_ylabel(axes_labels[1])
            fig.colorbar(im, ax=ax)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
