"""Many seeds in one process: what batching S networks' weights buys on this machine.

BiLO's lower-level step on Fisher–KPP at the paper's size (2,601 points, depth 4, width 128, jets:
forward tangents, residual-gradient by one reverse pass, W-gradient), timed three ways in one run:
one network; S networks one after the other; S networks batched into one computation with
``torch.func.stack_module_state`` + ``vmap`` (every matmul becomes a batched matmul, every
elementwise op one op over S times the data). The last is what training seeds together would
cost per step. It also checks that the batched gradients equal the one-at-a-time ones (the
largest difference, relative to the gradient's size), and gives the floor of any batching: S
networks' matmul FLOPs at this machine's sustained matmul rate (a large float32 product), in
units of one network's measured time. Batching can remove per-op overhead, never FLOPs.

    python -m bench.batched_seeds [--seeds 5] [--steps 30] [--width 128] [--grid 51]
"""

from __future__ import annotations

import argparse
import copy
from typing import Any

import torch
from torch import Tensor, nn

import hybrid
from bench._flops import call_flops, matmul_rate
from bench._report import publish
from bench._timing import median_seconds
from bench.fisher_kpp_step import fk_grid
from comparisons.pdes import FisherKPP
from hybrid.jets import Jet, coefficient_jet, transform_jet

NAME = "batched_seeds"
FIRST, SECOND = (0, 1), (1,)


class _Jet(nn.Module):
    """forward = the local operator's forward jet (what ``functional_call`` calls)."""

    def __init__(self, net: hybrid.LocalOperator) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: Tensor, theta: Tensor) -> tuple[Tensor, list[Tensor], list[Tensor]]:
        return self.net.forward_jet(x, theta, FIRST, SECOND)


def _loss(pde: FisherKPP, x: Tensor, ab: tuple[Jet, Jet], theta: Tensor, N: Tensor, dN: list[Tensor],
          d2N: list[Tensor]) -> Tensor:
    """Σ (mean r² + 0.1·mean |dr/dθ|²) over the leading (seed) dimension, if any."""
    a, b = ab

    def residual(s: Any) -> Tensor:  # one seed's residual (the formula is written per point)
        jet = Jet(u=N[s], du={i: d[s] for i, d in zip(FIRST, dN, strict=True)},
                  d2u={i: d[s] for i, d in zip(SECOND, d2N, strict=True)})
        return pde.residual_jet(x, transform_jet(a, b, jet), theta[s])

    r = residual(...) if N.dim() == 1 else torch.stack([residual(s) for s in range(N.shape[0])])
    (g,) = torch.autograd.grad(r.sum(), theta, create_graph=True)
    return (r.square().mean(-1) + 0.1 * g.square().sum(-1).mean(-1)).sum()


def run(seeds: int = 5, steps: int = 30, warmup: int = 2, threads: int | None = None, width: int = 128,
        grid: int = 51) -> dict[str, Any]:
    """Time one, S sequential and S batched lower-level gradients; return the JSON-ready result."""
    hybrid.set_threads(threads)
    pde, x = FisherKPP(), torch.tensor(fk_grid(grid), dtype=torch.float32)
    ab = coefficient_jet(pde, x)
    nets = []
    for s in range(seeds):
        torch.manual_seed(s)
        nets.append(_Jet(hybrid.LocalOperator(2, 2, hybrid.NetworkConfig(depth=4, width=width))))
    theta = torch.ones(x.shape[0], 2)

    def one(m: _Jet) -> list[Tensor]:
        th = theta.clone().requires_grad_(True)
        L = _loss(pde, x, ab, th, *m(x, th))
        return list(torch.autograd.grad(L, [p for p in m.parameters() if p.requires_grad]))

    params, buffers = torch.func.stack_module_state(nets)
    base = copy.deepcopy(nets[0]).to("meta")

    def batched() -> dict[str, Tensor]:
        th = theta.expand(seeds, *theta.shape).clone().requires_grad_(True)
        call = torch.func.vmap(lambda p, b, t: torch.func.functional_call(base, (p, b), (x, t)))
        N, dN, d2N = call(params, buffers, th)
        L = _loss(pde, x, ab, th, N, dN, d2N)
        keys = [k for k, v in params.items() if v.requires_grad]
        return dict(zip(keys, torch.autograd.grad(L, [params[k] for k in keys]), strict=True))

    t_one = median_seconds(lambda: one(nets[0]), steps, warmup)
    t_seq = median_seconds(lambda: [one(m) for m in nets], steps, warmup)
    t_bat = median_seconds(batched, steps, warmup)
    # agreement: batched gradient of seed s vs its own
    gb = batched()
    names = [k for k, v in params.items() if v.requires_grad]
    worst = 0.0
    for s, m in enumerate(nets):
        for k, g in zip(names, one(m), strict=True):
            worst = max(worst, float((gb[k][s] - g).abs().max() / g.abs().max().clamp_min(1e-30)))
    flops, rate = call_flops(lambda: one(nets[0])), matmul_rate()
    floor = seeds * flops / rate / t_one
    return {"benchmark": NAME, "seeds": seeds, "threads": torch.get_num_threads(), "points": int(x.shape[0]),
            "network": f"depth 4 width {width} tanh, float32", "s_one": t_one, "s_sequential": t_seq,
            "s_batched": t_bat, "batched_over_one": t_bat / t_one, "sequential_over_one": t_seq / t_one,
            "max_rel_gradient_difference": worst, "gflop_one": flops / 1e9,
            "one_gflop_per_s": flops / 1e9 / t_one, "matmul_gflop_per_s": rate / 1e9,
            "floor_over_one": floor, "targets": {f"{seeds}_seeds<=2.5x_one": t_bat / t_one <= 2.5}}


def summary(r: dict[str, Any]) -> str:
    """The printed lines."""
    return (f"{NAME}: BiLO lower-level gradient, Fisher–KPP {r['points']} points, {r['network']}, "
            f"{r['threads']} threads\n"
            f"  one network {r['s_one']:.4f} s; {r['seeds']} one after the other {r['s_sequential']:.4f} s "
            f"({r['sequential_over_one']:.2f}×); {r['seeds']} batched (vmap) {r['s_batched']:.4f} s "
            f"({r['batched_over_one']:.2f}×, target ≤ 2.5×)\n"
            f"  batched vs one-at-a-time gradients: largest relative difference "
            f"{r['max_rel_gradient_difference']:.1e}\n"
            f"  one network: {r['gflop_one']:.2f} GFLOP of matmuls at {r['one_gflop_per_s']:.0f} GFLOP/s; "
            f"this machine's float32 matmul rate {r['matmul_gflop_per_s']:.0f} GFLOP/s, so {r['seeds']} "
            f"networks' matmuls alone take at least {r['floor_over_one']:.2f}× one network's step")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Command line (see the module docstring)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--steps", type=int, default=30, help="timed repetitions, median (default 30)")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: the policy)")
    ap.add_argument("--width", type=int, default=128, help="network width (default 128, the paper's)")
    ap.add_argument("--grid", type=int, default=51, help="points per side of the (t, x) grid (default 51)")
    ap.add_argument("--out", default="results/bench")
    args = ap.parse_args(argv)
    r = run(args.seeds, args.steps, threads=args.threads, width=args.width, grid=args.grid)
    publish(NAME, r, summary, args.out)
    return r


if __name__ == "__main__":
    main()
