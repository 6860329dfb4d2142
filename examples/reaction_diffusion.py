"""Infer the reaction coefficient k(x) > 0 of a 1D reaction–diffusion equation from 25 values of u.

    −D u'' + k(x) u = f  on (0, 1),   u(0) = u(1) = 0,   D = 0.1,  f = 2,

truth k*(x) = 1 + 3 sin²(πx), initial guess k0 ≡ 1. The small D lets the reaction term shape u
(diffusion length √(D/k) ≈ 0.2), so the data see k; near the ends u → 0 hides k, and there
k0 = k* already. Data: u at 25 cell midpoints of (0, 1) from a P2 solve at the truth,
plus Gaussian noise σ. BiLO, the PINN and the adjoint run on the same data; one table.

    python examples/reaction_diffusion.py --preset smoke --out results/reaction-smoke
"""
# ruff: noqa: D102  (the overrides are documented by AbstractFunctionPDE and AbstractInverseProblem)

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import ufl
from mpi4py import MPI

import fem
import hybrid
from inverse import AbstractInverseProblem, AdjointConfig, Comparison, Discretisation, Field, Study

D, F = 0.1, 2.0


@dataclass(frozen=True, kw_only=True)
class ReactionDiffusion(hybrid.AbstractFunctionPDE):
    """The strong form for BiLO and the PINN; ``theta`` is z = k_V(x), shape (n, 1)."""

    param_names: tuple[str, ...] = ("k",)
    input_dim: int = 1

    def function_transform(self, x: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.softplus(v)  # k_V > 0 whatever the network outputs

    def output_transform(self, x: torch.Tensor, N: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
        return x[:, 0] * (1 - x[:, 0]) * N  # u(0) = u(1) = 0 exactly

    def residual(self, x: torch.Tensor, u: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
        (u_x,) = torch.autograd.grad(u.sum(), x, create_graph=True)
        (u_xx,) = torch.autograd.grad(u_x.sum(), x, create_graph=True)
        return -D * u_xx[:, 0] + theta[:, 0] * u - F


@dataclass(frozen=True, kw_only=True)
class ReactionProblem(AbstractInverseProblem):
    """What every method reads: the mesh, the weak form, the unknown field, the points, the truth."""

    cells: int = 200  # the P2 reference: data, pre-training target, validation of u_NN
    n_dat: int = 25
    fem_degree: int = 2

    name = "reaction_diffusion"
    pde = ReactionDiffusion()
    # every method regularises with the H1 seminorm; TAO keeps k in the bounds (a FEM solve needs k > 0)
    unknowns = Field(name="k", regularizer="h1", bounds=(0.1, 10.0))

    def mesh(self, comm: MPI.Comm, cells: int | None = None) -> fem.MeshData:
        return fem.interval(comm, cells or self.cells)

    def weak_residual(self, u: Any, k: Any, v: Any) -> Any:
        """F(u, k; v) = ∫ D u'v' + k u v − f v: the one source of the FEM solves and the adjoint."""
        return (D * ufl.inner(ufl.grad(u), ufl.grad(v)) + k * u * v - F * v) * ufl.dx

    def truth(self, x: np.ndarray) -> np.ndarray:
        return 1 + 3 * np.sin(np.pi * x[:, 0]) ** 2

    def initial_guess(self, x: np.ndarray) -> np.ndarray:
        return np.ones(len(x))

    def discretise(self, comm: MPI.Comm) -> Discretisation:
        # 101 uniform points: residual points, pre-training reference and the error quadrature
        x = np.linspace(0.0, 1.0, 101)[:, None]
        w = fem.trapezoid_weights(101, ((0.0,), (1.0,)))
        x_dat = ((np.arange(self.n_dat) + 0.5) / self.n_dat)[:, None]
        return Discretisation(comm=comm, mesh=self.mesh(comm), x_res=x, x_dat=x_dat, x_ref=x,
                              x_u=x, w_u=w, x_field=x, w_field=w)

    def describe(self) -> str:
        return (f"−{D:g} u'' + k u = {F:g}, u(0) = u(1) = 0; k* = 1 + 3 sin²(πx), k0 ≡ 1; {self.n_dat} data, "
                f"101 residual points; P{self.fem_degree} reference on {self.cells} cells")


# One H1 weight means the same for every method: the networks add w·mean|k'|² to the mean squared
# misfit, the adjoint ("mean" misfit) minimises half of that. At σ = 0.01 the adjoint's k error was
# 0.13 / 0.073 / 0.081 at w = 1e-5 / 1e-6 / 1e-7.
W_REG = 1e-6


def study(pre: int, fine: int) -> Study:
    """A run of every method: small networks, the same steps for BiLO and the PINN, one H1 weight."""
    net, fnet = hybrid.NetworkConfig(depth=3, width=32), hybrid.FunctionNetworkConfig(depth=3, width=16)
    pretrain, reg = hybrid.PretrainConfig(steps=pre), hybrid.RegularizerConfig(weight=W_REG)  # kind: Field
    # smoke, σ = 0: BiLO's k error 0.27 / 0.07 / 0.44 at lr_theta 1e-2 (its default) / 3e-3 / 1e-3;
    # the PINN's 0.45 / 0.57 / 0.57 at w_dat 10 / 100 / 1000
    bilo = hybrid.BiLOConfig(network=net, function_network=fnet, pretrain=pretrain,
                             finetune=hybrid.BiLOFinetuneConfig(steps=fine, lr_theta=3e-3, regularizer=reg))
    pinn = hybrid.PINNConfig(network=net, function_network=fnet, pretrain=pretrain,
                             finetune=hybrid.PINNFinetuneConfig(steps=fine, w_dat=10.0, regularizer=reg))
    adj = AdjointConfig(cells=100, misfit="mean", w_reg=W_REG)  # P1 state and P1 k on their own mesh
    return Study(problem=ReactionProblem(), configs={"bilo": bilo, "pinn": pinn, "adjoint": adj},
                 methods="bilo,pinn,adjoint", threads=1)


COMPARISON = Comparison(
    name="reaction_diffusion", description=__doc__ or "", default_preset="smoke",
    prog="python examples/reaction_diffusion.py",
    presets={"smoke": (lambda: study(300, 1000), "(under a minute on one CPU core)"),
             "default": (lambda: study(1000, 4000), "(4x the fine-tuning, about 3 minutes)")})


if __name__ == "__main__":
    COMPARISON.main()  # the shared command line: --preset, --methods, --noise, --seeds, --out, ...
