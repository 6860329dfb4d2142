#!/usr/bin/env bash
# Reproduce docs/results/darcy_se025_schedule.md: BiLO on SE ℓ = 0.25 (`default` preset, seeds 0-2,
# 2 ranks, noise-free) with the paper's 5,000 fine-tuning steps and one of the authors' two other
# training choices: AMSGrad in both phases and levels, or 5,000 pre-training steps (the yaml's)
# instead of the preset's 3,000. Compare with bilo(steps=5000) on darcy_laws_default_extra.md, whose
# run folder (results/darcy-se025-default-extra, from run_darcy_laws_default_extra.sh) the per-seed
# table reads too.
# About 90 min on this 2-core CPU.
# Usage: bash docs/results/run_darcy_se025_schedule.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
RUN=(.venv/bin/mpirun -n 2 .venv/bin/python -m comparisons.darcy --preset default --seeds 3 --quiet --overwrite
     --law se --grf-length 0.25)
"${RUN[@]}" --methods "bilo(amsgrad=true,steps=5000)" --out results/darcy-se025-default-amsgrad
"${RUN[@]}" --methods "bilo(pretrain_steps=5000,steps=5000)" --out results/darcy-se025-default-pre5000
.venv/bin/python docs/results/collect.py results/darcy-se025-default-amsgrad results/darcy-se025-default-pre5000 \
  > docs/results/darcy_se025_schedule.md
{ echo; echo "## Per seed (\`python docs/results/training_table.py\`; the Adam row is from darcy_laws_default_extra.md's run)"
  echo; .venv/bin/python docs/results/training_table.py results/darcy-se025-default-extra \
    results/darcy-se025-default-amsgrad results/darcy-se025-default-pre5000
  echo; cat docs/results/darcy_se025_schedule_reading.txt; } >> docs/results/darcy_se025_schedule.md
