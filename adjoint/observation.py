"""The nodal observation operator B = I (rows: this rank's owned dofs, columns: V's dofs).

The reduced functional accepts any ``PETSc.Mat`` in this layout. Observations at points
come from ``fem.PointEvaluator(V, points).matrix()``; this module keeps only the identity
on the owned dofs (observe u at every node, as the Darcy experiment does), which has no
equivalent in ``fem``: there the rows follow the caller's points, here the dof order.
"""

from __future__ import annotations

from fem import _loader as _loader  # noqa: F401  (loads MPI before dolfinx/petsc4py)

# isort: split

import dolfinx
import numpy as np
from petsc4py import PETSc


def nodal_observation(V: dolfinx.fem.FunctionSpace[np.float64]) -> PETSc.Mat:
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
