# # Darcy: how close is BiLO's upper-level gradient to the exact one?
#
# For a function unknown, BiLO's upper level descends
#
# $$ \nabla_V L_{dat} = \frac{2}{N}\sum_j e_j\,\partial_z u(x_j, z_j; W)\,\nabla_V f_V(x_j), \qquad e_j = u(x_j) - d_j, $$
#
# where $\partial_z u$ is the local operator's sensitivity to the auxiliary variable at the same
# point. The exact gradient of the same data loss, with u the FEM solution at the coefficient
# $I_h f_V$ (the P1 interpolant of f_V), is given by one adjoint solve,
# $\nabla_V L = \sum_i \partial L/\partial m_i\,\nabla_V f_V(x_i)$ with $\partial L/\partial m$ the
# adjoint's dual vector (`adjoint.ReducedFunctional.derivative`, scaled by 2/N to match the mean).
#
# This module pre-trains BiLO at the initial guess exactly as `comparisons.darcy` does, then
# reports the cosine similarity and relative error of the two gradients with respect to V (what
# Adam sees) and, in function space, of BiLO's per-node dL/dz against the adjoint's L² gradient
# density. It is the function-unknown counterpart of the Fisher–KPP fidelity check.
#
#     python -m comparisons.darcy_fidelity --cells 20 --pretrain 1000
#     mpirun -n 2 python -m comparisons.darcy_fidelity --preset demo

# +
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from mpi4py import MPI

from comparisons import darcy
from fem.parallel import print0, run_collectively

from hybrid import BiLO  # noqa: E402
from hybrid import DataParallel  # noqa: E402
from hybrid.bilo import function_fidelity, gradient_agreement  # noqa: E402
from hybrid.local_operator import HybridModel  # noqa: E402

import fem  # noqa: E402
# -


@dataclass(frozen=True)
class Gradients:
    """BiLO's and the exact data-loss gradients at one state of the model."""

    bilo_V: np.ndarray          # BiLO's ∇_V L_dat (summed over ranks)
    exact_V: np.ndarray         # the adjoint's, by the chain rule through f_V at the nodes
    bilo_z: np.ndarray          # BiLO's per-node dL/dz at this rank's nodes
    exact_density: np.ndarray   # the adjoint's L² gradient density (dual / lumped mass) there
    loss_fem: float             # L_dat with u the FEM solution at I_h f_V


def gradients(model: HybridModel, setup: darcy.DarcySetup, d: np.ndarray, comm: MPI.Comm) -> Gradients:
    """Both gradients of L = mean_j (u(x_j) − d_j)² over the mesh nodes, at the model's f_V."""
    p = next(model.parameters())
    xt = torch.as_tensor(setup.x_nodes, dtype=p.dtype, device=p.device)
    n = comm.allreduce(len(setup.x_nodes))
    z = model.expand(xt)
    loss = (model.u(xt, z) - torch.as_tensor(d, dtype=p.dtype, device=p.device)).square().sum() / n
    (g_z,) = torch.autograd.grad(loss, z, retain_graph=True)
    rf = darcy.data_misfit(setup, d)
    exact = darcy.function_gradient(rf)
    g_exact, g_bilo = function_fidelity(model, DataParallel(comm if comm.size > 1 else None), exact, loss)
    with torch.no_grad():
        m = model.function(torch.as_tensor(exact.x, dtype=p.dtype, device=p.device)).double().cpu().numpy()
    dual = exact.derivative(m)  # cached by the functional: no second solve
    # the L² density, mapped to the state space's node order for the function-space comparison
    lumped = fem.lumped_mass_weights(rf.Q)
    density = fem.PointEvaluator(rf.Q, setup.x_nodes).evaluate(_function(rf.Q, dual / lumped))
    return Gradients(bilo_V=g_bilo, exact_V=g_exact, bilo_z=g_z[:, 0].detach().double().cpu().numpy(),
                     exact_density=density, loss_fem=rf.misfit(m) * 2.0 / n)


def _function(Q, owned: np.ndarray):
    import dolfinx

    f = dolfinx.fem.Function(Q)
    f.x.array[: len(owned)] = owned
    f.x.scatter_forward()
    return f


def global_agreement(a: np.ndarray, b: np.ndarray, comm: MPI.Comm) -> tuple[float, float]:
    """Cosine and relative error of two vectors distributed over ranks (rows owned per rank)."""
    ab, aa, bb = (comm.allreduce(float(u @ v)) for u, v in ((a, b), (a, a), (b, b)))
    diff = comm.allreduce(float((a - b) @ (a - b)))
    return ab / np.sqrt(aa * bb), float(np.sqrt(diff / bb))


def run(argv: list[str] | None = None) -> dict:
    """Pre-train BiLO at the initial guess, then compare its data gradient with the adjoint's."""
    comm = MPI.COMM_WORLD
    ap = argparse.ArgumentParser(prog="python -m comparisons.darcy_fidelity",
                                 description="Compare BiLO's upper-level gradient for the Darcy coefficient "
                                             "with the exact (adjoint) gradient of the same data loss, "
                                             "after pre-training at the initial guess.")
    ap.add_argument("--preset", default="demo", choices=("smoke", "demo", "default", "paper"),
                    help="network sizes and pre-training steps of comparisons.darcy (default: demo)")
    ap.add_argument("--cells", type=int, default=None, help="cells per side of the unit square")
    ap.add_argument("--pretrain", type=int, default=None, help="pre-training steps (preset's default)")
    ap.add_argument("--grf-seed", type=int, default=4, help="seed of the true field (as comparisons.darcy)")
    ap.add_argument("--grf-length", type=float, default=None, help="correlation length ℓ (default 0.1)")
    ap.add_argument("--seed", type=int, default=0, help="network seed")
    ap.add_argument("--out", default=None, help="write fidelity.json here")
    ap.add_argument("--quiet", action="store_true", help="no progress bar")
    args = ap.parse_args(argv)
    cfg = darcy.DarcyConfig.preset(args.preset)
    if args.cells is not None:
        cfg = replace(cfg, cells=args.cells)
    if args.grf_length is not None:
        cfg = replace(cfg, grf_length=args.grf_length)
    bilo = cfg.bilo
    if args.pretrain is not None:
        bilo = replace(bilo, pretrain=replace(bilo.pretrain, steps=args.pretrain))
    bilo = replace(bilo, finetune=replace(bilo.finetune, steps=0))
    setup = darcy.make_setup(cfg, None, None, args.grf_seed, comm)
    res = BiLO(bilo).fit(darcy.DarcyPDE(), x_res=setup.x_res, x_dat=setup.x_nodes, u_dat=setup.u_true,
                         theta_init=setup.a_init(setup.x_res), u_ref=setup.u_init, x_ref=setup.x_nodes,
                         device="cpu", seed=args.seed, progress=not args.quiet and comm.rank == 0,
                         comm=comm if comm.size > 1 else None)
    model = res.model
    g = gradients(model, setup, setup.u_true, comm)
    g_bilo, g_exact, gz, density, L_fem = g.bilo_V, g.exact_V, g.bilo_z, g.exact_density, g.loss_fem
    cos_V, rel_V = gradient_agreement(g_bilo, g_exact)
    # per-point dL/dz is a per-node derivative of a mean: times N/|Ω| it is a density
    n = comm.allreduce(len(setup.x_nodes))
    area = comm.allreduce(float(setup.w_quad.sum()))
    cos_f, rel_f = global_agreement(gz * n / area, density, comm)
    ratio = float(np.linalg.norm(g_bilo) / np.linalg.norm(g_exact))
    out = {"cells": cfg.cells, "grf_length": cfg.grf_length, "ranks": comm.size,
           "pretrain_steps": bilo.pretrain.steps, "cos_V": cos_V, "rel_err_V": rel_V, "norm_ratio_V": ratio,
           "cos_function": cos_f, "rel_err_function": rel_f, "data_loss_fem": L_fem,
           "data_loss_bilo": darcy.global_mean((res.predict(setup.x_nodes) - setup.u_true) ** 2, comm)}
    print0("[darcy_fidelity] " + ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
                                           for k, v in out.items()))
    if args.out is not None and comm.rank == 0:
        Path(args.out).mkdir(parents=True, exist_ok=True)
        (Path(args.out) / "fidelity.json").write_text(json.dumps(out, indent=2))
    return out


def main(argv: list[str] | None = None) -> dict:
    """Entry point under MPI error handling."""
    return run_collectively(lambda: run(argv))


if __name__ == "__main__":
    main(sys.argv[1:])
