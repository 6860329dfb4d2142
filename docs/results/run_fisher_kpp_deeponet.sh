#!/usr/bin/env bash
# Reproduce docs/results/fisher_kpp_deeponet.md: the DeepONet on the coarse, dense and
# out-of-distribution data sets beside the adjoint, preset default, seed 0, σ = 0 and 0.01.
# The data sets are cached in results/cache (the second noise level reads them).
set -euo pipefail
cd "$(dirname "$0")/../.."
METHODS="deeponet(dataset=coarse),deeponet(dataset=dense),deeponet(dataset=ood),adjoint"
for noise in 0 0.01; do
  .venv/bin/python -m comparisons.fisher_kpp --preset default --seeds 1 --noise "$noise" \
    --methods "$METHODS" --quiet --out "results/fisher_kpp-deeponet-noise$noise"
done
.venv/bin/python docs/results/collect.py results/fisher_kpp-deeponet-noise{0,0.01} > docs/results/fisher_kpp_deeponet.md
