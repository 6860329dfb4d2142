"""PNG figures shared by the comparisons: curves, trajectories, grids, u(x, t) (matplotlib, Agg, rank 0).

Fields on a mesh and their ParaView files are in ``comparisons.mesh_plots``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from inverse import Discretisation, InverseResult  # noqa: E402
from inverse.discretisation import SpaceTimeGrid  # noqa: E402
from inverse.problem import AbstractInverseProblem  # noqa: E402

Results = Mapping[str, InverseResult]


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


def plot_curves(path: Path, x: np.ndarray, truth: np.ndarray, guess: np.ndarray,
                curves: Mapping[str, np.ndarray], *, ylabel: str, title: str = "") -> Path:
    """One figure over x: the truth (dashed), the initial guess (dotted) and each method's curve."""
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.plot(x, truth, "k--", lw=2, label="truth")
    ax.plot(x, guess, ":", color="grey", label="initial guess")
    for label, y in curves.items():
        ax.plot(x, y, lw=1, label=label)
    ax.set(xlabel="x", ylabel=ylabel, title=title)
    ax.legend(fontsize=6, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_field_1d(problem: AbstractInverseProblem, disc: Discretisation, results: Results, out: Path, *,
                  name: str) -> list[Path]:
    """``<name>.png`` (the inferred field per method, the truth, the guess) and ``u.png`` (u_NN − u_FEM).

    For a 1D field unknown: the curves at ``disc.x_field``; u_FEM is the FEM at each estimate.
    """
    x = disc.x_field
    assert x is not None
    curves = {}
    for label, r in results.items():
        assert r.field is not None
        u = r.u(x) if r.u is not None and r.u_is_network else None
        ok = u is not None and problem.inadmissible(r.field, disc) is None
        curves[label] = (r.field(x), u, problem.forward(disc, r.field, x) if ok else None)
    if disc.comm.rank != 0:
        return []
    plot_curves(out / f"{name}.png", x[:, 0], problem.truth(x), problem.initial_guess(x),
                {label: D for label, (D, _, _) in curves.items()}, ylabel=f"{name}(x)")
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4))
    for label, (_, u, u_fem) in curves.items():
        if u is not None:
            a1.plot(x[:, 0], u, lw=1, label=label)
            if u_fem is not None:
                a2.plot(x[:, 0], u - u_fem, lw=1, label=label)
    a1.set(title=f"u_NN at the inferred {name}", xlabel="x")
    a2.set(title=f"u_NN − u_FEM(inferred {name})", xlabel="x")
    a1.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(out / "u.png", dpi=120)
    plt.close(fig)
    return [out / f"{name}.png", out / "u.png"]


def plot_initial_condition(problem: AbstractInverseProblem, disc: Discretisation, results: Results,
                           out: Path) -> list[Path]:
    """``u0.png`` (each method's u0, the truth, the guess) and ``u_xt.png`` (u(x, t) pictures).

    For an unknown initial condition of a 1D transient problem whose ``disc.x_u`` is a
    :class:`~inverse.discretisation.SpaceTimeGrid`: the pictures are the truth's reference solution and
    each method's u (the network's, or the reference solve from its u0). Collective.
    """
    x, grid = disc.x_field, disc.x_u
    assert x is not None and isinstance(grid, SpaceTimeGrid)
    fields = {"truth": problem.forward(disc, problem.truth, grid, truth=True)}
    curves = {}
    for label, r in results.items():
        assert r.field is not None
        curves[label] = r.field(x)
        ok = problem.inadmissible(r.field, disc) is None
        fields[label] = (r.u(grid.points()) if r.u is not None and r.u_is_network
                         else problem.forward(disc, r.field, grid) if ok else np.full(len(disc.w_u), np.nan))
    if disc.comm.rank != 0:
        return []
    plot_curves(out / "u0.png", x[:, 0], problem.truth(x), problem.initial_guess(x), curves,
                ylabel="u0(x)", title="initial condition (seed 0)")
    cols = min(4, len(fields))
    rows = -(-len(fields) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 3.0 * rows), squeeze=False)
    lo, hi = np.nanmin(fields["truth"]), np.nanmax(fields["truth"])
    shape = (len(grid.times), len(grid.space))
    for ax, (label, u) in zip(axes.ravel(), fields.items(), strict=False):
        im = ax.imshow(np.asarray(u).reshape(shape), origin="lower", aspect="auto", vmin=lo, vmax=hi,
                       extent=(grid.space[0, 0], grid.space[-1, 0], grid.times[0], grid.times[-1]))
        ax.set_title(f"u(x, t): {label}", fontsize=8)
        ax.set(xlabel="x", ylabel="t")
        fig.colorbar(im, ax=ax)
    for ax in axes.ravel()[len(fields):]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(out / "u_xt.png", dpi=110)
    plt.close(fig)
    return [out / "u0.png", out / "u_xt.png"]
