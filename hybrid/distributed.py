"""Data parallelism over MPI ranks: each rank holds its own points, gradients are summed.

mpi4py is imported only when a communicator is given; serial runs never touch MPI.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, final

import numpy as np
import torch
from torch import Tensor


@final
class DataParallel:
    """Global means and gradient sums over a communicator (no-ops when serial).

    Losses are computed on each rank as partial sums divided by the global point count, so
    summing them, and their gradients, over ranks gives the global mean and its gradient; every
    rank applies the same update and the weights stay identical.
    """

    def __init__(self, comm: Any | None = None) -> None:
        self.comm = comm if comm is not None and comm.Get_size() > 1 else None
        self.rank = 0 if self.comm is None else self.comm.Get_rank()
        self.size = 1 if self.comm is None else self.comm.Get_size()

    @property
    def active(self) -> bool:
        """Whether there is more than one rank."""
        return self.comm is not None

    def global_count(self, n: int) -> int:
        """Total number of points over ranks."""
        return n if self.comm is None else int(self.comm.allreduce(n))

    def broadcast(self, tensors: Sequence[Tensor]) -> None:
        """Overwrite ``tensors`` in place with rank 0's values."""
        if self.comm is None or not tensors:
            return
        buf = self._flatten(tensors)
        self.comm.Bcast(buf, root=0)
        self._unflatten(buf, tensors)

    def allreduce_sum(self, tensors: Sequence[Tensor]) -> None:
        """Sum ``tensors`` over ranks in place, with one Allreduce on a flattened buffer."""
        if self.comm is None or not tensors:
            return
        from mpi4py import MPI

        buf = self._flatten(tensors)
        self.comm.Allreduce(MPI.IN_PLACE, buf, op=MPI.SUM)
        self._unflatten(buf, tensors)

    def allgather(self, obj: Any) -> list[Any]:
        """Every rank's ``obj``, in rank order."""
        return [obj] if self.comm is None else list(self.comm.allgather(obj))

    def agree(self, flag: bool) -> bool:
        """True on every rank if ``flag`` is true on any rank."""
        return flag if self.comm is None else bool(self.comm.allreduce(int(flag)))

    @staticmethod
    def _flatten(tensors: Sequence[Tensor]) -> np.ndarray:
        flat = torch.cat([t.detach().reshape(-1) for t in tensors]).cpu()
        return np.ascontiguousarray(flat.numpy())

    @staticmethod
    def _unflatten(buf: np.ndarray, tensors: Sequence[Tensor]) -> None:
        flat = torch.from_numpy(buf)
        i = 0
        with torch.no_grad():
            for t in tensors:
                n = t.numel()
                t.copy_(flat[i:i + n].view_as(t))
                i += n
