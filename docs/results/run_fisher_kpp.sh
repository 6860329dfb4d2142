#!/usr/bin/env bash
# Reproduce docs/results/fisher_kpp.md: the Fisher–KPP comparison at three noise levels.
# Usage: bash docs/results/run_fisher_kpp.sh [SEEDS] (default 1; the default preset's own is 3)
set -euo pipefail
cd "$(dirname "$0")/../.."
SEEDS=${1:-1}
for noise in 0 0.01 0.1; do
  OMP_NUM_THREADS=1 .venv/bin/python -m comparisons.fisher_kpp --preset default --seeds "$SEEDS" \
    --noise "$noise" --quiet --out "results/fisher_kpp-default-noise$noise"
done
.venv/bin/python docs/results/collect.py results/fisher_kpp-default-noise{0,0.01,0.1} > docs/results/fisher_kpp.md
