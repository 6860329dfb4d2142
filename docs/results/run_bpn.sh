#!/usr/bin/env bash
# Reproduce docs/results/bpn.md: BiLO against BPN on the toy problem u'' = 2 (BiLO paper App. E,
# Fig. 23), default preset (1 seed), no noise; the error curves in docs/results/bpn_convergence.png.
# Usage: bash docs/results/run_bpn.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
out=results/bpn-default-noise0
.venv/bin/python -m comparisons.bpn --preset default --quiet --overwrite --out "$out"
{
  .venv/bin/python docs/results/collect.py "$out"
  echo
  echo "## Time to a parameter error max|θ − θ†| < 0.01 (seed 0, fine-tuning only)"
  echo
  .venv/bin/python - "$out/convergence.json" <<'PY'
import json, sys
conv = json.load(open(sys.argv[1]))
print("| method | initial error | final error | lower iterations to 0.01 | seconds to 0.01 |")
print("| --- | --- | --- | --- | --- |")
for label, s in conv.items():
    f = lambda v, spec: "not reached" if v is None else format(v, spec)
    print(f"| {label} | {s['initial_error']:.3g} | {s['final_error']:.3g} | "
          f"{f(s['lower_iters_to_0.01'], 'g')} | {f(s['s_to_0.01'], '.3g')} |")
print("| BiLO (paper, Fig. 23) | | | < 80 | 6.4 |")
print("| BPN (paper, Fig. 23) | | | 1,728 (27 upper) | 231 |")
PY
  if [ -f docs/results/bpn_reading.txt ]; then cat docs/results/bpn_reading.txt; fi
} > docs/results/bpn.md
cp "$out/convergence.png" docs/results/bpn_convergence.png
