#!/usr/bin/env bash
# Reproduce docs/results/darcy_se025_default.md: BiLO (θ's learning rate constant, and on a cosine
# to 1e-4) and the adjoint on the SE law at ℓ = 0.25, preset default (50×50 mesh, 3,000 + 3,000
# steps), 2 ranks, seed 0 (one seed: ~10 min per BiLO run on a 2-core CPU).
# Usage: bash docs/results/run_darcy_se025_default.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
RUN=(.venv/bin/mpirun -n 2 .venv/bin/python -m comparisons.darcy --preset default --law se --grf-length 0.25
     --quiet --overwrite)
"${RUN[@]}" --methods bilo,adjoint --out results/darcy-se025-default-constant
"${RUN[@]}" --methods "bilo(lr_theta_final=1e-4)" --out results/darcy-se025-default-cosine
.venv/bin/python docs/results/collect.py results/darcy-se025-default-constant results/darcy-se025-default-cosine \
  > docs/results/darcy_se025_default.md
cat docs/results/darcy_se025_default_reading.txt >> docs/results/darcy_se025_default.md
