"""One row of the learning-rate table in docs/results/speed.md: BiLO on Fisher–KPP from (1, 1).

Runs the `default` preset's study with the given pre-training and fine-tuning steps, optimiser and
learning rates (seed 0, one torch thread), then prints one JSON line: the first logged
fine-tuning step after which both parameters stay within 1 % of (2, 2) ("hit_step", null if
never) and the final estimate. Usage (run_fk_lr_sweep.sh has the table's rows):

    python docs/results/fk_lr_sweep.py LABEL PRE FINE AMSGRAD(0|1) LR_THETA [LR_W [W_RGRAD [NOISE [RES_BATCH]]]]

RES_BATCH: residual points drawn afresh per step (BiLOConfig.res_batch; default all 2,601).
"""

import json
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import hybrid  # noqa: E402  (first: the thread policy before torch loads)
from mpi4py import MPI  # noqa: E402

from comparisons.fisher_kpp import study  # noqa: E402
from inverse.method import RunOptions  # noqa: E402
from inverse.methods.bilo import BiLO  # noqa: E402
from inverse.runner import run_study  # noqa: E402

hybrid.set_threads(1)
label, pre, fine, amsgrad, lr_theta = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "1", \
    float(sys.argv[5])
lr_W = float(sys.argv[6]) if len(sys.argv) > 6 else 1e-3
w_rgrad = float(sys.argv[7]) if len(sys.argv) > 7 else 0.1
noise = float(sys.argv[8]) if len(sys.argv) > 8 else 0.0
res_batch = int(sys.argv[9]) if len(sys.argv) > 9 else None
s = study(pre, fine, 0, 128, 1)
cfg = s.configs["bilo"]
cfg = replace(cfg, log_every=10, res_batch=res_batch, pretrain=replace(cfg.pretrain, amsgrad=amsgrad),
              finetune=replace(cfg.finetune, amsgrad=amsgrad, lr_theta=lr_theta, lr_W=lr_W, w_rgrad=w_rgrad))
t0 = time.perf_counter()
_, first = run_study(s, {"bilo": BiLO(config=cfg)}, noise=noise, preset="sweep", comm=MPI.COMM_WORLD,
                     options=RunOptions(device="cpu", dtype="float32", progress=False), log=lambda m: None)
rows = [h for h in first["bilo"].history if "theta_rD" in h]
hit = None
for h in reversed(rows):
    if abs(h["theta_rD"] - 2) > 0.02 or abs(h["theta_rrho"] - 2) > 0.02:
        break
    hit = h
print(json.dumps({"label": label, "pre": pre, "fine": fine, "amsgrad": amsgrad, "lr_theta": lr_theta, "lr_W": lr_W,
                  "w_rgrad": w_rgrad, "noise": noise, "res_batch": res_batch, "hit_step": None if hit is None else hit["step"],
                  "hit_phase": None if hit is None else hit.get("phase"),
                  "final": (rows[-1]["theta_rD"], rows[-1]["theta_rrho"]), "wall": time.perf_counter() - t0}))
