"""Point evaluation of finite element functions, and the sparse observation matrix ``B``.

Each rank passes its own points. ``dolfinx.geometry.determine_point_ownership`` sends every
point to the one rank owning a cell that contains it; that rank evaluates (or tabulates the
basis functions) and sends the result back with ``Alltoallv``. So everything the caller
receives is in the order of its own points, and a point on an inter-rank boundary is
counted once.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from mpi4py import MPI

from fem import _loader as _loader  # noqa: F401  (loads MPI before dolfinx/petsc4py)

# isort: split

import dolfinx.fem
from dolfinx import geometry
from petsc4py import PETSc

from fem.points import _cell_nodes, _coordinate_element

if TYPE_CHECKING:
    import scipy.sparse

logger = logging.getLogger(__name__)


class PointsOutsideError(ValueError):
    """Some evaluation points lie in no cell of the mesh."""


def _pull_back(
    msh: dolfinx.mesh.Mesh[np.float64], cells: np.ndarray, x: np.ndarray, iterations: int = 20
) -> np.ndarray:
    """Reference coordinates of physical points ``x (n, gdim)`` in ``cells (n,)`` (vectorised Newton).

    One step is exact for affine cells; bilinear/trilinear cells converge in a few.
    """
    coord = _coordinate_element(msh)
    tdim = msh.topology.dim
    nodes = _cell_nodes(msh, cells)
    X = np.full((len(x), tdim), 1.0 / (tdim + 1))
    for _ in range(iterations):
        tab = np.asarray(coord.tabulate(1, X))[:, :, :, 0]  # (1 + tdim, n, nodes)
        F = np.einsum("nk,nkg->ng", tab[0], nodes) - x
        J = np.einsum("tnk,nkg->ngt", tab[1:], nodes)
        # normal equations: J is square for domains (gdim == tdim)
        JtJ, JtF = np.einsum("ngs,ngt->nst", J, J), np.einsum("ngs,ng->ns", J, F)
        dX = np.linalg.solve(JtJ, JtF[..., None])[..., 0]
        X = X - dX
        if np.max(np.abs(dX), initial=0.0) < 1e-14:
            break
    return X


class PointEvaluator:
    """Evaluate functions of ``V`` at fixed points, each rank at its own points. Collective.

    Attributes:
        inside: ``(N_local,)`` bool, ``True`` where a cell (within ``padding``) contains the point.
        n_outside: Number of points outside the domain, over all ranks.
    """

    def __init__(
        self,
        V: dolfinx.fem.FunctionSpace[np.float64],
        points: np.ndarray,
        padding: float = 1e-10,
        on_outside: Literal["raise", "nan"] = "raise",
    ) -> None:
        """Locate the points.

        Args:
            V: The function space.
            points: ``(N_local, gdim)`` points of this rank (``(N_local,)`` allowed in 1D).
            padding: Tolerance for points on the boundary.
            on_outside: ``"raise"`` (default): :class:`PointsOutsideError` on every rank if any
                point on any rank is outside; ``"nan"``: keep them, evaluate to NaN, log a warning.

        Raises:
            PointsOutsideError: Points outside the domain with ``on_outside="raise"``.
            ValueError: Points of the wrong shape or non-finite.
        """
        msh = V.mesh
        self.V, self.comm = V, msh.comm
        gdim = msh.geometry.dim
        pts = np.asarray(points, dtype=np.float64)
        if pts.ndim == 1 and gdim == 1:
            pts = pts[:, None]
        if pts.ndim != 2 or pts.shape[1] != gdim:
            raise ValueError(f"points must have shape (N, {gdim}), got {pts.shape}")
        if not np.isfinite(pts).all():
            raise ValueError("points contain NaN or inf")
        if on_outside not in ("raise", "nan"):
            raise ValueError(f"on_outside must be 'raise' or 'nan', got {on_outside!r}")
        self.points = pts
        x3 = np.zeros((len(pts), 3))
        x3[:, :gdim] = pts
        od = geometry.determine_point_ownership(msh, x3, padding)
        self._src_owner = np.asarray(od.src_owner, dtype=np.int32)
        self._dest_owner = np.asarray(od.dest_owner, dtype=np.int32)
        self._dest_points = np.asarray(od.dest_points, dtype=np.float64).reshape(-1, 3)
        self._dest_cells = np.asarray(od.dest_cells, dtype=np.int32)
        self.inside = self._src_owner >= 0
        # points sent to rank r come back in their original order among those owned by r
        order = np.argsort(np.where(self.inside, self._src_owner, self.comm.size), kind="stable")
        self._recv_order = order[: int(self.inside.sum())]
        self.n_outside = int(self.comm.allreduce(int((~self.inside).sum())))
        if self.n_outside:
            n_total = self.comm.allreduce(len(pts))
            examples = [p for p in self.comm.allgather(pts[~self.inside][:1].tolist()) if p]
            msg = (f"{self.n_outside} of {n_total} evaluation points lie outside the mesh "
                   f"(padding {padding:g}); e.g. {examples[0][0]}")
            if on_outside == "raise":
                raise PointsOutsideError(msg)
            if self.comm.rank == 0:
                logger.warning("%s; they evaluate to NaN", msg)
        self._rows: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def value_size(self) -> int:
        """Number of components of the functions of ``V``."""
        shape = self.V.value_shape
        return int(np.prod(shape)) if len(shape) else 1

    def _send_back(self, data: np.ndarray) -> np.ndarray:
        """Return per-point rows computed on the owner ranks to the ranks holding the points."""
        width = data.shape[1]
        size = self.comm.size
        scount = np.bincount(self._dest_owner, minlength=size) * width
        rcount = np.bincount(self._src_owner[self.inside], minlength=size) * width
        recv = np.empty(int(rcount.sum()), dtype=data.dtype)
        mpi_type = MPI.INT64_T if data.dtype == np.int64 else MPI.DOUBLE
        self.comm.Alltoallv([np.ascontiguousarray(data.ravel()), (scount, None), mpi_type],
                            [recv, (rcount, None), mpi_type])
        out = np.zeros((len(self.points), width), dtype=data.dtype)
        out[self._recv_order] = recv.reshape(-1, width)
        return out

    def evaluate(self, u: dolfinx.fem.Function[Any] | np.ndarray) -> np.ndarray:
        """Values at this rank's points. Collective.

        Args:
            u: A Function of ``V``, or a local dof array of ``V`` (owned dofs, optionally
                followed by ghosts; ghosts are updated here).

        Returns:
            ``(N_local,)`` for a scalar space, else ``(N_local, value_size)``; NaN outside.
        """
        if not isinstance(u, dolfinx.fem.Function):
            arr = np.asarray(u, dtype=np.float64)
            f: dolfinx.fem.Function[np.float64] = dolfinx.fem.Function(self.V)
            n = len(arr)
            f.x.array[:n] = arr
            if n < len(f.x.array):
                f.x.scatter_forward()
            u = f
        vs = self.value_size
        if len(self._dest_cells):
            local = u.eval(self._dest_points, self._dest_cells).reshape(-1, vs)
        else:
            local = np.zeros((0, vs))
        values = self._send_back(np.asarray(local, dtype=np.float64))
        values[~self.inside] = np.nan
        return values[:, 0] if len(self.V.value_shape) == 0 else values

    def _basis_rows(self) -> tuple[np.ndarray, np.ndarray]:
        """Per point: global dof indices ``(N, n_cell_dofs)`` and basis values (scalar spaces)."""
        if self._rows is not None:
            return self._rows
        V = self.V
        if V.dofmap.index_map_bs != 1 or len(V.value_shape):
            raise NotImplementedError("the observation matrix is built for scalar spaces only")
        if V.element.needs_dof_transformations:
            raise NotImplementedError("the observation matrix needs an element without dof transformations "
                                      "(e.g. Lagrange)")
        msh = V.mesh
        cells = self._dest_cells
        ndofs = V.dofmap.dof_layout.num_dofs
        if len(cells):
            X = _pull_back(msh, cells, self._dest_points[:, : msh.geometry.dim])
            phi = np.asarray(V.element.basix_element.tabulate(0, X))[0, :, :, 0]
            dofs = V.dofmap.list[cells]
            cols = V.dofmap.index_map.local_to_global(dofs.reshape(-1).astype(np.int32)).reshape(dofs.shape)
        else:
            phi, cols = np.zeros((0, ndofs)), np.zeros((0, ndofs), dtype=np.int64)
        values = self._send_back(np.asarray(phi, dtype=np.float64))
        columns = self._send_back(np.asarray(cols, dtype=np.int64))
        self._rows = (columns, values)
        return self._rows

    def matrix(self) -> PETSc.Mat:
        """The observation matrix ``B`` (MPI AIJ), such that ``B @ u.x.petsc_vec`` = values at the points.

        Row layout: this rank owns the rows of its own points, in the order given (rows of
        points outside the domain are empty). Column layout: ``V.dofmap.index_map`` (owned
        dofs, global numbering), i.e. the layout of ``u.x.petsc_vec``. So ``B.multTranspose``
        of a data-residual vector (``B.createVecLeft()``) gives an owned-dof vector; call
        ``u.x.scatter_forward()`` after copying it into a Function to update the ghosts.
        Scalar spaces only. Collective.
        """
        columns, values = self._basis_rows()
        imap = self.V.dofmap.index_map
        n_local, ndofs = columns.shape
        B = PETSc.Mat().createAIJ(
            size=((n_local, PETSc.DETERMINE), (imap.size_local, imap.size_global)),
            nnz=ndofs, comm=self.comm)
        keep = self.inside  # outside points: empty rows
        indptr = np.concatenate([[0], np.cumsum(np.where(keep, ndofs, 0))]).astype(PETSc.IntType)
        if n_local:
            # setValuesCSR takes this rank's rows (local numbering) and global column indices
            # (petsc4py's stub says Sequence; it takes, and here gets, numpy arrays)
            cols, vals = columns[keep].reshape(-1).astype(PETSc.IntType), values[keep].reshape(-1)
            B.setValuesCSR(indptr, cols, vals)  # type: ignore[arg-type]
        B.assemble()
        return B

    def to_scipy(self) -> scipy.sparse.csr_matrix:
        """``B`` as a ``scipy.sparse.csr_matrix`` of shape ``(N_local, n_local_dofs)``.

        Columns are local dof indices (owned then ghost, as ``u.x.array``), so
        ``B @ u.x.array`` gives the values. Only valid when every column is on this rank,
        which always holds in serial; raises otherwise.
        """
        import scipy.sparse

        columns, values = self._basis_rows()
        imap = self.V.dofmap.index_map
        n_local_dofs = imap.size_local + imap.num_ghosts
        keep = self.inside
        local = imap.global_to_local(columns[keep].reshape(-1).astype(np.int64)) if keep.any() \
            else np.zeros(0, dtype=np.int32)
        if np.any(local < 0):
            raise RuntimeError("to_scipy(): some basis functions at this rank's points belong to dofs not on "
                               "this rank; use matrix() in parallel")
        ndofs = columns.shape[1]
        indptr = np.concatenate([[0], np.cumsum(np.where(keep, ndofs, 0))])
        return scipy.sparse.csr_matrix((values[keep].reshape(-1), local, indptr),
                                       shape=(len(self.points), n_local_dofs))
