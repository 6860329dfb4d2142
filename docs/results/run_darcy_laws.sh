#!/usr/bin/env bash
# Reproduce docs/results/darcy_laws.md: BiLO (the unknown as an MLP of Fourier features, the
# presets' representation), the PINN, the adjoint and adjoint_nn on the truth laws of the Darcy
# comparison besides today's SE ℓ = 0.1 (docs/results/darcy_variants.md): the SE law at ℓ = 0.25
# and the PINO/FNO law N(0, (−Δ + 9I)⁻²), 2 ranks, this preset (demo), SEEDS seeds.
# Usage: bash docs/results/run_darcy_laws.sh [PRESET] [SEEDS]   (default: demo 1, what the page shows)
set -euo pipefail
cd "$(dirname "$0")/../.."
PRESET=${1:-demo} SEEDS=${2:-1}
METHODS="bilo,pinn(w_dat=100),adjoint,adjoint_nn"
RUN=(.venv/bin/mpirun -n 2 .venv/bin/python -m comparisons.darcy --preset "$PRESET" --seeds "$SEEDS"
     --methods "$METHODS" --quiet --overwrite)
"${RUN[@]}" --law se --grf-length 0.25 --out "results/darcy-se025-$PRESET"
"${RUN[@]}" --law pino --out "results/darcy-pino-$PRESET"
.venv/bin/python docs/results/collect.py "results/darcy-se025-$PRESET" "results/darcy-pino-$PRESET" \
  > docs/results/darcy_laws.md
cp "results/darcy-pino-$PRESET/darcy_fields.png" docs/results/darcy_pino_fields.png
cat docs/results/darcy_laws_reading.txt >> docs/results/darcy_laws.md
