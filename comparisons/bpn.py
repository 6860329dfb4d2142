# # BiLO against BPN on a 1D toy problem: infer two boundary values
#
# This comparison shows BiLO's simultaneous bilevel steps against BPN (Hao et al., ICLR 2023: a
# PINN trained on the residual alone for 64 steps, then one upper step with a hypergradient from
# 32 Broyden iterations) on the problem and settings of BPN's App. A.8 that the BiLO paper copies
# in its App. E (Fig. 23): the error max_i |θ_i − θ†_i| against lower-level iterations and wall
# time, and when each method first gets below 0.01 (`convergence.json`, `convergence.png`).
#
# The problem (`shared/specs/paper-experiments.md` §9, the BiLO paper's eq. (74)):
#
# $$ u''(x) = 2 \ \text{on } (0, 1), \qquad u(0) = \theta_0, \quad u(1) = \theta_1, \qquad
#    u = x^2 + (\theta_1 - \theta_0 - 1)x + \theta_0, $$
#
# truth θ† = (0, 1) (u = x², BPN's code default), initial guess θ = (1, 0) (the paper's is not
# stated). Data: the exact u at θ† on 51 uniform points of [0, 1], no noise; upper loss: their
# MSE. Both networks: u = N·x(1−x) + θ0(1−x) + θ1·x, tanh MLP of 4 hidden layers × 50
# (BiLO's N also takes θ, paper eqs. 9–12); residual r = u'' − 2 at 64 uniform points.
# Pre-training: 1,000 steps at the guess (residual + MSE to the exact u there; BiLO adds its
# residual-gradient loss). Then Adam lr 1e-3 for the weights, lr 0.05 for θ, in both methods.
# The problem has no weak form: the exact solution is the reference (`forward_map`).
#
# Published (Fig. 23): BiLO below 0.01 in < 80 iterations, 6.4 s; BPN in 27 upper (1,728 lower)
# iterations, 231 s (a shared GPU). Run `python -m comparisons.bpn --help`.

# +
from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from mpi4py import MPI
from torch import Tensor

import fem
import hybrid
from hybrid.bpn import BPNConfig, BPNFinetuneConfig
from inverse import Comparison, Discretisation, InverseResult, Scalars, Study
from inverse.discretisation import Points
from inverse.problem import AbstractInverseProblem
from inverse.unknowns import Theta

# -

# ## The problem, declared once

# +
def exact(x: np.ndarray, theta0: float, theta1: float) -> np.ndarray:
    """u = x² + (θ1 − θ0 − 1)x + θ0 at x (n,): u'' = 2, u(0) = θ0, u(1) = θ1."""
    return x**2 + (theta1 - theta0 - 1) * x + theta0


@dataclass(frozen=True, kw_only=True)
class BoundaryPoisson(hybrid.AbstractPDE):
    """u'' = 2 with the boundary values θ = (θ0, θ1) imposed by the output transform."""

    param_names: tuple[str, ...] = ("theta0", "theta1")
    input_dim: int = 1

    def output_transform(self, x: Tensor, N: Tensor, theta: Tensor) -> Tensor:
        """u = N·x(1−x) + θ0(1−x) + θ1·x."""
        s = x[:, 0]
        return N * s * (1 - s) + theta[:, 0] * (1 - s) + theta[:, 1] * s

    def residual(self, x: Tensor, u: Tensor, theta: Tensor) -> Tensor:
        """r = u'' − 2."""
        (u_x,) = torch.autograd.grad(u.sum(), x, create_graph=True)
        (u_xx,) = torch.autograd.grad(u_x.sum(), x, create_graph=True)
        return u_xx[:, 0] - 2


@dataclass(frozen=True, kw_only=True)
class BPNToyProblem(AbstractInverseProblem):
    """Infer (θ0, θ1) = (u(0), u(1)) of u'' = 2 from u at uniform points.

    Attributes:
        theta_dagger: θ† (the truth).
        theta_guess: The initial guess.
        n_res: Residual points (uniform on [0, 1]).
        n_dat: Observation points (uniform on [0, 1]).
        n_u: Points of u_rel_l2 (trapezoid rule).
    """

    theta_dagger: tuple[float, float] = (0.0, 1.0)
    theta_guess: tuple[float, float] = (1.0, 0.0)
    n_res: int = 64
    n_dat: int = 51
    n_u: int = 1001

    name = "bpn_toy"
    weak_form = False

    @property
    def pde(self) -> BoundaryPoisson:
        """The strong form."""
        return BoundaryPoisson()

    @property
    def unknowns(self) -> Scalars:
        """θ = (θ0, θ1)."""
        return Scalars(names=self.pde.param_names, truth=self.theta_dagger, init=self.theta_guess)

    def mesh(self, comm: MPI.Comm, cells: int | None = None) -> fem.MeshData:
        """The unit interval (no FEM is solved on it: the reference is in closed form)."""
        return fem.interval(comm, cells or self.n_res - 1)

    def forward_map(self, disc: Discretisation, points: Points, *,
                    truth: bool = False) -> Callable[[Theta], np.ndarray]:
        """θ -> the exact solution at points (n, 1)."""
        x = np.asarray(points)[:, 0]

        def solve(theta: Theta) -> np.ndarray:
            assert not callable(theta)
            return exact(x, float(theta["theta0"]), float(theta["theta1"]))
        return solve

    def sample_prior(self, rng: np.random.Generator) -> dict[str, float]:
        """θ0, θ1 uniform on [−1, 2] (for the operator baselines)."""
        return {"theta0": float(rng.uniform(-1, 2)), "theta1": float(rng.uniform(-1, 2))}

    def discretise(self, comm: MPI.Comm) -> Discretisation:
        """Uniform residual, data and error points; pre-training at the residual points."""
        x_res = np.linspace(0, 1, self.n_res)[:, None]
        x_u = np.linspace(0, 1, self.n_u)[:, None]
        x_dat = np.linspace(0, 1, self.n_dat)[:, None]
        return Discretisation(comm=comm, mesh=self.mesh(comm), x_res=x_res, x_dat=x_dat, x_ref=x_res, x_u=x_u,
                              w_u=fem.trapezoid_weights(self.n_u, ((0.0,), (1.0,))))

    def describe(self) -> str:
        """The set-up in words."""
        return (f"u'' = 2 on (0, 1), u(0) = θ0, u(1) = θ1; truth θ = {self.theta_dagger}, guess "
                f"{self.theta_guess}; {self.n_dat} uniform data points (exact u, no noise), {self.n_res} "
                f"residual points; reference: the exact solution. Published (Fig. 23): BiLO below 0.01 in "
                f"< 80 iterations and 6.4 s, BPN in 27 upper (1,728 lower) iterations and 231 s")
# -

# ## Presets
#
# Both methods: tanh MLP 4 hidden layers × 50 (depth 5), 1,000 pre-training steps, weights' lr
# 1e-3, θ's lr 0.05. BiLO logs every iteration, so that its error curve is exact. BPN: 64 lower
# steps and 32 Broyden iterations per upper iteration.

# +
def study(pre: int, bilo_steps: int, bpn_upper: int, *, width: int = 50, depth: int = 5, lower: int = 64,
          broyden: int = 32, seeds: int = 1) -> Study:
    """A study with the given step counts and network."""
    net = hybrid.NetworkConfig(depth=depth, width=width)
    pretrain = hybrid.PretrainConfig(steps=pre, lr=1e-3)
    bilo = hybrid.BiLOConfig(network=net, pretrain=pretrain, log_every=1,
                             finetune=hybrid.BiLOFinetuneConfig(steps=bilo_steps, lr_W=1e-3, lr_theta=0.05))
    bpn = BPNConfig(network=net, pretrain=pretrain, finetune=BPNFinetuneConfig(
        upper_steps=bpn_upper, lower_steps=lower, broyden_iterations=broyden, lr_W=1e-3, lr_theta=0.05))
    return Study(problem=BPNToyProblem(), seeds=seeds, configs={"bilo": bilo, "bpn": bpn}, methods="bilo,bpn")


PRESETS = {
    "smoke": (lambda: study(200, 60, 4, width=16, depth=3, lower=16, broyden=8), "(tests, < 1 min)"),
    "default": (lambda: study(1000, 2000, 60), "(BiLO 2,000 iterations, BPN 60 upper = 3,840 lower; 1 seed; "
                "about 2 min on 2 cores)"),
    "paper": (lambda: study(1000, 5000, 100, seeds=3), "(BiLO 5,000, BPN 100 upper = 6,400 lower; 3 seeds)"),
}
# -

# ## Error against lower-level iterations and seconds (seed 0)
#
# BiLO's rows are its iterations (one lower step each); BPN's carry `lower_iterations`. Seconds
# count from the start of the fine-tuning (after the pre-training, which both methods share in
# kind and cost).

# +
def error_curve(problem: BPNToyProblem, result: InverseResult) -> dict[str, list[float]]:
    """Lower iterations, seconds and max_i |θ_i − θ†_i| from θ0 (0, 0) through every logged row."""
    names, truth = problem.unknowns.names, np.array(problem.theta_dagger)
    pre = [h for h in result.history if h.get("phase") == "pretrain"]
    t_pre = max((float(h["time"]) for h in pre), default=0.0)
    rows = [h for h in result.history if h.get("phase") == "finetune"]
    curve = {"lower_iterations": [0.0], "seconds": [0.0],
             "error": [float(np.max(np.abs(np.array(problem.theta_guess) - truth)))]}
    for h in rows:
        theta = np.array([float(h[f"theta_{n}"]) for n in names])
        curve["lower_iterations"].append(float(h.get("lower_iterations", h["step"])))
        curve["seconds"].append(float(h["time"]) - t_pre)
        curve["error"].append(float(np.max(np.abs(theta - truth))))
    return curve


def first_below(curve: dict[str, list[float]], tol: float = 0.01) -> dict[str, float]:
    """The first lower iteration and second at which the error is below ``tol`` (NaN: never)."""
    hit = next((i for i, e in enumerate(curve["error"]) if e < tol), None)
    return {"lower_iters_to_0.01": math.nan if hit is None else curve["lower_iterations"][hit],
            "s_to_0.01": math.nan if hit is None else curve["seconds"][hit]}


def plots(problem: AbstractInverseProblem, disc: Discretisation, results: dict[str, InverseResult],
          out: Path) -> list[Path]:
    """``convergence.png`` (error vs lower iterations and vs seconds) and ``convergence.json``."""
    if disc.comm.rank != 0:
        return []
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    assert isinstance(problem, BPNToyProblem)
    summary: dict[str, Any] = {}
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for label, res in results.items():
        curve = error_curve(problem, res)
        summary[label] = {"initial_error": curve["error"][0], "final_error": curve["error"][-1],
                          **first_below(curve), "curve": curve}
        axes[0].semilogy(curve["lower_iterations"], curve["error"], label=label)
        axes[1].semilogy(curve["seconds"], curve["error"], label=label)
    for ax, xlabel in zip(axes, ("lower-level iterations", "seconds of fine-tuning"), strict=True):
        ax.axhline(0.01, color="gray", ls=":", lw=1)
        ax.set(xlabel=xlabel, ylabel="max |θ − θ†|")
        ax.legend(fontsize=8)
    fig.suptitle("BiLO vs BPN, u'' = 2 with unknown boundary values (seed 0)")
    fig.tight_layout()
    png, js = out / "convergence.png", out / "convergence.json"
    fig.savefig(png, dpi=120)
    plt.close(fig)
    # JSON has no NaN (a method that never got below 0.01): null
    js.write_text(json.dumps(summary, indent=1).replace("NaN", "null") + "\n")
    for label, s in summary.items():
        print(f"[bpn_toy] {label}: error {s['initial_error']:.3g} -> {s['final_error']:.3g}; below 0.01 "
              f"after {s['lower_iters_to_0.01']:g} lower iterations, {s['s_to_0.01']:.3g} s", flush=True)
    return [png, js]
# -


COMPARISON = Comparison(
    name="bpn", presets=PRESETS, plots=plots,
    description="Infer the boundary values (θ0, θ1) of u'' = 2 from u = x² with BiLO and BPN (Broyden "
                "hypergradients); see the module docstring.")


main = COMPARISON.main  # `python -m comparisons.bpn`; tests call main([...])

if __name__ == "__main__":
    main()
