# # Variable-diffusion Poisson: infer a diffusion function D(x) from 51 observations
#
# This comparison shows:
# - BiLO with an unknown *function* (a second network D_V, paper §2.3) against the PINN at
#   three data weights and against the classical adjoint method (plain gradient descent and
#   TAO's bound-constrained L-BFGS), on the same data, at one noise level per invocation;
# - every method at every regularisation weight w_reg ∈ {1e-4, 1e-3, 1e-2} (none is picked
#   for it: each weight is a row of the report);
# - the relative L2 error of the inferred D against the truth, of the network solution
#   against a finite-element solve at the inferred D, the data misfit, and the cost (wall
#   time, steps, seconds per step; forward and adjoint solves for the adjoint).
#
# The problem (paper §3.3, eq. 30 and App. B.2; project choices in
# `shared/specs/paper-experiments.md` §4):
#
# $$ \big(D(x)\, u'(x)\big)' = f(x), \quad x \in (0, 1), \qquad u(0) = u(1) = 0, \qquad
#    f(x) = -\pi^2 \sin(\pi x), $$
#
# $$ D_{true}(x) = 1 + \tfrac12\big(1 - 2|x - \tfrac12|\big), \qquad D_0 \equiv 1
#    \ (\text{so } u_0 = \sin \pi x), \qquad D(0) = D(1) = 1. $$
#
# Data: u at 51 uniform points of [0, 1] (ends included), from a P2 finite-element solve at
# the truth on a fine mesh, plus Gaussian noise of standard deviation σ; residual points:
# 101 uniform points.
#
# Hybrid methods: $D_V(x) = 1 + x(1-x)\,\mathrm{MLP}_V(x)$ keeps $D(0) = D(1) = 1$; the local
# operator $u(x, z; W) = x(1-x)\,N(x, z; W)$ takes the auxiliary variable $z = D_V(x)$ through
# its embedding. The residual is $r = (z u_x)_x - f = z_x u_x + z u_{xx} - f$ and the
# residual-gradient is taken with respect to the node $z$ (paper eqs. 9–11 with θ replaced by
# z; spec §1.3). BiLO's lower level minimises $L_{res} + 0.1\,L_{rgrad}$ over W, its upper
# level $L_{dat} + w_{reg}\,\mathrm{mean}|D_V'|^2$ over V (eq. 12 plus the H1 regulariser).
# The PINN minimises $L_{res} + w_{dat} L_{dat} + w_{reg}\,\mathrm{mean}|D_V'|^2$ over (W, V).
#
# Adjoint: P1 state and nodal P1 coefficient on a uniform mesh, D fixed to 1 at both ends,
# $J(D) = \tfrac12\big[\mathrm{mean}_j (u(x_j) - d_j)^2 + w_{reg} \int_0^1 |D'|^2\big]$, i.e.
# half the hybrid methods' upper-level objective, so a weight means the same for every
# method (paper App. B.2.1 uses a sum over the observations; the mean makes the weights
# comparable).
#
# Run `python -m comparisons.poisson --help`.

# +
from __future__ import annotations

import json
import math
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from mpi4py import MPI

import fem  # noqa: F401  (loads MPI before dolfinx/petsc4py)
import adjoint
import dolfinx
import ufl
from comparisons import cli
from comparisons.report import Report
from fem.evaluation import PointEvaluator
from fem.forward import solve_elliptic
from fem.meshes import interval
from fem.metrics import relative_l2_error, trapezoid_weights
from fem.parallel import print0, run_collectively
from hybrid import (PINN, AbstractFunctionPDE, BiLO, BiLOConfig, BiLOFinetuneConfig, FunctionNetworkConfig,
                    NetworkConfig, PINNConfig, PINNFinetuneConfig, PretrainConfig, RegularizerConfig)

METHOD_OPTIONS = {"bilo": ("w_reg",), "pinn": ("w_dat", "w_reg"), "adjoint_gd": ("w_reg",),
                  "adjoint_tao": ("w_reg",)}
# -

# ## The problem, declared once
#
# `VariablePoisson` holds the strong form (torch, for BiLO and the PINN) next to the weak
# form (UFL, for the adjoint), the truth and the initial guess. The finite-element
# reference uses `fem.solve_elliptic`, which solves −(a u')' = g, i.e. the same PDE with
# a = D and g = −f.

# +


def hat(x: np.ndarray) -> np.ndarray:
    """D_true(x) = 1 + ½(1 − 2|x − ½|) for x of shape (N,)."""
    return 1.0 + 0.5 * (1.0 - 2.0 * np.abs(np.asarray(x) - 0.5))


@dataclass(frozen=True, kw_only=True)
class VariablePoisson(AbstractFunctionPDE):
    """(D u')' = −π² sin(πx) on (0, 1), u(0) = u(1) = 0; the unknown is the function D."""

    param_names: tuple[str, ...] = ("D",)
    input_dim: int = 1

    @staticmethod
    def source(x: np.ndarray) -> np.ndarray:
        """f(x) = −π² sin(πx)."""
        return -math.pi**2 * np.sin(math.pi * np.asarray(x))

    def function_transform(self, x: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """D_V = 1 + x(1−x)·v: D(0) = D(1) = 1 exactly."""
        s = x[:, 0]
        return 1 + s * (1 - s) * v

    def output_transform(self, x: torch.Tensor, N: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
        """u = x(1−x)·N: exact homogeneous Dirichlet values."""
        s = x[:, 0]
        return s * (1 - s) * N

    def residual(self, x: torch.Tensor, u: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
        """r = (z u_x)_x − f = z_x u_x + z u_xx − f, with z = D_V(x) of shape (n, 1).

        z depends on x through D_V's graph, so differentiating z·u_x with respect to x gives
        z_x u_x + z u_xx; dr/dz (the residual-gradient) then holds z_x fixed (spec §1.3).
        """
        z = theta[:, 0]
        (u_x,) = torch.autograd.grad(u.sum(), x, create_graph=True)
        (flux_x,) = torch.autograd.grad((z * u_x[:, 0]).sum(), x, create_graph=True)
        f = -math.pi**2 * torch.sin(math.pi * x[:, 0])
        return flux_x[:, 0] - f

    @staticmethod
    def weak_residual(u: ufl.core.expr.Expr, D: ufl.core.expr.Expr, v: ufl.Argument) -> ufl.Form:
        """F(u, D; v) = ∫ D u' v' + ∫ f v: the weak form of (D u')' = f with u = 0 at the ends."""
        x = ufl.SpatialCoordinate(ufl.domain.extract_unique_domain(v))
        f = -math.pi**2 * ufl.sin(math.pi * x[0])
        return ufl.inner(D * ufl.grad(u), ufl.grad(v)) * ufl.dx + f * v * ufl.dx
# -

# ## Configuration and presets
#
# The preset sizes were chosen from measured seconds per step on a 2-core CPU (see
# `docs/results/poisson.md`).

# +


@dataclass(frozen=True, kw_only=True)
class FEMConfig:
    """The finite-element reference: P2 on a uniform mesh (data and u validation)."""

    cells: int = 1000
    degree: int = 2


@dataclass(frozen=True, kw_only=True)
class AdjointConfig:
    """The adjoint baseline: nodal P1 coefficient, fixed ends, two optimisers.

    Attributes:
        cells: Cells of the uniform mesh of the state and the coefficient.
        gd_max_iter: Iteration limit of gradient descent.
        gd_step_factor: The fixed step is this factor times the stability limit h²/(6 w_reg)
            of the H1 term's L² gradient (P1 mass and stiffness), capped at ``gd_step_max``.
        gd_step_max: Largest fixed step (it also has to be stable for the data term).
        gd_gtol: Stop when ‖g‖_M is below this.
        tao_max_iter: Iteration limit of BLMVM.
        tao_gttol: Stop when ‖dJ‖ fell by this factor.
        lower: Lower bound on D for TAO (positivity).
        upper: Upper bound on D for TAO.
    """

    cells: int = 200
    gd_max_iter: int = 50_000
    gd_step_factor: float = 0.9
    gd_step_max: float = 20.0
    gd_gtol: float = 1e-7
    tao_max_iter: int = 1000
    tao_gttol: float = 1e-6
    lower: float = 0.1
    upper: float = 10.0

    def gd_step(self, w_reg: float) -> float:
        """The fixed gradient-descent step at weight ``w_reg``."""
        h = 1.0 / self.cells
        if w_reg <= 0:
            return self.gd_step_max
        return min(self.gd_step_max, self.gd_step_factor * h**2 / (6 * w_reg))


def _bilo(steps_pre: int, steps_fine: int) -> BiLOConfig:
    # Paper App. B.2: local operator 2×128 hidden (depth 4), D_V 3×64 tanh; w_rgrad = 0.1; Adam
    # lr 1e-3 for both levels (spec §1.5). The smoke preset keeps these sizes: smaller networks
    # do not move D in a few hundred steps, and 101 points keep a step cheap anyway.
    net, fnet = NetworkConfig(depth=4, width=128), FunctionNetworkConfig()
    return BiLOConfig(network=net, function_network=fnet, pretrain=PretrainConfig(steps=steps_pre, lr=1e-3),
                      finetune=BiLOFinetuneConfig(steps=steps_fine, lr_W=1e-3, lr_theta=1e-3, w_rgrad=0.1),
                      log_every=50)


def _pinn(steps_pre: int, steps_fine: int) -> PINNConfig:
    net, fnet = NetworkConfig(depth=4, width=128), FunctionNetworkConfig()
    return PINNConfig(network=net, function_network=fnet, pretrain=PretrainConfig(steps=steps_pre, lr=1e-3),
                      finetune=PINNFinetuneConfig(steps=steps_fine, lr_W=1e-3, lr_theta=1e-3), log_every=50)


@dataclass(frozen=True, kw_only=True)
class PoissonConfig:
    """Everything a Poisson comparison run needs; presets via :meth:`preset`."""

    n_res: int = 101
    n_dat: int = 51
    n_eval: int = 1001
    seeds: int = 1  # 18 method/weight rows per seed: one seed keeps `default` near 30 min on 2 cores
    reg_weights: tuple[float, ...] = (1e-4, 1e-3, 1e-2)
    pinn_data_weights: tuple[float, ...] = (10.0, 100.0, 1000.0)
    default_reg_weight: float = 1e-3
    fem: FEMConfig = field(default_factory=FEMConfig)
    adjoint: AdjointConfig = field(default_factory=AdjointConfig)
    bilo: BiLOConfig = field(default_factory=lambda: _bilo(1500, 5000))
    pinn: PINNConfig = field(default_factory=lambda: _pinn(1500, 5000))

    @classmethod
    def preset(cls, name: str) -> PoissonConfig:
        """``smoke`` (tests, < 1 min), ``default`` (< 30 min on 2 cores), ``paper`` (10k + 10k, 5 seeds)."""
        if name == "smoke":
            return cls(seeds=1, fem=FEMConfig(cells=200),
                       adjoint=AdjointConfig(cells=50, gd_max_iter=200, tao_max_iter=200),
                       bilo=_bilo(200, 300), pinn=_pinn(200, 300))
        if name == "default":
            return cls()
        if name == "paper":
            return cls(seeds=5, bilo=_bilo(10_000, 10_000), pinn=_pinn(10_000, 10_000),
                       adjoint=AdjointConfig(cells=400, gd_max_iter=200_000))
        raise ValueError(f"unknown preset {name!r}")

    def default_methods(self) -> str:
        """Every method at every weight: BiLO ×3, PINN 3 w_dat × 3 w_reg, adjoint 2 optimisers ×3."""
        w = [cli._fmt(v) for v in self.reg_weights]
        items = [f"bilo(w_reg={r})" for r in w]
        items += [f"pinn(w_dat={cli._fmt(d)},w_reg={r})" for d in self.pinn_data_weights for r in w]
        items += [f"adjoint_{o}(w_reg={r})" for o in ("gd", "tao") for r in w]
        return ",".join(items)


SMOKE_METHODS = ("bilo(w_reg=0.001),pinn(w_dat=100,w_reg=0.001),adjoint_gd(w_reg=0.001),"
                 "adjoint_tao(w_reg=0.001)")
# -

# ## The finite-element side: reference solutions and the adjoint problem
#
# `FEMOracle` gives u on any point set for a coefficient given as a callable (the truth,
# the initial guess, or a network's D_V). `adjoint_problem` builds the reduced functional
# of the adjoint baseline from the same weak residual; the observation matrix comes from
# `fem.PointEvaluator`, scaled by 1/√N_dat so that ½‖Bu − d‖² is half the mean squared misfit.

# +


class FEMOracle:
    """P_k finite-element solves of (D u')' = f on a uniform mesh of (0, 1)."""

    def __init__(self, cfg: FEMConfig, comm: MPI.Comm) -> None:
        self.cfg = cfg
        self.mesh = interval(comm, cfg.cells)
        self.n_solves = 0

    def solve_on(self, D, x: np.ndarray) -> np.ndarray:
        """u at points x (N,) for D a callable (N,) -> (N,) (must be > 0 and finite)."""
        sol = solve_elliptic(self.mesh, a=lambda X: D(X[0]), f=lambda X: -VariablePoisson.source(X[0]),
                             degree=self.cfg.degree)
        self.n_solves += 1
        return sol.sample(np.asarray(x)[:, None])


@dataclass(frozen=True, kw_only=True)
class AdjointProblem:
    """The assembled adjoint baseline at one weight.

    Attributes:
        rf: The reduced functional (P1 coefficient D, ends fixed).
        m_init: This rank's owned nodal values of D ≡ 1.
        scale: √N_dat; the data in ``rf`` are d/scale.
        n_dat: Number of observations (global).
    """

    rf: adjoint.ReducedFunctional
    m_init: np.ndarray
    scale: float
    n_dat: int

    def coefficient_at(self, m: np.ndarray, x: np.ndarray) -> np.ndarray:
        """The P1 coefficient with owned values m at points x (N,) (every rank gets all values)."""
        return PointEvaluator(self.rf.Q, x[:, None]).evaluate(m)

    def data_mse(self, m: np.ndarray) -> float:
        """mean_j (u(x_j) − d_j)² (global) at D = m."""
        # rf.misfit = ½‖Bu − d‖² with B, d scaled by 1/√N: twice it is the mean squared misfit.
        return 2.0 * float(self.rf.misfit(m))


def adjoint_problem(x_dat: np.ndarray, u_obs: np.ndarray, w_reg: float, cfg: AdjointConfig,
                    comm: MPI.Comm, prefix: str = "poisson_adjoint_") -> AdjointProblem:
    """The reduced functional J(D) = ½[mean_j (u(x_j) − d_j)² + w_reg ∫|D'|²] on a P1 mesh.

    Args:
        x_dat: Observation points (N_dat,), the same on every rank.
        u_obs: Observations (N_dat,), the same on every rank.
        w_reg: H1 weight (≥ 0).
        cfg: Mesh and optimiser settings.
        comm: Communicator.
        prefix: PETSc options prefix of the state solver.

    Raises:
        ValueError: Data of the wrong shape or non-finite, a negative weight.
    """
    x_dat, u_obs = np.asarray(x_dat, dtype=float), np.asarray(u_obs, dtype=float)
    if u_obs.shape != x_dat.shape or x_dat.ndim != 1:
        raise ValueError(f"u_obs has shape {u_obs.shape} but x_dat has shape {x_dat.shape}; "
                         "expected equal shapes (N,)")
    if not (np.all(np.isfinite(u_obs)) and np.all(np.isfinite(x_dat))):
        raise ValueError("observations or observation points are not finite")
    msh = interval(comm, cfg.cells).mesh
    V = dolfinx.fem.functionspace(msh, ("Lagrange", 1))   # the reduced functional's state space
    # Rank 0 holds every observation row (the data are tiny); B is scaled by 1/√N.
    mine = x_dat if comm.rank == 0 else x_dat[:0]
    B = PointEvaluator(V, mine[:, None]).matrix()
    scale = math.sqrt(len(x_dat))
    B.scale(1.0 / scale)
    data = (u_obs if comm.rank == 0 else u_obs[:0]) / scale
    rf = adjoint.ReducedFunctional(
        msh, observation=B, data=data, source=None, residual=VariablePoisson.weak_residual,
        regularization=(adjoint.H1Seminorm(weight=w_reg),), fixed_coefficient=adjoint.FixedCoefficient(),
        solver=adjoint.SolverConfig(prefix=prefix))
    return AdjointProblem(rf=rf, m_init=rf.parameter_from_coefficient(1.0), scale=scale, n_dat=len(x_dat))
# -

# ## One run per method, weight and seed

# +


@dataclass(frozen=True, kw_only=True)
class Outcome:
    """What one method run produced, on the evaluation grid."""

    D: np.ndarray
    u: np.ndarray | None
    data_mse: float
    steps: int
    s_per_step: float
    extra: dict[str, float]
    reason: str = ""


def fit_hybrid(spec: cli.MethodSpec, cfg: PoissonConfig, pde: VariablePoisson, data: dict, *, device: str,
               dtype: str, seed: int, progress: bool) -> Outcome:
    """BiLO or PINN at the weights of ``spec``; D and u on the evaluation grid."""
    w_reg = spec.options.get("w_reg", cfg.default_reg_weight)
    reg = RegularizerConfig(kind="h1", weight=w_reg)
    if spec.name == "bilo":
        method = BiLO(replace(cfg.bilo, finetune=replace(cfg.bilo.finetune, regularizer=reg)))
    else:
        w_dat = spec.options.get("w_dat", cfg.pinn_data_weights[1])
        method = PINN(replace(cfg.pinn, finetune=replace(cfg.pinn.finetune, w_dat=w_dat, regularizer=reg)))
    res = method.fit(pde, x_res=data["x_res"][:, None], x_dat=data["x_dat"][:, None], u_dat=data["u_obs"],
                     theta_init=np.ones(cfg.n_res), u_ref=data["u_ref0"], x_ref=data["x_res"][:, None],
                     device=device, dtype=dtype, seed=seed, progress=progress)
    x_eval = data["x_eval"][:, None]
    mse = float(np.mean((res.predict(data["x_dat"][:, None]) - data["u_obs"]) ** 2))
    # FitResult.function gives the inferred unknown function f_V (here D_V) at any points.
    return Outcome(D=res.function(x_eval), u=res.predict(x_eval), data_mse=mse, steps=res.steps,
                   s_per_step=res.s_per_step, extra={})


def fit_adjoint(spec: cli.MethodSpec, cfg: PoissonConfig, data: dict, comm: MPI.Comm) -> Outcome:
    """Gradient descent or TAO BLMVM on the reduced functional; D on the evaluation grid."""
    w_reg = spec.options.get("w_reg", cfg.default_reg_weight)
    ac = cfg.adjoint
    prob = adjoint_problem(data["x_dat"], data["u_obs"], w_reg, ac, comm)
    t0 = time.perf_counter()
    if spec.name == "adjoint_gd":
        result = adjoint.gradient_descent(prob.rf, prob.m_init, adjoint.GradientDescentConfig(
            step=ac.gd_step(w_reg), max_iter=ac.gd_max_iter, gtol=ac.gd_gtol))
    else:
        result = adjoint.minimize_tao(prob.rf, prob.m_init, adjoint.TaoConfig(
            lower=ac.lower, upper=ac.upper, max_iter=ac.tao_max_iter, gatol=0.0, grtol=0.0,
            gttol=ac.tao_gttol))
    wall = time.perf_counter() - t0
    D = prob.coefficient_at(result.m, data["x_eval"])
    its = max(result.iterations, 1)
    return Outcome(D=D, u=None, data_mse=prob.data_mse(result.m), steps=result.iterations,
                   s_per_step=wall / its,
                   extra={"n_forward": float(result.n_forward), "n_adjoint": float(result.n_adjoint),
                          "converged": float(result.converged)}, reason=result.reason)


def _notes(cfg: PoissonConfig, init_err: float) -> list[str]:
    """The set-up in words, for the report."""
    ac = cfg.adjoint
    return [
        f"truth D = 1 + 0.5(1 − 2|x − 0.5|), initial guess D ≡ 1 (field_rel_l2 {init_err:.4g}); "
        f"f = −π² sin(πx); {cfg.n_dat} data points, {cfg.n_res} residual points; errors by the "
        f"trapezoid rule on {cfg.n_eval} points; u_rel_l2 against a P{cfg.fem.degree} FEM solve "
        f"({cfg.fem.cells} cells) at the inferred D (not for the adjoint: its u is its own FEM solution)",
        f"adjoint: P1 on {ac.cells} cells, J = ½[mean misfit² + w_reg ∫|D'|²]; gradient descent "
        f"with fixed step min({ac.gd_step_max}, {ac.gd_step_factor}·h²/(6 w_reg)), ≤ {ac.gd_max_iter} "
        f"iterations, ‖g‖ < {ac.gd_gtol}; TAO BLMVM with bounds [{ac.lower}, {ac.upper}], "
        f"≤ {ac.tao_max_iter} iterations; 'converged' = 1 when the tolerance, not the limit, stopped "
        "it (each run's stop reason is in the method's extra.stop_reason)",
    ]


def run(argv: list[str] | None = None) -> Report:
    """Parse the command line, run every requested method, weight and seed, write the report."""
    comm = MPI.COMM_WORLD
    base = PoissonConfig()
    parser = cli.common_parser(
        "python -m comparisons.poisson",
        "Infer the diffusion D(x) of (D u')' = f with BiLO, PINNs and the adjoint method; see the module "
        "docstring. Methods: bilo(w_reg=), pinn(w_dat=,w_reg=), adjoint_gd(w_reg=), adjoint_tao(w_reg=). "
        f"The smoke preset runs '{SMOKE_METHODS}' unless --methods is given.",
        base.default_methods())
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads (default 1: with 101 points the networks are too small "
                             "to gain from more, and a second thread on a shared 2-core machine costs up "
                             "to 10x)")
    args = parser.parse_args(argv)
    if args.threads < 1:
        parser.error(f"--threads must be >= 1, got {args.threads}")
    cfg = PoissonConfig.preset(args.preset)
    if args.preset == "smoke" and args.methods == parser.get_default("methods"):
        args.methods = SMOKE_METHODS
    try:
        methods = cli.parse_methods(args.methods, METHOD_OPTIONS)
    except ValueError as exc:
        parser.error(str(exc))
    for spec in methods:
        if spec.options.get("w_reg", 0.0) < 0:
            parser.error(f"{spec.label}: w_reg must be >= 0")
        if spec.options.get("w_dat", 1.0) <= 0:
            parser.error(f"{spec.label}: w_dat must be > 0")
    if args.seeds is not None:
        cfg = replace(cfg, seeds=args.seeds)
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda requested but torch sees no CUDA device")
    out = Path(args.out or f"results/poisson-{args.preset}-noise{args.noise:g}")
    torch.set_num_threads(args.threads)

    pde = VariablePoisson()
    oracle = FEMOracle(cfg.fem, comm)
    x_res, x_dat, x_eval = (np.linspace(0.0, 1.0, n) for n in (cfg.n_res, cfg.n_dat, cfg.n_eval))
    w_eval = trapezoid_weights(cfg.n_eval, ((0.0,), (1.0,)))
    D_true = hat(x_eval)
    print0(f"[poisson] preset {args.preset}, noise {args.noise}, {comm.size} rank(s), device {device}; "
           f"FEM reference: {cfg.fem.cells} P{cfg.fem.degree} cells; adjoint: {cfg.adjoint.cells} P1 cells")
    u_ref0 = oracle.solve_on(lambda s: np.ones_like(s), x_res)     # pre-training reference at D0 ≡ 1
    u_true = oracle.solve_on(hat, x_dat)                           # noise-free data at the truth
    init_err = relative_l2_error(np.ones_like(D_true), D_true, weights=w_eval)

    report = Report(problem="poisson", preset=args.preset, noise=args.noise, seeds=cfg.seeds,
                    ranks=comm.size, device=device, config=asdict(cfg))
    report.notes += _notes(cfg, init_err)
    curves: dict[str, tuple[np.ndarray, np.ndarray | None, np.ndarray | None]] = {}
    for seed in range(cfg.seeds):
        # The noise is drawn once per seed and shared by every method (same data for all).
        rng = np.random.default_rng(20_000 + seed)
        u_obs = u_true + args.noise * rng.standard_normal(u_true.shape)
        data = {"x_res": x_res, "x_dat": x_dat, "x_eval": x_eval, "u_obs": u_obs, "u_ref0": u_ref0}
        for spec in methods:
            print0(f"[poisson] seed {seed}: {spec.label}")
            t0 = time.perf_counter()
            if spec.name.startswith("adjoint"):
                outcome = fit_adjoint(spec, cfg, data, comm)
            else:
                outcome = fit_hybrid(spec, cfg, pde, data, device=device, dtype=args.dtype, seed=seed,
                                        progress=not args.quiet and comm.rank == 0)
            wall = time.perf_counter() - t0
            metrics: dict[str, float] = {}
            u_fem = None
            if np.all(np.isfinite(outcome.D)):
                metrics["field_rel_l2"] = relative_l2_error(outcome.D, D_true, weights=w_eval)
            if outcome.u is not None:
                D_nn = outcome.D
                if np.all(np.isfinite(D_nn)) and D_nn.min() > 0:
                    u_fem = oracle.solve_on(lambda s, D_nn=D_nn: np.interp(s, x_eval, D_nn), x_eval)
                    metrics["u_rel_l2"] = relative_l2_error(outcome.u, u_fem, weights=w_eval)
                else:
                    report.notes.append(f"{spec.label} seed {seed}: inferred D is not positive and finite; "
                                        "no FEM validation")
            metrics["data_mse"] = outcome.data_mse
            metrics.update(outcome.extra)
            record = report.record(spec.label)
            record.add(metrics, wall_s=wall, steps=outcome.steps, s_per_step=outcome.s_per_step)
            if outcome.reason:
                record.extra.setdefault("stop_reason", []).append(outcome.reason)
            print0("    " + ", ".join(f"{k} {v:.3g}" for k, v in metrics.items()) + f", {wall:.1f} s")
            if seed == 0:
                curves[spec.label] = (outcome.D, outcome.u, u_fem)

    if comm.rank == 0:
        written = report.write(out)
        written += plot_poisson(x_eval, D_true, curves, out)
        print(report.table())
        print("\nwrote " + ", ".join(str(p) for p in written), flush=True)
    return report
# -

# ## Figures
#
# One PNG with the inferred D of every method (seed 0) against the truth, one with the
# networks' u against the FEM solution at their inferred D.

# +


def plot_poisson(x: np.ndarray, D_true: np.ndarray, curves: dict, out: Path) -> list[Path]:
    """``D.png`` (inferred D per method and the truth) and ``u.png`` (u_NN against u_FEM)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.plot(x, D_true, "k--", lw=2, label="truth")
    ax.plot(x, np.ones_like(x), ":", color="grey", label="initial guess")
    for label, (D, _, _) in curves.items():
        ax.plot(x, D, lw=1, label=label)
    ax.set_xlabel("x")
    ax.set_ylabel("D(x)")
    ax.legend(fontsize=6, ncol=2)
    fig.tight_layout()
    p_D = out / "D.png"
    fig.savefig(p_D, dpi=120)
    plt.close(fig)

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4))
    for label, (_, u, u_fem) in curves.items():
        if u is not None:
            a1.plot(x, u, lw=1, label=label)
            if u_fem is not None:
                a2.plot(x, u - u_fem, lw=1, label=label)
    a1.set_title("u_NN at the inferred D")
    a2.set_title("u_NN − u_FEM(inferred D)")
    for a in (a1, a2):
        a.set_xlabel("x")
    a1.legend(fontsize=6)
    fig.tight_layout()
    p_u = out / "u.png"
    fig.savefig(p_u, dpi=120)
    plt.close(fig)
    return [p_D, p_u]


# -

# ## The results table (paper Table 2)
#
# `results_table` reads the `report.json` of one run per noise level and prints the D error of
# every method and weight, then, per noise level, each method family at its best weight and
# whether BiLO's error is at most the best PINN's and the best adjoint's. Nothing is
# hard-coded: the sentences are computed from the reports.

# +


def _family(label: str) -> str:
    return label.split("(")[0]


def results_table(paths: list[str | Path]) -> str:
    """Markdown: D and u errors per method (rows) and noise level (columns), best weights, the claims."""
    reports = [json.loads((Path(p) / "report.json").read_text()) for p in paths]
    reports.sort(key=lambda r: r["noise"])
    labels = list(dict.fromkeys(lab for r in reports for lab in r["methods"]))

    def cell(r: dict, lab: str, metric: str) -> str:
        m = r["methods"].get(lab, {}).get("metrics", {}).get(metric)
        if not m or m["n"] == 0:
            return "—"
        return f"{m['mean']:.3g} ± {m['std']:.2g}" if m["n"] > 1 else f"{m['mean']:.3g}"

    noise = [f"σ = {r['noise']:g}" for r in reports]
    head = [f"{what}, {n}" for what in ("D rel. L2", "u rel. L2", "wall s") for n in noise]
    lines = ["| method | " + " | ".join(head) + " |", "| --- |" + " --- |" * len(head)]
    for lab in labels:
        walls = [f"{r['methods'][lab]['wall_s']:.0f}" if lab in r["methods"] else "—" for r in reports]
        cells = [cell(r, lab, m) for m in ("field_rel_l2", "u_rel_l2") for r in reports] + walls
        lines.append(f"| {lab} | " + " | ".join(cells) + " |")
    lines += ["", "Each family at its best weight (lowest mean D error):", ""]
    for r in reports:
        best: dict[str, tuple[float, str]] = {}
        for lab, entry in r["methods"].items():
            m = entry["metrics"].get("field_rel_l2", {"mean": float("nan"), "n": 0})
            if m["n"] and (_family(lab) not in best or m["mean"] < best[_family(lab)][0]):
                best[_family(lab)] = (m["mean"], lab)
        parts = ", ".join(f"{lab} {v:.3g}" for v, lab in best.values())
        claim = ""
        if "bilo" in best:
            b = best["bilo"][0]
            verdicts = []
            for fam in ("pinn", "adjoint_gd", "adjoint_tao"):
                if fam in best:
                    v, lab = best[fam]
                    verdicts.append(f"BiLO {'≤' if b <= v else '>'} {lab} ({b:.3g} vs {v:.3g})")
            claim = "; " + "; ".join(verdicts)
        lines.append(f"- σ = {r['noise']:g} ({r['seeds']} seed(s)): {parts}{claim}.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> Report:
    """Entry point: :func:`run` under MPI error handling (an error on one rank ends all ranks)."""
    return run_collectively(lambda: run(argv))


if __name__ == "__main__":
    main(sys.argv[1:])
# -
