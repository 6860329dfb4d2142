#!/usr/bin/env bash
# Regenerate the runs behind docs/results/poisson.md: the Poisson comparison at the three noise
# levels, then print the table (paste it into poisson.md).
# Usage: docs/results/make_poisson_table.sh [extra flags, e.g. --seeds 3]
# Runs the three noise levels concurrently (one torch thread each); outputs in results/poisson-*.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-.venv/bin/python}
mkdir -p results
pids=()
for noise in 0 0.01 0.1; do
  "$PY" -m comparisons.poisson --preset default --noise "$noise" --quiet \
        --out "results/poisson-default-noise$noise" "$@" > "results/poisson-default-noise$noise.log" 2>&1 &
  pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid"; done   # fails if any run failed
"$PY" docs/results/poisson_table.py \
      results/poisson-default-noise0 results/poisson-default-noise0.01 results/poisson-default-noise0.1
