"""DOLFINx layer: meshes, collocation points, point evaluation, forward solvers, metrics.

``fem`` never imports torch; it hands numpy arrays to the rest of the toolkit.
Importing ``fem`` performs the one-time ``import dolfinx_solver`` step that the
PyPI wheel needs before ``dolfinx``/``petsc4py`` can be imported.
"""

from fem import _loader as _loader  # noqa: F401  (must run before any dolfinx import)
from fem.boundary import boundary_segments as boundary_segments
from fem.boundary import boundary_triangles as boundary_triangles
from fem.boundary import check_interior_nodes as check_interior_nodes
from fem.evaluation import PointEvaluator as PointEvaluator
from fem.evaluation import PointsOutsideError as PointsOutsideError
from fem.forward import EllipticSolution as EllipticSolution
from fem.forward import FiniteVolumeSolution as FiniteVolumeSolution
from fem.forward import StationarySolver as StationarySolver
from fem.forward import TimeSeries as TimeSeries
from fem.forward import solve_burgers as solve_burgers
from fem.forward import solve_elliptic as solve_elliptic
from fem.forward import solve_fisher_kpp as solve_fisher_kpp
from fem.forward import solve_heat as solve_heat
from fem.forward import solve_stationary as solve_stationary
from fem.forward import solve_transient as solve_transient
from fem.meshdata import MeshData as MeshData
from fem.meshdata import MeshError as MeshError
from fem.meshes import box as box
from fem.meshes import covers_boundary as covers_boundary
from fem.meshes import global_triangles as global_triangles
from fem.meshes import interval as interval
from fem.meshes import load_mesh as load_mesh
from fem.meshes import locate_boundary_facets as locate_boundary_facets
from fem.meshes import rectangle as rectangle
from fem.metrics import lumped_mass_weights as lumped_mass_weights
from fem.metrics import relative_l2_error as relative_l2_error
from fem.metrics import simpson_rule as simpson_rule
from fem.metrics import trapezoid_weights as trapezoid_weights
from fem.points import dof_coordinates as dof_coordinates
from fem.points import grid_points as grid_points
from fem.points import quadrature_points as quadrature_points
from fem.points import sample_boundary as sample_boundary
from fem.points import sample_interior as sample_interior
from fem.quality import CellQuality as CellQuality
from fem.quality import cell_quality as cell_quality
from fem.quality import check_cell_quality as check_cell_quality
from fem.random_fields import EllipticRandomField as EllipticRandomField
from fem.random_fields import GaussianRandomField as GaussianRandomField
