"""What BiLO and the PINN share as methods of the layer: inputs, regulariser, result, diagnostics."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any, Literal

import numpy as np

import fem
from hybrid import (
    AbstractFunctionPDE,
    AbstractPDE,
    CheckpointConfig,
    FitResult,
    FunctionMesh,
    FunctionNetworkConfig,
    PointProcessLikelihood,
    PretrainConfig,
    RegularizerConfig,
    written_on_jets,
)
from hybrid.checkpoint import digest
from hybrid.config import Derivatives
from inverse.discretisation import as_points
from inverse.method import Cost, InverseData, InverseResult, RunOptions
from inverse.problem import AbstractInverseProblem
from inverse.unknowns import Field


def fit_arguments(problem: AbstractInverseProblem, data: InverseData, options: RunOptions,
                  function_network: FunctionNetworkConfig | None = None) -> dict[str, Any]:
    """Keyword arguments of ``hybrid.BiLO.fit`` / ``hybrid.PINN.fit`` for this problem and data.

    A ``"p1"`` ``function_network`` is given the whole mesh of the discretisation and the initial
    guess at its vertices (``function_mesh``).
    """
    disc = data.disc
    theta0 = problem.theta_init()
    pde = strong_form(problem, data)
    # the strong form's unknowns; a segmentation's thresholds come with its likelihood
    init = (theta0(field_coordinates(pde, disc.x_res)) if callable(theta0)
            else {n: theta0[n] for n in pde.param_names})
    comm = disc.comm if disc.distributed and disc.comm.size > 1 else None
    mesh = None
    if function_network is not None and function_network.kind == "p1":
        if not callable(theta0):
            raise ValueError("field='p1' represents a function unknown; this problem has scalar unknowns")
        vertices, triangles = fem.global_triangles(disc.mesh)
        mesh = FunctionMesh(vertices=vertices, triangles=triangles, initial=np.asarray(theta0(vertices)))
    return {
        "function_mesh": mesh,
        "x_res": disc.x_res,
        "x_dat": as_points(disc.x_dat),
        "u_dat": data.u_obs,
        "theta_init": init,
        "u_ref": data.u_ref,
        "x_ref": as_points(disc.x_ref),
        "x_reg": disc.x_reg,
        "likelihood": problem.likelihood(),
        "device": options.device,
        "dtype": options.dtype,
        "seed": data.seed,
        "progress": options.progress and disc.comm.rank == 0,
        "comm": comm,
    }


FieldKind = Literal["mlp", "fourier", "p1"]


def function_network(base: FunctionNetworkConfig, kind: FieldKind | None) -> FunctionNetworkConfig:
    """The unknown function's representation chosen on the command line (None: the config's).

    ``mlp``: the tanh MLP of x; ``fourier``: the same fed random Fourier features (σ = the
    config's ``fourier_sigma``); ``p1``: nodal values on the discretisation's mesh.
    """
    if kind is None:
        return base
    if kind == "p1":
        return replace(base, kind="p1")
    return replace(base, kind="mlp", fourier=kind == "fourier")


def refuse_field(problem: AbstractInverseProblem, kind: FieldKind | None) -> str | None:
    """``field`` chooses how a function unknown is represented: none to choose for scalars."""
    if kind is not None and not isinstance(problem.unknowns, Field):
        return "field chooses the representation of a function unknown; this problem has scalar unknowns"
    pde = problem.pde
    if kind == "p1" and (problem.time is not None or not isinstance(pde, AbstractFunctionPDE)
                         or len(pde.field_dims()) != 2):
        return "field='p1' needs a stationary problem whose unknown is a function on a 2D mesh"
    return None


def refuse_derivatives(problem: AbstractInverseProblem, derivatives: Derivatives | None) -> str | None:
    """``jet`` and ``compiled`` need a strong form written on jets (``residual_jet``)."""
    if derivatives in ("jet", "compiled") and not written_on_jets(problem.pde):
        return (f"derivatives={derivatives} needs a strong form written on jets (residual_jet); "
                f"{type(problem.pde).__name__} has none")
    return None


def checkpoint(options: RunOptions, data: InverseData, name: str) -> CheckpointConfig | None:
    """Where the fit ``name`` of this seed keeps its checkpoint (None: checkpoints are off)."""
    if options.checkpoints is None:
        return None
    folder = re.sub(r"[^A-Za-z0-9._=-]+", "_", name).strip("_")
    # at the phase ends only unless asked for more (see Run.run_phase)
    return CheckpointConfig(dir=options.checkpoints / folder / f"seed{data.seed}",
                            every=options.checkpoint_every or 2**62, resume=options.resume)


def pretraining_name(method: str, config: Any) -> str:
    """The checkpoint name of a shared pre-training: one per method family and config."""
    return f"{method}-pretraining-{digest(config)[:8]}"


def field_coordinates(pde: AbstractPDE, x: np.ndarray) -> np.ndarray:
    """The columns of network inputs x (N, d) that a function unknown depends on (e.g. x of (t, x))."""
    if not isinstance(pde, AbstractFunctionPDE):
        return x
    return np.ascontiguousarray(np.asarray(x)[:, list(pde.field_dims())])


def pretrain_options(pre: PretrainConfig, steps: int | None, amsgrad: bool | None) -> PretrainConfig:
    """A config's pre-training with a method's ``pretrain_steps`` and ``amsgrad`` options (None: keep)."""
    return replace(pre, steps=pre.steps if steps is None else steps,
                   amsgrad=pre.amsgrad if amsgrad is None else amsgrad)


def shared_pretraining(
    data: InverseData, key: Any, pretrain: Callable[[], FitResult]
) -> tuple[FitResult, float]:
    """This seed's pre-training under ``key`` (made by ``pretrain()`` on first use) and its wall time.

    Pre-training depends neither on the data weights nor on the regulariser, so the runs of one
    seed that differ only in those share it (the data's ``cache``); each is charged its wall time
    (that of the fit itself, so a pre-training resumed from its checkpoint costs what it did).
    """
    if key not in data.cache:
        data.cache[key] = pretrain()
    fit: FitResult = data.cache[key]
    return fit, float(fit.wall_s)


def point_process(problem: AbstractInverseProblem) -> PointProcessLikelihood | None:
    """The problem's point-process likelihood, or None (a method that fits no other kind has refused it)."""
    like = problem.likelihood()
    assert like is None or isinstance(like, PointProcessLikelihood)
    return like


def strong_form(problem: AbstractInverseProblem, data: InverseData) -> AbstractPDE:
    """The strong form on this discretisation (the problem's, unless the mesh shapes it)."""
    return data.disc.pde if data.disc.pde is not None else problem.pde


def regularizer(
    problem: AbstractInverseProblem, base: RegularizerConfig, w_reg: float | None
) -> RegularizerConfig:
    """The field's regulariser at weight ``w_reg`` (None: the config's weight); scalars: the config's."""
    f = problem.unknowns
    if not isinstance(f, Field):
        return base
    return replace(base, kind=f.regularizer, weight=base.weight if w_reg is None else w_reg)


def refuse_w_reg(problem: AbstractInverseProblem, w_reg: float | None) -> str | None:
    """A regularisation weight makes sense for a field unknown only."""
    if w_reg is not None and not isinstance(problem.unknowns, Field):
        return "w_reg applies to a field unknown; this problem has scalar unknowns"
    return None


def fidelity(history: list[dict[str, Any]]) -> dict[str, float]:
    """Gradient fidelity against the exact gradient: at the first check and the median over checks.

    At the first check (fine-tuning step ``fidelity_every``) the data gradient is still large;
    near the optimum both gradients vanish and their direction is dominated by the NN-vs-FEM
    discretisation gap, so the median alone would understate fidelity.
    """
    rows = [h for h in history if "fidelity_cos" in h]
    if not rows:
        return {}
    out = {
        "grad_cos_first": float(rows[0]["fidelity_cos"]),
        "grad_rel_err_first": float(rows[0]["fidelity_rel"]),
        "grad_cos": float(np.median([h["fidelity_cos"] for h in rows])),
        "grad_rel_err": float(np.median([h["fidelity_rel"] for h in rows])),
    }
    if "fidelity_norm_ratio" in rows[0]:
        out["grad_norm_ratio"] = float(np.median([h["fidelity_norm_ratio"] for h in rows]))
    return out


def network_result(
    label: str, problem: AbstractInverseProblem, data: InverseData, res: FitResult, *,
    pretraining: tuple[FitResult, float] | None = None,
) -> InverseResult:
    """The layer's result of a network fit (θ or f_V, u_NN, cost, fidelity, rank checksums).

    With the shared ``pretraining`` (fit, wall time) that ``res`` started from, the wall time
    and the history include it: its rows first, the fine-tuning rows' times after its own.
    """
    history, wall_s = list(res.history), res.wall_s
    if pretraining is not None:
        pre, pre_wall = pretraining
        history = pre.history + [{**h, "time": h["time"] + pre_wall} if "time" in h else h for h in history]
        wall_s += pre_wall
    extra: dict[str, Any] = {}
    disc = data.disc
    if disc.distributed and disc.comm.size > 1:
        # data parallelism keeps every rank's weights identical: record each rank's checksum
        checksum = float(sum(float(p.detach().double().sum()) for p in res.model.parameters()))
        extra["rank_weight_checksums"] = disc.comm.allgather(checksum)
    return InverseResult(
        method=label,
        theta=dict(res.theta),
        field=res.function if isinstance(problem.unknowns, Field) else None,
        u=res.predict,
        u_is_network=True,
        cost=Cost(wall_s=wall_s, steps=res.steps, s_per_step=res.s_per_step),
        history=history,
        diagnostics=fidelity(history),
        extra=extra,
        trained=res,
    )
