#!/usr/bin/env bash
# Reproduce docs/results/darcy.md (preset demo, what `make demo` runs) or
# docs/results/darcy_<PRESET>.md for another preset (`default`; `paper` is meant for a GPU).
# Usage: bash docs/results/run_darcy.sh [PRESET]   (default: demo)
set -euo pipefail
cd "$(dirname "$0")/../.."
PRESET=${1:-demo}
PAGE=docs/results/darcy.md PNG=docs/results/darcy_fields.png
if [ "$PRESET" != demo ]; then PAGE=docs/results/darcy_$PRESET.md PNG=docs/results/darcy_$PRESET.png; fi
.venv/bin/mpirun -n 2 .venv/bin/python -m comparisons.darcy --preset "$PRESET" --quiet --out "results/darcy-$PRESET"
.venv/bin/python docs/results/collect.py "results/darcy-$PRESET" > "$PAGE"
cp "results/darcy-$PRESET/darcy_fields.png" "$PNG"
