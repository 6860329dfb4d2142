#!/usr/bin/env bash
# Reproduce docs/results/darcy_variants.md: the variants of BiLO tried on the Darcy field to close
# the gap to the adjoint, on the SE ℓ = 0.1 truth of `make demo`, 2 ranks, this preset (demo).
#  1. seeds 0-2: the unknown as an MLP and as an MLP of Fourier features, beside adjoint_nn with
#     each (the same f_V driven by exact adjoint gradients: what each parameterisation can reach)
#     and the adjoint on P1 nodal values;
#  2. seed 0 only (exploration): the unknown as P1 nodal values on the mesh (two rates), more W
#     steps per θ step, a heavier residual-gradient loss (`bilo` = `bilo(field=mlp)`, the config's).
# Usage: bash docs/results/run_darcy_variants.sh [PRESET]   (default: demo)
set -euo pipefail
cd "$(dirname "$0")/../.."
PRESET=${1:-demo}
RUN=(.venv/bin/mpirun -n 2 .venv/bin/python -m comparisons.darcy --preset "$PRESET" --quiet --overwrite)
"${RUN[@]}" --seeds 3 --out "results/darcy-variants-$PRESET" \
  --methods "bilo(field=mlp),bilo(field=fourier),adjoint_nn(field=mlp),adjoint_nn(field=fourier),adjoint"
"${RUN[@]}" --seeds 1 --out "results/darcy-variants-$PRESET-p1" \
  --methods "bilo(field=p1),bilo(field=p1,lr_theta=0.01),bilo(field=fourier)"
"${RUN[@]}" --seeds 1 --out "results/darcy-variants-$PRESET-steps" \
  --methods "adjoint_nn,adjoint_nn(field=fourier),bilo,bilo(lower_steps=2),bilo(w_rgrad=1)"
.venv/bin/python docs/results/collect.py "results/darcy-variants-$PRESET" "results/darcy-variants-$PRESET-p1" \
  "results/darcy-variants-$PRESET-steps" > docs/results/darcy_variants.md
cat docs/results/darcy_variants_reading.txt >> docs/results/darcy_variants.md
