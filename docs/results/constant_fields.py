"""The metrics of constant coefficients on the Darcy example domain (a floor for any method).

Usage: python docs/results/constant_fields.py   (1 rank; prints one line per constant)
"""

from __future__ import annotations

import numpy as np
from mpi4py import MPI

from comparisons.darcy import DarcyProblem
from inverse.runner import estimate_metrics


def main() -> None:
    """Print field_rel_l2, accuracy and field_rel_sq of a ≡ c for a few c (default problem's truth)."""
    problem = DarcyProblem(mesh_path="comparisons/meshes/example_domain.msh")
    disc = problem.discretise(MPI.COMM_WORLD)
    for c in (3.0, 5.0, 7.5, 12.0):
        m = estimate_metrics(problem, disc, lambda x, c=c: np.full(len(x), c))
        print(f"a = {c:4g}: " + ", ".join(f"{k} {v:.3f}" for k, v in m.items()))


if __name__ == "__main__":
    main()
