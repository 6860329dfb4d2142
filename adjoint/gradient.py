r"""The reduced functional J(m) of a coefficient problem F(u, a(m); v) = 0 and its adjoint derivative.

With the weak residual F(u, m; v) = ∫ a(m)∇u·∇v − f v (the default, −∇·(a∇u) = f) or any
residual ``(u, a, v) -> ufl.Form``, affine or nonlinear in u, a = g(m), an observation
operator B and data d,

    J(m) = ½‖B u(m) − d‖² + Σ_k R_k(m),     F(u(m), m; v) = 0 for all v.

One derivative costs one forward and one adjoint solve:

* forward, F affine in u (detected from the form: ∂F/∂u does not depend on u): A u = b with
  A = ∂F/∂u (``ufl.derivative`` of F) and b = −F(0, m; ·), one KSP solve;
* forward, F nonlinear in u: Newton's method (PETSc SNES through
  ``dolfinx.fem.petsc.NonlinearProblem``, options ``SolverConfig.newton_options``) from the
  previous state, then A = ∂F/∂u assembled at the converged u (the tangent);
* adjoint: Aᵀ λ = Bᵀ(B u − d) with homogeneous Dirichlet data, solved with the same
  assembled operator and the same KSP/preconditioner: a plain solve when A is symmetric
  (checked at every assembly; the Dirichlet lifting is symmetric), a transposed solve
  (``KSPSolveTranspose``, the same LU factors) when it is not, e.g. with advection or a
  nonlinear diffusion a(u);
* derivative (the dual vector, a PETSc Vec): dJ = −∂F/∂m(u, m; λ)[q] + Σ_k ∂R_k/∂m[q],
  one vector assembly of a form taken with ``ufl.derivative`` from the same F;
* gradient (its Riesz representative in L²(Q)): M g = dJ with the mass matrix of the
  coefficient space Q (diagonal for DG0).

References:
    Hinze, Pinnau, Ulbrich, Ulbrich, *Optimization with PDE Constraints* (2009), §1.6;
    Villa, Petra, Ghattas, hIPPYlib, ACM TOMS 47 (2021).
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
from mpi4py import MPI
from petsc4py import PETSc

from adjoint.maps import AbstractCoefficientMap, IdentityMap
from adjoint.problem import DirichletData, FixedCoefficient, OptionValue, SolverConfig
from adjoint.reduced import AbstractReducedFunctional
from adjoint.regularization import AbstractRegularization

_Function = dolfinx.fem.Function[np.float64]  # PETSc here is real, double precision
# Function[Any]: DOLFINx's Function(V) is inferred as Function[float32] unless annotated.
Parameter = np.ndarray | PETSc.Vec | dolfinx.fem.Function[Any]
Residual = Callable[[ufl.core.expr.Expr, ufl.core.expr.Expr, ufl.core.expr.Expr], ufl.Form]
Source = float | Callable[[ufl.SpatialCoordinate], ufl.core.expr.Expr]


class CoefficientError(ValueError):
    """The parameter m is non-finite or gives a coefficient a = g(m) that is not > 0."""


def raise_collectively(comm: MPI.Comm, message: str | None, exc: type[Exception] = ValueError) -> None:
    """Raise ``exc`` on every rank if any rank has a non-empty ``message`` (first one wins).

    Validation is collective so that one rank never raises while the others wait in a
    collective call.
    """
    messages = comm.allgather(message)
    first = next((msg for msg in messages if msg), None)
    if first is not None:
        raise exc(first)


def _set_options(obj: PETSc.KSP | PETSc.SNES | PETSc.TAO, prefix: str,
                 options: Mapping[str, OptionValue]) -> None:
    opts = PETSc.Options()
    written = []
    for key, value in options.items():
        if not opts.hasName(prefix + key):
            opts.setValue(prefix + key, value)
            written.append(prefix + key)
    obj.setOptionsPrefix(prefix)
    obj.setFromOptions()
    for name in written:
        opts.delValue(name)


def _with_quadrature_degree(form: ufl.Form, degree: int | None) -> ufl.Form:
    """Give every integral of ``form`` without an explicit quadrature degree the degree ``degree``."""
    if degree is None:
        return form
    integrals = []
    for itg in form.integrals():
        metadata = dict(itg.metadata())
        metadata.setdefault("quadrature_degree", degree)
        integrals.append(itg.reconstruct(metadata=metadata))
    return ufl.Form(integrals)


def _ghost_update(x: PETSc.Vec, mode: str) -> None:
    # petsc4py's stub types the InsertMode/ScatterMode constants as int, ghostUpdate's arguments as
    # the enum classes; the constants are what ghostUpdate takes.
    if mode == "reverse":
        x.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)  # type: ignore[arg-type]
    else:
        x.ghostUpdate(addv=PETSc.InsertMode.INSERT, mode=PETSc.ScatterMode.FORWARD)  # type: ignore[arg-type]


def converged_reason(solver: PETSc.KSP | PETSc.SNES | PETSc.TAO) -> int:
    """The solver's converged reason (< 0: diverged) as the int that petsc4py returns.

    petsc4py's stub types it as the ``ConvergedReason`` class, whose members are ints.
    """
    return cast(int, solver.getConvergedReason())


def _snes_reason(reason: int) -> str:
    """``"SNES reason -5 (DIVERGED_MAX_IT)"``: the converged reason with its name."""
    names = [k for k, v in vars(PETSc.SNES.ConvergedReason).items()
             if v == reason and k.isupper() and "ITERATING" not in k]
    return f"SNES reason {reason}" + (f" ({names[0]})" if names else "")


@final
class ReducedFunctional(AbstractReducedFunctional):
    """J(m) = ½‖B u(m) − d‖² + Σ R_k for F(u, g(m); v) = 0, with an adjoint derivative.

    The state equation is −∇·(g(m)∇u) = f by default, or a custom weak residual. A residual
    affine in u is solved with one KSP solve; one that is nonlinear in u (``nonlinear`` is
    ``True``, decided at construction) with Newton's method, PETSc SNES under the options
    prefix ``solver.prefix + "newton_"`` with :attr:`SolverConfig.newton_options
    <adjoint.problem.SolverConfig>` (linear solver of the steps: ``state_options``). Newton
    starts from the last state (0 at the first solve, and again after a failed one) with its
    Dirichlet values set; the adjoint then solves with the tangent ∂F/∂u at the converged
    state, transposed if it is not symmetric.

    The parameter m lives in ``Q`` (P1 nodal or DG0 cellwise); parameters are passed as
    numpy arrays of this rank's owned values of Q, PETSc Vecs in Q's layout, or
    ``Function`` objects on Q. The last forward state (and adjoint) is cached while m is
    unchanged. ``n_forward``, ``n_adjoint`` and ``n_riesz`` count the solves (a converged
    Newton solve counts as one forward solve) and ``n_newton`` the Newton iterations of the
    converged nonlinear forward solves.

    Args:
        msh: the mesh (1D to 3D).
        observation: the observation operator B (``PETSc.Mat``; rows: this rank's
            observations, columns: the dofs of the state space V in its PETSc layout).
        data: this rank's data d (numpy, one entry per local row of B).
        coefficient_space: ``"P1"`` (nodal) or ``"DG0"`` (cellwise) coefficient.
        coefficient_map: a = g(m); :class:`~adjoint.maps.IdentityMap` by default.
        regularization: regularisers R_k (see :mod:`adjoint.regularization`).
        source: f, a constant or ``x -> UFL expression`` (x the spatial coordinate);
            used by the default residual.
        residual: optional weak residual ``(u, a, v) -> ufl.Form``, affine or nonlinear
            in u, replacing the default ∫ a∇u·∇v − f v (then ``source`` must be ``None``).
        dirichlet: Dirichlet data of the state (default u = 0 on the whole boundary).
        facet_tags: ``dolfinx.mesh.MeshTags`` of facets, needed when tags are given.
        fixed_coefficient: keep m fixed on tagged boundary facets (see
            :class:`~adjoint.problem.FixedCoefficient`).
        state_degree: Lagrange degree of the state space V.
        quadrature_degree: quadrature degree of every integral without one of its own.
            Default: UFL's estimate for the identity map; ``2 * state_degree + 1`` for
            other maps, whose exp() would otherwise drive the estimate (and the assembly
            time) up. The discrete J and its derivative use the same rule, so the derivative
            stays exact.
        solver: PETSc options (see :class:`~adjoint.problem.SolverConfig`).

    Evaluating at a parameter with non-finite values or a coefficient that is not > 0
    raises :class:`CoefficientError` (a ``ValueError``) on every rank; a forward or adjoint
    solve that does not converge (for a nonlinear residual: Newton, with the SNES reason and
    the iteration count) raises ``RuntimeError`` on every rank.

    Raises:
        ValueError: wrong data length, non-finite data, unknown facet tag, B not
            matching V, an unknown coefficient space.
    """

    def __init__(
        self,
        msh: dolfinx.mesh.Mesh[np.float64],
        *,
        observation: PETSc.Mat,
        data: np.ndarray,
        coefficient_space: Literal["P1", "DG0"] = "P1",
        coefficient_map: AbstractCoefficientMap | None = None,
        regularization: Sequence[AbstractRegularization] = (),
        source: Source | None = 1.0,
        residual: Residual | None = None,
        dirichlet: Sequence[DirichletData] = (DirichletData(),),
        facet_tags: dolfinx.mesh.MeshTags | None = None,
        fixed_coefficient: FixedCoefficient | None = None,
        state_degree: int = 1,
        quadrature_degree: int | None = None,
        solver: SolverConfig | None = None,
    ) -> None:
        comm = msh.comm
        self.comm = comm
        self.mesh = msh
        if coefficient_space not in ("P1", "DG0"):
            raise ValueError(f"coefficient_space must be 'P1' or 'DG0', got {coefficient_space!r}")
        if residual is not None and source is not None:
            raise ValueError("pass either a residual or a source (the source is used only by the "
                             "default residual); set source=None with a custom residual")
        self.coefficient_space = coefficient_space
        self.coefficient_map = coefficient_map if coefficient_map is not None else IdentityMap()
        self.regularization = tuple(regularization)
        self.solver_config = solver if solver is not None else SolverConfig()
        tdim = msh.topology.dim
        msh.topology.create_connectivity(tdim - 1, tdim)

        self.V = dolfinx.fem.functionspace(msh, ("Lagrange", state_degree))
        self.Q = dolfinx.fem.functionspace(msh, ("Lagrange", 1) if coefficient_space == "P1"
                                           else ("DG", 0))
        self._check_observation(observation, data)
        self.B = observation
        self.d = observation.createVecLeft()
        self.d.array[:] = np.asarray(data, dtype=float)
        self._r = observation.createVecLeft()

        # Boundary conditions of the state and the fixed parameter dofs.
        known_tags = self._known_tags(facet_tags)
        self.bcs: list[dolfinx.fem.DirichletBC[np.float64]] = []
        for bc_data in dirichlet:
            facets = self._facets(bc_data.tags, facet_tags, known_tags, "DirichletData")
            dofs = dolfinx.fem.locate_dofs_topological(self.V, tdim - 1, facets)
            g = dolfinx.fem.Function(self.V)
            if callable(bc_data.value):
                g.interpolate(bc_data.value)
            else:
                g.x.array[:] = float(bc_data.value)
            self.bcs.append(dolfinx.fem.dirichletbc(g, dofs))
        n_owned_v = self.V.dofmap.index_map.size_local
        self._bc_dofs_owned = np.unique(np.concatenate(
            [bc.dof_indices()[0][: bc.dof_indices()[1]] for bc in self.bcs] + [np.zeros(0, np.int32)]))
        assert np.all(self._bc_dofs_owned < n_owned_v)

        self._fixed_dofs_all = np.zeros(0, dtype=np.int32)
        if fixed_coefficient is not None:
            facets = self._facets(fixed_coefficient.tags, facet_tags, known_tags, "FixedCoefficient")
            if coefficient_space == "P1":
                self._fixed_dofs_all = dolfinx.fem.locate_dofs_topological(self.Q, tdim - 1, facets)
            else:
                cells = dolfinx.mesh.compute_incident_entities(msh.topology, facets, tdim - 1, tdim)
                self._fixed_dofs_all = dolfinx.fem.locate_dofs_topological(self.Q, tdim, cells)
        self.n_local = self.Q.dofmap.index_map.size_local
        self.fixed_dofs = np.sort(self._fixed_dofs_all[self._fixed_dofs_all < self.n_local])

        # Forms: everything is derived from the one weak residual F(u, m; v).
        self.m: _Function = dolfinx.fem.Function(self.Q, name="m")
        self.u: _Function = dolfinx.fem.Function(self.V, name="u")
        self.adjoint_state: _Function = dolfinx.fem.Function(self.V, name="lambda")
        u0: _Function = dolfinx.fem.Function(self.V)  # zero: b = −F(0, m; v)
        v, du = ufl.TestFunction(self.V), ufl.TrialFunction(self.V)
        q = ufl.TestFunction(self.Q)
        a_coef = self.coefficient_map.ufl(self.m)
        if residual is None:
            if source is None:
                raise ValueError("source=None needs a custom residual (the default is ∫ a∇u·∇v − f v)")
            x = ufl.SpatialCoordinate(msh)
            f = source(x) if callable(source) else dolfinx.fem.Constant(msh, float(source))
            F = ufl.inner(a_coef * ufl.grad(self.u), ufl.grad(v)) * ufl.dx - f * v * ufl.dx
        else:
            F = residual(self.u, a_coef, v)
        if quadrature_degree is None and not isinstance(self.coefficient_map, IdentityMap):
            quadrature_degree = 2 * state_degree + 1
        F = _with_quadrature_degree(F, quadrature_degree)
        self.weak_residual = F
        tangent = ufl.derivative(F, self.u, du)
        # The derivative node itself refers to u; only the expanded derivative shows a real dependence.
        self.nonlinear: bool = self.u in ufl.algorithms.extract_coefficients(
            ufl.algorithms.expand_derivatives(tangent))
        self._a = dolfinx.fem.form(tangent)
        self._L = None if self.nonlinear else dolfinx.fem.form(-ufl.replace(F, {self.u: u0}))
        reg_forms = [_with_quadrature_degree(
            R.form(a_coef if R.on == "coefficient" else self.m, coefficient_space, msh), quadrature_degree)
            for R in self.regularization]
        dJ = -ufl.derivative(ufl.replace(F, {v: self.adjoint_state}), self.m, q)
        for R_form in reg_forms:
            dJ = dJ + ufl.derivative(R_form, self.m, q)
        self._dJ = dolfinx.fem.form(dJ)
        self._R = dolfinx.fem.form(sum(reg_forms[1:], reg_forms[0])) if reg_forms else None

        # Operators and solvers, created once.
        self.A = dolfinx.fem.petsc.create_matrix(self._a)
        self._b = dolfinx.fem.petsc.create_vector(self.V)
        self._rhs_adj = dolfinx.fem.petsc.create_vector(self.V)
        self.ksp = PETSc.KSP().create(comm)
        self.ksp.setOperators(self.A)
        _set_options(self.ksp, self.solver_config.prefix, dict(self.solver_config.state_options))
        self._init_riesz()
        self._newton: dolfinx.fem.petsc.NonlinearProblem | None = None
        if self.nonlinear:
            self._newton = self._init_newton(F)

        self._symmetric = True
        self.n_forward = 0
        self.n_newton = 0
        self.n_adjoint = 0
        self.n_riesz = 0
        self._m_state: np.ndarray | None = None
        self._m_derivative: np.ndarray | None = None
        self._derivative: PETSc.Vec | None = None

    # ----------------------------------------------------------------------------- validation
    def _check_observation(self, B: PETSc.Mat, data: np.ndarray) -> None:
        imap = self.V.dofmap.index_map
        rows, cols = B.getLocalSize()
        cols_global = B.getSize()[1]
        msg = None
        if cols != imap.size_local or cols_global != imap.size_global:
            msg = (f"observation operator has {cols} local / {cols_global} global columns but the "
                   f"state space has {imap.size_local} local / {imap.size_global} global dofs")
        data = np.asarray(data)
        if msg is None and (data.ndim != 1 or data.shape[0] != rows):
            msg = (f"data has shape {data.shape} on rank {self.comm.rank} but the observation "
                   f"operator has {rows} rows there (B rows != len(d))")
        if msg is None and not np.all(np.isfinite(data)):
            msg = f"data contains non-finite values on rank {self.comm.rank}"
        raise_collectively(self.comm, msg)

    def _known_tags(self, facet_tags: dolfinx.mesh.MeshTags | None) -> set[int]:
        local = set() if facet_tags is None else {int(t) for t in np.unique(facet_tags.values)}
        return set().union(*self.comm.allgather(local))

    def _facets(self, tags: tuple[int, ...] | None, facet_tags: dolfinx.mesh.MeshTags | None,
                known: set[int], what: str) -> np.ndarray:
        if tags is None:
            return dolfinx.mesh.exterior_facet_indices(self.mesh.topology)
        if facet_tags is None:
            raise ValueError(f"{what} has tags {tags} but no facet_tags were given")
        unknown = sorted(set(tags) - known)
        if unknown:
            raise ValueError(f"{what}: unknown facet tag(s) {unknown}; the facet tags are {sorted(known)}")
        return np.unique(np.concatenate([facet_tags.find(t) for t in tags])).astype(np.int32)

    def _set_parameter(self, m: Parameter) -> np.ndarray:
        """Validate m, copy it into ``self.m`` and return the owned values."""
        values = self.as_array(m)
        msg = None
        if not np.all(np.isfinite(values)):
            msg = f"parameter m has non-finite values on rank {self.comm.rank}"
        else:
            a = self.coefficient_map.numpy(values)
            if a.size and not (np.all(np.isfinite(a)) and a.min() > 0.0):
                msg = (f"the coefficient a = g(m) must be finite and > 0; on rank {self.comm.rank} "
                       f"its values lie in [{a.min():.6g}, {a.max():.6g}]")
        raise_collectively(self.comm, msg, CoefficientError)
        self.m.x.array[: self.n_local] = values
        self.m.x.scatter_forward()
        return values

    def as_array(self, m: Parameter) -> np.ndarray:
        """Return a copy of this rank's owned values of a parameter (numpy, Vec or Function)."""
        values: np.ndarray
        if isinstance(m, dolfinx.fem.Function):
            values = m.x.array[: self.n_local]
        elif isinstance(m, PETSc.Vec):
            values = m.array_r
        else:
            values = np.asarray(m, dtype=float)
        if values.shape != (self.n_local,):
            raise ValueError(f"parameter has shape {values.shape} on rank {self.comm.rank}; expected "
                             f"({self.n_local},), the owned dofs of the {self.coefficient_space} space")
        return np.array(values, dtype=float)

    # ----------------------------------------------------------------------------- solves
    def _solve(self, b: PETSc.Vec, x: PETSc.Vec, what: str) -> None:
        # The adjoint system is the transpose of the tangent, (∂F/∂u)ᵀ λ = Bᵀr: a transposed solve
        # with the same operator and factorisation when A is not symmetric (e.g. advection); a
        # plain solve, the same system, when it is (a transposed triangular solve would only
        # change the round-off).
        if what == "adjoint" and not self._symmetric:
            self.ksp.solveTranspose(b, x)
        else:
            self.ksp.solve(b, x)
        reason = converged_reason(self.ksp)
        if reason < 0:
            raise RuntimeError(f"{what} solve did not converge (KSP reason {reason}, "
                               f"{self.ksp.getIterationNumber()} iterations)")
        _ghost_update(x, "forward")

    def _assemble_tangent(self) -> None:
        """Assemble A = ∂F/∂u at the current u and m (with the bcs) and check its symmetry."""
        self.A.zeroEntries()
        # assemble_matrix/assemble_vector are functools.singledispatch functions; mypy sees only
        # the form-first signature, not the registered "into this Mat/Vec" one called here.
        dolfinx.fem.petsc.assemble_matrix(self.A, self._a, bcs=self.bcs)  # type: ignore[misc, arg-type]
        self.A.assemble()
        # symmetric to round-off (Dirichlet rows and columns are both eliminated): checked on
        # every assembly, O(nnz), since the coefficient (and for a nonlinear F the state) may change it
        scale = cast(float, self.A.norm())  # Frobenius (a pair only for NORM_1_AND_2)
        self._symmetric = bool(self.A.isSymmetric(1e-13 * scale))

    def _init_newton(self, F: ufl.Form) -> dolfinx.fem.petsc.NonlinearProblem:
        """The SNES of a nonlinear forward solve, options ``state_options`` then ``newton_options``."""
        prefix = self.solver_config.prefix + "newton_"
        problem = dolfinx.fem.petsc.NonlinearProblem(F, self.u, bcs=self.bcs, petsc_options_prefix=prefix)
        # The options go through _set_options rather than NonlinearProblem's petsc_options, which
        # overwrites options already in the database and leaves its own behind there (it writes them
        # under a pushed prefix but deletes the unprefixed names), so they would leak into every
        # later SNES with this prefix. _set_options lets the database win and removes what it wrote.
        _set_options(problem.solver, prefix,
                     {**self.solver_config.state_options, **self.solver_config.newton_options})
        return problem

    def _solve_newton(self) -> None:
        """Solve F(u, m; v) = 0 by Newton from the last state, then assemble the tangent there."""
        assert self._newton is not None
        for bc in self.bcs:  # start on the constraint: Newton's boundary rows are then satisfied
            bc.set(self.u.x.array)
        self._newton.solve()
        snes = self._newton.solver
        # The SNES reason and iteration count are the same on every rank: all raise, or none.
        reason, iterations = converged_reason(snes), int(snes.getIterationNumber())
        if reason <= 0:
            self.u.x.array[:] = 0.0  # the next solve starts from 0, not from a diverged iterate
            raise RuntimeError(f"forward solve: Newton did not converge ({_snes_reason(reason)}, "
                               f"{iterations} iterations, options prefix {snes.getOptionsPrefix()!r})")
        self.n_newton += iterations
        self._assemble_tangent()
        self.ksp.setOperators(self.A)  # the adjoint solve's operator: the tangent at the solution

    def _forward(self, m: Parameter) -> None:
        values = self._set_parameter(m)
        if self._unchanged(self._m_state, values):
            return
        self._m_state = None  # u and A change below: no cache hit if a solve fails
        if self.nonlinear:
            self._solve_newton()
        else:
            self._assemble_tangent()
            assert self._L is not None
            with self._b.localForm() as b_local:
                b_local.set(0.0)
            dolfinx.fem.petsc.assemble_vector(self._b, self._L)  # type: ignore[arg-type]
            dolfinx.fem.petsc.apply_lifting(self._b, [self._a], bcs=[self.bcs])
            _ghost_update(self._b, "reverse")
            dolfinx.fem.petsc.set_bc(self._b, self.bcs)
            self.ksp.setOperators(self.A)  # new values: the preconditioner is rebuilt once, here
            self._solve(self._b, self.u.x.petsc_vec, "forward")
        self.n_forward += 1
        self.B.mult(self.u.x.petsc_vec, self._r)
        self._r.axpy(-1.0, self.d)
        self._m_state = values

    def state(self, m: Parameter) -> _Function:
        """Return (a copy of) the state u(m)."""
        self._forward(m)
        return self.u.copy()

    def observe(self, m: Parameter) -> np.ndarray:
        """Return this rank's observations B u(m) (e.g. to make synthetic data)."""
        self._forward(m)
        return self._r.array + self.d.array

    def misfit(self, m: Parameter) -> float:
        """Return ½‖B u(m) − d‖²."""
        self._forward(m)
        # The 2-norm is a float (a pair only for NORM_1_AND_2).
        return 0.5 * cast(float, self._r.norm()) ** 2

    def derivative(self, m: Parameter) -> PETSc.Vec:
        """Return the derivative dJ/dm, the dual vector ⟨dJ, δm⟩ = J'(m)δm, as a new PETSc Vec.

        Costs one forward solve (unless cached) and one adjoint solve (unless cached),
        with the same operator and preconditioner. Entries at fixed dofs are zero.
        """
        self._forward(m)
        values = self._m_state
        assert values is not None
        if self._derivative is None or not self._unchanged(self._m_derivative, values):
            self.B.multTranspose(self._r, self._rhs_adj)
            self._rhs_adj.array_w[self._bc_dofs_owned] = 0.0  # λ = 0 where u is prescribed
            self._solve(self._rhs_adj, self.adjoint_state.x.petsc_vec, "adjoint")
            self.n_adjoint += 1
            dJ = dolfinx.fem.petsc.assemble_vector(self._dJ)
            _ghost_update(dJ, "reverse")
            dJ.array_w[self.fixed_dofs] = 0.0
            self._derivative = dJ
            self._m_derivative = values
        return self._derivative.copy()

    def gradient(self, m: Parameter) -> PETSc.Vec:
        """Return the L² gradient g = M⁻¹ dJ (Riesz representative in the coefficient space Q).

        ‖g‖_M = √⟨dJ, g⟩ is the mesh-independent gradient norm; g = 0 at fixed dofs.
        """
        dJ = self.derivative(m)
        return self.riesz(dJ)

    def riesz(self, dual: PETSc.Vec) -> PETSc.Vec:
        """Return M⁻¹ dual, the Riesz representative of a dual vector on Q."""
        g = self._mass_diag.duplicate() if self._mass_diag is not None else self.M.createVecRight()
        if self._mass_diag is not None:
            g.pointwiseDivide(dual, self._mass_diag)
        else:
            assert self.riesz_ksp is not None  # P1: no diagonal, a KSP (see _init_riesz)
            self.riesz_ksp.solve(dual, g)
            if converged_reason(self.riesz_ksp) < 0:
                raise RuntimeError(f"mass-matrix solve failed ({converged_reason(self.riesz_ksp)})")
        g.array_w[self.fixed_dofs] = 0.0
        self.n_riesz += 1
        return g

    def _init_riesz(self) -> None:
        p, q = ufl.TrialFunction(self.Q), ufl.TestFunction(self.Q)
        fixed_bc = dolfinx.fem.dirichletbc(0.0, self._fixed_dofs_all, self.Q)
        self.M = dolfinx.fem.petsc.assemble_matrix(dolfinx.fem.form(p * q * ufl.dx), bcs=[fixed_bc])
        self.M.assemble()
        self._mass_diag: PETSc.Vec | None = None
        self.riesz_ksp: PETSc.KSP | None = None
        if self.coefficient_space == "DG0":
            self._mass_diag = self.M.createVecRight()
            self.M.getDiagonal(self._mass_diag)
        else:
            self.riesz_ksp = PETSc.KSP().create(self.comm)
            self.riesz_ksp.setOperators(self.M)
            _set_options(self.riesz_ksp, self.solver_config.prefix + "riesz_",
                         dict(self.solver_config.riesz_options))

    # ----------------------------------------------------------------------------- helpers
    def parameter_from_coefficient(
        self, a: float | np.ndarray | Callable[[np.ndarray], np.ndarray]
    ) -> np.ndarray:
        """Return the owned values of m = g⁻¹(a).

        Args:
            a: a constant; a callable ``x -> a(x)`` (x of shape (3, N)), interpolated into Q
                (nodal values for P1, midpoint values for DG0); or an array of this rank's
                owned coefficient values in Q (e.g. a Gaussian-random-field sample).
        """
        f = dolfinx.fem.Function(self.Q)
        if isinstance(a, np.ndarray):
            return self.coefficient_map.inverse(self.as_array(a))
        if callable(a):
            f.interpolate(a)
        else:
            f.x.array[:] = float(a)
        return self.coefficient_map.inverse(f.x.array[: self.n_local].copy())

    def coefficient(self, m: Parameter) -> np.ndarray:
        """Return this rank's owned values of the coefficient a = g(m) (nodal or cellwise)."""
        return self.coefficient_map.numpy(self.as_array(m))

    def coefficient_function(self, m: Parameter) -> _Function:
        """Return a = g(m) as a Function on Q (g applied to the dof values)."""
        f: _Function = dolfinx.fem.Function(self.Q, name="a")
        f.x.array[: self.n_local] = self.coefficient(m)
        f.x.scatter_forward()
        return f

    def global_size(self) -> int:
        """Number of parameter dofs over all ranks."""
        return int(self.Q.dofmap.index_map.size_global)
