#!/usr/bin/env bash
# Reproduce docs/results/darcy_fidelity.md: BiLO's upper-level gradient for the Darcy coefficient
# against the exact (adjoint) gradient of the same data loss, right after pre-training at the
# initial guess, for three correlation lengths of the random fields (30×30 mesh, demo networks,
# 1,500 pre-training steps, 1 rank, 1 thread; about 3 minutes each on this 2-core machine).
set -euo pipefail
cd "$(dirname "$0")/../.."
for L in 0.1 0.2 0.4; do
  OMP_NUM_THREADS=1 .venv/bin/python -m comparisons.darcy_fidelity --preset demo --pretrain 1500 \
    --grf-length "$L" --quiet --out "results/darcy-fidelity-L$L"
done
.venv/bin/python - <<'PY' > docs/results/darcy_fidelity.md
import json
from pathlib import Path
rows = [json.loads(Path(f"results/darcy-fidelity-L{L}/fidelity.json").read_text()) for L in ("0.1", "0.2", "0.4")]
print("# Darcy: BiLO's upper-level gradient against the adjoint gradient\n")
print("Produced by `bash docs/results/run_darcy_fidelity.sh` (`python -m comparisons.darcy_fidelity "
      "--preset demo --pretrain 1500 --grf-length L`): 30×30 unit square, the demo preset's networks, "
      "1,500 pre-training steps at the initial guess, 1 rank, CPU. Both gradients are of the same "
      "data loss mean_j (u(x_j) − d_j)² with respect to the weights V of f_V; the exact one comes "
      "from one adjoint solve and the chain rule through f_V at the mesh nodes "
      "(tests/comparisons/test_darcy_fidelity.py checks both against finite differences).\n")
print("| ℓ | cos (V) | ‖BiLO‖/‖exact‖ (V) | rel. error (V) | cos (function space) | data loss |")
print("| --- | --- | --- | --- | --- | --- |")
for r in rows:
    print(f"| {r['grf_length']} | {r['cos_V']:.3f} | {r['norm_ratio_V']:.3f} | {r['rel_err_V']:.3f} | "
          f"{r['cos_function']:.3f} | {r['data_loss_fem']:.3g} |")
print("""
How to read it (the demo preset's f_V, an MLP of random Fourier features): in V the two
gradients agree only in part at the pre-trained point (cosine 0.58 at ℓ = 0.1, rising with ℓ),
and for the rough field (ℓ = 0.1) the local operator's gradient is an eighth of the exact one.
With the plain MLP f_V the presets used before, the cosine in V was 0.91–0.98 (this page's
earlier version, in the repository's history): shared weights spread the gradient, Fourier
features less so. In function space, where the interfaces must move, BiLO's density
2/N·e_j·∂u/∂z(x_j) is nearly orthogonal to the adjoint's −∇u·∇λ with either f_V (cosine
0.13–0.28). The local operator sees a change of z at x only through u at x; the true
sensitivity of u to the coefficient is non-local. The Darcy comparison records the same V-space agreement every 500
fine-tuning steps (`grad_cos_first`, `grad_cos`, `grad_norm_ratio` in its report), and its
`adjoint_nn` method runs BiLO's f_V network and optimiser with the exact gradient, which shows
what the parameterisation reaches in the same number of steps.""")
PY
cat docs/results/darcy_fidelity.md
