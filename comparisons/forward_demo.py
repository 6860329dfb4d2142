# # Forward Darcy demo: a variable coefficient on a square and on a plate with a hole
#
# This demo shows:
# - the `fem` layer end to end: built-in and gmsh meshes (written to a `.msh` file and read back
#   through `fem.load_mesh`), the elliptic solver, output files and a plot;
# - that it runs in parallel: `mpirun -n 2 python -m comparisons.forward_demo --out results/demo`.
#
# We solve the Darcy-type problem
#
# $$ -\nabla\cdot(a\nabla u) = 1 \ \text{in}\ \Omega, \qquad u = 0 \ \text{on}\ \partial\Omega, $$
#
# with the smooth coefficient $a(x, y) = 3 + 9\,\sigma\big(4 \sin(2\pi x)\cos(2\pi y)\big)$, $\sigma$ the
# logistic sigmoid, so that $3 < a < 12$. $\Omega$ is the unit square, then the unit square minus
# a disk of radius 0.2 at its centre. For each domain we write $a$ and $u$ as XDMF and VTX
# (ADIOS2 `.bp`) files, and one PNG with $u$ on both domains.

# +
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from fem import _loader as _loader  # noqa: F401  (MPI before dolfinx)

# isort: split

import dolfinx.fem
import dolfinx.io
import numpy as np
from mpi4py import MPI

import fem
from fem.parallel import print0, run_collectively

HOLE_RADIUS = 0.2
# -

# The coefficient is a numpy callable of the coordinates `x` with shape `(3, n)`, as DOLFINx
# interpolation passes them.


# +
def coefficient(x: np.ndarray) -> np.ndarray:
    """The Darcy coefficient a = 3 + 9 sigmoid(4 sin(2 pi x) cos(2 pi y))."""
    s = 4.0 * np.sin(2 * np.pi * x[0]) * np.cos(2 * np.pi * x[1])
    return 3.0 + 9.0 / (1.0 + np.exp(-s))
# -

# The plate with a hole is built with the gmsh API on rank 0 only and written as a `.msh`
# file with physical groups (cells 1, outer boundary 2, hole 3); every rank then reads it
# through `fem.load_mesh`, which distributes it.


# +
def write_plate(path: Path, h: float, comm: MPI.Comm) -> Path:
    """Mesh the unit square minus a centred disk with mesh size ``h`` into ``path`` (rank 0)."""
    if comm.rank == 0:
        import gmsh

        gmsh.initialize(interruptible=False)
        gmsh.option.setNumber("General.Terminal", 0)
        gmsh.model.add("plate")
        rect = gmsh.model.occ.addRectangle(0, 0, 0, 1, 1)
        disk = gmsh.model.occ.addDisk(0.5, 0.5, 0, HOLE_RADIUS, HOLE_RADIUS)
        out, _ = gmsh.model.occ.cut([(2, rect)], [(2, disk)])
        gmsh.model.occ.synchronize()
        gmsh.model.addPhysicalGroup(2, [t for d, t in out if d == 2], 1, name="domain")
        hole: list[int] = []
        outer: list[int] = []
        for d, t in gmsh.model.getBoundary(out, oriented=False):
            com = gmsh.model.occ.getCenterOfMass(d, t)
            (hole if np.hypot(com[0] - 0.5, com[1] - 0.5) < HOLE_RADIUS + 1e-6 else outer).append(t)
        gmsh.model.addPhysicalGroup(1, outer, 2, name="outer")
        gmsh.model.addPhysicalGroup(1, hole, 3, name="hole")
        gmsh.option.setNumber("Mesh.CharacteristicLengthMax", h)
        gmsh.model.mesh.generate(2)
        gmsh.write(str(path))
        gmsh.finalize()
    comm.barrier()
    return path
# -

# Solving is one call; `a` is interpolated into the P1 solution space and checked (finite, positive).
# For plotting, rank 0 gathers the owned P1 values, their coordinates and the cells in global
# dof numbers.


# +
def solve(name: str, md: fem.MeshData, out: Path) -> dict[str, Any]:
    """Solve on one domain, write XDMF and VTX files; return what the report and the plot need."""
    comm = md.comm
    sol = fem.solve_elliptic(md, a=coefficient, f=1.0, petsc_options_prefix=f"demo_{name}_")
    u = sol.u
    V = u.function_space
    a = dolfinx.fem.Function(V, name="a")
    a.interpolate(coefficient)
    files = [out / f"{name}.xdmf", out / f"{name}.bp"]
    with dolfinx.io.XDMFFile(comm, files[0], "w") as xdmf:
        xdmf.write_mesh(md.mesh)
        xdmf.write_function(a)
        xdmf.write_function(u)
    with dolfinx.io.VTXWriter(comm, files[1], [a, u], engine="BP4") as vtx:
        vtx.write(0.0)
    imap = V.dofmap.index_map
    n_owned = imap.size_local
    cells = V.dofmap.list[: md.mesh.topology.index_map(2).size_local]
    gathered = comm.gather((imap.local_range[0], fem.dof_coordinates(V), u.x.array[:n_owned].copy(),
                            imap.local_to_global(cells.reshape(-1)).reshape(cells.shape)), root=0)
    plot = None
    if comm.rank == 0:
        assert gathered is not None
        xy = np.zeros((imap.size_global, 2))
        values = np.zeros(imap.size_global)
        for start, coords, vals, _ in gathered:
            xy[start:start + len(vals)] = coords
            values[start:start + len(vals)] = vals
        plot = (xy, np.concatenate([c for *_, c in gathered]), values)
    return {"name": name, "dofs": imap.size_global, "iterations": sol.iterations,
            "u_min": comm.allreduce(float(u.x.array[:n_owned].min(initial=np.inf)), op=MPI.MIN),
            "u_max": comm.allreduce(float(u.x.array[:n_owned].max(initial=-np.inf)), op=MPI.MAX),
            "files": files, "plot": plot}


def plot_png(results: list[dict[str, Any]], path: Path) -> Path:
    """One figure, u on each domain (rank 0)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.tri as mtri

    fig, axes = plt.subplots(1, len(results), figsize=(5 * len(results), 4.2), constrained_layout=True)
    for ax, res in zip(np.atleast_1d(axes), results, strict=True):
        xy, triangles, values = res["plot"]
        tpc = ax.tripcolor(mtri.Triangulation(xy[:, 0], xy[:, 1], triangles), values, shading="gouraud")
        fig.colorbar(tpc, ax=ax, label="u")
        ax.set_title(f"{res['name']}: -div(a grad u) = 1, {res['dofs']} dofs")
        ax.set_aspect("equal")
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
# -

# The command line: `--out` for the output folder, `--n` for the resolution (cells per side
# of the square; the plate uses mesh size 1/n).


# +
def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    """Run the demo; returns one summary per domain."""
    parser = argparse.ArgumentParser(
        prog="python -m comparisons.forward_demo",
        description="Darcy forward solves -div(a grad u) = 1 on a square and on a plate with a hole.")
    parser.add_argument("--out", type=Path, default=Path("results/demo"), help="output folder")
    parser.add_argument("--n", type=int, default=32, help="cells per side of the square (plate: size 1/n)")
    args = parser.parse_args(argv)
    comm = MPI.COMM_WORLD
    if args.n < 2:
        parser.error("--n must be at least 2")
    out: Path = args.out
    if comm.rank == 0:
        out.mkdir(parents=True, exist_ok=True)
    comm.barrier()
    square = fem.rectangle(comm, (args.n, args.n))
    plate = fem.load_mesh(write_plate(out / "plate.msh", 1.0 / args.n, comm), comm)
    results = [solve("square", square, out), solve("plate", plate, out)]
    png = plot_png(results, out / "forward_demo.png") if comm.rank == 0 else out / "forward_demo.png"
    print0(f"forward demo on {comm.size} rank(s), -div(a grad u) = 1, u = 0 on the boundary, P1")
    for res in results:
        print0(f"  {res['name']:>6}: {res['dofs']} dofs, {res['iterations']} CG iterations, "
               f"u in [{res['u_min']:.4g}, {res['u_max']:.4g}]")
    written = [out / "plate.msh", *(f for res in results for f in res["files"]), png]
    print0("  files: " + ", ".join(str(f) for f in written))
    for res in results:
        res.pop("plot")
    return results


if __name__ == "__main__":
    run_collectively(main)
# -
