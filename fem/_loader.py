"""Load the MPI runtime before DOLFINx, once, for every route.

The ``dolfinx-solver-real`` wheel vendors DOLFINx/PETSc and needs ``mpi4py.MPI``
loaded first so that ``libmpi.so.12`` resolves; ``import dolfinx_solver`` does that.
Conda-forge and the official containers have no ``dolfinx_solver`` and need nothing.
"""

try:
    import dolfinx_solver  # noqa: F401
except ImportError:  # conda-forge / official DOLFINx image: dolfinx loads on its own
    pass
