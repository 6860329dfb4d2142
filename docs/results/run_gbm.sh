#!/usr/bin/env bash
# Reproduce docs/results/gbm.md: glioblastoma growth on the MNI152 slice z = 20 mm (BiLO paper
# §3.7, Table 1, on a synthetic patient): default preset, 3 seeds of label noise (10 % of the
# masks' edge voxels flipped), BiLO, the PINN at w_dat 1, 10 and 100, and the adjoint (TAO on
# rD, rrho, th1, th2); about 35 min on 2 cores, nothing else running.
# Usage: bash docs/results/run_gbm.sh [--collect]   (--collect: only rebuild the page)
set -euo pipefail
cd "$(dirname "$0")/../.."
out=results/gbm-default
if [ "${1:-}" != "--collect" ]; then
  .venv/bin/python -m comparisons.gbm --preset default --quiet --overwrite --out "$out"
fi
{
  .venv/bin/python docs/results/collect.py "$out"
  if [ -f docs/results/gbm_reading.txt ]; then cat docs/results/gbm_reading.txt; fi
} > docs/results/gbm.md
cp "$out/masks.png" docs/results/gbm_masks.png
