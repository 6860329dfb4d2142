"""Runnable benchmarks: ``python -m comparisons.<name>``."""
