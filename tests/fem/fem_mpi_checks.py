"""Checks run under ``mpirun -n 2 python tests/fem/fem_mpi_checks.py NAME [DIR]``; exit non-zero on failure.

Also imported by the serial tests for :func:`write_plate_msh`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from mpi4py import MPI

import fem
from comparisons.forward_demo import HOLE_RADIUS, write_plate
from fem.parallel import run_collectively

R = HOLE_RADIUS
DOMAIN, OUTER, HOLE = 1, 2, 3


def write_plate_msh(path: Path, comm: MPI.Comm = MPI.COMM_WORLD, h: float = 0.15) -> Path:
    """The forward demo's plate (unit square minus a disk of radius R; tags 1, 2, 3), coarse by default."""
    return write_plate(path, h, comm)


def measure(md: fem.MeshData, tag: int | None = None, facets: bool = False) -> float:
    """Area of the domain, or length of the facets with ``tag``."""
    import dolfinx.fem
    import ufl

    msh = md.mesh
    if facets:
        form = 1.0 * ufl.Measure("ds", domain=msh, subdomain_data=md.facet_tags)(tag)
    else:
        form = 1.0 * ufl.Measure("dx", domain=msh, subdomain_data=md.cell_tags)(tag)
    return msh.comm.allreduce(dolfinx.fem.assemble_scalar(dolfinx.fem.form(form)))


def check_plate(md: fem.MeshData) -> None:
    assert md.gdim == 2 and md.tdim == 2
    assert md.facet_tags is not None
    tags = md.mesh.comm.allgather(np.unique(md.facet_tags.values))
    assert set(np.concatenate(tags).tolist()) == {OUTER, HOLE}, tags
    assert np.isclose(measure(md, DOMAIN), 1 - np.pi * R**2, rtol=3e-2)  # polygonal hole
    assert np.isclose(measure(md, HOLE, facets=True), 2 * np.pi * R, rtol=3e-2)
    assert np.isclose(measure(md, OUTER, facets=True), 4.0, rtol=1e-10)


def check_points(_: Path) -> None:
    import dolfinx.fem

    comm = MPI.COMM_WORLD
    rng = np.random.default_rng(100 + comm.rank)
    meshes = (fem.interval(comm, 9), fem.rectangle(comm, (5, 4)),
              fem.rectangle(comm, (3, 4), cell="quadrilateral"))
    for md in meshes:
        for degree in (1, 2):
            V = dolfinx.fem.functionspace(md.mesh, ("Lagrange", degree))
            u = dolfinx.fem.Function(V)
            coef = np.array([0.3, -1.7, 2.5])[: md.gdim]
            u.interpolate(lambda x, coef=coef, gdim=md.gdim: 1.0 + coef @ x[:gdim])
            x = rng.random((37 + 5 * comm.rank, md.gdim))
            ev = fem.PointEvaluator(V, x)
            exact = 1.0 + x @ coef
            assert np.abs(ev.evaluate(u) - exact).max() < 1e-12
            B = ev.matrix()
            y = B.createVecLeft()
            B.mult(u.x.petsc_vec, y)
            assert np.abs(y.array - exact).max() < 1e-12
            # adjoint identity: <B^T r, u> = <r, B u>
            r = B.createVecLeft()
            r.array[:] = rng.random(len(r.array))
            z = B.createVecRight()
            B.multTranspose(r, z)
            assert np.isclose(z.dot(u.x.petsc_vec), r.dot(y), rtol=1e-12)
    # a rank without points takes part in the collectives and gets empty results
    V = dolfinx.fem.functionspace(fem.rectangle(comm, (3, 3)).mesh, ("Lagrange", 1))
    u = dolfinx.fem.Function(V)
    u.interpolate(lambda x: x[0] + x[1])
    x = np.array([[0.25, 0.5]]) if comm.rank == 0 else np.zeros((0, 2))
    ev = fem.PointEvaluator(V, x)
    assert np.allclose(ev.evaluate(u), x.sum(axis=1)) and ev.matrix().getSize()[0] == 1
    # collocation points are in owned cells, distinct over ranks, inside the domain
    md = fem.rectangle(comm, (6, 6))
    p = fem.sample_interior(md, 3, seed=5)
    assert comm.allreduce(len(p)) == 6 * 6 * 2 * 3 and ((p >= 0) & (p <= 1)).all()
    xq, wq = fem.quadrature_points(md, 2)
    assert np.isclose(comm.allreduce(float(wq.sum())), 1.0, rtol=1e-12)
    assert np.isclose(comm.allreduce(float(wq @ xq[:, 0] ** 2)), 1 / 3, rtol=1e-12)
    # outside points: reported with the global count on every rank
    V = dolfinx.fem.functionspace(md.mesh, ("Lagrange", 1))
    try:
        fem.PointEvaluator(V, np.array([[0.5, 0.5], [2.0, 0.5]]))
    except fem.PointsOutsideError as exc:
        assert f"{comm.size} of {2 * comm.size} evaluation points lie outside" in str(exc), exc
    else:
        raise AssertionError("no PointsOutsideError")


def check_gmsh(out: Path) -> None:
    comm = MPI.COMM_WORLD
    msh_path = write_plate_msh(out / "plate.msh", comm)
    md = fem.load_mesh(msh_path, comm)
    check_plate(md)
    assert md.physical_groups["hole"] == (1, HOLE), md.physical_groups
    if comm.rank == 0:  # the same mesh through meshio
        import meshio

        m = meshio.read(msh_path)
        meshio.write(out / "plate.vtu", meshio.Mesh(m.points, m.cells, cell_data=m.cell_data))
    comm.barrier()
    check_plate(fem.load_mesh(out / "plate.vtu", comm))
    # and through DOLFINx's own XDMF, written in parallel
    import dolfinx.io

    with dolfinx.io.XDMFFile(comm, out / "plate_dolfinx.xdmf", "w") as xdmf:
        xdmf.write_mesh(md.mesh)
        xdmf.write_meshtags(md.cell_tags, md.mesh.geometry)
        xdmf.write_meshtags(md.facet_tags, md.mesh.geometry)
    check_plate(fem.load_mesh(out / "plate_dolfinx.xdmf", comm))


def check_load_errors(out: Path) -> None:
    comm = MPI.COMM_WORLD
    if comm.rank == 0:
        (out / "garbage.msh").write_bytes(b"\x00\xff garbage \x13" * 50)
        import meshio

        vertices = meshio.Mesh(np.random.rand(4, 3), [("vertex", np.arange(4)[:, None])])
        meshio.write(out / "points.vtu", vertices)
    comm.barrier()
    cases = [(out / "missing.msh", "does not exist"), (out / "garbage.msh", "garbage.msh"),
             (out / "points.vtu", "no supported cells")]
    for path, text in cases:
        try:
            fem.load_mesh(path, comm)
        except fem.MeshError as exc:
            assert text in str(exc), (text, str(exc))
        else:
            raise AssertionError(f"no MeshError for {path}")
    comm.barrier()


def check_fisher(_: Path) -> None:
    """The 2-rank solution sampled at points equals the serial one on every rank."""
    def solve(comm: MPI.Comm, points: np.ndarray) -> np.ndarray:
        ts = fem.solve_fisher_kpp(fem.interval(comm, 40), D=0.02, rho=2.0,
                                  u0=lambda x: 0.5 * np.sin(np.pi * x[0]) ** 2, t_end=0.5, n_steps=40,
                                  degree=2)
        return ts.sample(points, np.linspace(0.0, 0.5, 11))

    comm = MPI.COMM_WORLD
    x = np.linspace(0, 1, 21)[comm.rank::comm.size, None]
    parallel = solve(comm, x)
    serial = solve(MPI.COMM_SELF, x)
    assert parallel.shape == (11, len(x))
    assert np.abs(parallel - serial).max() < 1e-9, np.abs(parallel - serial).max()


def check_metrics(_: Path) -> None:
    comm = MPI.COMM_WORLD
    ref = np.linspace(1, 2, 10)
    w = np.arange(1.0, 11.0)
    mine = slice(comm.rank, None, comm.size)
    err = fem.relative_l2_error(1.1 * ref[mine], ref[mine], weights=w[mine], comm=comm)
    assert abs(err - 0.1) < 1e-14, err
    # the whole mesh gathered on every rank is the serial one: same vertices, same triangles
    (v2, t2), (v1, t1) = (fem.global_triangles(fem.rectangle(c, (5, 4))) for c in (comm, MPI.COMM_SELF))
    assert len(t2) == len(t1) == 40 and len(v2) == len(v1) == 30
    tris = [{tuple(sorted(map(tuple, np.round(v[t], 12).tolist()))) for t in tt}
            for v, tt in ((v2, t2), (v1, t1))]
    assert tris[0] == tris[1]


def check_rank1_raises(_: Path) -> None:
    def main() -> None:
        comm = MPI.COMM_WORLD
        if comm.rank == 1:
            raise ValueError("boom from rank 1")
        comm.barrier()  # rank 0 would wait here forever without the abort

    run_collectively(main)


CHECKS = {"points": check_points, "gmsh": check_gmsh, "load_errors": check_load_errors,
          "fisher": check_fisher, "metrics": check_metrics, "rank1_raises": check_rank1_raises}

if __name__ == "__main__":
    name, out = sys.argv[1], Path(sys.argv[2] if len(sys.argv) > 2 else ".")
    run_collectively(lambda: CHECKS[name](out))
    fem.parallel.print0(f"{name}: ok on {MPI.COMM_WORLD.size} ranks")
