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
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from mpi4py import MPI

from comparisons import darcy
from fem.parallel import print0, run_collectively

from hybrid import BiLO  # noqa: E402
from hybrid.bilo import gradient_agreement  # noqa: E402
from hybrid.local_operator import HybridModel  # noqa: E402

import fem  # noqa: E402
# -


def bilo_gradients(model: HybridModel, x: np.ndarray, d: np.ndarray,
                   comm: MPI.Comm) -> tuple[np.ndarray, np.ndarray]:
    """BiLO's data-loss gradient w.r.t. V (summed over ranks) and its per-point dL/dz at x."""
    p = next(model.parameters())
    xt = torch.as_tensor(x, dtype=p.dtype, device=p.device)
    dt = torch.as_tensor(d, dtype=p.dtype, device=p.device)
    n = comm.allreduce(len(x))
    z = model.expand(xt)
    loss = (model.u(xt, z) - dt).square().sum() / n
    V = model.unknowns()
    g_z, *g_V = torch.autograd.grad(loss, [z, *V])
    flat = torch.cat([g.reshape(-1) for g in g_V]).detach().double().cpu().numpy()
    return comm.allreduce(flat), g_z[:, 0].detach().double().cpu().numpy()


def exact_gradients(model: HybridModel, setup: darcy.DarcySetup, d: np.ndarray,
                    comm: MPI.Comm) -> tuple[np.ndarray, np.ndarray, float]:
    """The adjoint gradient of L(V) = mean_j (u_FEM[I_h f_V](x_j) − d_j)² w.r.t. V.

    Returns the V-gradient (summed over ranks), the L² gradient density at the owned nodes
    (dual / lumped mass, in the nodes' order) and L itself.
    """
    rf = darcy.data_misfit(setup, d)
    exact = darcy.function_gradient(rf)
    p = next(model.parameters())
    f = model.function(torch.as_tensor(exact.x, dtype=p.dtype, device=p.device))
    m = f.detach().double().cpu().numpy()
    dual = exact.derivative(m)
    g_V = torch.autograd.grad(f, model.unknowns(), grad_outputs=torch.as_tensor(dual, dtype=f.dtype,
                                                                                  device=f.device))
    flat = torch.cat([g.reshape(-1) for g in g_V]).detach().double().cpu().numpy()
    # the L² density, mapped to the state space's node order for the function-space comparison
    lumped = fem.lumped_mass_weights(rf.Q)
    density = fem.PointEvaluator(rf.Q, setup.x_nodes).evaluate(_function(rf.Q, dual / lumped))
    n = comm.allreduce(len(setup.x_nodes))
    return comm.allreduce(flat), density, rf.misfit(m) * 2.0 / n


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


def global_mean_square(e: np.ndarray, comm: MPI.Comm) -> float:
    """Mean of e² over all ranks' entries."""
    return comm.allreduce(float(e @ e)) / comm.allreduce(e.size)


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
    g_bilo, gz = bilo_gradients(model, setup.x_nodes, setup.u_true, comm)
    g_exact, density, L_fem = exact_gradients(model, setup, setup.u_true, comm)
    cos_V, rel_V = gradient_agreement(g_bilo, g_exact)
    # per-point dL/dz is a per-node derivative of a mean: times N/|Ω| it is a density
    n = comm.allreduce(len(setup.x_nodes))
    area = comm.allreduce(float(setup.w_quad.sum()))
    cos_f, rel_f = global_agreement(gz * n / area, density, comm)
    ratio = float(np.linalg.norm(g_bilo) / np.linalg.norm(g_exact))
    out = {"cells": cfg.cells, "grf_length": cfg.grf_length, "ranks": comm.size,
           "pretrain_steps": bilo.pretrain.steps, "cos_V": cos_V, "rel_err_V": rel_V, "norm_ratio_V": ratio,
           "cos_function": cos_f, "rel_err_function": rel_f, "data_loss_fem": L_fem,
           "data_loss_bilo": global_mean_square(res.predict(setup.x_nodes) - setup.u_true, comm)}
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
