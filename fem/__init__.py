"""DOLFINx layer: meshes, collocation points, point evaluation, forward solvers, metrics.

``fem`` never imports torch; it hands numpy arrays to the rest of the toolkit.
Importing ``fem`` performs the one-time ``import dolfinx_solver`` step that the
PyPI wheel needs before ``dolfinx``/``petsc4py`` can be imported.
"""

from fem import _loader as _loader  # noqa: F401  (must run before any dolfinx import)
