"""Methods as strategy objects: ``solve(problem, BiLO(config) | PINN(...) | Adjoint(...))``.

A method is a final frozen dataclass subclassing :class:`AbstractMethod`: its ``config`` (the
method family's typed configuration, shared by every run of a comparison) and its *options*,
the few fields a user varies per run on the command line (``pinn(w_dat=100)``), each checked
in ``__post_init__`` so that a bad value is refused before any work.
"""

from __future__ import annotations

import abc
import dataclasses
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, ClassVar, Literal, final

import numpy as np

from hybrid import Likelihood
from inverse.discretisation import Discretisation
from inverse.problem import AbstractInverseProblem
from inverse.unknowns import FieldFunction


@final
@dataclass(frozen=True, kw_only=True)
class RunOptions:
    """How to run, not what: device, dtype, progress bars, checkpoints.

    Attributes:
        device: Torch device (``"cpu"``, ``"cuda"``); None: CUDA when available.
        dtype: Torch dtype of the networks.
        progress: Show progress bars (rank 0).
        checkpoints: Folder of the network methods' checkpoints, one sub-folder per method
            and seed (None: no checkpoints). Each fit writes one at the end of each phase.
        checkpoint_every: Also every this many steps (None: at the phase ends only).
        resume: Continue each fit from its checkpoint there, if it has one; a checkpoint of
            another run (other data, config, seed or ranks) is refused.
    """

    device: str | None = None
    dtype: Literal["float32", "float64"] = "float32"
    progress: bool = False
    checkpoints: Path | None = None
    checkpoint_every: int | None = None
    resume: bool = False

    def __post_init__(self) -> None:
        if self.checkpoint_every is not None and self.checkpoint_every < 1:
            raise ValueError(f"checkpoint_every must be >= 1, got {self.checkpoint_every}")
        if self.resume and self.checkpoints is None:
            raise ValueError("resume needs a checkpoints folder")


@final
@dataclass(frozen=True, kw_only=True, eq=False)
class InverseData:
    """What every method sees for one seed: the same discretisation and the same noisy data.

    Attributes:
        disc: The discretisation.
        u_obs: This rank's observations at ``disc.x_dat``.
        u_ref: The FEM solution at the initial guess at ``disc.x_ref`` (pre-training target).
        seed: The seed (networks are initialised from it; the noise was drawn from it).
        noise: The noise level σ of ``u_obs``.
        cache: Shared between the methods of one seed (e.g. one PINN pre-training serves every
            data weight); keyed by the method.
    """

    disc: Discretisation
    u_obs: np.ndarray
    u_ref: np.ndarray
    seed: int = 0
    noise: float = 0.0
    cache: dict[Any, Any] = dataclasses.field(default_factory=dict)


@final
@dataclass(frozen=True, kw_only=True)
class Cost:
    """What a run spent.

    Attributes:
        wall_s: Wall time.
        steps: Optimiser steps (fine-tuning steps for the networks, iterations for the adjoint).
        s_per_step: Seconds per step.
        n_forward: FEM forward solves.
        n_adjoint: FEM adjoint solves.
    """

    wall_s: float
    steps: int
    s_per_step: float
    n_forward: int = 0
    n_adjoint: int = 0


@final
@dataclass(frozen=True, kw_only=True, eq=False)
class InverseResult:
    """The answer of one method on one problem and data set.

    Attributes:
        method: The method's label (``pinn(w_dat=100)``).
        theta: Inferred scalar unknowns (empty for a field).
        field: The inferred field at points (N, gdim) -> (N,) (None for scalars). Collective.
        u: The method's own state at points -> values, or None (then the FEM solution at the
            estimate stands for it). Collective.
        u_is_network: ``u`` is a network approximation, validated against a FEM solve at the
            estimate (``u_rel_l2``); an adjoint's state is a FEM solution already.
        cost: What it spent.
        history: Logged rows (step, losses, θ, diagnostics).
        diagnostics: Method-specific scalars for the report (gradient fidelity, converged…).
        notes: Method-specific remarks (e.g. the optimiser's stop reason).
        extra: Method-specific data for ``report.json`` (e.g. per-rank weight checksums).
        trained: The trained object, for further use (the networks: ``hybrid.FitResult``).
    """

    method: str
    theta: dict[str, float]
    field: FieldFunction | None
    u: Callable[[np.ndarray], np.ndarray] | None
    u_is_network: bool
    cost: Cost
    history: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    diagnostics: dict[str, float] = dataclasses.field(default_factory=dict)
    notes: tuple[str, ...] = ()
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)
    trained: Any = dataclasses.field(default=None, repr=False)

    @property
    def estimate(self) -> dict[str, float] | FieldFunction:
        """θ̂: the scalars, or the field function."""
        return self.field if self.field is not None else self.theta


class AbstractMethod(abc.ABC):
    """An inverse-problem solver. Final subclasses are frozen dataclasses with a ``config``.

    Class attributes:
        name: The name in ``--methods`` and reports.
        config_key: Which of a comparison's method configs this method reads.
        likelihoods: The non-Gaussian likelihoods (classes of the problem's ``likelihood()``,
            e.g. a point process or segmentation masks) the method fits, beside values by their
            squared error.
    """

    name: ClassVar[str]
    config_key: ClassVar[str]
    likelihoods: ClassVar[tuple[type[Likelihood], ...]] = ()

    @abc.abstractmethod
    def refuse(self, problem: AbstractInverseProblem) -> str | None:
        """Why this method cannot solve ``problem`` (one line), or None."""

    @abc.abstractmethod
    def run(self, problem: AbstractInverseProblem, data: InverseData, options: RunOptions) -> InverseResult:
        """Solve (called by :meth:`solve` after the checks)."""

    def options(self) -> dict[str, Any]:
        """The options set away from their defaults (what the label shows)."""
        out = {}
        for f in fields(self):  # type: ignore[arg-type]
            if f.name == "config":
                continue
            value = getattr(self, f.name)
            if value != f.default:
                out[f.name] = value
        return out

    @property
    def label(self) -> str:
        """``name`` or ``name(opt=value,...)``."""
        return method_label(self.name, self.options())

    def refusal(self, problem: AbstractInverseProblem) -> str | None:
        """Why this method cannot solve ``problem``: its own :meth:`refuse`, or data it does not fit."""
        reason = self.refuse(problem)
        likelihood = problem.likelihood()
        if reason is None and likelihood is not None and not isinstance(likelihood, self.likelihoods):
            reason = (f"{self.name} fits observed values by their squared error"
                      + "".join(f" or {c.kind}" for c in self.likelihoods)
                      + f"; this problem's data are {problem.likelihood_name()}")
        return reason

    def check(self, problem: AbstractInverseProblem, label: str | None = None) -> None:
        """Raise a one-line ``ValueError`` if this method cannot solve ``problem``.

        Args:
            problem: The problem.
            label: The name to give in the message (default :attr:`label`).
        """
        reason = self.refusal(problem)
        if reason is not None:
            raise ValueError(f"{label or self.label} cannot solve {problem.name}: {reason}")

    def solve(
        self, problem: AbstractInverseProblem, data: InverseData, options: RunOptions | None = None
    ) -> InverseResult:
        """Solve ``problem`` on ``data``; refuses with a one-line ``ValueError`` what it cannot do."""
        self.check(problem)
        return self.run(problem, data, options if options is not None else RunOptions())


def method_label(name: str, options: Mapping[str, Any]) -> str:
    """``name`` or ``name(opt=value,...)``, with whole floats written as integers (``w_dat=100``)."""

    def fmt(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, float):
            return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)
        return str(v)

    return name + ("(" + ",".join(f"{k}={fmt(v)}" for k, v in options.items()) + ")" if options else "")


def positive(owner: str, **values: float | None) -> None:
    """Raise ``ValueError`` naming the first option that is set and not a positive finite number."""
    for name, v in values.items():
        if v is not None and not (np.isfinite(v) and v > 0):
            raise ValueError(f"{owner}: {name} must be > 0, got {v:g}")


def non_negative(owner: str, **values: float | None) -> None:
    """Raise ``ValueError`` naming the first option that is set and not a finite number >= 0."""
    for name, v in values.items():
        if v is not None and not (np.isfinite(v) and v >= 0):
            raise ValueError(f"{owner}: {name} must be >= 0, got {v:g}")


class Timer:
    """Wall time since construction."""

    def __init__(self) -> None:
        self.t0 = time.perf_counter()

    def __call__(self) -> float:
        """Seconds since construction."""
        return time.perf_counter() - self.t0
