"""The inverse-problem declaration: everything every method needs, written once.

An inverse problem is a frozen dataclass that subclasses :class:`AbstractInverseProblem`. It
declares the domain (a mesh factory), the weak residual F(u, θ; v) in UFL, the strong form for
the networks (a ``hybrid.AbstractPDE``), the unknowns (``inverse.unknowns``: :class:`Scalars`
or :class:`Field`), the point sets of its discretisation (``inverse.discretisation``), the
truth, the initial guess and the noise seed. The FEM
reference, the validation solve and the adjoint are all derived from the one weak residual;
BiLO and the PINN use the strong form.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

import numpy as np

from fem import _loader as _loader  # noqa: F401  (before dolfinx)

# isort: split

import dolfinx
import dolfinx.fem
from mpi4py import MPI

import fem
from hybrid import AbstractPDE, Likelihood
from inverse.discretisation import Discretisation, Points, SpaceTimeGrid, TimeInterval, as_points
from inverse.unknowns import Field, Scalars, Theta


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
