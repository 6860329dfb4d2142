"""One runner for every comparison: seeds × methods on the same data, metrics, validation, report.

Metrics are defined here once for every method and problem:

- ``rel_err[<name>]`` = |θ̂ − θ*| / |θ*| for each scalar unknown;
- ``field_rel_l2`` = ‖f̂ − f*‖ / ‖f*‖ with the problem's field quadrature, plus the
  problem's own ``field_metrics``;
- ``u_rel_l2``: a network's u against the FEM solve at its *own* estimate (validation);
- ``data_mse`` = mean_j (u(x_j) − d_j)² of the method's state at the observations, or, for a
  point-process likelihood, ``nll`` = M∫u − Σ_k log u(x_k) at the particles, or, for
  segmentation masks, ``seg_loss`` and ``dice[th_k]`` of the masks {u > th_k} (a network's u;
  ``dice_fem[th_k]`` of the FEM solve at its estimate);
- each method's diagnostics (gradient fidelity, solve counts, convergence).
"""

from __future__ import annotations

import math
import time
import typing
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, is_dataclass
from pathlib import Path
from typing import Any, final

import numpy as np

from fem.metrics import relative_l2_error
from fem.parallel import print0
from hybrid import SegmentationLikelihood
from inverse.discretisation import Discretisation, as_points
from inverse.method import AbstractMethod, InverseData, InverseResult, RunOptions
from inverse.outputs import RunFolder, write_histories
from inverse.problem import AbstractInverseProblem
from inverse.report import Report
from inverse.unknowns import Field, Theta

Plots = Callable[[AbstractInverseProblem, Discretisation, dict[str, InverseResult], Path], list[Path]]
"""``plots(problem, disc, results of seed 0, out) -> written paths``; called on every rank."""


@final
@dataclass(frozen=True, kw_only=True)
class Study:
    """A comparison's run: the problem, each method family's config, seeds and default methods.

    Attributes:
        problem: The inverse problem.
        configs: Method configs by ``config_key`` (``{"bilo": BiLOConfig(...), ...}``); a method
            whose key is absent uses its config's defaults.
        seeds: Seeds 0..seeds-1 (each draws its own noise and initialises the networks).
        methods: The default ``--methods``.
        threads: torch CPU threads per rank (None: ``hybrid.set_threads``' policy).
    """

    problem: AbstractInverseProblem
    configs: Mapping[str, Any] = field(default_factory=dict)
    seeds: int = 1
    methods: str = "bilo,pinn"
    threads: int | None = None

    def __post_init__(self) -> None:
        if self.seeds < 1:
            raise ValueError(f"seeds must be >= 1, got {self.seeds}")


def solve(
    problem: AbstractInverseProblem,
    method: AbstractMethod,
    data: InverseData | None = None,
    *,
    noise: float = 0.0,
    seed: int = 0,
    options: RunOptions | None = None,
) -> InverseResult:
    """Solve ``problem`` with ``method``: ``solve(problem, BiLO(config))``. Collective.

    Args:
        problem: The inverse problem.
        method: Any registered method (``inverse.methods``).
        data: The data (default: :func:`make_data` with ``noise`` and ``seed`` on COMM_WORLD).
        noise: σ of the Gaussian noise when the data are made here.
        seed: Seed of the noise and the networks when the data are made here.
        options: Device, dtype, progress.

    Raises:
        ValueError: The method cannot solve this problem (one line, before any work).
    """
    method.check(problem)
    if data is None:
        from mpi4py import MPI

        data = make_data(problem, problem.discretise(MPI.COMM_WORLD), noise=noise, seed=seed)
    return method.solve(problem, data, options)


def make_data(
    problem: AbstractInverseProblem,
    disc: Discretisation,
    *,
    noise: float,
    seed: int,
    u_true: np.ndarray | None = None,
    u_ref: np.ndarray | None = None,
) -> InverseData:
    """The observations at the truth (plus noise) and the pre-training reference at the guess."""
    problem.check_noise(noise)
    if u_true is None:
        u_true = problem.forward(disc, problem.theta_true(), disc.x_dat, truth=True)
    if u_ref is None:
        u_ref = problem.forward(disc, problem.theta_init(), disc.x_ref)
    seen, u_obs = problem.observe(disc, u_true, noise, seed)
    return InverseData(disc=seen, u_obs=u_obs, u_ref=u_ref, seed=seed, noise=noise)


def estimate_metrics(problem: AbstractInverseProblem, disc: Discretisation, theta: Theta) -> dict[str, float]:
    """Errors of an estimate against the truth (no state involved). Collective for fields."""
    u = problem.unknowns
    if not isinstance(u, Field):
        assert not callable(theta)
        # a truth of 0 has no relative error: its absolute error is reported instead
        return {
            (f"rel_err[{n}]" if t != 0 else f"abs_err[{n}]"): abs(float(theta[n]) - t) / (abs(t) or 1.0)
            for n, t in zip(u.names, u.truth, strict=True)
        }
    assert callable(theta) and disc.x_field is not None and disc.w_field is not None
    values, truth = theta(disc.x_field), problem.truth(disc.x_field)
    out = {"field_rel_l2": relative_l2_error(values, truth, weights=disc.w_field, comm=disc.metric_comm)}
    for metric in problem.field_metrics:
        out.update(metric(values, truth, disc.w_field, disc.metric_comm))
    return out


def evaluate(
    problem: AbstractInverseProblem, data: InverseData, result: InverseResult
) -> tuple[dict[str, float], list[str]]:
    """The metrics of one result (collective), and notes on what could not be evaluated."""
    disc, notes = data.disc, []
    metrics = estimate_metrics(problem, disc, result.estimate)
    bad = problem.inadmissible(result.estimate, disc)
    if result.u_is_network and result.u is not None:
        if bad is None:
            u_fem = problem.forward(disc, result.estimate, disc.x_u)
            metrics["u_rel_l2"] = relative_l2_error(
                result.u(as_points(disc.x_u)), u_fem, weights=disc.w_u, comm=disc.metric_comm
            )
        else:
            notes.append(f"{result.method} seed {data.seed}: {bad}; no FEM validation")
    def state(points: Any) -> np.ndarray:
        """The method's u at ``points`` (an array, or a transient problem's SpaceTimeGrid)."""
        if result.u is not None:
            return result.u(as_points(points))
        if bad is not None:
            return np.full(len(as_points(points)), np.nan)
        return problem.forward(disc, result.estimate, points)

    likelihood = problem.likelihood()
    if likelihood is None:
        metrics["data_mse"] = disc.global_mean((state(disc.x_dat) - data.u_obs) ** 2)
    elif isinstance(likelihood, SegmentationLikelihood):
        metrics.update(segmentation_metrics(likelihood, data, result, state(disc.x_dat)))
        if result.u_is_network and bad is None:
            # the masks of the FEM solve at the estimate: does u_NN's fit of the masks survive it?
            u_fem = problem.forward(disc, result.estimate, disc.x_dat)
            from_fem = segmentation_metrics(likelihood, data, result, u_fem)
            metrics.update({k.replace("dice", "dice_fem", 1): v for k, v in from_fem.items()
                            if k.startswith("dice")})
    else:
        metrics["nll"] = likelihood.nll(state(likelihood.x_quad), state(disc.x_dat))
    metrics.update(time_to_accuracy(problem, result.history))
    metrics.update(result.diagnostics)
    return metrics, notes


def segmentation_metrics(likelihood: SegmentationLikelihood, data: InverseData, result: InverseResult,
                         u: np.ndarray) -> dict[str, float]:
    """``seg_loss`` and ``dice[<threshold>]`` of the masks {u > th_k} at the estimated thresholds.

    Every rank holds every observation (a segmentation problem is not data-distributed).
    """
    estimate = result.estimate
    assert not callable(estimate)
    th = np.array([float(estimate[n]) for n in likelihood.names])
    dice = likelihood.dice(u, data.u_obs, th)
    return {"seg_loss": likelihood.loss(u, data.u_obs, th),
            **{f"dice[{n}]": float(d) for n, d in zip(likelihood.names, dice, strict=True)}}


def time_to_accuracy(
    problem: AbstractInverseProblem, history: list[dict[str, Any]], tol: float = 0.01
) -> dict[str, float]:
    """Per named scalar, ``t_1pct[name]``: seconds until its relative error is ≤ ``tol`` for good.

    A scalar whose truth is 0 is held to the absolute error ``tol`` instead.

    Read from the logged rows (``time``, ``theta_<name>``): the time of the first row after which
    every logged row stays within ``tol`` of the truth; NaN if the last one is not. Nothing for
    a field unknown or a history without times.
    """
    unknowns = problem.unknowns
    if isinstance(unknowns, Field):
        return {}
    out = {}
    for name, truth in zip(unknowns.names, unknowns.truth, strict=True):
        rows = [(float(h["time"]), float(h[f"theta_{name}"])) for h in history
                if "time" in h and f"theta_{name}" in h]
        if not rows:
            continue
        t_hit = math.nan
        for t, value in reversed(rows):
            if not abs(value - truth) <= tol * (abs(truth) if truth != 0 else 1.0):
                break
            t_hit = t
        out[f"t_{round(100 * tol)}pct[{name}]"] = t_hit
    return out


def run_study(
    study: Study,
    methods: Mapping[str, AbstractMethod],
    *,
    noise: float,
    preset: str,
    options: RunOptions,
    comm: Any,
    out: Path | RunFolder | None = None,
    plots: Plots | None = None,
    log: Callable[[str], None] = print0,
) -> tuple[Report, dict[str, InverseResult]]:
    """Run every method on every seed's data, evaluate, write the report and the plots.

    Args:
        study: The problem, configs and seeds.
        methods: Label -> method.
        noise: σ of the observation noise.
        preset: The preset's name (for the report).
        options: Device, dtype, progress.
        comm: The communicator.
        out: Output folder, a path (created if missing) or a checked :class:`RunFolder`
            (None: write nothing). Figures appear in it with the report, at the end, and
            ``histories.csv``: every method's and seed's logged training rows.
        plots: The comparison's figures of seed 0.
        log: Progress lines.

    Returns:
        The report and the results of seed 0.
    """
    problem = study.problem
    for label, method in methods.items():
        method.check(problem, label)
    folder = out if isinstance(out, RunFolder) or out is None else RunFolder.open(out, comm)
    t0 = time.perf_counter()
    disc = problem.discretise(comm)
    u_true = problem.forward(disc, problem.theta_true(), disc.x_dat, truth=True)
    u_ref = problem.forward(disc, problem.theta_init(), disc.x_ref)
    log(
        f"[{problem.name}] preset {preset}, noise {noise}, {comm.size} rank(s), device {options.device}; "
        f"set-up {time.perf_counter() - t0:.1f} s"
    )
    report = Report(
        problem=problem.name,
        preset=preset,
        noise=noise,
        seeds=study.seeds,
        ranks=comm.size,
        device=str(options.device),
        config=_config(study, methods),
    )
    report.notes.append(problem.describe())
    report.reference_rows.update({k: dict(v) for k, v in problem.published.items()})
    report.baseline_rows["initial guess"] = estimate_metrics(problem, disc, problem.theta_init())
    log(f"[{problem.name}] initial guess: " + _fmt(report.baseline_rows["initial guess"]))
    first: dict[str, InverseResult] = {}
    histories: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for seed in range(study.seeds):
        # one data set per seed, shared by every method
        data = make_data(problem, disc, noise=noise, seed=seed, u_true=u_true, u_ref=u_ref)
        for label, method in methods.items():
            log(f"[{problem.name}] seed {seed}: {label}")
            result = method.solve(problem, data, options)
            metrics, notes = evaluate(problem, data, result)
            record = report.record(label)
            record.add(
                metrics, wall_s=result.cost.wall_s, steps=result.cost.steps, s_per_step=result.cost.s_per_step
            )
            for key, value in result.extra.items():
                record.extra.setdefault(key, []).append(value)
            if result.notes:
                record.extra.setdefault("stop_reason", []).extend(result.notes)
            report.notes += notes
            log(f"    {_fmt(metrics)}, {result.cost.wall_s:.1f} s")
            if seed == 0:
                first[label] = result
            if result.history:
                histories[label, seed] = result.history
    if folder is not None:
        # figures first, into the staging folder (writers may be collective), then moved in;
        # report.json last, so that it is there only when everything else is
        stage = folder.staging
        written = plots(problem, disc, first, stage) if plots is not None else []
        if comm.rank == 0 and histories:  # the rows are global (reduced over ranks) already
            written.append(write_histories(stage / "histories.csv", histories))
        written = folder.publish(written)
        if comm.rank == 0:
            written = report.write(folder.path) + written
            folder.mark("complete")
            print(report.table())
            print("\nwrote " + ", ".join(str(p) for p in written), flush=True)
    return report, first


def _fmt(metrics: Mapping[str, float]) -> str:
    return ", ".join(f"{k} {v:.4g}" for k, v in metrics.items())


def _config(study: Study, methods: Mapping[str, AbstractMethod]) -> dict[str, Any]:
    def plain(obj: Any) -> Any:
        return asdict(obj) if is_dataclass(obj) and not isinstance(obj, type) else obj

    return {
        "problem": plain(study.problem),
        "seeds": study.seeds,
        "configs": {k: plain(v) for k, v in study.configs.items()},
        "methods": {label: {k: plain(v) for k, v in m.options().items()} for label, m in methods.items()},
    }


def configure(
    study: Study, name: str, options: Mapping[str, Any], registry: Mapping[str, Any]
) -> AbstractMethod:
    """The method ``name`` of the registry with the study's config and the given options."""
    cls, fixed = registry[name]
    config = study.configs.get(cls.config_key)
    expected = typing.get_type_hints(cls)["config"]
    if config is not None and not isinstance(config, expected):
        raise TypeError(f"{name} reads configs[{cls.config_key!r}] as a {expected.__name__}, "
                        f"got a {type(config).__name__}")
    kwargs = {**fixed, **options}
    method: AbstractMethod = cls(**kwargs) if config is None else cls(config=config, **kwargs)
    return method
