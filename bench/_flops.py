"""Matmul FLOPs of one training step, counted by torch's profiler (``with_flops``).

The step benchmarks read their measured time ratios against these: a ratio of seconds close to
the ratio of matmul FLOPs says the step does no avoidable work beside its matmuls, and a target
below the FLOP ratio cannot be met without removing matmuls. The profiler sees every op a step
dispatches, forward and backward, nested backward passes included (``FlopCounterMode`` does not
support ``autograd.grad`` over a graph with a leaf in it, which the autograd engine needs).
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from typing import Any

# the ops whose FLOPs the profiler counts as products; elementwise ops (also counted) are left out
MATMULS = frozenset({"aten::mm", "aten::addmm", "aten::bmm", "aten::baddbmm"})


@contextlib.contextmanager
def _native_stderr_muted() -> Iterator[None]:
    """File descriptor 2 to /dev/null for the block (the profiler's start and stop only).

    kineto prints its USDT ``profiler_start`` and ``profiler_stop`` lines from C++ whatever its log
    level; the measured step runs outside the block, so none of its messages is lost.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def step_flops(fit: Callable[[Callable[[Any], None]], Any], step: int = 3) -> int:
    """Matmul FLOPs of step ``step`` of ``fit(callback)``, a fit that calls ``callback`` after each step.

    The fit must run at least ``step`` steps; the profiler is on from the end of step ``step - 1``
    to the end of step ``step``.
    """
    from torch.profiler import ProfilerActivity, profile

    # kineto (the profiler's back end) logs its GPU probe's failure on a CPU-only machine as an
    # ERROR line; its level is read when the profiler first starts (5: quiet below fatal; the
    # USDT start/stop lines are printed regardless, and muted below). CPU counts need none of them.
    os.environ.setdefault("KINETO_LOG_LEVEL", "5")
    if step < 2:
        raise ValueError(f"step must be >= 2 (the profiler starts after step - 1), got {step}")
    prof = profile(activities=[ProfilerActivity.CPU], with_flops=True)
    seen, recording = [0], [False]

    def callback(_: Any) -> None:
        seen[0] += 1
        if seen[0] == step - 1:
            with _native_stderr_muted():
                prof.__enter__()
            recording[0] = True
        elif seen[0] == step:
            with _native_stderr_muted():
                prof.__exit__(None, None, None)
            recording[0] = False

    try:
        fit(callback)
    finally:
        # a fit that ends (or fails) while the profiler records must not leave it on: it would
        # record every op of the process from then on
        if recording[0]:
            prof.__exit__(None, None, None)
    if seen[0] < step:
        raise ValueError(f"the fit ran {seen[0]} steps, fewer than {step}")
    return int(sum(e.flops for e in prof.events() if e.name in MATMULS and e.flops))


def call_flops(fn: Callable[[], Any]) -> int:
    """Matmul FLOPs of one call of ``fn()``."""

    def fit(callback: Callable[[Any], None]) -> None:
        callback(None)  # the profiler starts here ...
        fn()
        callback(None)  # ... and stops here

    return step_flops(fit, step=2)


def matmul_rate(n: int = 1024, repeats: int = 10) -> float:
    """The machine's sustained float32 matmul rate in FLOP/s: median of ``repeats`` n×n products.

    The ceiling of any step's matmuls on this machine and thread count; a step whose matmuls
    already run near it cannot be made faster by batching them, only by doing fewer.
    """
    import torch

    from bench._timing import median_seconds

    a, b = torch.randn(n, n), torch.randn(n, n)
    return 2.0 * n**3 / median_seconds(lambda: a @ b, repeats)
