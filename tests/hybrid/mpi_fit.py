"""Run under mpirun: data-parallel BiLO/PINN vs the serial run on the union of the points.

Usage: mpirun -n 2 python tests/hybrid/mpi_fit.py OUT.json
"""

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch
from mpi4py import MPI

sys.path.insert(0, str(Path(__file__).parent))
from hybrid_problems import FisherKPP, fk_data, fk_grid  # noqa: E402

import hybrid  # noqa: E402

comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()
net = hybrid.NetworkConfig(depth=3, width=8)
methods: dict[str, Any] = {
    "bilo": hybrid.BiLO(hybrid.BiLOConfig(network=net, pretrain=hybrid.PretrainConfig(steps=3),
                                          finetune=hybrid.BiLOFinetuneConfig(steps=5))),
    "pinn": hybrid.PINN(hybrid.PINNConfig(network=net, pretrain=hybrid.PretrainConfig(steps=3),
                                          finetune=hybrid.PINNFinetuneConfig(steps=5))),
}
xr, xd = fk_grid(5, 5), fk_grid(3, 3)
out: dict[str, Any] = {}
for name, method in methods.items():
    kw: dict[str, Any] = dict(theta_init={"rD": 1.0, "rrho": 1.0}, progress=False, dtype="float64", seed=1)
    par = method.fit(FisherKPP(), xr[rank::size], xd[rank::size], fk_data(xd)[rank::size],
                     u_ref=fk_data(xr)[rank::size], comm=comm, **kw)
    vec = torch.cat([t.reshape(-1) for t in par.model.state_dict().values()]).numpy()
    allv = comm.gather(vec, root=0)
    if rank == 0:
        assert allv is not None
        ser = method.fit(FisherKPP(), xr, xd, fk_data(xd), u_ref=fk_data(xr), **kw)
        svec = torch.cat([t.reshape(-1) for t in ser.model.state_dict().values()]).numpy()
        out[name] = {
            "rank_spread": float(max(np.abs(v - allv[0]).max() for v in allv)),
            "serial_diff": float(np.abs(allv[0] - svec).max()),
            "loss_diff": float(max(abs(a[k] - b[k]) for a, b in zip(par.history, ser.history, strict=True)
                                   for k in ("res", "data") if k in a)),
            "threads": torch.get_num_threads(),
        }
if rank == 0:
    Path(sys.argv[1]).write_text(json.dumps(out))
