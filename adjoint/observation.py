"""Observation operators B as PETSc matrices (rows: this rank's observations, columns: V's dofs).

The reduced functional accepts any such ``PETSc.Mat`` (for example the one from
``fem.PointEvaluator(V, points).matrix()``); these two builders serve the tests, the
benchmark and problems that observe the state at points or at every node.
"""

from __future__ import annotations

from fem import _loader as _loader  # noqa: F401  (loads MPI before dolfinx/petsc4py)

# isort: split

import dolfinx
import numpy as np
from mpi4py import MPI
from petsc4py import PETSc


def nodal_observation(V: dolfinx.fem.FunctionSpace) -> PETSc.Mat:
    """Return B = I on the owned dofs of a scalar space V (observe u at every dof).

    Row i of this rank observes this rank's owned dof i, so data are ``u.x.array[:n_owned]``.
    """
    imap = V.dofmap.index_map
    n, start = imap.size_local, imap.local_range[0]
    B = PETSc.Mat().createAIJ(((n, imap.size_global), (n, imap.size_global)), nnz=1, comm=V.mesh.comm)
    rows = np.arange(start, start + n, dtype=PETSc.IntType)
    for r in rows:
        B.setValue(r, r, 1.0)
    B.assemble()
    return B


def point_observation(V: dolfinx.fem.FunctionSpace, points: np.ndarray) -> tuple[PETSc.Mat, np.ndarray]:
    """Return (B, indices): point evaluation of a scalar Lagrange space at ``points``.

    Every rank passes the same global ``points`` (shape (N, gdim) or (N, 3)). Each point is
    assigned to the lowest rank owning a cell that contains it; that rank's rows of B are
    its points in increasing global order, and ``indices`` are their global indices, so
    this rank's data are ``d_global[indices]``. Points outside the mesh raise ``ValueError``.
    (Lagrange bases up to degree 2 on affine cells need no dof transformation.)
    """
    msh = V.mesh
    comm = msh.comm
    tdim, gdim = msh.topology.dim, msh.geometry.dim
    pts = np.zeros((len(points), 3))
    pts[:, : np.asarray(points).shape[1]] = points
    owned_cells = np.arange(msh.topology.index_map(tdim).size_local, dtype=np.int32)
    tree = dolfinx.geometry.bb_tree(msh, tdim, entities=owned_cells)
    colliding = dolfinx.geometry.compute_colliding_cells(
        msh, dolfinx.geometry.compute_collisions_points(tree, pts), pts)
    cell = np.array([colliding.links(i)[0] if len(colliding.links(i)) else -1 for i in range(len(pts))],
                    dtype=np.int32)
    owner = np.empty(len(pts), dtype=np.int32)
    comm.Allreduce(np.where(cell >= 0, comm.rank, comm.size).astype(np.int32), owner, op=MPI.MIN)
    if np.any(owner == comm.size):
        raise ValueError(f"{int(np.sum(owner == comm.size))} observation point(s) lie outside the mesh")
    indices = np.flatnonzero(owner == comm.rank)

    imap = V.dofmap.index_map
    element = V.element.basix_element
    cmap = msh.geometry.cmaps[0]
    geom_dofs = msh.geometry.dofmaps[0]
    n_rows = len(indices)
    B = PETSc.Mat().createAIJ(((n_rows, None), (imap.size_local, imap.size_global)),
                              nnz=V.dofmap.dof_layout.num_dofs, comm=comm)
    row0 = comm.exscan(n_rows) or 0
    for k, i in enumerate(indices):
        c = cell[i]
        X = cmap.pull_back(pts[i : i + 1, :gdim], msh.geometry.x[geom_dofs[c], :gdim])
        phi = element.tabulate(0, X)[0, 0, :, 0]
        cols = imap.local_to_global(V.dofmap.cell_dofs(c).astype(np.int32)).astype(PETSc.IntType)
        B.setValues([row0 + k], cols, phi)
    B.assemble()
    return B, indices
