# # Fisher–KPP: infer a diffusion and a growth rate from sparse space-time data
#
# This comparison shows:
# - BiLO (bilevel local operator) against the PINN baseline at four data weights, on the
#   same data, at one noise level per invocation;
# - the relative error of each inferred parameter, the relative L2 error of the network
#   solution against a finite-element solve at the inferred parameters, the data misfit,
#   and the cost (wall time, steps, seconds per step);
# - *gradient fidelity*: how close BiLO's upper-level gradient ∂L_data/∂θ is to the exact
#   gradient of the finite-element data misfit at the same θ (central differences over FEM
#   solves), recorded during fine-tuning.
#
# The problem (paper §3.1, eq. 22; project choices in `shared/specs/paper-experiments.md` §2):
#
# $$ u_t = r_D \bar D\, u_{xx} + r_\rho \bar\rho\, u (1-u), \quad (t, x) \in [0,1]^2, \qquad
#    u(0, x) = \tfrac12 \sin^2(\pi x), \quad u(t, 0) = u(t, 1) = 0, $$
#
# with $\bar D = 0.01$, $\bar\rho = 1$. The unknowns are $\theta = (r_D, r_\rho)$, truth
# $(2, 2)$, initial guess $(1, 1)$. Data: $u$ on an 11×11 space-time grid (121 points,
# including $t=0$), Gaussian noise of standard deviation σ; residual points: the 51×51 grid.
#
# BiLO's lower level minimises $L_{res} + w_{rgrad} L_{rgrad}$ over the network weights
# (paper eqs. 9–11), its upper level the data loss over θ (eq. 12), both updated at every
# step. The output transform $u = \tfrac12\sin^2(\pi x) + x(1-x)\,t\,N(t, x, \theta)$ imposes
# the initial and boundary conditions exactly (paper App. B.1).
#
# Run `python -m comparisons.fisher_kpp --help`.

# +
from __future__ import annotations

import math
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from mpi4py import MPI

from comparisons import cli
from comparisons.plots import plot_fields, plot_trajectories
from comparisons.report import Report
from fem.meshes import interval
from fem.forward import solve_fisher_kpp
from fem.metrics import relative_l2_error, trapezoid_weights
from fem.parallel import print0, run_collectively
from fem.points import grid_points
from hybrid import (
    AbstractJetPDE,
    BiLO,
    BiLOConfig,
    BiLOFinetuneConfig,
    Jet,
    NetworkConfig,
    PINN,
    PINNConfig,
    PINNFinetuneConfig,
    PretrainConfig,
)


PARAMS = ("rD", "rrho")
# -

# ## The problem, declared once
#
# The torch residual (used by BiLO and the PINN) and the FEM solver (used for the
# pre-training reference, the data, the validation solution and the exact gradient)
# describe the same PDE; `FisherKPP` holds both.

# +


@dataclass(frozen=True, kw_only=True)
class FisherKPP(AbstractJetPDE):
    """u_t = rD·D̄·u_xx + rρ·ρ̄·u(1−u) on [0,1]², input columns (t, x).

    Written on the jet of u (u, u_t, u_xx), so the hybrid engine can evaluate the residual
    by forward tangent propagation (one graph) or by nested autograd (the same formula).
    """

    base_D: float = 0.01
    base_rho: float = 1.0
    param_names: tuple[str, ...] = PARAMS
    input_dim: int = 2
    first_derivatives: tuple[int, ...] = (0,)
    second_derivatives: tuple[int, ...] = (1,)

    def transform_coefficients(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """u = ½ sin²(πx) + x(1−x)·t·N: exact initial and boundary values."""
        t, s = x[:, 0], x[:, 1]
        return 0.5 * torch.sin(math.pi * s) ** 2, s * (1 - s) * t

    def residual_jet(self, x: torch.Tensor, jet: Jet, theta: torch.Tensor) -> torch.Tensor:
        """r = u_t − rD·D̄·u_xx − rρ·ρ̄·u(1−u), with θ the per-point (n, 2) parameters."""
        u = jet.u
        return jet.du[0] - theta[:, 0] * self.base_D * jet.d2u[1] - theta[:, 1] * self.base_rho * u * (1 - u)

    def u0(self, x: np.ndarray) -> np.ndarray:
        """Initial condition for the FEM solver (x has shape (3, n))."""
        return 0.5 * np.sin(np.pi * x[0]) ** 2
# -

# ## Configuration and presets

# +


@dataclass(frozen=True, kw_only=True)
class FEMConfig:
    """Resolution of the finite-element reference (P2 in space, second order in time)."""

    cells: int = 200
    steps: int = 200
    degree: int = 2


@dataclass(frozen=True, kw_only=True)
class FisherKPPConfig:
    """Everything a Fisher–KPP comparison run needs; presets via :meth:`preset`.

    The PINN pre-training (at θ0, θ frozen) does not depend on w_dat, so it runs once per
    seed and every ``pinn(w_dat=…)`` fine-tunes from it.
    """

    truth: tuple[float, float] = (2.0, 2.0)
    init: tuple[float, float] = (1.0, 1.0)
    n_res: int = 51
    n_dat: int = 11
    seeds: int = 3
    fem: FEMConfig = field(default_factory=FEMConfig)
    fidelity_fem: FEMConfig = field(default_factory=lambda: FEMConfig(cells=100, steps=100))
    fidelity_h: float = 1e-3
    bilo: BiLOConfig = field(default_factory=BiLOConfig)
    pinn: PINNConfig = field(default_factory=PINNConfig)

    @classmethod
    def preset(cls, name: str) -> FisherKPPConfig:
        """``smoke`` (tests, < 2 min), ``default`` (< 30 min on 2 cores), ``paper`` (GPU)."""
        sizes = {  # pre-training steps, fine-tuning steps, fidelity every, width, seeds
            "smoke": (300, 2000, 500, 32, 1),
            "default": (1000, 3000, 500, 128, 3),
            "paper": (10_000, 50_000, 2_500, 128, 5),
        }
        if name not in sizes:
            raise ValueError(f"unknown preset {name!r}; choose from {', '.join(sizes)}")
        pre, fine, every, width, seeds = sizes[name]
        net = NetworkConfig(depth=4 if width == 128 else 3, width=width)
        log = 10 if name != "paper" else 50
        bilo = BiLOConfig(network=net, pretrain=PretrainConfig(steps=pre), log_every=log,
                          finetune=BiLOFinetuneConfig(steps=fine, fidelity_every=every))
        pinn = PINNConfig(network=net, pretrain=PretrainConfig(steps=pre), log_every=log,
                          finetune=PINNFinetuneConfig(steps=fine))
        if name == "smoke":
            return cls(n_res=21, seeds=seeds, fem=FEMConfig(cells=50, steps=50),
                       fidelity_fem=FEMConfig(cells=40, steps=40), bilo=bilo, pinn=pinn)
        if name == "paper":
            return cls(seeds=seeds, fem=FEMConfig(cells=400, steps=400), bilo=bilo, pinn=pinn)
        return cls(seeds=seeds, bilo=bilo, pinn=pinn)
# -

# ## Data from the finite-element solver
#
# The same solver gives the pre-training reference (at the initial guess), the
# observations (at the truth, plus noise), the validation solution (at the inferred θ) and
# the exact data-misfit gradient.

# +


class FEMOracle:
    """Finite-element Fisher–KPP solves on the space-time grids of the comparison."""

    def __init__(self, pde: FisherKPP, cfg: FEMConfig, comm: MPI.Comm) -> None:
        self.pde, self.cfg = pde, cfg
        self.mesh = interval(comm, cfg.cells)
        self.n_solves = 0

    def solve_on(self, theta: tuple[float, float], t: np.ndarray, x: np.ndarray) -> np.ndarray:
        """u_FEM(θ) on the tensor grid t × x, shape (len(t), len(x))."""
        r_D, r_rho = theta
        if not (r_D > 0 and math.isfinite(r_D) and math.isfinite(r_rho)):
            raise ValueError(f"cannot solve Fisher–KPP at rD={r_D}, rrho={r_rho}: rD must be positive and finite")
        ts = solve_fisher_kpp(self.mesh, D=r_D * self.pde.base_D, rho=r_rho * self.pde.base_rho,
                              u0=self.pde.u0, t_end=1.0, n_steps=self.cfg.steps, degree=self.cfg.degree)
        self.n_solves += 1
        return ts.sample(x[:, None], t)


def axis(n: int) -> np.ndarray:
    """n uniform nodes on [0, 1]."""
    return np.linspace(0.0, 1.0, n)


def space_time(n: int) -> np.ndarray:
    """The (n·n, 2) grid of (t, x) points, t slow and x fast (rows of ``U.ravel()``)."""
    return grid_points(((0.0, 0.0), (1.0, 1.0)), (n, n))


def exact_data_gradient(oracle: FEMOracle, x_dat_axis: np.ndarray, u_obs: np.ndarray, h: float):
    """∇θ of L(θ) = mean_j (u_FEM(θ)(x_j) − d_j)², by central differences over FEM solves.

    This is the same functional as BiLO's data loss (an MSE over the observation points),
    with the network replaced by the finite-element solution.
    """

    def misfit(theta: np.ndarray) -> float:
        U = oracle.solve_on((float(theta[0]), float(theta[1])), x_dat_axis, x_dat_axis)
        return float(np.mean((U.ravel() - u_obs) ** 2))

    def grad(theta: np.ndarray) -> np.ndarray:
        g = np.zeros(2)
        for p in range(2):
            e = np.zeros(2)
            e[p] = h * max(1.0, abs(theta[p]))
            g[p] = (misfit(theta + e) - misfit(theta - e)) / (2 * e[p])
        return g

    return grad
# -

# ## One run per method and seed

# +


def run(argv: list[str] | None = None) -> Report:
    """Parse the command line, run every requested method and seed, write the report."""
    comm = MPI.COMM_WORLD
    parser = cli.common_parser(
        "python -m comparisons.fisher_kpp",
        "Infer (rD, rrho) of the Fisher–KPP equation with BiLO and PINNs; see the module docstring.",
        "bilo,pinn(w_dat=1),pinn(w_dat=10),pinn(w_dat=100),pinn(w_dat=1000)")
    parser.add_argument("--truth", type=cli.float_pair(PARAMS), default=None,
                        help="true rD,rrho that generate the data (default 2,2)")
    parser.add_argument("--init", type=cli.float_pair(PARAMS), default=None,
                        help="initial guess rD,rrho (default 1,1)")
    args = parser.parse_args(argv)
    try:
        methods = cli.parse_methods(args.methods, {"bilo": (), "pinn": ("w_dat",)})
    except ValueError as exc:
        parser.error(str(exc))
    cfg = FisherKPPConfig.preset(args.preset)
    over = {}
    if args.truth is not None:
        over["truth"] = args.truth
    if args.init is not None:
        over["init"] = args.init
    if args.seeds is not None:
        over["seeds"] = args.seeds
    cfg = replace(cfg, **over)
    for name, val in (("truth", cfg.truth), ("init", cfg.init)):
        if val[0] <= 0:
            parser.error(f"--{name}: rD must be positive, got {val[0]}")
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda requested but torch sees no CUDA device")
    out = Path(args.out or f"results/fisher_kpp-{args.preset}-noise{args.noise:g}")

    pde = FisherKPP()
    oracle = FEMOracle(pde, cfg.fem, comm)
    t_res, t_dat = axis(cfg.n_res), axis(cfg.n_dat)
    x_res, x_dat = space_time(cfg.n_res), space_time(cfg.n_dat)
    w_res = trapezoid_weights((cfg.n_res, cfg.n_res), ((0.0, 0.0), (1.0, 1.0)))
    print0(f"[fisher_kpp] preset {args.preset}, noise {args.noise}, {comm.size} rank(s), device {device}; "
           f"FEM reference: {cfg.fem.cells} P{cfg.fem.degree} cells, {cfg.fem.steps} time steps")
    u_ref0 = oracle.solve_on(cfg.init, t_res, t_res).ravel()       # pre-training reference at θ0
    u_true = oracle.solve_on(cfg.truth, t_dat, t_dat).ravel()      # noise-free data at the truth
    fid_oracle = FEMOracle(pde, cfg.fidelity_fem, comm)

    report = Report(problem="fisher_kpp", preset=args.preset, noise=args.noise, seeds=cfg.seeds,
                    ranks=comm.size, device=device, config=asdict(cfg))
    report.notes.append(f"truth rD,rrho = {cfg.truth}; initial guess {cfg.init}; D̄ = {pde.base_D}, "
                        f"ρ̄ = {pde.base_rho}; data on a {cfg.n_dat}×{cfg.n_dat} grid, residual on "
                        f"{cfg.n_res}×{cfg.n_res}")
    trajectories: dict[str, list[dict]] = {}
    fields: dict[str, np.ndarray] = {}
    for seed in range(cfg.seeds):
        # The noise is drawn once per seed and shared by every method (same data for all).
        rng = np.random.default_rng(10_000 + seed)
        u_obs = u_true + args.noise * rng.standard_normal(u_true.shape)
        fidelity = exact_data_gradient(fid_oracle, t_dat, u_obs, cfg.fidelity_h)
        pinn_pretrained = None
        for spec in methods:
            print0(f"[fisher_kpp] seed {seed}: {spec.label}")
            common = dict(x_res=x_res, x_dat=x_dat, u_dat=u_obs, theta_init=dict(zip(PARAMS, cfg.init, strict=True)),
                          u_ref=u_ref0, x_ref=x_res, device=device, dtype=args.dtype, seed=seed,
                          progress=not args.quiet and comm.rank == 0)
            t0 = time.perf_counter()
            if spec.name == "bilo":
                res = BiLO(cfg.bilo).fit(pde, **common, exact_data_gradient=fidelity)
                wall = time.perf_counter() - t0
            else:
                if pinn_pretrained is None:
                    # one pre-training per seed (zero fine-tuning steps) serves every w_dat
                    only_pre = replace(cfg.pinn, finetune=replace(cfg.pinn.finetune, steps=0))
                    pinn_pretrained = PINN(only_pre).fit(pde, **common)
                    pinn_pre_wall = time.perf_counter() - t0
                    t0 = time.perf_counter()
                fine = replace(cfg.pinn.finetune, w_dat=spec.options.get("w_dat", 1.0))
                res = PINN(replace(cfg.pinn, finetune=fine)).fit(pde, **common, pretrained=pinn_pretrained)
                # each PINN is charged its own fine-tuning plus the shared pre-training
                wall = time.perf_counter() - t0 + pinn_pre_wall
            theta = np.array([res.theta[p] for p in PARAMS])
            metrics = {f"rel_err[{p}]": abs(theta[i] - cfg.truth[i]) / abs(cfg.truth[i])
                       for i, p in enumerate(PARAMS)}
            u_nn = res.predict(x_res)
            if np.all(np.isfinite(theta)) and theta[0] > 0:
                u_fem = oracle.solve_on((theta[0], theta[1]), t_res, t_res).ravel()
                metrics["u_rel_l2"] = relative_l2_error(u_nn, u_fem, weights=w_res)
            else:
                report.notes.append(f"{spec.label} seed {seed}: inferred θ = {theta} is not admissible; "
                                    "no FEM validation")
                u_fem = np.full_like(u_nn, np.nan)
            metrics["data_mse"] = float(np.mean((res.predict(x_dat) - u_obs) ** 2))
            fid = [h for h in res.history if "fidelity_cos" in h]
            if fid:
                # gradient fidelity: BiLO's dL_dat/dθ against the FEM one, median over the checks
                # at the first check (fine-tuning step `fidelity_every`) the data gradient is still
                # large; near the optimum both gradients vanish and their direction is dominated by
                # the NN-vs-FEM discretisation gap, so the median alone would understate fidelity
                metrics["grad_cos_first"] = float(fid[0]["fidelity_cos"])
                metrics["grad_rel_err_first"] = float(fid[0]["fidelity_rel"])
                metrics["grad_cos"] = float(np.median([h["fidelity_cos"] for h in fid]))
                metrics["grad_rel_err"] = float(np.median([h["fidelity_rel"] for h in fid]))
            report.record(spec.label).add(metrics, wall_s=wall, steps=res.steps, s_per_step=res.s_per_step)
            print0("    " + ", ".join(f"{k} {v:.3g}" for k, v in metrics.items()) + f", {wall:.1f} s")
            if seed == 0:
                trajectories[spec.label] = res.history
                fields[spec.label] = np.stack([u_nn, u_fem])

    if comm.rank == 0:
        written = report.write(out)
        written.append(plot_trajectories(trajectories, PARAMS, cfg.truth, out / "trajectories.png"))
        written.append(plot_fields(fields, (cfg.n_res, cfg.n_res), out / "u_nn_vs_fem.png",
                                   axes_labels=("x", "t")))
        print(report.table())
        print("\nwrote " + ", ".join(str(p) for p in written), flush=True)
    return report


def main(argv: list[str] | None = None) -> Report:
    """Entry point: :func:`run` under MPI error handling (an error on one rank ends all ranks)."""
    return run_collectively(lambda: run(argv))


if __name__ == "__main__":
    main(sys.argv[1:])
# -
