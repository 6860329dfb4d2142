#!/usr/bin/env bash
# Reproduce docs/results/darcy_laws_default_extra.md: what docs/results/darcy_laws_default.md lacks,
# on the same laws, preset, seeds and ranks. The PINN (w_dat = 100, as on the demo page) on both
# laws, and BiLO with the paper's 5,000 fine-tuning steps instead of the preset's 3,000 on SE
# ℓ = 0.25 (one pre-training per seed, the preset's 3,000 steps). 2 ranks, seeds 0-2; about
# 70 min on this 2-core CPU.
# Usage: bash docs/results/run_darcy_laws_default_extra.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
RUN=(.venv/bin/mpirun -n 2 .venv/bin/python -m comparisons.darcy --preset default --seeds 3 --quiet --overwrite)
"${RUN[@]}" --methods "pinn(w_dat=100),bilo(steps=5000)" --law se --grf-length 0.25 \
  --out results/darcy-se025-default-extra
"${RUN[@]}" --methods "pinn(w_dat=100)" --law pino --out results/darcy-pino-default-extra
.venv/bin/python docs/results/collect.py results/darcy-se025-default-extra results/darcy-pino-default-extra \
  > docs/results/darcy_laws_default_extra.md
cat docs/results/darcy_laws_default_extra_reading.txt >> docs/results/darcy_laws_default_extra.md
