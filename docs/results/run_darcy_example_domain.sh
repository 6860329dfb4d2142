#!/usr/bin/env bash
# Reproduce docs/results/darcy_example_domain.md: BiLO and the adjoint on the shipped example
# domain (ellipse minus two disks), on 2 ranks and on 1 rank, and their agreement.
# Usage: bash docs/results/run_darcy_example_domain.sh [PRESET] [SEEDS] (default: default 3)
set -euo pipefail
cd "$(dirname "$0")/../.."
PRESET=${1:-default} SEEDS=${2:-3}
MESH=comparisons/meshes/example_domain.msh
for N in 2 1; do
  .venv/bin/mpirun -n "$N" .venv/bin/python -m comparisons.darcy --preset "$PRESET" --mesh "$MESH" \
    --seeds "$SEEDS" \
    --methods bilo,adjoint,adjoint_nn --quiet --overwrite --out "results/darcy-example-$PRESET-np$N"
done
{
  .venv/bin/python docs/results/collect.py "results/darcy-example-$PRESET-np2"
  echo
  echo "## The same run on 1 rank and on 2 ranks"
  echo
  .venv/bin/python docs/results/rank_agreement.py "results/darcy-example-$PRESET-np1" "results/darcy-example-$PRESET-np2"
  cat docs/results/darcy_example_domain_reading.txt
} > docs/results/darcy_example_domain.md
cp "results/darcy-example-$PRESET-np2/darcy_fields.png" docs/results/darcy_example_domain.png
