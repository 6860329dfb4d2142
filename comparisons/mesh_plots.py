"""Figures and ParaView files of fields on a mesh, shared by the comparisons (2D fields, segmentations).

PNGs with matplotlib (Agg backend) on rank 0 from the gathered mesh; XDMF + VTX of every field.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from comparisons.plots import Results  # noqa: E402
from hybrid import SegmentationLikelihood  # noqa: E402
from inverse import Discretisation  # noqa: E402
from inverse.discretisation import SpaceTimeGrid  # noqa: E402
from inverse.problem import AbstractInverseProblem  # noqa: E402


def gather_triangles(msh: Any, comm: Any) -> np.ndarray | None:
    """Vertex coordinates (n_cells, 3, 2) of every owned triangle, on rank 0 (None elsewhere)."""
    n = msh.topology.index_map(2).size_local
    tri = msh.geometry.x[msh.geometry.dofmaps[0][:n]][:, :3, :2]
    parts = comm.gather(tri, root=0)
    return np.concatenate(parts) if comm.rank == 0 else None


def plot_triangle_panel(msh: Any, x_nodes: np.ndarray, rows: list[tuple[str, Any, bool]], path: Path, *,
                        limits: tuple[float, float], threshold: float, comm: Any) -> Path | None:
    """One row per field on a 2D triangle mesh: the field, its map > threshold, its error.

    Args:
        msh: The dolfinx mesh (triangles).
        x_nodes: This rank's node coordinates (N, 2) where nodal fields are given.
        rows: (title, values, with_error): values either a callable of cell midpoints (M, 2)
            (closed-form truth or guess) or this rank's nodal values (N,); the first row is the
            truth, and rows ``with_error`` also show their difference to it.
        path: The PNG.
        limits: Colour range of the fields.
        threshold: The classification threshold.
        comm: The communicator (collective; rank 0 draws).
    """
    cells = gather_triangles(msh, comm)
    nodal = [comm.gather(v, root=0) if not callable(v) else None for _, v, _ in rows]
    coords = comm.gather(x_nodes, root=0)
    if comm.rank != 0:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.collections import PolyCollection
    from scipy.spatial import cKDTree

    assert cells is not None
    mid = np.mean(cells, axis=1)
    _, idx = cKDTree(np.concatenate(coords)).query(cells.reshape(-1, 2))
    idx = idx.reshape(-1, 3)
    lo, hi = limits
    values = [v(mid) if callable(v) else np.concatenate(parts or [])[idx].mean(axis=1)
              for (_, v, _), parts in zip(rows, nodal, strict=True)]
    ref = values[0]
    fig, axes = plt.subplots(len(rows), 3, figsize=(10, 3.1 * len(rows)), squeeze=False)
    for ax_row, (title, _, with_error), vals in zip(axes, rows, values, strict=True):
        panels = [(f"{title}: a", vals, "viridis", (lo, hi)),
                  (f"{title}: a > {threshold:g}", (vals > threshold).astype(float), "gray", (0, 1))]
        if with_error:
            panels.append((f"{title}: a − a_true", vals - ref, "RdBu_r", (lo - hi, hi - lo)))
        for ax, (name, v, cmap, lim) in zip(ax_row, panels, strict=False):
            pc = PolyCollection(list(cells), array=v, cmap=cmap, edgecolors="face")
            pc.set_clim(*lim)
            ax.add_collection(pc)
            ax.autoscale_view()
            ax.set_aspect("equal")
            ax.set_title(name, fontsize=9)
            fig.colorbar(pc, ax=ax)
        for ax in ax_row[len(panels):]:
            ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def safe_name(label: str) -> str:
    """A method label as a file-name part: ``pinn(w_dat=100)`` -> ``pinn_w_dat100``."""
    return label.replace("(", "_").replace(")", "").replace("=", "").replace(",", "_")


def write_functions(functions: list[Any], out: Path, stem: str) -> list[Path]:
    """ParaView files: one XDMF with the P1 functions (XDMF holds P1 data only), one VTX (.bp) each."""
    import dolfinx.io

    msh = functions[0].function_space.mesh
    xdmf = out / f"{stem}.xdmf"
    with dolfinx.io.XDMFFile(msh.comm, str(xdmf), "w") as fh:
        fh.write_mesh(msh)
        for f in functions:
            if f.function_space.element.basix_element.degree > 0:
                fh.write_function(f)
    paths = [xdmf]
    for f in functions:
        bp = out / f"{f.name}.bp"
        with dolfinx.io.VTXWriter(msh.comm, str(bp), [f], engine="BP4") as vtx:
            vtx.write(0.0)
        paths.append(bp)
    return paths


def field_outputs(problem: AbstractInverseProblem, disc: Discretisation, results: Results, out: Path, *,
                  stem: str, limits: tuple[float, float], threshold: float) -> list[Path]:
    """The figure and ParaView files of a 2D field problem with data at the P1 nodes (seed 0).

    ``<stem>_fields.png`` (truth, guess, each method's a, its map > threshold and its error) and
    ``<stem>.xdmf`` + one ``.bp`` per field (a and u of the truth, the guess and every method).
    Collective. ``disc.extra["V"]`` is the P1 space whose owned nodes are ``disc.x_dat``.
    """
    import dolfinx

    V, x = disc.extra["V"], np.asarray(disc.x_dat)

    def nodal(name: str, values: np.ndarray) -> Any:
        f = dolfinx.fem.Function(V, name=name)
        f.x.array[: len(values)] = values
        f.x.scatter_forward()
        return f

    a_true = problem.coefficient(problem.truth, disc.mesh.mesh, V, truth=True)
    a_init = problem.coefficient(problem.initial_guess, disc.mesh.mesh, V)
    a_true.name, a_init.name = "a_true", "a_init"
    funcs = [a_true, a_init, nodal("u_true", problem.forward(disc, problem.truth, x, truth=True))]
    rows: list[tuple[str, Any, bool]] = [("truth", problem.truth, False),
                                         ("initial guess", problem.initial_guess, False)]
    for label, r in results.items():
        assert r.field is not None  # a field problem's results
        a = r.field(x)
        u = r.u(x) if r.u is not None else problem.forward(disc, r.field, x)
        funcs += [nodal(f"a_{safe_name(label)}", a), nodal(f"u_{safe_name(label)}", u)]
        rows.append((label, a, True))
    png = plot_triangle_panel(disc.mesh.mesh, x, rows, out / f"{stem}_fields.png", limits=limits,
                              threshold=threshold, comm=disc.comm)
    return write_functions(funcs, out, stem) + ([png] if png is not None else [])


def plot_segmentations(images: np.ndarray, inside: np.ndarray,
                       fields: Mapping[str, tuple[np.ndarray, tuple[float, ...]]], path: Path, *,
                       context: tuple[np.ndarray, tuple[int, int, int]] | None = None) -> Path:
    """Tissue and u(x, 1) per row label with its mask contours {u = th_k} (the first entry is the truth).

    Args:
        images: (4, n + 1, n + 1) P, P_x, P_y, φ of the window.
        inside: (n + 1, n + 1) brain voxels.
        fields: label -> (u on the (n + 1)² voxels, x fastest ... as ``indexing="ij"``, thresholds).
        path: The PNG.
        context: The whole slice's tissue image and the window in its voxels (i0, j0, size),
            drawn first.
    """
    n1 = images.shape[1]
    labels = list(fields)
    extra = 2 if context is not None else 1
    panels = len(labels) + extra
    fig, axes = plt.subplots(1, panels, figsize=(3.2 * panels, 3.4), squeeze=False)
    if context is not None:
        whole, (i0, j0, size) = context
        axes[0, 0].imshow(whole.T, origin="lower", cmap="gray")
        axes[0, 0].add_patch(plt.Rectangle((i0, j0), size, size, fill=False, color="tab:red"))
        axes[0, 0].set_title("slice and window", fontsize=9)
    ext = (0.0, 1.0, 0.0, 1.0)
    axes[0, extra - 1].imshow(images[0].T, origin="lower", extent=ext, cmap="gray")
    axes[0, extra - 1].set_title("tissue P = wm + 0.1 gm", fontsize=9)
    truth_u, truth_th = fields[labels[0]]
    grid = np.linspace(0, 1, n1)
    for ax, label in zip(axes[0, extra:], labels, strict=True):
        u, th = fields[label]
        shown = np.where(inside, np.asarray(u).reshape(n1, n1), np.nan)
        ax.imshow(shown.T, origin="lower", extent=ext, vmin=0, vmax=1, cmap="magma")
        for k, (colour, t) in enumerate(zip(("tab:cyan", "tab:green"), th, strict=False)):
            if np.isfinite(t) and np.isfinite(shown).any():
                ax.contour(grid, grid, np.nan_to_num(shown).T, levels=[t], colors=colour, linewidths=1.2)
            if label != labels[0]:
                ax.contour(grid, grid, np.where(inside, truth_u.reshape(n1, n1), 0).T, levels=[truth_th[k]],
                           colors=colour, linewidths=0.8, linestyles="dashed")
        ax.set_title(label, fontsize=9)
    for ax in axes[0]:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle("u(x, 1) and its masks u > th1 (cyan), u > th2 (green); dashed: the truth's", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def segmentation_outputs(problem: AbstractInverseProblem, disc: Discretisation, results: Results,
                         out: Path, *, images: np.ndarray, stem: str,
                         context: tuple[np.ndarray, tuple[int, int, int]] | None = None) -> list[Path]:
    """The truth's and each method's u(x, 1) (seed 0) as ParaView files and ``masks.png``. Collective.

    For a transient 2D problem with segmentation masks at t = 1 on the P1 nodes of a window
    (``disc.x_u``: every node at t = 1; ``disc.extra["inside"]``: the observed ones).
    """
    import dolfinx

    from fem.points import dof_coordinates

    like, x_u = problem.likelihood(), disc.x_u
    assert isinstance(like, SegmentationLikelihood) and isinstance(x_u, SpaceTimeGrid)
    V = dolfinx.fem.functionspace(disc.mesh.mesh, ("Lagrange", 1))
    nodes = SpaceTimeGrid(times=np.array([1.0]), space=dof_coordinates(V)[:, :2])
    names = like.names
    rows = {"truth": (problem.theta_true(), None)} | {label: (r.theta, r.u) for label, r in results.items()}
    fields, functions = {}, []
    for label, (theta, u_of) in rows.items():
        assert isinstance(theta, Mapping)  # named scalars
        ok = problem.inadmissible(theta, disc) is None
        values = {}
        for key, pts in (("png", x_u), ("nodes", nodes)):
            values[key] = (u_of(pts.points()) if u_of is not None else problem.forward(disc, theta, pts)
                           if ok else np.full(len(pts.space), np.nan))
        fields[label] = (values["png"], tuple(theta.get(n, np.nan) for n in names))
        f = dolfinx.fem.Function(V, name=f"u1_{safe_name(label)}")
        f.x.array[: len(values["nodes"])] = values["nodes"]
        f.x.scatter_forward()
        functions.append(f)
    paths = write_functions(functions, out, stem)
    if disc.comm.rank == 0:
        paths.append(plot_segmentations(images, disc.extra["inside"], fields, out / "masks.png",
                                        context=context))
    return paths
