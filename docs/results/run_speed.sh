#!/usr/bin/env bash
# Reproduce docs/results/speed.md: the speed benchmarks of issue 2.9, one after the other on a quiet
# machine (nothing else running: on 2 cores another busy process changes every number), their JSON
# kept in docs/results/speed/, the page assembled from each benchmark's own summary.
# Usage: bash docs/results/run_speed.sh [NAME ...]   (default: all of them; ~20 min on this 2-core CPU)
set -euo pipefail
cd "$(dirname "$0")/../.."
NAMES=("$@")
[ ${#NAMES[@]} -gt 0 ] || NAMES=(threads darcy_step fisher_kpp_step compiled_step allocator batched_seeds time_to_answer)
for n in "${NAMES[@]}"; do
  case $n in
    threads) args=(--spinning --passive) ;;
    fisher_kpp_step) args=(--modes jet,autograd,compiled) ;;
    time_to_answer) args=(--methods "bilo,bilo(derivatives=compiled),pinn(w_dat=100),adjoint") ;;
    *) args=() ;;
  esac
  .venv/bin/python -m "bench.$n" "${args[@]}" --out docs/results/speed
  if [ "$n" = time_to_answer ]; then  # the same BiLO run on the other derivative paths: same arithmetic, other rounding
    .venv/bin/python -m bench.time_to_answer --methods "bilo(derivatives=autograd),bilo(derivatives=compiled)" \
      --out docs/results/speed/paths
  fi
done
.venv/bin/python docs/results/speed_page.py docs/results/speed > docs/results/speed.md
cat docs/results/speed_reading.txt >> docs/results/speed.md
