#!/usr/bin/env bash
# The learning-rate table of docs/results/speed.md: BiLO on Fisher–KPP, noise-free (last row
# σ = 0.01), seed 0, one thread per run; the table's runs went two at a time on the 2 cores.
# Each prints one JSON line (docs/results/fk_lr_sweep.py says what it holds). ~6 min per row.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=.venv/bin/python S=docs/results/fk_lr_sweep.py
$PY $S adam 1000 1500 0 0.01
$PY $S amsgrad 1000 1500 1 0.01
$PY $S lr_W3e-3 1000 1500 0 0.01 0.003
$PY $S lr3e-2 1000 1500 0 0.03
$PY $S pre500_lr3e-2 500 1500 0 0.03
$PY $S pre500_lr5e-2 500 1500 0 0.05
$PY $S lr1e-1 1000 1500 0 0.1
$PY $S pre500_lr5e-2_noise0.01 500 1500 0 0.05 0.001 0.1 0.01
# residual points drawn per step instead of all 2,601 (the authors' pde_batch_size): cheaper steps
$PY $S pre500_lr3e-2_batch1024 500 1500 0 0.03 0.001 0.1 0 1024
$PY $S pre500_lr3e-2_batch512 500 1500 0 0.03 0.001 0.1 0 512
