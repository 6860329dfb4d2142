"""Peak memory of one call, for the step benchmarks (each measured in a fresh process)."""

from __future__ import annotations

import resource
from collections.abc import Callable
from pathlib import Path


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def peak_growth_mb(fn: Callable[[], object], warm: Callable[[], object]) -> float:
    """Peak RSS during ``fn()`` minus the RSS before it (MB), after ``warm()`` set the library up.

    On Linux the peak (VmHWM) is reset first through /proc/self/clear_refs, so the spike of
    importing torch does not mask the call's own peak; elsewhere ``ru_maxrss`` is used.
    """
    warm()  # thread pools, the autograd engine: not counted
    try:
        Path("/proc/self/clear_refs").write_text("5")
        before = _status_kb("VmRSS")
        fn()
        return (_status_kb("VmHWM") - before) / 1024
    except OSError:
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        fn()
        return (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
