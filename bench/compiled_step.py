"""What ``torch.compile`` buys the Fisher–KPP step: BiLO's and the PINN's W-gradient, eager and compiled.

On the jets, the rest of a step after its matmuls is elementwise work (tanh and its tangents,
then their reverse passes) that eager PyTorch runs one op at a time; inductor (C++ on the CPU)
fuses it. BiLO's residual-gradient is a backward pass that W's gradient differentiates again,
and compiled autograd cannot differentiate its own backward ("aot_autograd does not currently
support double backward"), so the compiled BiLO loss takes dr/dθ functionally
(``torch.func.vjp`` inside the compiled function): the residual-gradient is then part of the
traced forward graph and W's gradient is one compiled backward. The eager BiLO loss is the
engine's (``hybrid.losses.residual_gradient``, reverse over reverse).

Timed at the paper's size (2,601 points, depth 4 width 128 tanh, float32) in one run: per
method, the seconds of (loss + W-gradient) eager and compiled (the faster of two alternating
rounds' medians), the first compiled call
(tracing and C++ compilation, inductor's caches off), the largest relative difference of the
compiled gradients from the eager ones, and the number of steps after which the compile has
paid for itself.

    python -m bench.compiled_step [--steps 30] [--threads 2] [--width 128] [--grid 51]
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Callable
from functools import partial
from typing import Any

import torch
from torch import Tensor

import hybrid
from bench._report import publish
from bench._timing import median_seconds
from bench.fisher_kpp_step import fk_grid
from comparisons.pdes import FisherKPP
from hybrid.compiled import jet_residual, jet_residual_and_gradient
from hybrid.jets import coefficient_jet
from hybrid.losses import residual_gradient

NAME = "compiled_step"
W_RGRAD = 0.1


def losses(width: int, grid: int) -> tuple[dict[str, Callable[[], Tensor]], dict[str, list[Tensor]]]:
    """The three losses timed (``bilo`` eager, ``bilo_functional`` for compiling, ``pinn``) and their W.

    Each is the engine's own function (``hybrid.compiled``), as ``derivatives="jet"`` and
    ``"compiled"`` call it.
    """
    pde, x = FisherKPP(), torch.tensor(fk_grid(grid), dtype=torch.float32)
    a, b = coefficient_jet(pde, x)
    torch.manual_seed(0)
    cfg = hybrid.NetworkConfig(depth=4, width=width)
    bilo, pinn = hybrid.LocalOperator(2, 2, cfg), hybrid.LocalOperator(2, 0, cfg)
    theta = torch.ones(x.shape[0], 2)

    def lower(r: Tensor, g: Tensor) -> Tensor:
        return r.square().mean() + W_RGRAD * g.square().sum() / x.shape[0]

    def bilo_eager() -> Tensor:
        T = theta.clone().requires_grad_(True)
        r = jet_residual(bilo, pde, x, T, None, None, a, b)
        return lower(r, residual_gradient(r, T))

    def bilo_functional() -> Tensor:
        return lower(*jet_residual_and_gradient(bilo, pde, x, theta, None, None, a, b))

    def pinn_loss() -> Tensor:
        return jet_residual(pinn, pde, x, theta, None, None, a, b).square().mean()

    weights: dict[str, list[Tensor]] = {"bilo": [p for p in bilo.parameters() if p.requires_grad],
                                        "pinn": list(pinn.parameters())}
    return {"bilo": bilo_eager, "bilo_functional": bilo_functional, "pinn": pinn_loss}, weights


def _step(loss: Callable[[], Tensor], W: list[Tensor]) -> list[Tensor]:
    return list(torch.autograd.grad(loss(), W))


def run(*, steps: int = 30, warmup: int = 3, threads: int | None = 2, width: int = 128,
        grid: int = 51) -> dict[str, Any]:
    """Time eager and compiled steps of BiLO and the PINN; return the JSON-ready result."""
    hybrid.set_threads(threads)
    import torch._inductor.config as inductor_config

    fns, W = losses(width, grid)
    result: dict[str, Any] = {"benchmark": NAME, "threads": torch.get_num_threads(), "points": grid * grid,
                              "network": f"depth 4 width {width} tanh, float32", "torch": torch.__version__,
                              "steps": steps, "methods": {}}
    # the first call's time is the real compile: inductor's caches off, for this run only
    with inductor_config.patch(force_disable_caches=True), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="dynamo_pgo force disabled")
        for name, eager, to_compile in (("bilo", fns["bilo"], fns["bilo_functional"]),
                                        ("pinn", fns["pinn"], fns["pinn"])):
            reference = _step(eager, W[name])
            compiled = torch.compile(to_compile)
            t0 = time.perf_counter()
            got = _step(compiled, W[name])
            first = time.perf_counter() - t0
            diff = max(float((g - r).abs().max() / r.abs().max().clamp_min(1e-30))
                       for g, r in zip(got, reference, strict=True))
            # alternate the two so that load from elsewhere hits both alike
            t_eager, t_comp = [], []
            for _ in range(2):
                t_eager.append(median_seconds(partial(_step, eager, W[name]), steps, warmup))
                t_comp.append(median_seconds(partial(_step, compiled, W[name]), steps, warmup))
            e, c = min(t_eager), min(t_comp)
            result["methods"][name] = {"eager_s": e, "compiled_s": c, "compiled_over_eager": c / e,
                                       "first_compiled_call_s": first, "max_rel_gradient_difference": diff,
                                       "break_even_steps": first / (e - c) if e > c else None}
    m = result["methods"]
    result["ratio_eager"] = m["bilo"]["eager_s"] / m["pinn"]["eager_s"]
    result["ratio_compiled"] = m["bilo"]["compiled_s"] / m["pinn"]["compiled_s"]
    return result


def summary(r: dict[str, Any]) -> str:
    """The printed lines."""
    lines = [f"{NAME}: loss + W-gradient, Fisher–KPP {r['points']} points, {r['network']}, "
             f"{r['threads']} threads, median of {r['steps']}"]
    for name, m in r["methods"].items():
        steps = m["break_even_steps"]
        even = f"pays for itself after {steps:.0f} steps" if steps is not None else "never pays for itself"
        lines.append(f"  {name:5s} eager {m['eager_s']:.4f} s  compiled {m['compiled_s']:.4f} s "
                     f"({m['compiled_over_eager']:.2f}×)  first compiled call "
                     f"{m['first_compiled_call_s']:.1f} s, "
                     f"{even}; gradients differ by {m['max_rel_gradient_difference']:.1e} (relative)")
    lines.append(f"  BiLO/PINN: eager {r['ratio_eager']:.2f}, compiled {r['ratio_compiled']:.2f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Command line: measure, print the summary, write ``results/bench/compiled_step.json``."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--steps", type=int, default=30, help="timed steps per median (default 30)")
    ap.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    ap.add_argument("--width", type=int, default=128, help="network width (default 128, the paper's)")
    ap.add_argument("--grid", type=int, default=51, help="points per side of the (t, x) grid (default 51)")
    ap.add_argument("--out", default="results/bench", help="folder of the JSON (default results/bench)")
    args = ap.parse_args(argv)
    result = run(steps=args.steps, threads=args.threads, width=args.width, grid=args.grid)
    publish(NAME, result, summary, args.out)
    return result


if __name__ == "__main__":
    main()
