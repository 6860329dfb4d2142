"""Run under mpirun: data-parallel fits with a boundary loss vs the serial run on all the points.

Usage: mpirun -n 2 python tests/hybrid/mpi_bc_fit.py OUT.json

The boundary points are split three ways: one per rank, all on rank 0 (rank 1 passes an empty
(0, 1) array), and all on rank 0 with rank 1 passing None.
"""

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch
from mpi4py import MPI

sys.path.insert(0, str(Path(__file__).parent))
from hybrid_problems import PoissonFreeBoundary, free_boundary_solution  # noqa: E402

import hybrid  # noqa: E402

comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()
net = hybrid.NetworkConfig(depth=3, width=8)
bilo = hybrid.BiLO(hybrid.BiLOConfig(network=net, pretrain=hybrid.PretrainConfig(steps=3),
                                     finetune=hybrid.BiLOFinetuneConfig(steps=5), w_bc=2.0))
pinn = hybrid.PINN(hybrid.PINNConfig(network=net, pretrain=hybrid.PretrainConfig(steps=3),
                                     finetune=hybrid.PINNFinetuneConfig(steps=5), w_bc=2.0))
xr, xd = np.linspace(0, 1, 9)[:, None], np.linspace(0.1, 0.9, 5)[:, None]
xb = np.array([[0.0], [1.0], [0.0]])       # three points, so that no split is even
ub = free_boundary_solution(xb, 2.0)
ud = free_boundary_solution(xd, 2.0)
shares = {
    "split": (xb[rank::size], ub[rank::size]),
    "empty": (xb, ub) if rank == 0 else (xb[:0], ub[:0]),
    "none": (xb, ub) if rank == 0 else (None, None),
}
out: dict[str, Any] = {}
method: Any
for name, method, share in (("bilo_split", bilo, "split"), ("bilo_empty", bilo, "empty"),
                            ("pinn_split", pinn, "split"), ("pinn_none", pinn, "none")):
    kw: dict[str, Any] = dict(theta_init={"k": 1.0}, progress=False, dtype="float64", seed=1)
    x_bc, u_bc = shares[share]
    par = method.fit(PoissonFreeBoundary(), xr[rank::size], xd[rank::size], ud[rank::size],
                     x_bc=x_bc, u_bc=u_bc, comm=comm, **kw)
    vec = torch.cat([t.reshape(-1) for t in par.model.state_dict().values()]).numpy()
    allv = comm.gather(vec, root=0)
    if rank == 0:
        assert allv is not None
        ser = method.fit(PoissonFreeBoundary(), xr, xd, ud, x_bc=xb, u_bc=ub, **kw)
        svec = torch.cat([t.reshape(-1) for t in ser.model.state_dict().values()]).numpy()
        out[name] = {
            "rank_spread": float(max(np.abs(v - allv[0]).max() for v in allv)),
            "serial_diff": float(np.abs(allv[0] - svec).max()),
            "theta_diff": abs(par.theta["k"] - ser.theta["k"]),
            "bc_logged": all("bc" in r for r in par.history),
            # Relative: the residual loss of this problem is O(100) at the start.
            "loss_diff": float(max(abs(a[k] - b[k]) / max(1.0, abs(b[k]))
                                   for a, b in zip(par.history, ser.history, strict=True)
                                   for k in ("res", "data", "bc") if k in a)),
        }
if rank == 0:
    Path(sys.argv[1]).write_text(json.dumps(out))
