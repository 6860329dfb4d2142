"""Allocator policy: keep freed memory in the process for the next step's tensors.

A training step allocates and frees the same few hundred activation-sized tensors every time
(2,601 points × 128 floats = 1.3 MB each for Fisher–KPP at the paper's size). glibc's malloc
hands blocks that large out of ``mmap`` or the top of its heap and gives them back to the OS
when they are freed (``M_TRIM_THRESHOLD``), so the next step touches fresh pages again and pays a
page fault per 4 KiB. The policy below raises glibc's thresholds so freed blocks stay in the heap
and are reused: the same idea as PyTorch's advice to run CPU training under jemalloc or tcmalloc,
without a preloaded library. The process keeps its peak footprint instead of returning memory
between steps. ``python -m bench.allocator`` measures it side by side.

``keep_freed_memory()`` runs when ``hybrid`` is imported. It does nothing on a system without
glibc, when the user has set any of glibc's ``MALLOC_*_`` variables (their choice wins), or when
``HYBRID_MALLOC=default``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

# mallopt parameters (malloc.h)
M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3
# glibc's largest mmap threshold on 64-bit (DEFAULT_MMAP_THRESHOLD_MAX): blocks below it come from the heap
MMAP_THRESHOLD = 32 * 1024 * 1024
TRIM_THRESHOLD = TOP_PAD = 256 * 1024 * 1024
USER_SETTINGS = ("MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_", "MALLOC_MMAP_THRESHOLD_", "MALLOC_MMAP_MAX_")


def keep_freed_memory() -> bool:
    """Raise glibc's trim, top-pad and mmap thresholds; True if it applied all three."""
    if os.environ.get("HYBRID_MALLOC") == "default" or any(v in os.environ for v in USER_SETTINGS):
        return False
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl and others: no mallopt
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return all(mallopt(p, v) == 1 for p, v in ((M_MMAP_THRESHOLD, MMAP_THRESHOLD),
                                                (M_TRIM_THRESHOLD, TRIM_THRESHOLD), (M_TOP_PAD, TOP_PAD)))
