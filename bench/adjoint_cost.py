"""Cost of one adjoint derivative in forward-solve equivalents.

    ratio = time(forward + adjoint + derivative assembly) / time(one forward solve)

measured on −∇·(a∇u) = 1 on the unit square, u = 0 on the boundary, P1 state and P1
coefficient on an n×n mesh ((n+1)² dofs; 320×320 gives 103,041), u observed at every
node. A "forward solve" is what ``ReducedFunctional.J`` does at a new m: assemble A and
b, set up the preconditioner, solve, apply B. The derivative (``ReducedFunctional.derivative``
at a new m) adds the adjoint solve with the same operator and preconditioner and one
vector assembly. Medians over ``repeats`` fresh parameters, after one warm-up (form
compilation). Run serially and under ``mpirun -n 2``:

    python -m bench.adjoint_cost                # both, writes results/bench/adjoint_cost*.json
    mpirun -n 2 python -m bench.adjoint_cost --worker --n 320

Target: ratio ≤ 2.5.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from bench._mpi import run_worker

SOLVERS = ("iterative", "direct")


def _measure(n: int, repeats: int, solver: str) -> dict:
    """Collective: time forward and derivative on this communicator; return rank 0's summary."""
    import dolfinx
    from mpi4py import MPI

    import adjoint

    comm = MPI.COMM_WORLD
    msh = dolfinx.mesh.create_unit_square(comm, n, n)
    V = dolfinx.fem.functionspace(msh, ("Lagrange", 1))
    B = adjoint.nodal_observation(V)
    config = adjoint.SolverConfig.iterative() if solver == "iterative" else adjoint.SolverConfig.direct()
    rf0 = adjoint.ReducedFunctional(msh, observation=B, data=np.zeros(B.getLocalSize()[0]), solver=config)
    data = rf0.observe(rf0.parameter_from_coefficient(lambda x: 1.0 + x[0] * x[1]))
    rf = adjoint.ReducedFunctional(msh, observation=B, data=data, solver=config)

    def point(k: int) -> np.ndarray:
        c = 0.1 * (k + 1)
        return rf.parameter_from_coefficient(lambda x: 1.5 + c * np.sin(3 * x[0]) * np.cos(2 * x[1]))

    def timed(f, m) -> float:
        comm.Barrier()
        t0 = time.perf_counter()
        f(m)
        comm.Barrier()
        return comm.allreduce(time.perf_counter() - t0, op=MPI.MAX)

    rf.derivative(point(-1))  # warm-up: JIT, first PC setup
    t_forward, t_derivative, t_gradient = [], [], []
    for k in range(repeats):
        t_forward.append(timed(rf.J, point(2 * k)))
        t_derivative.append(timed(rf.derivative, point(2 * k + 1)))
        t_gradient.append(timed(rf.gradient, point(2 * k + 1)))  # cached dJ: the Riesz solve only
    fwd, der = float(np.median(t_forward)), float(np.median(t_derivative))
    return {
        "n": n, "dofs": int(V.dofmap.index_map.size_global), "ranks": comm.size, "solver": solver,
        "state_options": dict(config.state_options), "repeats": repeats,
        "t_forward_median_s": fwd, "t_forward_adjoint_derivative_median_s": der,
        "t_riesz_median_s": float(np.median(t_gradient)),
        "ratio": der / fwd, "ratio_with_riesz": (der + float(np.median(t_gradient))) / fwd,
        "t_forward_s": t_forward, "t_forward_adjoint_derivative_s": t_derivative,
        "n_forward": rf.n_forward, "n_adjoint": rf.n_adjoint,
    }


def _worker(n: int, repeats: int, solvers: tuple[str, ...]) -> list[dict]:
    from fem.parallel import run_collectively

    return run_collectively(lambda: [_measure(n, repeats, s) for s in solvers])


def _mpirun(nprocs: int, n: int, repeats: int, solvers: tuple[str, ...]) -> list[dict]:
    result: list[dict] = run_worker("bench.adjoint_cost", nprocs,
                                    ["--n", str(n), "--repeats", str(repeats), "--solvers", *solvers])
    return result


def run(*, n: int = 320, repeats: int = 5, nprocs: tuple[int, ...] = (1, 2),
        solvers: tuple[str, ...] = SOLVERS, out: str | Path | None = "results/bench") -> dict:
    """Measure the adjoint cost ratio for each number of ranks (each in an ``mpirun`` subprocess).

    Args:
        n: cells per side of the unit-square mesh.
        repeats: timed repetitions (medians are reported).
        nprocs: numbers of MPI ranks.
        solvers: ``"iterative"`` (CG + GAMG, rtol 1e-12) and/or ``"direct"`` (MUMPS LU).
        out: directory for ``adjoint_cost.json`` (all runs) and ``adjoint_cost_np{k}.json``;
            ``None`` writes nothing.

    Returns:
        ``{"runs": [...], "target_ratio": 2.5, "max_ratio": ...}``.
    """
    runs: list[dict] = []
    for k in nprocs:
        runs.extend(_mpirun(k, n, repeats, tuple(solvers)))
    summary = {"benchmark": "adjoint_cost", "target_ratio": 2.5,
               "max_ratio": max(r["ratio"] for r in runs), "runs": runs}
    if out is not None:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "adjoint_cost.json").write_text(json.dumps(summary, indent=2))
        for k in nprocs:
            sub = [r for r in runs if r["ranks"] == k]
            (out / f"adjoint_cost_np{k}.json").write_text(json.dumps({**summary, "runs": sub}, indent=2))
    return summary


def main(argv: list[str] | None = None) -> dict | None:
    """Command line: see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=320)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--nprocs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--solvers", nargs="+", choices=SOLVERS, default=list(SOLVERS))
    parser.add_argument("--out", default="results/bench")
    parser.add_argument("--worker", action="store_true", help="measure on this communicator (under mpirun)")
    args = parser.parse_args(argv)
    if args.worker:
        from mpi4py import MPI

        import fem  # noqa: F401  (loads MPI before dolfinx)

        runs = _worker(args.n, args.repeats, tuple(args.solvers))
        if MPI.COMM_WORLD.rank == 0:
            print("RESULT " + json.dumps(runs), flush=True)
        return None
    summary = run(n=args.n, repeats=args.repeats, nprocs=tuple(args.nprocs), solvers=tuple(args.solvers),
                  out=args.out)
    for r in summary["runs"]:
        print(f"ranks {r['ranks']}  {r['solver']:9s}  dofs {r['dofs']}  "
              f"forward {r['t_forward_median_s']:.3f} s  "
              f"forward+adjoint+derivative {r['t_forward_adjoint_derivative_median_s']:.3f} s  "
              f"ratio {r['ratio']:.2f}  (+Riesz {r['ratio_with_riesz']:.2f})")
    print(f"max ratio {summary['max_ratio']:.2f} (target <= {summary['target_ratio']})")
    return summary


if __name__ == "__main__":
    main()
