#!/usr/bin/env bash
# Reproduce docs/results/burgers.md: the Burgers comparison, both cases, default preset (3 seeds).
# Usage: bash docs/results/run_burgers.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
for case in shock rarefaction; do
  .venv/bin/python -m comparisons.burgers --preset default --case "$case" --quiet --out "results/burgers-default-$case"
done
{
  .venv/bin/python docs/results/collect.py results/burgers-default-{shock,rarefaction}
  cat docs/results/burgers_reading.txt
} > docs/results/burgers.md
cp results/burgers-default-shock/u_xt.png docs/results/burgers_shock_u_xt.png
cp results/burgers-default-rarefaction/u_xt.png docs/results/burgers_rarefaction_u_xt.png
cp results/burgers-default-shock/u0.png docs/results/burgers_shock_u0.png
cp results/burgers-default-rarefaction/u0.png docs/results/burgers_rarefaction_u0.png
