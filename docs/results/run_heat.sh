#!/usr/bin/env bash
# Reproduce docs/results/heat.md: the heat initial-condition comparison, default preset (3 seeds), σ = 0.01.
# Usage: bash docs/results/run_heat.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
.venv/bin/python -m comparisons.heat --preset default --noise 0.01 --quiet --out results/heat-default-noise0.01
{
  .venv/bin/python docs/results/collect.py results/heat-default-noise0.01
  cat docs/results/heat_reading.txt
} > docs/results/heat.md
cp results/heat-default-noise0.01/u0.png docs/results/heat_u0.png
cp results/heat-default-noise0.01/u_xt.png docs/results/heat_u_xt.png
