#!/usr/bin/env bash
# Reproduce docs/results/darcy_laws.md (preset demo) or docs/results/darcy_laws_<PRESET>.md: BiLO
# (the unknown as an MLP of Fourier features, the presets' representation), the PINN, the adjoint
# and adjoint_nn on the truth laws of the Darcy comparison besides today's SE ℓ = 0.1
# (docs/results/darcy_variants.md): the SE law at ℓ = 0.25 and the PINO/FNO law
# N(0, (−Δ + 9I)⁻²), 2 ranks, SEEDS seeds.
# Usage: bash docs/results/run_darcy_laws.sh [PRESET] [SEEDS] [METHODS] [PINO_SEEDS]
#   demo page:    bash docs/results/run_darcy_laws.sh demo 1
#   default page: bash docs/results/run_darcy_laws.sh default 3 "bilo,adjoint,adjoint_nn"
#   (PINO_SEEDS: seeds of the PINO law, default SEEDS)
set -euo pipefail
cd "$(dirname "$0")/../.."
PRESET=${1:-demo} SEEDS=${2:-1} METHODS=${3:-"bilo,pinn(w_dat=100),adjoint,adjoint_nn"} PINO_SEEDS=${4:-${2:-1}}
STEM=docs/results/darcy_laws PNG=docs/results/darcy_pino_fields.png
if [ "$PRESET" != demo ]; then STEM=docs/results/darcy_laws_$PRESET PNG=docs/results/darcy_pino_fields_$PRESET.png; fi
RUN=(.venv/bin/mpirun -n 2 .venv/bin/python -m comparisons.darcy --preset "$PRESET" --methods "$METHODS"
     --quiet --overwrite)
"${RUN[@]}" --seeds "$SEEDS" --law se --grf-length 0.25 --out "results/darcy-se025-$PRESET"
"${RUN[@]}" --seeds "$PINO_SEEDS" --law pino --out "results/darcy-pino-$PRESET"
.venv/bin/python docs/results/collect.py "results/darcy-se025-$PRESET" "results/darcy-pino-$PRESET" > "$STEM.md"
cp "results/darcy-pino-$PRESET/darcy_fields.png" "$PNG"
cat "${STEM}_reading.txt" >> "$STEM.md"
