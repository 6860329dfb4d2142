"""Cost of one transient adjoint gradient in forward-solve equivalents (Fisher–KPP).

    ratio = time(forward time series + backward adjoint sweep) / time(forward time series)

on the Fisher–KPP problem of ``comparisons.fisher_kpp`` at its default resolution (200 P2
cells, 200 BDF2 steps; ``--cells``/``--steps`` change it), θ = (rD, rρ) the controls, noise-free
data on the 11×11 space-time grid. A "forward solve" is what ``TransientReducedFunctional.J``
does at a new θ: one Newton solve (SNES, LU) per step, states kept in memory. The gradient
(``derivative`` at the same θ) adds the backward sweep: per step one tangent assembly, one LU
factorisation, one transposed solve and one scalar assembly per control. Medians over
``repeats`` fresh θ, after a warm-up (form compilation). Serial and under ``mpirun -n 2``:

    python -m bench.transient_adjoint_cost          # both; writes results/bench/transient_adjoint_cost.json
    mpirun -n 2 python -m bench.transient_adjoint_cost --worker

Target: ratio ≤ 2.5.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from bench._mpi import run_worker


def _measure(cells: int, steps: int, repeats: int) -> dict:
    """Collective: time J and the derivative on this communicator; return the summary."""
    from mpi4py import MPI

    from comparisons.fisher_kpp import FisherKPPProblem
    from inverse.adjoint_bridge import AdjointConfig, transient_functional
    from inverse.runner import make_data

    comm = MPI.COMM_WORLD
    problem = FisherKPPProblem(cells=cells, steps=steps)
    disc = problem.discretise(comm)
    data = make_data(problem, disc, noise=0.0, seed=0, u_ref=np.zeros(0))
    rf = transient_functional(problem, disc, data.u_obs, cfg=AdjointConfig())

    def point(k: int) -> np.ndarray:
        theta = np.array([1.0 + 0.1 * (k + 1), 1.5 - 0.05 * (k + 1)])
        return theta if comm.rank == 0 else theta[:0]

    def timed(f: Callable[[np.ndarray], object], m: np.ndarray) -> float:
        comm.Barrier()
        t0 = time.perf_counter()
        f(m)
        comm.Barrier()
        return float(comm.allreduce(time.perf_counter() - t0, op=MPI.MAX))

    rf.derivative(point(-2))  # warm-up: JIT compilation, first factorisations
    t_forward, t_adjoint, newton = [], [], []
    for k in range(repeats):
        n0 = rf.n_newton
        t_forward.append(timed(rf.J, point(k)))
        newton.append(rf.n_newton - n0)
        t_adjoint.append(timed(rf.derivative, point(k)))  # the forward is cached: the sweep only
    fwd, adj = float(np.median(t_forward)), float(np.median(t_adjoint))
    return {
        "cells": cells, "steps": steps, "degree": problem.fem_degree,
        "dofs": int(rf.space().dofmap.index_map.size_global), "ranks": comm.size, "repeats": repeats,
        "t_forward_median_s": fwd, "t_adjoint_sweep_median_s": adj, "ratio": (fwd + adj) / fwd,
        "newton_iterations_per_step": float(np.median(newton)) / steps,
        "t_forward_s": t_forward, "t_adjoint_sweep_s": t_adjoint,
        "state_memory_bytes_per_rank": 8 * (steps + 1) * int(rf.space().dofmap.index_map.size_local),
    }


def _mpirun(nprocs: int, cells: int, steps: int, repeats: int) -> dict:
    result: dict = run_worker("bench.transient_adjoint_cost", nprocs,
                              ["--cells", str(cells), "--steps", str(steps), "--repeats", str(repeats)])
    return result


def run(*, cells: int = 200, steps: int = 200, repeats: int = 5, nprocs: tuple[int, ...] = (1, 2),
        out: str | Path | None = "results/bench") -> dict:
    """Measure the ratio for each number of ranks (each in an ``mpirun`` subprocess, side by side).

    Returns:
        ``{"runs": [...], "target_ratio": 2.5, "max_ratio": ...}``; written to
        ``<out>/transient_adjoint_cost.json`` unless ``out`` is None.
    """
    runs = [_mpirun(k, cells, steps, repeats) for k in nprocs]
    summary = {"benchmark": "transient_adjoint_cost", "target_ratio": 2.5,
               "max_ratio": max(r["ratio"] for r in runs), "runs": runs}
    if out is not None:
        Path(out).mkdir(parents=True, exist_ok=True)
        (Path(out) / "transient_adjoint_cost.json").write_text(json.dumps(summary, indent=2))
    return summary


def main(argv: list[str] | None = None) -> dict | None:
    """Command line: see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cells", type=int, default=200, help="P2 cells in space (default 200)")
    parser.add_argument("--steps", type=int, default=200, help="BDF2 steps (default 200)")
    parser.add_argument("--repeats", type=int, default=5, help="timed repetitions (medians reported)")
    parser.add_argument("--nprocs", type=int, nargs="+", default=[1, 2], help="MPI rank counts")
    parser.add_argument("--out", default="results/bench", help="output folder of the JSON")
    parser.add_argument("--worker", action="store_true", help="measure on this communicator (under mpirun)")
    args = parser.parse_args(argv)
    if args.worker:
        from mpi4py import MPI

        from fem.parallel import run_collectively

        result = run_collectively(lambda: _measure(args.cells, args.steps, args.repeats))
        if MPI.COMM_WORLD.rank == 0:
            print("RESULT " + json.dumps(result), flush=True)
        return None
    summary = run(cells=args.cells, steps=args.steps, repeats=args.repeats, nprocs=tuple(args.nprocs),
                  out=args.out)
    for r in summary["runs"]:
        print(f"ranks {r['ranks']}  dofs {r['dofs']}  steps {r['steps']}  "
              f"forward {r['t_forward_median_s']:.3f} s ({r['newton_iterations_per_step']:.2f} Newton/step)  "
              f"adjoint sweep {r['t_adjoint_sweep_median_s']:.3f} s  ratio {r['ratio']:.2f}")
    print(f"max ratio {summary['max_ratio']:.2f} (target <= {summary['target_ratio']})")
    return summary


if __name__ == "__main__":
    main()
