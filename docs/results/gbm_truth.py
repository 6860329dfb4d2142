"""The masks' loss and DICE of the FEM solution at the TRUE parameters, per seed of the label noise.

Usage: python docs/results/gbm_truth.py [SEEDS]   (default 3; the `default` preset's problem)

What any method can at best explain of the noisy masks: a method whose loss is below this one
has fitted the label noise (or found other parameters that explain the masks as well).
"""

from __future__ import annotations

import sys

import numpy as np
from mpi4py import MPI

from comparisons import gbm
from inverse import make_data


def main(seeds: int) -> None:
    """Print a markdown table: seed, loss at the truth, DICE at the truth."""
    study = gbm.PRESETS["default"][0]()
    problem = study.problem
    disc = problem.discretise(MPI.COMM_WORLD)
    like = problem.likelihood()
    th = np.array(problem.truth_theta[2:])
    u_true = problem.forward(disc, problem.theta_true(), disc.x_dat, truth=True)
    print("| seed | seg_loss at the truth | dice[th1] | dice[th2] |")
    print("| --- | --- | --- | --- |")
    for seed in range(seeds):
        data = make_data(problem, disc, noise=0.1, seed=seed, u_true=u_true)
        d = like.dice(u_true, data.u_obs, th)
        print(f"| {seed} | {like.loss(u_true, data.u_obs, th):.4f} | {d[0]:.4f} | {d[1]:.4f} |")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
