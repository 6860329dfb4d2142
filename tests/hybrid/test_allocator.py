"""The allocator policy: applied at import unless the user chose, and freed blocks stay mapped."""

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")

# RSS (MB) before and after freeing a 20 MB tensor, filled so its pages are really touched
PROBE = """
import hybrid, torch
def rss():
    return int([l for l in open('/proc/self/status') if l.startswith('VmRSS')][0].split()[1]) / 1024
t = torch.empty(5 * 1024 * 1024).fill_(1.0)
held = rss()
del t
print(held - rss())
"""


def _freed_mb(**env):
    base = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_") and k != "HYBRID_MALLOC"}
    out = subprocess.run([sys.executable, "-c", PROBE], env={**base, **env}, capture_output=True, text=True,
                         check=True).stdout.split()
    return float(out[-1])


def test_freed_blocks_stay_in_the_process_with_the_policy_and_return_without():
    assert _freed_mb() < 2.0  # kept for the next step's tensors
    assert _freed_mb(HYBRID_MALLOC="default") > 15.0  # glibc unmaps a block that large at once
    assert _freed_mb(MALLOC_MMAP_THRESHOLD_="131072") > 15.0  # the user's own setting wins


def test_the_policy_says_whether_it_applied(monkeypatch):
    from hybrid.allocator import keep_freed_memory

    monkeypatch.setenv("HYBRID_MALLOC", "default")
    assert keep_freed_memory() is False
    monkeypatch.delenv("HYBRID_MALLOC")
    monkeypatch.setenv("MALLOC_TOP_PAD_", "0")
    assert keep_freed_memory() is False
