# # Darcy: how close is BiLO's upper-level gradient to the exact one?
#
# For a function unknown, BiLO's upper level descends
#
# $$ \nabla_V L_{dat} = \frac{2}{N}\sum_j e_j\,\partial_z u(x_j, z_j; W)\,\nabla_V f_V(x_j),
#    \qquad e_j = u(x_j) - d_j, $$
#
# where $\partial_z u$ is the local operator's sensitivity to the auxiliary variable at the same
# point. The exact gradient of the same data loss, with u the FEM solution at the coefficient
# $I_h f_V$ (the P1 interpolant of f_V), is given by one adjoint solve,
# $\nabla_V L = \sum_i \partial L/\partial m_i\,\nabla_V f_V(x_i)$ with $\partial L/\partial m$ the
# adjoint's dual vector (`inverse.adjoint_bridge.function_gradient`, scaled by 2/N to match the mean).
#
# This module pre-trains BiLO at the initial guess exactly as `comparisons.darcy` does (the same
# problem declaration and preset), then reports the cosine similarity and relative error of the two
# gradients with respect to V (what Adam sees) and, in function space, of BiLO's per-node dL/dz
# against the adjoint's L² gradient density. It is the function-unknown counterpart of the
# Fisher–KPP fidelity check.
#
#     python -m comparisons.darcy_fidelity --cells 20 --pretrain 1000
#     mpirun -n 2 python -m comparisons.darcy_fidelity --preset demo

# +
from __future__ import annotations

import json
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from mpi4py import MPI

import fem
from comparisons import darcy
from fem.parallel import print0, run_collectively
from hybrid import DataParallel
from hybrid.bilo import function_fidelity, gradient_agreement
from hybrid.local_operator import HybridModel
from inverse import BiLO, Discretisation, RunOptions, make_data
from inverse.adjoint_bridge import data_misfit, function_gradient
from inverse.arguments import Parser, non_negative_int, positive_float, positive_int, user_errors
from inverse.outputs import RunFolder, write_atomic

# -


@dataclass(frozen=True)
class Gradients:
    """BiLO's and the exact data-loss gradients at one state of the model."""

    bilo_V: np.ndarray  # BiLO's ∇_V L_dat (summed over ranks)
    exact_V: np.ndarray  # the adjoint's, by the chain rule through f_V at the nodes
    bilo_z: np.ndarray  # BiLO's per-node dL/dz at this rank's nodes
    exact_density: np.ndarray  # the adjoint's L² gradient density (dual / lumped mass) there
    loss_fem: float  # L_dat with u the FEM solution at I_h f_V


def gradients(
    model: HybridModel, problem: darcy.DarcyProblem, disc: Discretisation, d: np.ndarray
) -> Gradients:
    """Both gradients of L = mean_j (u(x_j) − d_j)² over the mesh nodes, at the model's f_V."""
    comm, x_nodes = disc.comm, np.asarray(disc.x_dat)
    p = next(model.parameters())
    xt = torch.as_tensor(x_nodes, dtype=p.dtype, device=p.device)
    n = comm.allreduce(len(x_nodes))
    z = model.expand(xt)
    loss = (model.u(xt, z) - torch.as_tensor(d, dtype=p.dtype, device=p.device)).square().sum() / n
    (g_z,) = torch.autograd.grad(loss, z, retain_graph=True)
    rf = data_misfit(problem, disc, d)
    exact = function_gradient(rf)
    g_exact, g_bilo = function_fidelity(model, DataParallel(comm if comm.size > 1 else None), exact, loss)
    with torch.no_grad():
        m = model.function(torch.as_tensor(exact.x, dtype=p.dtype, device=p.device)).double().cpu().numpy()
    dual = exact.derivative(m)  # cached by the functional: no second solve
    # the L² density, mapped to the state space's node order for the function-space comparison
    q = rf.coefficient_function(m)
    q.x.array[: len(dual)] = dual / fem.lumped_mass_weights(rf.Q)
    q.x.scatter_forward()
    density = fem.PointEvaluator(rf.Q, x_nodes).evaluate(q)
    return Gradients(
        bilo_V=g_bilo,
        exact_V=g_exact,
        bilo_z=g_z[:, 0].detach().double().cpu().numpy(),
        exact_density=density,
        loss_fem=rf.misfit(m) * 2.0 / n,
    )


def global_agreement(a: np.ndarray, b: np.ndarray, comm: MPI.Comm) -> tuple[float, float]:
    """Cosine and relative error of two vectors distributed over ranks (rows owned per rank)."""
    ab, aa, bb = (comm.allreduce(float(u @ v)) for u, v in ((a, b), (a, a), (b, b)))
    diff = comm.allreduce(float((a - b) @ (a - b)))
    return ab / np.sqrt(aa * bb), float(np.sqrt(diff / bb))


def run(argv: list[str] | None = None) -> dict[str, Any]:
    """Pre-train BiLO at the initial guess, then compare its data gradient with the adjoint's."""
    comm = MPI.COMM_WORLD
    ap = Parser(
        prog="python -m comparisons.darcy_fidelity",
        description="Compare BiLO's upper-level gradient for the Darcy coefficient "
        "with the exact (adjoint) gradient of the same data loss, "
        "after pre-training at the initial guess.",
    )
    ap.add_argument(
        "--preset",
        default="demo",
        choices=tuple(darcy.PRESETS),
        help="network sizes and pre-training steps of comparisons.darcy (default: demo)",
    )
    ap.add_argument("--cells", type=positive_int, default=None,
                    help="cells per side of the unit square (>= 2)")
    ap.add_argument("--pretrain", type=non_negative_int, default=None,
                    help="pre-training steps (preset's default)")
    ap.add_argument("--grf-seed", type=non_negative_int, default=4,
                    help="seed of the true field (as comparisons.darcy)")
    ap.add_argument("--grf-length", type=positive_float, default=None,
                    help="correlation length ℓ (default 0.1)")
    ap.add_argument("--seed", type=non_negative_int, default=0, help="network seed")
    ap.add_argument("--out", default=None, help="write fidelity.json into this folder")
    ap.add_argument("--quiet", action="store_true", help="no progress bar")
    ap.add_argument("--debug", action="store_true", help="tracebacks for errors (default: one line)")
    args = ap.parse_args(argv)
    if args.cells is not None and args.cells < 2:
        ap.error(f"argument --cells: expected an integer >= 2, got {args.cells}")
    # the output folder before any work
    folder = None if args.out is None else RunFolder.open(Path(args.out), comm)
    study = darcy.PRESETS[args.preset][0]()
    over: dict[str, Any] = {"grf_seed": args.grf_seed}
    if args.cells is not None:
        over["cells"] = args.cells
    if args.grf_length is not None:
        over["grf_length"] = args.grf_length
    assert isinstance(study.problem, darcy.DarcyProblem)
    problem = replace(study.problem, **over)
    bilo = study.configs["bilo"]
    if args.pretrain is not None:
        bilo = replace(bilo, pretrain=replace(bilo.pretrain, steps=args.pretrain))
    bilo = replace(bilo, finetune=replace(bilo.finetune, steps=0, fidelity_every=0))
    disc = problem.discretise(comm)
    data = make_data(problem, disc, noise=0.0, seed=args.seed)
    res = BiLO(config=bilo).solve(problem, data, RunOptions(device="cpu", progress=not args.quiet))
    g = gradients(res.trained.model, problem, disc, data.u_obs)
    cos_V, rel_V = gradient_agreement(g.bilo_V, g.exact_V)
    # per-point dL/dz is a per-node derivative of a mean: times N/|Ω| it is a density
    n = comm.allreduce(len(g.bilo_z))
    assert disc.w_field is not None
    area = comm.allreduce(float(np.sum(disc.w_field)))
    cos_f, rel_f = global_agreement(g.bilo_z * n / area, g.exact_density, comm)
    assert res.u is not None
    out = {
        "cells": problem.cells,
        "grf_length": problem.grf_length,
        "ranks": comm.size,
        "pretrain_steps": bilo.pretrain.steps,
        "cos_V": cos_V,
        "rel_err_V": rel_V,
        "norm_ratio_V": float(np.linalg.norm(g.bilo_V) / np.linalg.norm(g.exact_V)),
        "cos_function": cos_f,
        "rel_err_function": rel_f,
        "data_loss_fem": g.loss_fem,
        "data_loss_bilo": disc.global_mean((res.u(np.asarray(disc.x_dat)) - data.u_obs) ** 2),
    }
    print0(
        "[darcy_fidelity] "
        + ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in out.items())
    )
    if folder is not None and comm.rank == 0:
        write_atomic(folder.path / "fidelity.json", json.dumps(out, indent=2) + "\n")
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Entry point under MPI error handling: a user's error is one line and exit status 2."""
    argv = sys.argv[1:] if argv is None else argv
    return run_collectively(lambda: run(argv), messages=user_errors("--debug" in argv))


if __name__ == "__main__":
    main(sys.argv[1:])
