#!/usr/bin/env bash
# Reproduce docs/results/darcy_fno.md: the FNO (neuraloperator, 4 layers, 32 modes, 32 channels,
# on the 51² nodes) trained on 1,000 FEM solutions of draws of the truth's law ("id", GRF ℓ = 0.1)
# or of the law at ℓ = 0.2 ("ood"), beside the adjoint; preset default, seed 0, noise-free,
# 2 MPI ranks. The data sets are generated once into results/cache (their generation time is
# recorded there and reported as t_generate_s); the BiLO/PINN rows of this preset are on
# docs/results/darcy_default.md (same problem, data and seed).
set -euo pipefail
cd "$(dirname "$0")/../.."
.venv/bin/mpirun -n 2 .venv/bin/python -m comparisons.darcy --preset default \
  --methods "adjoint,fno(dataset=id),fno(dataset=ood)" --quiet --out results/darcy-fno
{
  .venv/bin/python docs/results/collect.py results/darcy-fno
  cat docs/results/darcy_fno_reading.txt
} > docs/results/darcy_fno.md
cp results/darcy-fno/darcy_fields.png docs/results/darcy_fno.png
