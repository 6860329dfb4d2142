"""The inverse-problem declaration: everything every method needs, written once.

An inverse problem is a frozen dataclass that subclasses :class:`AbstractInverseProblem`. It
declares the domain (a mesh factory), the weak residual F(u, θ; v) in UFL, the strong form for
the networks (a ``hybrid.AbstractPDE``), the unknowns (:class:`Scalars` or :class:`Field`),
the point sets of its discretisation, the truth, the initial guess and the noise seed. The FEM
reference, the validation solve and the adjoint are all derived from the one weak residual;
BiLO and the PINN use the strong form.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal, final

import numpy as np

from fem import _loader as _loader  # noqa: F401  (before dolfinx)

# isort: split

import dolfinx
import dolfinx.fem
from mpi4py import MPI

import fem
from hybrid import AbstractPDE, Likelihood

FieldFunction = Callable[[np.ndarray], np.ndarray]
"""A function of space: points (N, gdim) -> values (N,)."""

Theta = Mapping[str, float] | FieldFunction
"""An estimate of the unknowns: named scalar values, or a function of space."""


@final
@dataclass(frozen=True, kw_only=True)
class Scalars:
    """Named scalar unknowns θ with their truth, initial guess and admissible range.

    Attributes:
        names: Names, in the order of the strong form's ``param_names``.
        truth: The values that generate the data.
        init: The initial guess θ0 (pre-training point of BiLO and the PINN).
        lower: Strict lower bounds (None: unbounded); an estimate outside gets no FEM solve.
    """

    names: tuple[str, ...]
    truth: tuple[float, ...]
    init: tuple[float, ...]
    lower: tuple[float | None, ...] = ()

    def __post_init__(self) -> None:
        n = len(self.names)
        if not n or len(self.truth) != n or len(self.init) != n or len(self.lower) not in (0, n):
            raise ValueError(
                f"Scalars: names, truth, init (and lower) need one entry per unknown, got "
                f"{self.names}, {self.truth}, {self.init}, {self.lower}"
            )
        for what, values in (("truth", self.truth), ("initial guess", self.init)):
            message = self.inadmissible(dict(zip(self.names, values, strict=True)))
            if message:
                raise ValueError(f"{what}: {message}")

    def inadmissible(self, theta: Mapping[str, float]) -> str | None:
        """Why θ cannot be solved for (non-finite or below a bound), or None."""
        for i, name in enumerate(self.names):
            value = float(theta[name])
            bound = self.lower[i] if self.lower else None
            if not math.isfinite(value):
                return f"{name} = {value} is not finite"
            if bound is not None and not value > bound:
                return f"{name} must be > {bound:g}, got {value:g}"
        return None


@final
@dataclass(frozen=True, kw_only=True)
class Field:
    """An unknown coefficient function, with how each family of methods represents it.

    The networks' representation (f_V and its transform) is the strong form's
    ``function_transform``; the adjoint's is below.

    Attributes:
        name: The function's name (the strong form's single ``param_names`` entry).
        regularizer: The regulariser every method uses: H1 seminorm or total variation.
        tv_eps: Smoothing of the adjoint's TV term.
        space: The adjoint's coefficient space.
        adjoint_map: The adjoint's parameterisation a = g(m): identity (with ``bounds`` as
            TAO bounds) or a sigmoid onto ``bounds``.
        bounds: (lo, hi) of the coefficient, or None.
        fixed_on_boundary: The adjoint keeps m at its initial value on the boundary.
        truth_element: The element the truth is interpolated into for the FEM solve (e.g.
            ``("DG", 0)`` for a discontinuous truth); None: the state space.
        positive: An estimate must be > 0 everywhere to be solved for.
        role: ``"coefficient"``: a coefficient of the weak residual. ``"initial_condition"``:
            u(x, 0) of a transient problem (the weak residual does not see it; the adjoint
            controls u⁰).
    """

    name: str
    regularizer: Literal["h1", "tv"]
    tv_eps: float = 1e-2
    space: Literal["P1", "DG0"] = "P1"
    adjoint_map: Literal["identity", "sigmoid"] = "identity"
    bounds: tuple[float, float] | None = None
    fixed_on_boundary: bool = False
    truth_element: tuple[str, int] | None = None
    positive: bool = True
    role: Literal["coefficient", "initial_condition"] = "coefficient"

    def __post_init__(self) -> None:
        if self.role not in ("coefficient", "initial_condition"):
            raise ValueError(f"Field {self.name!r}: role must be 'coefficient' or 'initial_condition', "
                             f"got {self.role!r}")
        if self.adjoint_map == "sigmoid" and self.bounds is None:
            raise ValueError(f"Field {self.name!r}: a sigmoid map needs bounds=(lo, hi)")
        if self.bounds is not None and not self.bounds[0] < self.bounds[1]:
            raise ValueError(f"Field {self.name!r}: bounds must be (lo, hi) with lo < hi, got {self.bounds}")


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


class AbstractFieldMetric(abc.ABC):
    """A problem-specific metric of an inferred field (e.g. a classification accuracy)."""

    @abc.abstractmethod
    def __call__(
        self, values: np.ndarray, truth: np.ndarray, weights: np.ndarray, comm: MPI.Comm | None
    ) -> dict[str, float]:
        """Metrics of ``values`` against ``truth`` at the field points, with their weights."""


class AbstractInverseProblem(abc.ABC):
    """An inverse problem declared once; ``inverse.solve`` runs any method on it.

    Subclasses are frozen, keyword-only dataclasses. They define the abstract members; the
    FEM solve :meth:`forward` is derived from :meth:`weak_residual` and needs nothing else.

    Class attributes a subclass may set:
        time: A :class:`TimeInterval` for a transient problem (∫u_t v + F = 0), else None.
        fem_degree: Lagrange degree of the FEM reference.
        linear: F is affine in u (one linear solve instead of Newton).
        noise_seed: Base seed of the observation noise (seed k draws with ``noise_seed + k``).
        noise_range: The noise levels σ the data can take, and what σ is when it is not the
            standard deviation of Gaussian noise (checked by :meth:`check_noise`).
        published: Published results, shown in the report beside the methods.
        field_metrics: Extra metrics of an inferred field.
        weak_form: The reference is the FEM of :meth:`weak_residual`. False: a problem with no
            usable Galerkin form (e.g. inviscid Burgers) overrides :meth:`forward_map` with its
            own solver, and the methods that need the weak form (the adjoint) refuse it.
    """

    time: TimeInterval | None = None
    weak_form: bool = True
    fem_degree: int = 1
    linear: bool = True
    noise_seed: int = 0
    noise_range: tuple[float, float, str] = (0.0, math.inf, "the noise level")
    published: Mapping[str, Mapping[str, float]] = MappingProxyType({})
    field_metrics: tuple[AbstractFieldMetric, ...] = ()

    @property
    @abc.abstractmethod
    def name(self) -> str:
        """The problem's name in reports (``"darcy"``)."""

    @property
    @abc.abstractmethod
    def pde(self) -> AbstractPDE:
        """The strong form for BiLO and the PINN (dolfinx-free)."""

    @property
    @abc.abstractmethod
    def unknowns(self) -> Scalars | Field:
        """What is inferred."""

    @abc.abstractmethod
    def mesh(self, comm: MPI.Comm, cells: int | None = None) -> fem.MeshData:
        """The domain; ``cells`` asks for another resolution (e.g. the adjoint's own mesh)."""

    def weak_residual(self, u: Any, theta: Any, v: Any) -> Any:
        """F(u, θ; v) in UFL (for a transient problem the part besides ∫u_t v).

        Every problem with ``weak_form = True`` (the default) defines it; one without a usable
        Galerkin form leaves it out and overrides :meth:`forward_map`.

        Args:
            u: The state (a Function, or any UFL expression of it).
            theta: Scalars: a dict name -> UFL constant. Field: the coefficient (UFL); an
                initial-condition field: an empty dict.
            v: The test function.
        """
        raise NotImplementedError(f"{self.name} declares no weak form (weak_form = False)")

    @abc.abstractmethod
    def discretise(self, comm: MPI.Comm) -> Discretisation:
        """The mesh and point sets of one run."""

    @abc.abstractmethod
    def describe(self) -> str:
        """The set-up in one paragraph, for the report."""

    def truth(self, x: np.ndarray) -> np.ndarray:
        """The true field at points (N, gdim) (field unknowns)."""
        raise NotImplementedError(f"{self.name} declares no true field")

    def initial_guess(self, x: np.ndarray) -> np.ndarray:
        """The initial-guess field at points (N, gdim) (field unknowns)."""
        raise NotImplementedError(f"{self.name} declares no initial-guess field")

    def initial_condition(self, x: np.ndarray) -> np.ndarray:
        """u(x, 0) at dolfinx coordinates (3, n) (transient problems whose unknown is not u(x, 0))."""
        raise NotImplementedError(f"{self.name} declares no initial condition")

    def unknown_initial_condition(self) -> bool:
        """The unknown is the initial condition u(x, 0) (a Field of role ``initial_condition``)."""
        u = self.unknowns
        return isinstance(u, Field) and u.role == "initial_condition"

    def sample_prior(self, rng: np.random.Generator) -> Theta:
        """A draw of the unknowns from the problem's prior (operator-learning data sets)."""
        raise NotImplementedError(f"{self.name} declares no prior (sample_prior)")

    def operator_datasets(self) -> Mapping[str, Any]:
        """Named data sets for the operator baselines (none by default).

        Values are ``inverse.datasets.ParameterGrid`` or ``PriorSamples``, e.g. one in and one out
        of the distribution of the truth.
        """
        return {}

    def likelihood(self) -> Likelihood | None:
        """The data's likelihood when it is not Gaussian (None: u(x_dat) plus N(0, σ²) noise).

        A :class:`hybrid.PointProcessLikelihood`: the data are the particles of M snapshots of a
        Poisson point process with intensity u, sampled by :meth:`observe`; the network methods
        minimise its negative log-likelihood, the report gives it as ``nll``. A
        :class:`hybrid.SegmentationLikelihood`: the data are mask labels at ``x_dat``, its
        thresholds are unknowns too (named in :attr:`unknowns` after the strong form's), and the
        report gives the masks' loss and DICE.
        """
        return None

    def likelihood_name(self) -> str:
        """The data's kind in messages."""
        like = self.likelihood()
        return "values" if like is None else like.kind

    def check(self) -> None:
        """Raise ``ValueError`` when the declaration is inconsistent (a bad value of a field).

        The command line calls it before any work. Default: the unknowns are built (``Scalars``
        checks its truth and guess).
        """
        _ = self.unknowns

    def check_noise(self, sigma: float) -> None:
        """Raise ``ValueError`` (naming ``--noise``) when σ is no noise level of this problem's data.

        Default: finite σ in ``noise_range``. Checked by :func:`inverse.make_data` and by the
        command line before any work.
        """
        lo, hi, what = self.noise_range
        if not (np.isfinite(sigma) and lo <= sigma <= hi):
            within = f">= {lo:g}" if hi == math.inf else f"in [{lo:g}, {hi:g}]"
            raise ValueError(f"--noise {sigma:g}: {what} must be a finite number {within}")

    def observe(
        self, disc: Discretisation, u_true: np.ndarray, sigma: float, seed: int
    ) -> tuple[Discretisation, np.ndarray]:
        """One seed's data: the discretisation with its observation points, and the observations.

        Default: ``u_true`` (the truth at ``disc.x_dat``) plus Gaussian noise (:meth:`noise`). A
        problem with a point-process :meth:`likelihood` samples its particles here (seeded) and
        returns them as ``x_dat``, with zeros as the observations.
        """
        return disc, self.noise(u_true, sigma, seed, disc)

    def gradient_problem(self) -> AbstractInverseProblem:
        """The problem whose FEM gives the exact gradient of a fidelity check (e.g. a coarser copy)."""
        return self

    # -- derived from the declaration ---------------------------------------------------------
    def theta_true(self) -> Theta:
        """The true unknowns."""
        u = self.unknowns
        return dict(zip(u.names, u.truth, strict=True)) if isinstance(u, Scalars) else self.truth

    def theta_init(self) -> Theta:
        """The initial guess."""
        u = self.unknowns
        return dict(zip(u.names, u.init, strict=True)) if isinstance(u, Scalars) else self.initial_guess

    def inadmissible(self, theta: Theta, disc: Discretisation) -> str | None:
        """Why the FEM cannot be solved at θ, or None. Collective for fields."""
        u = self.unknowns
        if isinstance(u, Scalars):
            assert not callable(theta)
            return u.inadmissible(theta)
        assert callable(theta)
        x = disc.x_field if disc.x_field is not None else as_points(disc.x_u)
        values = theta(x)
        bad = not np.all(np.isfinite(values)) or (u.positive and values.size > 0 and values.min() <= 0)
        if disc.comm.allreduce(bool(bad), op=MPI.LOR):
            return f"the inferred {u.name} is not " + ("positive and " if u.positive else "") + "finite"
        return None

    def coefficient(self, theta: Theta, msh: Any, V: Any, *, truth: bool = False) -> Any:
        """θ as UFL on a mesh: a dict of Constants, or the field interpolated into a space."""
        coef = self._coefficient_slot(msh, V, truth=truth)
        self._assign(coef, theta)
        return coef

    def _coefficient_slot(self, msh: Any, V: Any, *, truth: bool) -> Any:
        """Where θ lives on a mesh, not yet set: Constants, or a Function in V (or the truth's element)."""
        u = self.unknowns
        if isinstance(u, Scalars):
            return {n: dolfinx.fem.Constant(msh, 0.0) for n in u.names}
        if u.role == "initial_condition":
            return {}  # the residual does not see it; forward_map starts from it
        Q = V if not (truth and u.truth_element) else dolfinx.fem.functionspace(msh, u.truth_element)
        return dolfinx.fem.Function(Q)

    @staticmethod
    def _assign(coef: Any, theta: Theta) -> None:
        """Set a :meth:`_coefficient_slot` to θ in place (the forms that use it stay compiled)."""
        if isinstance(coef, dict):
            if not coef:
                return  # an initial condition: the residual has no slot for it
            assert not callable(theta)
            for n, c in coef.items():
                c.value = float(theta[n])
            return
        assert callable(theta)
        gdim = coef.function_space.mesh.geometry.dim
        coef.interpolate(lambda x: np.asarray(theta(np.ascontiguousarray(x[:gdim].T)), dtype=np.float64))

    def forward(
        self, disc: Discretisation, theta: Theta, points: Points, *, truth: bool = False
    ) -> np.ndarray:
        """The FEM solution at θ (from the weak residual) at this rank's points. Collective.

        Args:
            disc: The run's discretisation (its mesh).
            theta: The unknowns (scalars or a field function).
            points: Spatial points (N, gdim), or a :class:`SpaceTimeGrid` for a transient problem.
            truth: θ is the truth (a field is interpolated into ``Field.truth_element``).

        Raises:
            ValueError: θ is not admissible (see :meth:`inadmissible`).
        """
        return self.forward_map(disc, points, truth=truth)(theta)

    def forward_map(
        self, disc: Discretisation, points: Points, *, truth: bool = False
    ) -> Callable[[Theta], np.ndarray]:
        """θ -> :meth:`forward` at θ, with a stationary problem's forms compiled once. Collective.

        Many solves at different θ (an operator-learning data set) then cost an assembly and a
        solve each: the coefficient (Constants, or a Function in the field's space) is updated
        in place and one :class:`fem.StationarySolver` and one point evaluator are reused. A
        transient problem steps afresh at every call, from θ itself when the unknown is the
        initial condition. A problem with ``weak_form = False`` overrides this method.
        """
        msh = disc.mesh.mesh
        V = dolfinx.fem.functionspace(msh, ("Lagrange", self.fem_degree))
        coef = self._coefficient_slot(msh, V, truth=truth)  # set by each call, before its solve

        if self.time is None:
            if self.unknown_initial_condition():
                raise ValueError(f"{self.name}: an initial-condition unknown needs a transient problem")
            solver = fem.StationarySolver(
                disc.mesh, lambda u, v: self.weak_residual(u, coef, v), degree=self.fem_degree,
                tags=disc.dirichlet_tags, linear=self.linear)
            evaluator = fem.PointEvaluator(solver.u.function_space, np.asarray(points))

            def stationary(theta: Theta) -> np.ndarray:
                self._assign(coef, theta)
                return evaluator.evaluate(solver.solve().u)

            return stationary
        if not isinstance(points, SpaceTimeGrid):
            raise TypeError(f"{self.name} is transient: sample it on a SpaceTimeGrid")
        grid, time = points, self.time

        initial = self.unknown_initial_condition()

        def transient(theta: Theta) -> np.ndarray:
            if initial:
                assert callable(theta)
                gdim = msh.geometry.dim

                def u0(x: np.ndarray) -> np.ndarray:
                    return np.asarray(theta(np.ascontiguousarray(x[:gdim].T)), dtype=np.float64)
            else:
                self._assign(coef, theta)
                u0 = self.initial_condition
            ts = fem.solve_transient(
                disc.mesh,
                lambda u, v, t: self.weak_residual(u, coef, v),
                u0=u0,
                t_end=time.t_end,
                n_steps=time.steps,
                degree=self.fem_degree,
                tags=disc.dirichlet_tags,
            )
            return np.asarray(ts.sample(grid.space, grid.times)).ravel()

        return transient

    def noise(self, u: np.ndarray, sigma: float, seed: int, disc: Discretisation) -> np.ndarray:
        """Observations: u plus i.i.d. Gaussian noise of standard deviation σ.

        Replicated points draw the same noise on every rank (seed ``noise_seed + seed``);
        distributed ones draw per rank (seed ``[seed, rank]``).
        """
        rng = (
            np.random.default_rng([seed, disc.comm.rank])
            if disc.distributed
            else np.random.default_rng(self.noise_seed + seed)
        )
        return u + sigma * rng.standard_normal(u.shape)
