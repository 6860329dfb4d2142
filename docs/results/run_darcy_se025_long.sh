#!/usr/bin/env bash
# Reproduce docs/results/darcy_se025_long.md: BiLO on SE ℓ = 0.25 (`default` preset, seeds 0-2,
# 2 ranks, noise-free) with 10,000 fine-tuning steps, twice the paper's 5,000: with Adam (the
# preset's optimiser), to see whether the rise from 3,000 to 5,000 steps (darcy_laws_default_extra.md)
# goes on past the >= 98 % target, and with AMSGrad in both phases and levels. The per-seed table also
# reads the 5,000-step run folders (results/darcy-se025-default-extra from run_darcy_laws_default_extra.sh,
# results/darcy-se025-default-amsgrad from run_darcy_se025_schedule.sh).
# About 2 h 10 min on this 2-core CPU (about 20 min per seed and variant).
# Usage: bash docs/results/run_darcy_se025_long.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
RUN=(.venv/bin/mpirun -n 2 .venv/bin/python -m comparisons.darcy --preset default --seeds 3 --quiet --overwrite
     --law se --grf-length 0.25)
"${RUN[@]}" --methods "bilo(steps=10000)" --out results/darcy-se025-default-long
"${RUN[@]}" --methods "bilo(amsgrad=true,steps=10000)" --out results/darcy-se025-default-long-amsgrad
.venv/bin/python docs/results/collect.py results/darcy-se025-default-long results/darcy-se025-default-long-amsgrad \
  > docs/results/darcy_se025_long.md
{ echo; echo "## Per seed (\`python docs/results/training_table.py\`; the 5,000-step rows are the runs of darcy_laws_default_extra.md and darcy_se025_schedule.md)"
  echo; .venv/bin/python docs/results/training_table.py results/darcy-se025-default-extra results/darcy-se025-default-long \
    results/darcy-se025-default-amsgrad results/darcy-se025-default-long-amsgrad
  echo; echo "## Fine-tuning residual and data loss by quarter of the run (\`python docs/results/training_table.py --quarters\`)"
  echo; .venv/bin/python docs/results/training_table.py --quarters results/darcy-se025-default-long results/darcy-se025-default-long-amsgrad
  echo; cat docs/results/darcy_se025_long_reading.txt; } >> docs/results/darcy_se025_long.md
