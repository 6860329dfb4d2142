#!/usr/bin/env bash
# Reproduce docs/results/singular.md: singular forcing with a point-process likelihood (BiLO paper
# §3.2, App. B.4), default preset (3 seeds; M = 100 snapshots; BiLO and the PINN at w_dat 1 and 10).
# Usage: bash docs/results/run_singular.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
out=results/singular-default
.venv/bin/python -m comparisons.singular --preset default --quiet --overwrite --out "$out"
{
  .venv/bin/python docs/results/collect.py "$out"
  if [ -f docs/results/singular_reading.txt ]; then cat docs/results/singular_reading.txt; fi
} > docs/results/singular.md
cp "$out/u.png" docs/results/singular_u.png
