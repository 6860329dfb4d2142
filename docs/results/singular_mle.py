"""The maximum-likelihood (λ, μ) of each seed's particles, by the closed-form solution.

A reference for docs/results/singular.md: no method that minimises the NLL can beat it on
average, so the distance of a method's estimate from the truth is best read beside this one's.
Usage: .venv/bin/python docs/results/singular_mle.py SEEDS  (prints a Markdown table)
"""

from __future__ import annotations

import sys

import numpy as np
from mpi4py import MPI
from scipy.optimize import minimize

from comparisons import singular
from inverse import make_data


def main(seeds: int) -> None:
    """Print, per seed, the particle count, the MLE, its relative errors and NLL, and the NLL at the truth."""
    problem = singular.SingularProblem()
    disc = problem.discretise(MPI.COMM_SELF)
    lik = problem.likelihood()
    truth = problem.unknowns.truth
    print("| seed | particles K | MLE lmbd | MLE μ | rel_err[lmbd] | rel_err[mu] | NLL at the MLE | NLL at the truth |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for seed in range(seeds):
        x = np.asarray(make_data(problem, disc, noise=0.0, seed=seed).disc.x_dat)[:, 0]

        def nll(z: np.ndarray) -> float:
            lam, mu = 100 * z[0], z[1]
            return lik.nll(singular.exact(lik.x_quad[:, 0], lam, mu), singular.exact(x, lam, mu))

        best = minimize(nll, np.array(problem.unknowns.init), method="Nelder-Mead",
                        options={"xatol": 1e-8, "fatol": 1e-8, "maxiter": 4000})
        errs = np.abs(best.x - truth) / np.abs(truth)
        print(f"| {seed} | {len(x)} | {best.x[0]:.4f} | {best.x[1]:.4f} | {errs[0]:.3g} | {errs[1]:.3g} | "
              f"{best.fun:.2f} | {nll(np.array(truth)):.2f} |")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
