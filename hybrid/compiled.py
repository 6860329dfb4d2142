"""The jet residual as one function of its tensors, and its ``torch.compile``'d form.

On the jets a residual is a forward graph of matmuls and elementwise products (tanh and its
tangents); eager PyTorch runs the elementwise part one op at a time, and inductor fuses it.
BiLO's residual-gradient dr/dθ is a backward pass that W's gradient differentiates again, which
compiled autograd cannot do ("aot_autograd does not currently support double backward"). Here
dr/dθ is therefore taken functionally, by ``torch.func.vjp`` inside the compiled function: the
residual-gradient becomes part of the traced forward graph, and W's gradient is one compiled
backward. The eager engine (``derivatives="jet"``) computes the same quantities
(``hybrid.losses.residual_gradient``); ``bench.compiled_step`` times both.

The network and the problem are arguments, not closures: compiled code is then shared by every
model of the same architecture in a process (a new run does not compile again), and recompiled
only for a new number of points.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from .jets import AbstractFunctionJetPDE, AbstractJetPDE, Jet, transform_jet
from .networks import LocalOperator


def jet_residual(net: LocalOperator, pde: AbstractJetPDE | AbstractFunctionJetPDE, x: Tensor, theta: Tensor,
                 dtheta: list[Tensor] | None, d2theta: list[Tensor] | None, a: Jet, b: Jet) -> Tensor:
    """The residual (n,) from the network's forward jet at per-point parameters ``theta`` (n, p).

    For a function unknown θ = z = f(x) (n, 1) and ``dtheta``, ``d2theta`` are z's input
    derivatives [(n, 1) per coordinate of ``pde.jet_first()``, ``pde.second_derivatives``]: z's
    jet is rebuilt from θ, so a derivative in θ is one in z with z's derivatives held fixed.

    Args:
        net: The local operator (with or without an embedding).
        pde: The problem, written on jets.
        x: Points (n, d).
        theta: Per-point parameters (n, p).
        dtheta: A function unknown's first input derivatives, or None (scalar unknowns).
        d2theta: Its pure second input derivatives, or None.
        a: Jet of the output transform's offset in u = a + b·N (+ c·z).
        b: Jet of its factor b.
    """
    first, second = pde.jet_first(), pde.second_derivatives
    embed = net.n_params > 0
    N, dN, d2N = net.forward_jet(x, theta if embed else None, first, second,
                                 dtheta if embed else None, d2theta if embed else None)
    N_jet = Jet(u=N, du={i: dN[k] for k, i in enumerate(first)},
                d2u={i: d2N[k] for k, i in enumerate(second)})
    if isinstance(pde, AbstractFunctionJetPDE):
        assert dtheta is not None and d2theta is not None
        z = Jet(u=theta[:, 0], du={i: dtheta[k][:, 0] for k, i in enumerate(first)},
                d2u={i: d2theta[k][:, 0] for k, i in enumerate(second)})
        return pde.residual_jet(x, transform_jet(a, b, N_jet, z, pde.field_offset), z)
    return pde.residual_jet(x, transform_jet(a, b, N_jet), theta)


def jet_residual_and_gradient(net: LocalOperator, pde: AbstractJetPDE | AbstractFunctionJetPDE, x: Tensor,
                              theta: Tensor, dtheta: list[Tensor] | None, d2theta: list[Tensor] | None,
                              a: Jet, b: Jet) -> tuple[Tensor, Tensor]:
    """The residual r (n,) and dr_i/dθ_i (n, p), by one functional vector-Jacobian product.

    The network is pointwise, so the VJP of r with ones gives every per-point derivative at once
    (as ``hybrid.losses.residual_gradient`` does with autograd); W's gradient differentiates
    through it.
    """
    def r_of(T: Tensor) -> Tensor:
        return jet_residual(net, pde, x, T, dtheta, d2theta, a, b)

    r, vjp, *_ = torch.func.vjp(r_of, theta)
    (g,) = vjp(torch.ones_like(r))
    return r, g


_COMPILED: dict[str, Callable[..., Any]] = {}


def compiled(name: str) -> Callable[..., Any]:
    """``torch.compile`` of :func:`jet_residual` (``"residual"``) or :func:`jet_residual_and_gradient`.

    Made on first use, so importing ``hybrid`` never loads inductor. Compiled backwards keep their
    buffers (``torch._functorch.config.donated_buffer = False``, process-wide).
    """
    if name not in _COMPILED:
        import torch._functorch.config as functorch_config

        # The engine takes each level's gradient with its own autograd.grad, the first with
        # retain_graph=True (``Run.update``); a compiled backward that donates its buffers refuses that.
        functorch_config.donated_buffer = False
        fn = {"residual": jet_residual, "residual_and_gradient": jet_residual_and_gradient}[name]
        _COMPILED[name] = torch.compile(fn)
    return _COMPILED[name]
