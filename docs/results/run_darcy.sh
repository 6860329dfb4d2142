#!/usr/bin/env bash
# Reproduce docs/results/darcy.md. Usage: bash docs/results/run_darcy.sh [PRESET] (default: demo,
# which is what `make demo` runs; `default` and `paper` are longer, `paper` is meant for a GPU).
set -euo pipefail
cd "$(dirname "$0")/../.."
PRESET=${1:-demo}
.venv/bin/mpirun -n 2 .venv/bin/python -m comparisons.darcy --preset "$PRESET" --quiet --out "results/darcy-$PRESET"
.venv/bin/python docs/results/collect.py "results/darcy-$PRESET" > docs/results/darcy.md
cp "results/darcy-$PRESET/darcy_fields.png" docs/results/darcy_fields.png
