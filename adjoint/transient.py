r"""The discrete adjoint of the project's BDF time stepping, for scalar or initial-condition controls.

The state equation is the one :func:`fem.forward.weak.solve_transient` solves: with
u⁰ = u(·, t0) and, at every step n = 1 … N (t_n = t0 + n·dt),

    F_n(uⁿ, uⁿ⁻¹, uⁿ⁻²; θ) = ∫ (α₀ⁿ uⁿ + α₁ⁿ uⁿ⁻¹ + α₂ⁿ uⁿ⁻²)/dt · v + G(uⁿ, θ, t_n; v) = 0,

backward Euler at n = 1 (α = (1, −1, 0)), BDF2 after (α = (3/2, −2, 1/2)), uⁿ = g(t_n) on the
Dirichlet boundary, Newton's method (PETSc SNES) per step. The objective observes the state at
K times t_k through a spatial observation operator B, the state at t_k interpolated linearly
between the two steps around it (u(t_k) = uⁿ at a step time),

    J(m) = ½ Σ_k ‖B u(t_k) − d_k‖² + R(m).

The adjoint runs backward in time, one linear solve per step with the transposed tangent
Aₙ = ∂F_n/∂uⁿ at the stored state (transposed LU solve):

    Aₙᵀ λⁿ = Σ_k w_kn Bᵀ(B u(t_k) − d_k) − (α₁ⁿ⁺¹/dt) M λⁿ⁺¹ − (α₂ⁿ⁺²/dt) M λⁿ⁺²,

with w_kn the interpolation weight of step n in u(t_k), λ = 0 at the Dirichlet dofs and M the
mass matrix. Then

* scalar controls θ_j:  dJ/dθ_j = −Σ_n ∂G/∂θ_j(uⁿ, θ, t_n; λⁿ) (one scalar assembly per step),
* initial condition u⁰ = m:  dJ = Σ_k w_k0 Bᵀ(B u(t_k) − d_k) − (α₁¹/dt) M λ¹ − (α₂²/dt) M λ² + dR,
  zero at the Dirichlet dofs, where u⁰ = g(t0) whatever m says.

The same sweep with any g_k in place of the residuals B u(t_k) − d_k (and no dR) is the
vector-Jacobian product of the observation map y(m) = (B u(t_k))_k,
:meth:`TransientReducedFunctional.observation_vjp`: the gradient of any loss L(y(m)) is
``observation_vjp(m, ∂L/∂y)``.

This is the exact derivative of the discrete J (up to the Newton and LU tolerances), so the
Taylor remainder falls at rate 2. The states of all N + 1 steps are kept **in memory** (one
array of local dofs per step: 8·(N + 1)·n_dofs bytes per rank); there is no checkpointing to
disk, so very long runs on fine meshes need memory for the whole trajectory.

References:
    Hinze, Pinnau, Ulbrich, Ulbrich, *Optimization with PDE Constraints* (2009), §3.1;
    Farrell, Ham, Funke, Rognes, SIAM J. Sci. Comput. 35 (2013) (the discrete adjoint of a
    time-stepping scheme as the transposed block system, solved backward).
"""

from __future__ import annotations

from fem import _loader as _loader  # noqa: F401  (loads MPI before dolfinx/petsc4py)

# isort: split

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, cast, final

import dolfinx
import dolfinx.fem.petsc
import numpy as np
import ufl
import ufl.algorithms
from mpi4py import MPI
from petsc4py import PETSc

from adjoint.gradient import _ghost_update, _set_options, converged_reason, raise_collectively
from adjoint.reduced import AbstractReducedFunctional
from adjoint.regularization import AbstractRegularization
from fem.forward._coefficients import unique_prefix
from fem.forward._stepping import _BACKWARD_EULER, _BDF2, DEFAULT_NEWTON_OPTIONS, _Stepper
from fem.meshes import MeshData

_Function = dolfinx.fem.Function[np.float64]
TransientResidual = Callable[[Any, Mapping[str, Any], Any, Any], Any]
"""``residual(u, theta, v, t) -> ufl.Form``: G of the state equation; theta maps names to UFL scalars."""


def _scheme(n: int) -> tuple[float, float, float]:
    """The BDF coefficients of step n (n = 1: backward Euler)."""
    return _BACKWARD_EULER if n == 1 else _BDF2


def _diff_form(form: ufl.Form, variable: Any) -> ufl.Form:
    """∂form/∂variable, integral by integral (UFL differentiates forms by Coefficients only)."""
    integrals = [itg.reconstruct(integrand=ufl.diff(itg.integrand(), variable)) for itg in form.integrals()]
    return cast(ufl.Form, ufl.algorithms.expand_derivatives(ufl.Form(integrals)))


@final
class TransientReducedFunctional(AbstractReducedFunctional):
    """J(m) for a transient state equation, with the discrete adjoint of its BDF time stepping.

    ``control="scalars"``: m are the named scalars θ (global size k, all owned by rank 0; on
    other ranks pass an empty array, or the full vector, which rank 0's overrides).
    ``control="initial_condition"``: m is u⁰, the owned dofs of the state space V.

    Args:
        meshdata: The mesh (and facet tags for ``tags``).
        residual: ``(u, theta, v, t) -> ufl.Form``, the form G of ∫u_t v + G = 0.
        control: What m is.
        scalars: Name -> value of every scalar in θ; the controls when ``control="scalars"``,
            fixed values otherwise.
        u0: The initial condition (callable ``x -> values`` or number) when the scalars are
            the controls; ignored for ``control="initial_condition"``.
        t_end: Final time.
        n_steps: Uniform BDF steps from ``t0`` to ``t_end``.
        observation: The spatial observation operator B (``PETSc.Mat``: rows this rank's
            observation points, columns V's dofs), e.g. ``fem.PointEvaluator(V, x).matrix()``
            with V = :meth:`space` of the same mesh and degree.
        observation_times: The K times observed, in [t0, t_end]; between two step times the
            state is interpolated linearly (as ``TimeSeries.sample`` does).
        data: This rank's data, shape (K, local rows of B).
        degree: Lagrange degree of V.
        tags: Dirichlet facet tags (None: whole boundary, (): none); u = 0 there.
        t0: Initial time.
        regularization: Regularisers of the initial condition (P1-type forms).
        newton_options: SNES options over the forward solver's defaults
            (:data:`fem.forward._stepping.DEFAULT_NEWTON_OPTIONS`), so the state equals the
            one :func:`fem.forward.weak.solve_transient` computes.
        options_prefix: Prefix of the PETSc options (a unique one by default).

    Raises:
        ValueError: bad control, observation times outside [t0, t_end], data of the wrong
            shape or non-finite, regularisers with scalar controls.
    """

    def __init__(
        self,
        meshdata: MeshData,
        *,
        residual: TransientResidual,
        control: Literal["scalars", "initial_condition"],
        scalars: Mapping[str, float],
        u0: Callable[[np.ndarray], np.ndarray] | float = 0.0,
        t_end: float,
        n_steps: int,
        observation: PETSc.Mat,
        observation_times: Sequence[float] | np.ndarray,
        data: np.ndarray,
        degree: int = 1,
        tags: Any = None,
        t0: float = 0.0,
        regularization: Sequence[AbstractRegularization] = (),
        newton_options: Mapping[str, Any] | None = None,
        options_prefix: str | None = None,
    ) -> None:
        if control not in ("scalars", "initial_condition"):
            raise ValueError(f"control must be 'scalars' or 'initial_condition', got {control!r}")
        if control == "scalars" and not scalars:
            raise ValueError("control='scalars' needs at least one named scalar")
        if control == "scalars" and regularization:
            raise ValueError("regularization applies to an initial-condition control only")
        self.comm = comm = meshdata.comm
        self.mesh = meshdata.mesh
        self.mesh_data = meshdata
        self.residual = residual
        self.control = control
        self.names = tuple(scalars)
        self.regularization = tuple(regularization)
        prefix = options_prefix or unique_prefix("transient_adjoint")

        s = self._s = _Stepper(meshdata, D=None, u0=u0 if control == "scalars" else 0.0, t_end=t_end,
                               n_steps=n_steps, f=None, g=0.0, tags=tags, degree=degree, t0=t0,
                               store_every=1)
        self.V, self.dt, self.n_steps, self.t0 = s.V, s.dt, s.n_steps, s.t0
        self._u_init: _Function = dolfinx.fem.Function(self.V, name="u0")
        self._u_init.x.array[:] = s.u_n.x.array
        self._bc_dofs = np.unique(np.concatenate(
            [bc.dof_indices()[0][: bc.dof_indices()[1]] for bc in s.bcs] + [np.zeros(0, np.int32)]))

        # observations: step indices, B, data
        self._obs_steps = self._step_weights(np.asarray(observation_times, dtype=float))
        self._by_step: dict[int, list[tuple[int, float]]] = {}  # step n -> [(observation k, weight)]
        for k, pairs in enumerate(self._obs_steps):
            for n, w in pairs:
                self._by_step.setdefault(n, []).append((k, w))
        self.B = observation
        rows = observation.getLocalSize()[0]
        d = np.asarray(data, dtype=float)
        if d.shape != (len(self._obs_steps), rows):
            msg: str | None = (f"data has shape {d.shape} on rank {comm.rank}; expected "
                               f"({len(self._obs_steps)}, {rows}): (observation times, local rows of B)")
        else:
            msg = None if np.all(np.isfinite(d)) else f"data has non-finite values on rank {comm.rank}"
        raise_collectively(comm, msg)
        if observation.getSize()[1] != self.V.dofmap.index_map.size_global:
            raise ValueError(f"observation has {observation.getSize()[1]} columns; the state space has "
                             f"{self.V.dofmap.index_map.size_global} dofs")
        self._d = [observation.createVecLeft() for _ in self._obs_steps]
        for vec, row in zip(self._d, d, strict=True):
            vec.array[:] = row
        self._r = [observation.createVecLeft() for _ in self._obs_steps]

        # the forms, all from the one residual G
        self._theta_const = {n: dolfinx.fem.Constant(self.mesh, float(val)) for n, val in scalars.items()}
        self._theta_var = {n: ufl.variable(c) for n, c in self._theta_const.items()}
        self.u: _Function = dolfinx.fem.Function(self.V, name="u")
        self.adjoint_state: _Function = dolfinx.fem.Function(self.V, name="lambda")
        v, du = ufl.TestFunction(self.V), ufl.TrialFunction(self.V)
        self._t = dolfinx.fem.Constant(self.mesh, s.t0)
        G = residual(self.u, dict(self._theta_var), v, self._t)
        if not isinstance(G, ufl.Form):
            raise ValueError(f"residual(u, theta, v, t) must return a ufl.Form, got {type(G).__name__}")
        F = s.time_derivative(self.u, v) + G
        options = {**DEFAULT_NEWTON_OPTIONS, **(newton_options or {})}
        # options through _set_options, not NonlinearProblem's petsc_options, which leaves them
        # in the PETSc options database (see adjoint.gradient.ReducedFunctional._init_newton)
        self._problem = dolfinx.fem.petsc.NonlinearProblem(F, self.u, bcs=s.bcs, petsc_options_prefix=prefix)
        _set_options(self._problem.solver, prefix, options)
        self._jacobian = dolfinx.fem.form(ufl.derivative(F, self.u, du))
        self.A = dolfinx.fem.petsc.create_matrix(self._jacobian)
        self.ksp = PETSc.KSP().create(self.comm)
        adjoint_options: dict[str, Any] = {"ksp_type": "preonly", "pc_type": "lu"}
        if comm.size > 1:
            adjoint_options["pc_factor_mat_solver_type"] = "mumps"
        _set_options(self.ksp, prefix + "adjoint_", adjoint_options)
        G_lam = ufl.replace(G, {v: self.adjoint_state})
        self._dG = {n: dolfinx.fem.form(_diff_form(G_lam, var)) for n, var in self._theta_var.items()}
        self._mass = dolfinx.fem.form(ufl.TrialFunction(self.V) * v * ufl.dx)
        self.M = dolfinx.fem.petsc.assemble_matrix(self._mass)
        self.M.assemble()
        self._R = None
        if self.regularization:
            forms = [R.form(self._u_init, "P1", self.mesh) for R in self.regularization]
            total = forms[0]
            for f in forms[1:]:
                total = total + f
            self._R = dolfinx.fem.form(total)
            self._dR = dolfinx.fem.form(ufl.derivative(total, self._u_init, v))

        self.n_local = (len(self.names) if comm.rank == 0 else 0) if control == "scalars" \
            else self.V.dofmap.index_map.size_local
        self.fixed_dofs = np.zeros(0, dtype=np.int32) if control == "scalars" \
            else self._bc_dofs[self._bc_dofs < self.n_local].astype(np.int32)
        self.riesz_ksp: PETSc.KSP | None = None
        if control == "initial_condition":
            # the mass matrix of the free dofs (u⁰ is fixed at the Dirichlet dofs): rows and
            # columns eliminated, so M g = dJ holds on the free dofs and g = 0 on the fixed ones
            fixed = dolfinx.fem.dirichletbc(0.0, self._bc_dofs.astype(np.int32), self.V)
            self._M_free = dolfinx.fem.petsc.assemble_matrix(self._mass, bcs=[fixed])
            self._M_free.assemble()
            self.riesz_ksp = PETSc.KSP().create(self.comm)
            self.riesz_ksp.setOperators(self._M_free)
            _set_options(self.riesz_ksp, prefix + "riesz_", {"ksp_type": "cg", "pc_type": "jacobi",
                                                             "ksp_rtol": 1e-14, "ksp_atol": 1e-50})
        self.n_forward = self.n_adjoint = self.n_riesz = 0
        self.n_newton = 0
        self._states: list[np.ndarray] = []
        self._m_state: np.ndarray | None = None
        self._m_derivative: np.ndarray | None = None
        self._derivative: PETSc.Vec | None = None

    # ----------------------------------------------------------------------------- set-up helpers
    def _step_weights(self, times: np.ndarray) -> list[list[tuple[int, float]]]:
        """Per observation time, the steps (n, w) whose states it interpolates linearly.

        A step time gives one pair (n, 1); a time between steps the two neighbours, as
        :meth:`fem.forward.timeseries.TimeSeries.sample` interpolates.
        """
        steps = (times - self.t0) / self.dt
        outside = (steps < -1e-9) | (steps > self.n_steps + 1e-9) | ~np.isfinite(steps)
        if times.ndim != 1 or outside.any():
            raise ValueError(f"observation times must be a 1D array in [{self.t0:g}, "
                             f"{self.t0 + self.n_steps * self.dt:g}]; got {np.atleast_1d(times).tolist()}")
        out = []
        for x in steps:
            n = int(np.rint(x))
            if abs(x - n) <= 1e-9:
                out.append([(n, 1.0)])
            else:
                lo = int(np.floor(x))
                out.append([(lo, 1.0 - (x - lo)), (lo + 1, x - lo)])
        return out

    @property
    def n_observations(self) -> int:
        """The number of observed values over all ranks (observation times × rows of B)."""
        return len(self._obs_steps) * int(self.B.getSize()[0])

    def space(self) -> dolfinx.fem.FunctionSpace[np.float64]:
        """The state space V (the columns of B, the initial-condition control)."""
        return self.V

    def global_size(self) -> int:
        """k scalars, or the dofs of V."""
        return len(self.names) if self.control == "scalars" else int(self.V.dofmap.index_map.size_global)

    def as_array(self, m: Any) -> np.ndarray:
        """This rank's owned values of m (scalars: all of them on rank 0, none elsewhere)."""
        if isinstance(m, dolfinx.fem.Function):
            values = np.asarray(m.x.array[: self.n_local])
        elif isinstance(m, PETSc.Vec):
            values = np.asarray(m.array_r)
        elif isinstance(m, Mapping):
            values = np.array([float(m[n]) for n in self.names]) if self.comm.rank == 0 else np.zeros(0)
        else:
            values = np.asarray(m, dtype=float).ravel()
        if self.control == "scalars" and self.comm.rank != 0 and values.shape == (len(self.names),):
            values = values[:0]  # a replicated vector: rank 0's copy is the one used
        if values.shape != (self.n_local,):
            what = (f"the scalars {self.names} on rank 0" if self.control == "scalars"
                    else "the owned dofs of V")
            raise ValueError(f"parameter has shape {values.shape} on rank {self.comm.rank}; expected "
                             f"({self.n_local},), {what}")
        return np.array(values, dtype=float)

    def scalars(self, m: Any) -> dict[str, float]:
        """The scalar controls as a dict, on every rank. Collective."""
        values = self.comm.bcast(self.as_array(m) if self.comm.rank == 0 else None, root=0)
        return dict(zip(self.names, (float(x) for x in values), strict=True))

    def _set_parameter(self, m: Any) -> np.ndarray:
        values = self.as_array(m)
        bad = not np.all(np.isfinite(values))
        raise_collectively(self.comm, f"parameter m has non-finite values on rank {self.comm.rank}"
                           if bad else None)
        if self.control == "scalars":
            for name, value in self.scalars(values).items():
                self._theta_const[name].value = value  # type: ignore[assignment]  # (the stub wants an array)
        else:
            self._u_init.x.array[: self.n_local] = values
            self._u_init.x.scatter_forward()
            self._u_init.x.array[self._bc_dofs] = 0.0  # u⁰ = g(t0) = 0 on the Dirichlet boundary
        return values

    # ----------------------------------------------------------------------------- forward
    def _set_step(self, n: int) -> None:
        self._s.set_scheme(_scheme(n))
        self._t.value = self._s.time(n)  # type: ignore[assignment]

    def _forward(self, m: Any) -> None:
        values = self._set_parameter(m)
        if self._unchanged(self._m_state, values):
            return
        s, uh = self._s, self.u
        s.u_n.x.array[:] = self._u_init.x.array
        s.u_nm1.x.array[:] = 0.0
        states: list[np.ndarray] = [s.u_n.x.array.copy()]
        snes = self._problem.solver
        for n in range(1, self.n_steps + 1):
            self._set_step(n)
            uh.x.array[:] = s.u_n.x.array  # initial guess: the previous step
            self._problem.solve()
            reason = converged_reason(snes)
            if reason <= 0:
                self._m_state = None
                raise RuntimeError(f"forward step {n} (t={s.time(n):g}): Newton did not converge "
                                   f"(SNES reason {reason}, {snes.getIterationNumber()} iterations)")
            self.n_newton += int(snes.getIterationNumber())
            states.append(uh.x.array.copy())
            s.u_nm1.x.array[:] = s.u_n.x.array
            s.u_n.x.array[:] = uh.x.array
        self._states = states
        self.n_forward += 1
        for k, pairs in enumerate(self._obs_steps):
            uh.x.array[:] = sum(w * states[n] for n, w in pairs)
            self.B.mult(uh.x.petsc_vec, self._r[k])
            self._r[k].axpy(-1.0, self._d[k])
        self._m_state = values

    def states(self, m: Any) -> np.ndarray:
        """The state at every step, shape (N + 1, local dofs incl. ghosts). Collective."""
        self._forward(m)
        return np.asarray(self._states)

    def observe(self, m: Any) -> np.ndarray:
        """This rank's observations B u(t_k; m), shape (K, local rows) (e.g. synthetic data)."""
        self._forward(m)
        return np.array([r.array + d.array for r, d in zip(self._r, self._d, strict=True)])

    def misfit(self, m: Any) -> float:
        """½ Σ_k ‖B u(t_k) − d_k‖²."""
        self._forward(m)
        return 0.5 * sum(cast(float, r.norm()) ** 2 for r in self._r)

    # ----------------------------------------------------------------------------- adjoint
    def derivative(self, m: Any) -> PETSc.Vec:
        """dJ/dm by one backward sweep (N transposed linear solves); a new Vec. Collective."""
        self._forward(m)
        values = self._m_state
        assert values is not None
        if self._derivative is not None and self._unchanged(self._m_derivative, values):
            return self._derivative.copy()
        self._derivative = self._backward(self._r, regularize=True)
        self._m_derivative = values
        return self._derivative.copy()

    def observation_vjp(self, m: Any, g: np.ndarray) -> PETSc.Vec:
        """Σ_k (∂(B u(t_k))/∂m)ᵀ g_k by one backward sweep: the gradient of any loss of the observations.

        The vector-Jacobian product of the observation map y(m) = (B u(t_k; m))_k, so that the
        derivative of an arbitrary loss L(y(m)) (robust, weighted, a network downstream) is
        ``observation_vjp(m, ∂L/∂y)`` at the cost of one adjoint sweep. It is the sweep of
        :meth:`derivative` with g_k in place of the residuals B u(t_k) − d_k and without the
        regulariser: with g = the residuals it equals ``derivative`` when there is no
        regularisation. Not cached, and leaves the cached derivative alone. Collective.

        Args:
            m: The parameter, as for :meth:`derivative`.
            g: This rank's cotangent ∂L/∂y, the shape of :meth:`observe`'s result
                (observation times, local rows of B).

        Returns:
            A new Vec in the layout of :meth:`derivative`'s: the k scalars owned by rank 0, or
            the owned dofs of V (zero at the Dirichlet dofs, where u⁰ does not depend on m).

        Raises:
            ValueError: g of the wrong shape or with non-finite values (on any rank).
        """
        cotangent = np.asarray(g, dtype=float)
        expected = (len(self._obs_steps), int(self.B.getLocalSize()[0]))
        if cotangent.shape != expected:
            msg: str | None = (f"g has shape {cotangent.shape} on rank {self.comm.rank}; expected "
                               f"{expected}: (observation times, local rows of B)")
        else:
            finite = np.all(np.isfinite(cotangent))
            msg = None if finite else f"g has non-finite values on rank {self.comm.rank}"
        raise_collectively(self.comm, msg)
        self._forward(m)
        sources = [self.B.createVecLeft() for _ in self._obs_steps]
        for vec, row in zip(sources, cotangent, strict=True):
            vec.array_w[:] = row
        return self._backward(sources, regularize=False)

    def _backward(self, sources: Sequence[PETSc.Vec], *, regularize: bool) -> PETSc.Vec:
        """The backward sweep from the observation-space sources s_k (B's rows): Σ_k (∂(B u(t_k))/∂m)ᵀ s_k.

        The adjoint right-hand sides are Σ_k w_kn Bᵀ s_k; s_k = B u(t_k) − d_k gives dJ/dm
        (with ``regularize``: plus dR). Needs the states of the current forward solve.
        """
        s, uh, lam = self._s, self.u, self.adjoint_state
        rhs, tmp = self.M.createVecLeft(), self.M.createVecLeft()
        later = [self.M.createVecLeft(), self.M.createVecLeft()]  # λⁿ⁺¹, λⁿ⁺²
        d_theta = np.zeros(len(self.names))
        for n in range(self.n_steps, 0, -1):
            rhs.set(0.0)
            self._observed(n, sources, rhs, tmp)
            self._coupling(n, later, rhs, tmp)
            rhs.array_w[self._bc_dofs[self._bc_dofs < rhs.getLocalSize()]] = 0.0
            uh.x.array[:] = self._states[n]
            s.u_n.x.array[:] = self._states[n - 1]
            s.u_nm1.x.array[:] = self._states[n - 2] if n >= 2 else 0.0
            self._set_step(n)
            self.A.zeroEntries()
            dolfinx.fem.petsc.assemble_matrix(self.A, self._jacobian, bcs=s.bcs)  # type: ignore[misc, arg-type]
            self.A.assemble()
            self.ksp.setOperators(self.A)
            self.ksp.solveTranspose(rhs, lam.x.petsc_vec)
            if converged_reason(self.ksp) < 0:
                raise RuntimeError(f"adjoint step {n}: the transposed solve failed "
                                   f"(KSP reason {converged_reason(self.ksp)})")
            _ghost_update(lam.x.petsc_vec, "forward")
            for j, name in enumerate(self.names):
                d_theta[j] -= dolfinx.fem.assemble_scalar(self._dG[name])
            later[1].array_w[:] = later[0].array_r
            later[0].array_w[:] = lam.x.petsc_vec.array_r
        self.n_adjoint += 1
        return self._assemble_derivative(d_theta, later, sources, tmp, regularize=regularize)

    def _observed(self, n: int, sources: Sequence[PETSc.Vec], rhs: PETSc.Vec, tmp: PETSc.Vec) -> None:
        """rhs += Σ_k w_kn Bᵀ s_k over the observations that step n enters (s_k = B u(t_k) − d_k for dJ)."""
        for k, w in self._by_step.get(n, ()):
            self.B.multTranspose(sources[k], tmp)
            rhs.axpy(w, tmp)

    def _coupling(self, n: int, later: list[PETSc.Vec], rhs: PETSc.Vec, tmp: PETSc.Vec) -> None:
        """rhs −= (α₁ⁿ⁺¹/dt) M λⁿ⁺¹ + (α₂ⁿ⁺²/dt) M λⁿ⁺² (the steps that uⁿ enters as history)."""
        for offset, lam_later in ((1, later[0]), (2, later[1])):
            if n + offset <= self.n_steps:
                alpha = _scheme(n + offset)[offset]
                if alpha != 0.0:
                    self.M.mult(lam_later, tmp)
                    rhs.axpy(-alpha / self.dt, tmp)

    def _assemble_derivative(self, d_theta: np.ndarray, later: list[PETSc.Vec], sources: Sequence[PETSc.Vec],
                             tmp: PETSc.Vec, *, regularize: bool) -> PETSc.Vec:
        if self.control == "scalars":
            total = self.comm.allreduce(d_theta, op=MPI.SUM)
            dJ = PETSc.Vec().createMPI((self.n_local, len(self.names)), comm=self.comm)
            dJ.array_w[:] = total[: self.n_local]
            return dJ
        dJ = self.M.createVecLeft()
        dJ.set(0.0)
        self._observed(0, sources, dJ, tmp)
        self._coupling(0, later, dJ, tmp)  # u⁰ enters steps 1 and 2
        if regularize and self._R is not None:
            dR = dolfinx.fem.petsc.assemble_vector(self._dR)
            _ghost_update(dR, "reverse")
            dJ.axpy(1.0, dR)
        dJ.array_w[self.fixed_dofs] = 0.0  # u⁰ = g there, whatever m says
        return cast(PETSc.Vec, dJ)

    def riesz(self, dual: PETSc.Vec) -> PETSc.Vec:
        """Scalars: the same vector (Euclidean). Initial condition: M⁻¹ dual (L²(V))."""
        self.n_riesz += 1
        if self.riesz_ksp is None:
            copy: PETSc.Vec = dual.copy()
            return copy
        g: PETSc.Vec = self.M.createVecRight()
        self.riesz_ksp.solve(dual, g)
        if converged_reason(self.riesz_ksp) < 0:
            raise RuntimeError(f"mass-matrix solve failed ({converged_reason(self.riesz_ksp)})")
        g.array_w[self.fixed_dofs] = 0.0
        return g

    def initial_function(self, m: Any) -> _Function:
        """u⁰ as the forward solve uses it (zero on the Dirichlet boundary): a new Function. Collective."""
        if self.control != "initial_condition":
            raise ValueError("initial_function needs control='initial_condition'")
        self._set_parameter(m)
        u0: _Function = dolfinx.fem.Function(self.V, name="u0")
        u0.x.array[:] = self._u_init.x.array
        return u0

    def initial_from(self, u0: Callable[[np.ndarray], np.ndarray] | float) -> np.ndarray:
        """The owned dofs of an initial condition given as a callable or a number."""
        f: _Function = dolfinx.fem.Function(self.V)
        if callable(u0):
            f.interpolate(u0)
        else:
            f.x.array[:] = float(u0)
        return f.x.array[: self.V.dofmap.index_map.size_local].copy()
