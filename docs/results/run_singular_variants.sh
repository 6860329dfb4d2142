#!/usr/bin/env bash
# Reproduce the BiLO variants table of docs/results/singular.md: seed 0 of the default preset
# with one BiLO setting changed at a time, two runs at a time with one thread each (2 cores).
# Usage: bash docs/results/run_singular_variants.sh   (about 10 minutes; writes singular_variants.md)
set -euo pipefail
cd "$(dirname "$0")/../.."
export OMP_NUM_THREADS=1
variants=("bilo" "bilo(lr_theta=0.03)" "bilo(lr_theta=0.1)" "bilo(w_rgrad=10,w_djump=1)")
run() {
  local i=$1
  .venv/bin/python -m comparisons.singular --preset default --seeds 1 --threads 1 --quiet --overwrite \
    --methods "${variants[$i]}" --out "results/singular-variant-$i" > /dev/null
}
for ((i = 0; i < ${#variants[@]}; i += 2)); do
  run "$i" &
  if ((i + 1 < ${#variants[@]})); then run $((i + 1)) & fi
  wait
done
.venv/bin/python - "${#variants[@]}" > docs/results/singular_variants.md <<'PY'
import json, sys
print("| BiLO variant (seed 0, default preset) | rel_err[lmbd] | rel_err[mu] | u_rel_l2 | nll |")
print("| --- | --- | --- | --- | --- |")
for i in range(int(sys.argv[1])):
    report = json.load(open(f"results/singular-variant-{i}/report.json"))
    (label, entry), = report["methods"].items()
    m = entry["per_seed"][0]
    print(f"| {label} | {m['rel_err[lmbd]']:.3g} | {m['rel_err[mu]']:.3g} | {m['u_rel_l2']:.2g} | "
          f"{m['nll']:.2f} |")
PY
