"""A problem's mesh and point sets on one communicator: what every method of one run evaluates at."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, final

import numpy as np

from fem import _loader as _loader  # noqa: F401  (before dolfinx)

# isort: split

import dolfinx
import dolfinx.fem
from mpi4py import MPI

import fem
from hybrid import AbstractPDE


@final
@dataclass(frozen=True, kw_only=True, eq=False)
class SpaceTimeGrid:
    """A tensor grid of times × spatial points; as network inputs the rows are (t, x), t slow.

    Attributes:
        times: (nt,) times.
        space: (nx, gdim) spatial points.
    """

    times: np.ndarray
    space: np.ndarray

    def points(self) -> np.ndarray:
        """The (nt·nx, 1 + gdim) network inputs, t first, x fastest."""
        nt, nx = len(self.times), len(self.space)
        t = np.repeat(np.asarray(self.times, dtype=np.float64), nx)[:, None]
        return np.hstack([t, np.tile(np.asarray(self.space, dtype=np.float64), (nt, 1))])


Points = np.ndarray | SpaceTimeGrid


def as_points(points: Points) -> np.ndarray:
    """Network inputs (N, d) of a point set."""
    return points.points() if isinstance(points, SpaceTimeGrid) else np.asarray(points, dtype=np.float64)


@final
@dataclass(frozen=True, kw_only=True)
class TimeInterval:
    """The time axis of a transient problem, solved with BDF2 (first step backward Euler).

    Attributes:
        t_end: Final time (from t = 0).
        steps: Uniform time steps of the FEM solve.
    """

    t_end: float
    steps: int


@final
@dataclass(frozen=True, kw_only=True, eq=False)
class Discretisation:
    """A problem's mesh and point sets on one communicator (built once per run).

    Attributes:
        comm: The communicator.
        mesh: The FEM mesh of the reference and validation solves.
        x_res: This rank's collocation points (N, d) for the networks.
        x_dat: This rank's observation points.
        x_ref: This rank's points of the pre-training reference u_FEM(θ0).
        x_u, w_u: Points and quadrature weights of the state error ``u_rel_l2``.
        x_field, w_field: Points (N, gdim) and weights of the field error (field unknowns).
        x_reg: Points (N, gdim) where the networks evaluate the field's regulariser (None: the
            residual points), e.g. finer than those, so that a steep f_V cannot hide between them.
        distributed: Each rank holds its own points (data-parallel networks); otherwise every
            rank holds all of them (a small problem, solved redundantly).
        dirichlet_tags: Facet tags of u = 0 (None: the whole boundary).
        pde: The strong form on this mesh, when it depends on it (e.g. a boundary factor from the
            mesh's distance function); None: the problem's ``pde``.
        extra: Whatever else the problem's own plots or metrics need.
    """

    comm: MPI.Comm
    mesh: fem.MeshData
    x_res: np.ndarray
    x_dat: Points
    x_ref: Points
    x_u: Points
    w_u: np.ndarray
    x_field: np.ndarray | None = None
    w_field: np.ndarray | None = None
    x_reg: np.ndarray | None = None
    distributed: bool = False
    dirichlet_tags: tuple[int, ...] | None = None
    pde: AbstractPDE | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def at_nodes(
        cls,
        comm: MPI.Comm,
        mesh: fem.MeshData,
        *,
        dirichlet_tags: tuple[int, ...] | None = None,
        quadrature_degree: int = 4,
        pde: AbstractPDE | None = None,
    ) -> Discretisation:
        """Data and the state error at this rank's P1 nodes, residual at those off Γ_D.

        The common set-up of a stationary problem on a user's mesh (data-parallel). Γ_D's
        nodes carry no residual: a network imposes u there exactly through a distance
        function, which has a kink on Γ_D. Field errors use the mesh's quadrature
        (``quadrature_degree``); ``extra["V"]`` is the P1 space.
        """
        V = dolfinx.fem.functionspace(mesh.mesh, ("Lagrange", 1))
        x = fem.dof_coordinates(V)
        facets = fem.locate_boundary_facets(mesh, dirichlet_tags)
        fem.check_interior_nodes(mesh, facets, dirichlet_tags)  # else no unknown: KSP fails obscurely
        dofs = dolfinx.fem.locate_dofs_topological(V, mesh.tdim - 1, facets)
        interior = np.ones(len(x), dtype=bool)
        interior[dofs[dofs < len(x)]] = False
        x_quad, w_quad = fem.quadrature_points(mesh, quadrature_degree)
        return cls(comm=comm, mesh=mesh, x_res=x[interior], x_dat=x, x_ref=x, x_u=x,
                   w_u=fem.lumped_mass_weights(V), x_field=x_quad, w_field=w_quad, distributed=True,
                   dirichlet_tags=dirichlet_tags, pde=pde, extra={"V": V})

    @property
    def metric_comm(self) -> MPI.Comm | None:
        """The communicator to sum metrics over (None when every rank holds every point)."""
        return self.comm if self.distributed else None

    def global_mean(self, values: np.ndarray) -> float:
        """Mean over the points of all ranks (each point counted once)."""
        c = self.metric_comm
        if c is None:
            return float(np.mean(values))
        return float(c.allreduce(float(np.sum(values))) / c.allreduce(int(values.size)))
