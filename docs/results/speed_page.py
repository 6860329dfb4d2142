"""Assemble docs/results/speed.md from the benchmarks' JSON: each benchmark's own summary lines.

    python docs/results/speed_page.py docs/results/speed > docs/results/speed.md
"""

from __future__ import annotations

import importlib
import json
import platform
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

ORDER = ["threads", "darcy_step", "fisher_kpp_step", "compiled_step", "allocator", "batched_seeds",
         "time_to_answer"]
COMMANDS = {"threads": "python -m bench.threads --spinning --passive",
            "fisher_kpp_step": "python -m bench.fisher_kpp_step --modes jet,autograd,compiled",
            "time_to_answer": 'python -m bench.time_to_answer --methods "bilo,bilo(derivatives=compiled),'
                              'pinn(w_dat=100),adjoint"'}


def main(folder: str) -> None:
    """Print the page."""
    import os

    import torch

    here = Path(folder)
    print("# Speed: threads, jets, seeds, time to answer\n")
    print(f"Machine: {platform.system()} {platform.machine()}, {len(os.sched_getaffinity(0))} cores, no GPU "
          f"(this task was not lent one); torch {torch.__version__}. Produced by "
          "`bash docs/results/run_speed.sh`, one benchmark after the other with nothing else running; "
          "the JSON of each is in `docs/results/speed/`, and every line below is its benchmark's own "
          "`summary()` of it.\n")
    for name in ORDER:
        path = here / f"{name}.json"
        if not path.exists():
            continue
        module = importlib.import_module(f"bench.{name}")
        result = json.loads(path.read_text())
        print(f"## `{COMMANDS.get(name, f'python -m bench.{name}')}`\n")
        print("```")
        print(module.summary(result))
        print("```\n")
        paths = here / "paths" / f"{name}.json"
        if paths.exists():  # the same run on the other derivative paths (run_speed.sh)
            print(f"## `python -m bench.{name} --methods \"bilo(derivatives=autograd),"
                  "bilo(derivatives=compiled)\"`\n")
            print("```")
            print(module.summary(json.loads(paths.read_text())))
            print("```\n")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "docs/results/speed")
