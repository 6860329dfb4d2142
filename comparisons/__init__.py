"""Runnable benchmarks: ``python -m comparisons.<name>``."""

import hybrid  # noqa: F401 - first, so the OpenMP wait policy is set before torch loads (hybrid/threads.py)
