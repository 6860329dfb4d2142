"""Classical adjoint baseline assembled with DOLFINx/PETSc."""
from fem import _loader as _loader  # noqa: F401
