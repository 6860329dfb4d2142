#!/usr/bin/env bash
# Reproduce docs/results/fisher_kpp_adjoint.md: BiLO beside the discrete adjoint (TAO BLMVM and
# TAO's Newton line search) on noise-free Fisher–KPP data, preset default, seed 0; then the
# transient adjoint's gradient cost (bench/transient_adjoint_cost.py). Run on a quiet machine:
# about 16 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/../.."
OMP_NUM_THREADS=1 .venv/bin/python -m comparisons.fisher_kpp --preset default --seeds 1 --noise 0 \
  --methods bilo,adjoint,adjoint_newton --quiet --out results/fisher_kpp-adjoint-noise0
.venv/bin/python -m bench.transient_adjoint_cost --out results/bench
{
  .venv/bin/python docs/results/collect.py results/fisher_kpp-adjoint-noise0
  cat <<'TEXT'

How to read it: `t_1pct[·]` is the wall time (seconds, from the start of the method's
optimisation) after which the estimate stays within 1 % of the truth, read from the logged
iterates (BiLO: every 10 steps, pre-training included; the adjoint: every TAO iteration, form
compilation excluded); "—" means the run ended outside 1 %. The adjoint solves the same discrete
problem that made the noise-free data, so it recovers θ to TAO's tolerance; BiLO's error is its
network's. `grad_cos` compares BiLO's upper-level gradient with the adjoint gradient of the same
data loss on the 100-cell, 100-step FEM (`fidelity_cells`, `fidelity_steps`).

## Gradient cost of the transient adjoint (`python -m bench.transient_adjoint_cost`)

One gradient = one forward time series (Newton per step) + one backward sweep (per step a
tangent assembly, an LU factorisation, a transposed solve); the states of all steps are kept in
memory. Medians of 5 fresh θ after a warm-up, 1 and 2 ranks run one after the other (401 dofs
are too few to split: on 2 ranks every step's communication and MUMPS set-up dominate, so the
ratio, not the time, is the result here):

TEXT
  .venv/bin/python - <<'PY'
import json
s = json.load(open("results/bench/transient_adjoint_cost.json"))
print("| ranks | P2 dofs | BDF2 steps | Newton/step | forward s | adjoint sweep s | gradient / forward |")
print("| --- | --- | --- | --- | --- | --- | --- |")
for r in s["runs"]:
    print(f"| {r['ranks']} | {r['dofs']} | {r['steps']} | {r['newton_iterations_per_step']:.2f} | "
          f"{r['t_forward_median_s']:.3f} | {r['t_adjoint_sweep_median_s']:.3f} | {r['ratio']:.2f} |")
print(f"\nTarget ≤ {s['target_ratio']}; max measured {s['max_ratio']:.2f}.")
PY
} > docs/results/fisher_kpp_adjoint.md
