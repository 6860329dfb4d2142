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
# Hybrid methods (strong form `comparisons.pdes.VariablePoisson`): $D_V(x) = 1 + x(1-x)\,
# \mathrm{MLP}_V(x)$ keeps $D(0) = D(1) = 1$; the local operator $u(x, z; W) = x(1-x)\,N(x, z; W)$
# takes $z = D_V(x)$ through its embedding. The residual is $r = (z u_x)_x - f$, its gradient is
# taken with respect to the node $z$ (paper eqs. 9–11 with θ replaced by z; spec §1.3). BiLO's
# lower level minimises $L_{res} + 0.1\,L_{rgrad}$ over W, its upper level
# $L_{dat} + w_{reg}\,\mathrm{mean}|D_V'|^2$ over V (eq. 12 plus the H1 regulariser). The PINN
# minimises $L_{res} + w_{dat} L_{dat} + w_{reg}\,\mathrm{mean}|D_V'|^2$ over (W, V).
#
# Adjoint: P1 state and nodal P1 coefficient on a uniform mesh, D fixed to 1 at both ends,
# $J(D) = \tfrac12\big[\mathrm{mean}_j (u(x_j) - d_j)^2 + w_{reg} \int_0^1 |D'|^2\big]$, i.e.
# half the hybrid methods' upper-level objective, so a weight means the same for every
# method (paper App. B.2.1 uses a sum over the observations; the mean makes the weights
# comparable). The weak residual below is the one source of the FEM reference, the
# validation solves and the adjoint.
#
# Run `python -m comparisons.poisson --help`.

# +
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import ufl
from mpi4py import MPI

import fem
import hybrid
from comparisons.pdes import VariablePoisson
from comparisons.plots import plot_field_1d
from inverse import AdjointConfig, Comparison, Discretisation, Field, InverseResult, PriorSamples, Study
from inverse.problem import AbstractInverseProblem

# -

# ## The problem, declared once

# +


def hat(x: np.ndarray) -> np.ndarray:
    """D_true(x) = 1 + ½(1 − 2|x − ½|) at x of shape (N,) or points (N, 1)."""
    x = np.asarray(x)
    return 1.0 + 0.5 * (1.0 - 2.0 * np.abs((x[:, 0] if x.ndim == 2 else x) - 0.5))


@dataclass(frozen=True, kw_only=True)
class PoissonProblem(AbstractInverseProblem):
    """Infer D(x) in (D u')' = −π² sin(πx), u(0) = u(1) = 0, from u at 51 points.

    Attributes:
        cells: Cells of the P2 FEM reference (data and validation).
        n_res, n_dat, n_eval: Residual, data and evaluation points (uniform on [0, 1]).
        operator_samples: Size of each DeepONet data set (prior draws).
    """

    cells: int = 1000
    n_res: int = 101
    n_dat: int = 51
    n_eval: int = 1001
    operator_samples: int = 1000
    fem_degree: int = 2
    noise_seed: int = 20_000

    name = "poisson"
    pde = VariablePoisson()
    unknowns = Field(name="D", regularizer="h1", bounds=(0.1, 10.0), fixed_on_boundary=True)

    def mesh(self, comm: MPI.Comm, cells: int | None = None) -> fem.MeshData:
        """The unit interval."""
        return fem.interval(comm, cells or self.cells)

    def weak_residual(self, u: Any, D: Any, v: Any) -> Any:
        """F(u, D; v) = ∫ D u' v' + ∫ f v: the weak form of (D u')' = f with u = 0 at the ends."""
        x = ufl.SpatialCoordinate(ufl.domain.extract_unique_domain(v))
        f = -math.pi**2 * ufl.sin(math.pi * x[0])
        return ufl.inner(D * ufl.grad(u), ufl.grad(v)) * ufl.dx + f * v * ufl.dx

    def truth(self, x: np.ndarray) -> np.ndarray:
        """The hat function."""
        return hat(x)

    def initial_guess(self, x: np.ndarray) -> np.ndarray:
        """D ≡ 1."""
        return np.ones(len(x))

    def sample_prior(self, rng: np.random.Generator, length_scale: float = 0.2) -> Any:
        """D = 1 + ψ − ψ(0)(1 − x) − ψ(1)x, ψ a GRF (variance 0.05, ℓ = 0.2; paper B.2.2): D(0) = D(1) = 1."""
        psi = fem.GaussianRandomField(dim=1, sigma=0.05**0.5, length_scale=length_scale,
                                      seed=int(rng.integers(2**31)))
        ends = psi(np.array([[0.0], [1.0]]))
        return lambda x: 1 + psi(x) - ends[0] * (1 - x[:, 0]) - ends[1] * x[:, 0]

    def operator_datasets(self) -> dict[str, PriorSamples]:
        """The DeepONet's GRF data sets of length scales 0.2, 0.3, 0.4 (paper B.2.2)."""
        return {f"l{ell}": PriorSamples(n=self.operator_samples, label=f"GRF l={ell}",
                                        sampler=partial(self.sample_prior, length_scale=ell))
                for ell in (0.2, 0.3, 0.4)}

    def discretise(self, comm: MPI.Comm) -> Discretisation:
        """Uniform points of [0, 1] (every rank); errors by the trapezoid rule on n_eval points."""
        x_res, x_dat, x_eval = (np.linspace(0, 1, n)[:, None] for n in (self.n_res, self.n_dat, self.n_eval))
        w = fem.trapezoid_weights(self.n_eval, ((0.0,), (1.0,)))
        return Discretisation(comm=comm, mesh=self.mesh(comm), x_res=x_res, x_dat=x_dat, x_ref=x_res,
                              x_u=x_eval, w_u=w, x_field=x_eval, w_field=w)

    def describe(self) -> str:
        """The set-up in words."""
        return (f"truth D = 1 + 0.5(1 − 2|x − 0.5|), initial guess D ≡ 1; f = −π² sin(πx); {self.n_dat} "
                f"data points, {self.n_res} residual points; errors by the trapezoid rule on {self.n_eval} "
                f"points; u_rel_l2 against a P{self.fem_degree} FEM solve ({self.cells} cells) at the "
                "inferred D (not for the adjoint: its u is its own FEM solution); adjoint: J = ½[mean "
                "misfit² + w_reg ∫|D'|²], 'converged' = 1 when the tolerance, not the limit, stopped it "
                "(the stop reason is in the method's extra.stop_reason)")
# -

# ## Presets
#
# Paper App. B.2: local operator 2×128 hidden (depth 4), D_V 3×64 tanh; w_rgrad = 0.1; Adam lr
# 1e-3 for both levels (spec §1.5). The smoke preset keeps these sizes: smaller networks do not
# move D in a few hundred steps, and 101 points keep a step cheap anyway. The preset sizes were
# chosen from measured seconds per step on a 2-core CPU (see `docs/results/poisson.md`).

# +

REG_WEIGHTS, DATA_WEIGHTS = ("0.0001", "0.001", "0.01"), ("10", "100", "1000")
METHODS = ",".join([f"bilo(w_reg={r})" for r in REG_WEIGHTS]
                   + [f"pinn(w_dat={d},w_reg={r})" for d in DATA_WEIGHTS for r in REG_WEIGHTS]
                   + [f"adjoint_{o}(w_reg={r})" for o in ("gd", "tao") for r in REG_WEIGHTS])
SMOKE_METHODS = ("bilo(w_reg=0.001),pinn(w_dat=100,w_reg=0.001),adjoint_gd(w_reg=0.001),"
                 "adjoint_tao(w_reg=0.001)")


def adjoint_config(cells: int, tao: int, gd: int) -> AdjointConfig:
    """J = ½[mean misfit² + w_reg·H1]; TAO stops at a 10⁶ reduction of ‖dJ‖ or the limit."""
    return AdjointConfig(cells=cells, misfit="mean", w_reg=1e-3, max_iter=tao, gatol=0.0, gttol=1e-6,
                         gd_max_iter=gd)


def study(pre: int, fine: int, *, seeds: int = 1, methods: str = METHODS, cells: int = 1000,
          adjoint: AdjointConfig | None = None, samples: int = 1000) -> Study:
    """A study with the given step counts (both levels, both network methods)."""
    net, fnet = hybrid.NetworkConfig(depth=4, width=128), hybrid.FunctionNetworkConfig()
    reg = hybrid.RegularizerConfig(kind="h1", weight=1e-3)
    pretrain = hybrid.PretrainConfig(steps=pre, lr=1e-3)
    bilo = hybrid.BiLOConfig(network=net, function_network=fnet, pretrain=pretrain, log_every=50,
                             finetune=hybrid.BiLOFinetuneConfig(steps=fine, lr_W=1e-3, lr_theta=1e-3,
                                                                w_rgrad=0.1, regularizer=reg))
    pinn = hybrid.PINNConfig(network=net, function_network=fnet, pretrain=pretrain, log_every=50,
                             finetune=hybrid.PINNFinetuneConfig(steps=fine, lr_W=1e-3, lr_theta=1e-3,
                                                                w_dat=100.0, regularizer=reg))
    # 18 method/weight rows per seed: one seed keeps `default` near 30 min on 2 cores; one torch
    # thread: with 101 points the networks are too small to gain from more
    # the DeepONet of B.2.2: 2×128 branch and trunk, the data MSE + w_reg·FD regulariser
    onet = hybrid.DeepONetConfig(train_steps=fine, batch=64, invert_steps=fine, w_reg=1e-3, log_every=50)
    return Study(problem=PoissonProblem(cells=cells, operator_samples=samples), seeds=seeds, methods=methods,
                 threads=1, configs={"bilo": bilo, "pinn": pinn, "deeponet": onet,
                                     "adjoint": adjoint or adjoint_config(200, 1000, 50_000)})


PRESETS = {
    "smoke": (lambda: study(200, 300, methods=SMOKE_METHODS, cells=200,
                            adjoint=adjoint_config(50, 200, 200), samples=40),
              "(tests, < 1 min; one weight per method family)"),
    "default": (lambda: study(1500, 5000), "(every method at every weight, < 30 min on 2 cores)"),
    "paper": (lambda: study(10_000, 10_000, seeds=5, adjoint=adjoint_config(400, 1000, 200_000)),
              "(10k + 10k steps, 5 seeds)"),
}
# -

# ## Figures
#
# One PNG with the inferred D of every method (seed 0) against the truth, one with the
# networks' u against the FEM solution at their inferred D.

# +


def plots(problem: AbstractInverseProblem, disc: Discretisation, results: dict[str, InverseResult],
          out: Path) -> list[Path]:
    """``D.png`` (inferred D per method and the truth) and ``u.png`` (u_NN against u_FEM)."""
    return plot_field_1d(problem, disc, results, out, name="D")
# -


COMPARISON = Comparison(
    name="poisson", presets=PRESETS, plots=plots,
    description="Infer the diffusion D(x) of (D u')' = f with BiLO, PINNs and the adjoint method; see the "
                "module docstring. The paper's table: docs/results/make_poisson_table.sh.")


main = COMPARISON.main  # `python -m comparisons.poisson`; tests call main([...])

if __name__ == "__main__":
    main()
