"""The adjoint baseline's reduced functionals, assembled from a problem declaration.

The state equation is the problem's own weak residual F(u, θ; v) (one source for the FEM
reference, the validation solve and the adjoint) and the observation operator is
``fem.PointEvaluator(V, x).matrix()`` at the data points:

* :func:`reduced_functional`: a stationary problem with a :class:`~inverse.unknowns.Field`,
  whose coefficient space, map, bounds and regulariser it takes;
* :func:`transient_functional`: a transient problem with :class:`~inverse.unknowns.Scalars`,
  the discrete adjoint of its BDF2 steps, data on its :class:`~inverse.discretisation.SpaceTimeGrid`;
* :func:`initial_condition_functional`: the same for an unknown initial condition u(x, 0).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal, final

import numpy as np

from fem import _loader as _loader  # noqa: F401  (before dolfinx)

# isort: split

import dolfinx
import dolfinx.fem
from petsc4py import PETSc

import adjoint
import fem
from hybrid import FunctionGradient, SegmentationLikelihood
from inverse.discretisation import Discretisation, SpaceTimeGrid, as_points
from inverse.problem import AbstractInverseProblem
from inverse.unknowns import Field, Scalars


@final
@dataclass(frozen=True, kw_only=True)
class AdjointConfig:
    """The adjoint baseline: its mesh, misfit scaling, regularisation weight and optimisers.

    Attributes:
        cells: Resolution of the adjoint's own mesh (None: the problem's mesh). State and
            coefficient are P1 / the field's space.
        misfit: ``"sum"``: J = ½Σ_j (u(x_j) − d_j)² + R; ``"mean"``: J = ½[mean_j (…)² + R], the
            hybrid methods' upper-level objective halved, so a weight means the same for all.
        w_reg: Regularisation weight (the field's H1 or TV term).
        max_iter: Iteration limit (TAO BLMVM).
        gatol: TAO stops when ‖dJ‖ is below this.
        gttol: TAO stops when ‖dJ‖ fell by this factor.
        gd_max_iter: Iteration limit of gradient descent.
        gd_step_factor: Gradient descent's fixed step is this factor times the stability limit
            h²/(6 w_reg) of the H1 term's L² gradient, capped at ``gd_step_max``.
        gd_step_max: Largest fixed step.
        gd_gtol: Gradient descent stops when ‖g‖_M is below this.
    """

    cells: int | None = None
    misfit: Literal["sum", "mean"] = "sum"
    w_reg: float = 1e-7
    max_iter: int = 300
    gatol: float = 1e-10
    gttol: float = 1e-8
    gd_max_iter: int = 50_000
    gd_step_factor: float = 0.9
    gd_step_max: float = 20.0
    gd_gtol: float = 1e-7

    def __post_init__(self) -> None:
        if self.w_reg < 0 or not math.isfinite(self.w_reg):
            raise ValueError(f"AdjointConfig: w_reg must be a number >= 0, got {self.w_reg}")
        if self.max_iter < 0 or self.gd_max_iter < 0:
            raise ValueError("AdjointConfig: iteration limits must be >= 0")

    @classmethod
    def smoke(cls) -> AdjointConfig:
        """A few iterations for tests."""
        return cls(max_iter=30, gd_max_iter=30)

    def gd_step(self, w_reg: float, cells: int) -> float:
        """The fixed gradient-descent step at weight ``w_reg`` on a mesh of ``cells`` cells."""
        if w_reg <= 0:
            return self.gd_step_max
        return min(self.gd_step_max, self.gd_step_factor * (1.0 / cells) ** 2 / (6 * w_reg))


def _observation(V: dolfinx.fem.FunctionSpace[np.float64], disc: Discretisation, x: np.ndarray, d: np.ndarray,
                 cfg: AdjointConfig) -> tuple[PETSc.Mat, np.ndarray]:
    """B at the points x and this rank's data d (last axis: the points), scaled for ``cfg.misfit``.

    Replicated data: rank 0 holds every observation row. ``"mean"`` divides B and d by √(number
    of observed values), so ½‖Bu − d‖² is half the mean squared misfit.
    """
    if not disc.distributed and disc.comm.rank != 0:
        x, d = x[:0], d[..., :0]
    B = fem.PointEvaluator(V, x).matrix()
    if cfg.misfit == "mean":
        n_times = d.shape[0] if d.ndim > 1 else 1  # (times, points) for a transient problem
        scale = math.sqrt(n_times * B.getSize()[0])
        B.scale(1.0 / scale)
        d = d / scale
    return B, d


def reduced_functional(
    problem: AbstractInverseProblem,
    disc: Discretisation,
    u_obs: np.ndarray,
    *,
    cfg: AdjointConfig,
    w_reg: float,
    with_map: bool = True,
    regularize: bool = True,
) -> adjoint.ReducedFunctional:
    """J(m) of the problem's field, from its weak residual, on the adjoint's mesh. Collective.

    Args:
        problem: A stationary problem with a :class:`Field` unknown.
        disc: The run's discretisation (observation points, Dirichlet tags).
        u_obs: This rank's observations at ``disc.x_dat``.
        cfg: Mesh and misfit scaling.
        w_reg: Regularisation weight.
        with_map: Use the field's ``adjoint_map`` (False: identity, m = a, as for a gradient
            with respect to the coefficient's nodal values).
        regularize: Add the field's regulariser.
    """
    f = problem.unknowns
    assert isinstance(f, Field)
    md = disc.mesh if cfg.cells is None else problem.mesh(disc.comm, cells=cfg.cells)
    V = dolfinx.fem.functionspace(md.mesh, ("Lagrange", 1))
    B, d = _observation(V, disc, as_points(disc.x_dat), np.asarray(u_obs, dtype=np.float64), cfg)
    cmap: adjoint.AbstractCoefficientMap | None = None
    if with_map and f.adjoint_map == "sigmoid":
        assert f.bounds is not None
        cmap = adjoint.SigmoidMap(lo=f.bounds[0], hi=f.bounds[1])
    reg: tuple[adjoint.AbstractRegularization, ...] = ()
    if regularize:
        reg = (
            (adjoint.H1Seminorm(weight=w_reg),)
            if f.regularizer == "h1"
            else (adjoint.TotalVariation(weight=w_reg, eps=f.tv_eps),)
        )
    tags = disc.dirichlet_tags
    return adjoint.ReducedFunctional(
        md.mesh,
        observation=B,
        data=d,
        coefficient_space=f.space,
        coefficient_map=cmap,
        regularization=reg,
        source=None,
        residual=problem.weak_residual,
        facet_tags=md.facet_tags,
        dirichlet=(adjoint.DirichletData(),) if tags is None else (adjoint.DirichletData(tags=tags),),
        fixed_coefficient=adjoint.FixedCoefficient() if f.fixed_on_boundary else None,
    )


def transient_functional(
    problem: AbstractInverseProblem,
    disc: Discretisation,
    u_obs: np.ndarray,
    *,
    cfg: AdjointConfig,
    names: tuple[str, ...] | None = None,
) -> adjoint.TransientReducedFunctional:
    """J(θ) of a transient problem's named scalars, with the discrete adjoint of its BDF stepping.

    ``names``: the controls, if not every unknown (e.g. those of the state, not a segmentation's
    thresholds).

    The state is the problem's own FEM (its weak residual, initial condition, degree and time
    steps), so at the truth with noise-free data J = 0 to solver tolerance. ``cfg.cells``
    replaces the problem's mesh. Collective.

    Raises:
        ValueError: the data are not on a SpaceTimeGrid, or its times lie outside [0, t_end].
    """
    unknowns, time = problem.unknowns, problem.time
    assert isinstance(unknowns, Scalars) and time is not None
    md, grid, B, d = _space_time_observation(problem, disc, u_obs, cfg)
    return adjoint.TransientReducedFunctional(
        md,
        residual=lambda u, theta, v, t: problem.weak_residual(u, theta, v),
        control="scalars",
        scalars={n: v for n, v in zip(unknowns.names, unknowns.init, strict=True) if n in names}
        if names is not None else dict(zip(unknowns.names, unknowns.init, strict=True)),
        u0=problem.initial_condition,
        t_end=time.t_end,
        n_steps=time.steps,
        observation=B,
        observation_times=grid.times,
        data=d,
        degree=problem.fem_degree,
        tags=disc.dirichlet_tags,
    )


def segmentation_functional(
    problem: AbstractInverseProblem, disc: Discretisation, labels: np.ndarray, *, cfg: AdjointConfig
) -> adjoint.ObservedLossFunctional:
    """J(θ, th) = the problem's segmentation loss of the FEM masks, θ the strong form's scalars. Collective.

    Every rank holds the labels; rank 0 holds the observation rows (replicated data).
    """
    like = problem.likelihood()
    assert isinstance(like, SegmentationLikelihood)
    if disc.distributed:
        raise ValueError(f"{problem.name}: the segmentation adjoint needs replicated observations")
    inner = transient_functional(problem, disc, np.zeros_like(np.asarray(labels, dtype=float)),
                                 cfg=replace(cfg, misfit="sum"), names=tuple(problem.pde.param_names))

    def loss(y: np.ndarray, th: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        if y.size == 0:  # another rank's (empty) share
            return 0.0, np.zeros_like(y), np.zeros(len(th))
        u = y.ravel()
        g_u, g_th = like.loss_gradient(u, labels, th)
        return like.loss(u, labels, th), g_u.reshape(y.shape), g_th

    return adjoint.ObservedLossFunctional(inner, loss, like.names)


def initial_condition_functional(
    problem: AbstractInverseProblem,
    disc: Discretisation,
    u_obs: np.ndarray,
    *,
    cfg: AdjointConfig,
    w_reg: float,
) -> adjoint.TransientReducedFunctional:
    """J(u⁰) of a transient problem whose unknown is the initial condition. Collective.

    The control is u⁰ in the state space (the problem's degree, on ``cfg.cells`` or the run's
    mesh), with the field's regulariser at weight ``w_reg``; the steps are the problem's own,
    so at the truth with noise-free data J = 0 up to the interpolation of the truth.

    Raises:
        ValueError: the data are not on a SpaceTimeGrid.
    """
    f, time = problem.unknowns, problem.time
    assert isinstance(f, Field) and f.role == "initial_condition" and time is not None
    md, grid, B, d = _space_time_observation(problem, disc, u_obs, cfg)
    reg = (adjoint.H1Seminorm(weight=w_reg),) if f.regularizer == "h1" else (
        adjoint.TotalVariation(weight=w_reg, eps=f.tv_eps),)
    return adjoint.TransientReducedFunctional(
        md,
        residual=lambda u, theta, v, t: problem.weak_residual(u, theta, v),
        control="initial_condition",
        scalars={},
        t_end=time.t_end,
        n_steps=time.steps,
        observation=B,
        observation_times=grid.times,
        data=d,
        degree=problem.fem_degree,
        tags=disc.dirichlet_tags,
        regularization=reg if w_reg > 0 else (),
    )


def scalar_gradient(rf: adjoint.TransientReducedFunctional) -> Callable[[np.ndarray], np.ndarray]:
    """θ -> ∇θ of L = mean_j (u_FEM(θ)(x_j) − d_j)², the hybrid methods' data loss, by the adjoint.

    ``rf`` must be unscaled (misfit ``"sum"``): L = (2/N)·J for N observations. Collective.
    """
    n = rf.n_observations

    def grad(theta: np.ndarray) -> np.ndarray:
        values = np.asarray(theta, dtype=np.float64)
        dJ = rf.derivative(values if rf.comm.rank == 0 else values[:0])
        return np.asarray(rf.comm.bcast(dJ.array_r.copy() if rf.comm.rank == 0 else None, root=0)) * (2.0 / n)

    return grad


def initial_condition_gradient(rf: adjoint.TransientReducedFunctional) -> FunctionGradient:
    """dL/du⁰ at the dofs of the state space by one backward sweep, for the hybrid methods' check.

    ``rf`` must be unscaled and unregularised: L = mean of the N squared misfits = (2/N)·J.
    """
    n = rf.n_observations
    return FunctionGradient(
        x=fem.dof_coordinates(rf.space()),
        derivative=lambda values: np.asarray(rf.derivative(values).array_r) * (2.0 / n),
    )


def data_misfit(problem: AbstractInverseProblem, disc: Discretisation,
                u_obs: np.ndarray) -> adjoint.ReducedFunctional:
    """J(a) = ½Σ_j (u(x_j) − d_j)² of the nodal coefficient a itself (no map, no regulariser).

    The functional behind the hybrid methods' exact data gradient (:func:`function_gradient`).
    """
    return reduced_functional(problem, disc, u_obs, cfg=AdjointConfig(), w_reg=0.0, with_map=False,
                              regularize=False)


def function_gradient(rf: adjoint.ReducedFunctional) -> FunctionGradient:
    """dL/da at the nodes of a P1 coefficient by one adjoint solve, for the hybrid methods' check.

    L = mean over the N observations of (u − d)² = (2/N)·J for an unscaled, unregularised J, so
    dL/da = (2/N)·(the adjoint's dual vector).
    """
    n = rf.B.getSize()[0]
    return FunctionGradient(
        x=fem.dof_coordinates(rf.Q),
        derivative=lambda values: np.asarray(rf.derivative(values).array_r) * (2.0 / n),
    )


def coefficient_at(rf: adjoint.ReducedFunctional, m: np.ndarray):  # type: ignore[no-untyped-def]
    """The coefficient a = g(m) as a field function (points -> values). Collective when called."""
    a = rf.coefficient_function(m)
    return lambda x: fem.PointEvaluator(a.function_space, x).evaluate(a)


def state_at(rf: adjoint.ReducedFunctional, m: np.ndarray):  # type: ignore[no-untyped-def]
    """The adjoint's own state u(m) as a function of points. Collective when called."""
    u = rf.state(m)  # a copy: later solves of rf leave it alone
    return lambda x: fem.PointEvaluator(u.function_space, x).evaluate(u)


def _space_time_observation(
    problem: AbstractInverseProblem, disc: Discretisation, u_obs: np.ndarray, cfg: AdjointConfig
) -> tuple[fem.MeshData, SpaceTimeGrid, PETSc.Mat, np.ndarray]:
    """The adjoint's mesh, the data's grid, and its observation operator and data. Collective.

    Raises:
        ValueError: the data are not on a SpaceTimeGrid.
    """
    if not isinstance(disc.x_dat, SpaceTimeGrid):
        raise ValueError(f"{problem.name}: the adjoint needs the data on a SpaceTimeGrid")
    md = disc.mesh if cfg.cells is None else problem.mesh(disc.comm, cells=cfg.cells)
    V = dolfinx.fem.functionspace(md.mesh, ("Lagrange", problem.fem_degree))
    grid = disc.x_dat
    d = np.asarray(u_obs, dtype=np.float64).reshape(len(grid.times), len(grid.space))
    B, d = _observation(V, disc, np.asarray(grid.space, dtype=np.float64), d, cfg)
    return md, grid, B, d
