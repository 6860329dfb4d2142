#!/usr/bin/env bash
# Reproduce docs/results/singular.md: singular forcing with a point-process likelihood (BiLO paper
# §3.2, App. B.4), default preset (3 seeds; M = 100 snapshots; BiLO, the PINN at w_dat 1 and 10,
# the FNO on its in- and out-of-distribution grids; about 40 min on 2 cores), the PINN at w_dat
# 100 and 1000 (seed 0 only, one thread, about 5 min), and each seed's maximum-likelihood estimate.
# The seed-0 BiLO variants: bash docs/results/run_singular_variants.sh (before this script).
# Usage: bash docs/results/run_singular.sh [--collect]   (--collect: only rebuild the page)
set -euo pipefail
cd "$(dirname "$0")/../.."
out=results/singular-default
weights=results/singular-pinn-weights
if [ "${1:-}" != "--collect" ]; then
  .venv/bin/python -m comparisons.singular --preset default --quiet --overwrite --out "$out"
  OMP_NUM_THREADS=1 .venv/bin/python -m comparisons.singular --preset default --seeds 1 --threads 1 --quiet --overwrite \
    --methods "pinn(w_dat=100),pinn(w_dat=1000)" --out "$weights"
fi
{
  .venv/bin/python docs/results/collect.py "$out"
  echo
  echo "## The PINN at larger data weights (seed 0, same data; one thread)"
  echo
  .venv/bin/python docs/results/collect.py "$weights" | sed -n '/^| method/,/^$/p'
  echo "## Each seed's maximum-likelihood estimate (the exact solution's NLL minimised; no network)"
  echo
  .venv/bin/python docs/results/singular_mle.py 3
  if [ -f docs/results/singular_variants.md ]; then
    echo
    echo "## BiLO variants, seed 0 (\`bash docs/results/run_singular_variants.sh\`)"
    echo
    cat docs/results/singular_variants.md
  fi
  if [ -f docs/results/singular_reading.txt ]; then cat docs/results/singular_reading.txt; fi
} > docs/results/singular.md
cp "$out/u.png" docs/results/singular_u.png
