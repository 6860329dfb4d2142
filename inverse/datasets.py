"""Operator-learning data sets: the problem's FEM solved over a set of parameters, cached on disk.

A data set is the problem's own forward solve (its weak residual, mesh and time stepping) at m
inputs — a grid of named scalars, or draws of the problem's prior (``sample_prior``) — sampled at
the reference points ``disc.x_ref``. The operator baselines (DeepONet) train on it.

Under MPI the samples are split over the ranks, each solving on its own serial copy of the mesh
(``problem.discretise(MPI.COMM_SELF)``), and gathered: the data set is the serial one, bit for
bit, whatever the number of ranks. It is written once to an HDF5 file (h5py) named by a hash of
everything it depends on (the problem's settings, the inputs, the points, the solver settings); a
rerun with the same key reads the file. A file that does not match its key, or whose checksum
does not match its arrays, is reported and rebuilt, never used.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, final

import numpy as np

from fem import _loader as _loader  # noqa: F401  (before dolfinx)

# isort: split

from mpi4py import MPI

from inverse.discretisation import Discretisation, SpaceTimeGrid, as_points
from inverse.problem import AbstractInverseProblem
from inverse.unknowns import Field, FieldFunction, Scalars

FORMAT_VERSION = 2  # 2: a field's draws are solved in the truth's element


@final
@dataclass(frozen=True, kw_only=True)
class ParameterGrid:
    """A tensor grid of named scalars: every combination of the per-name axes.

    Attributes:
        axes: One 1D sequence of values per unknown, in the order of ``Scalars.names``.
    """

    axes: tuple[tuple[float, ...], ...]

    @classmethod
    def linspace(cls, *ranges: tuple[float, float, int]) -> ParameterGrid:
        """``(start, stop, num)`` per unknown, as ``numpy.linspace``."""
        return cls(axes=tuple(tuple(np.linspace(a, b, int(n)).tolist()) for a, b, n in ranges))

    def inputs(self) -> np.ndarray:
        """(m, k) rows of parameter values, the last unknown fastest."""
        mesh = np.meshgrid(*[np.asarray(a, dtype=np.float64) for a in self.axes], indexing="ij")
        return np.stack([g.ravel() for g in mesh], axis=1)

    def contains(self, theta: Sequence[float]) -> bool:
        """Whether θ lies in the grid's bounding box."""
        return all(min(a) <= t <= max(a) for a, t in zip(self.axes, theta, strict=True))

    def describe(self) -> str:
        """``rD ∈ [0.5, 3] (26 values) × …``."""
        return " × ".join(f"[{min(a):g}, {max(a):g}] ({len(a)} values)" for a in self.axes)


@final
@dataclass(frozen=True, kw_only=True)
class PriorSamples:
    """m draws of the problem's prior, draw i from ``numpy.random.default_rng([seed, i])``.

    Attributes:
        n: Number of draws.
        seed: Base seed.
        sampler: A prior other than the problem's (e.g. an out-of-distribution length scale):
            ``rng -> θ``; None: ``problem.sample_prior``.
        label: What the sampler is, for the cache key and the report (required with a sampler).
    """

    n: int
    seed: int = 0
    sampler: Callable[[np.random.Generator], Any] | None = None
    label: str = "prior"

    def describe(self) -> str:
        """``1000 draws of prior (seed 0)``."""
        return f"{self.n} draws of {self.label} (seed {self.seed})"


DatasetSpec = ParameterGrid | PriorSamples


@final
@dataclass(frozen=True, kw_only=True, eq=False)
class OperatorDataset:
    """Inputs → FEM outputs at fixed points.

    Attributes:
        inputs: (m, k): the scalars, or a field's values at ``field_points``.
        points: (N, d) output points (network inputs: (t, x) rows for a transient problem).
        outputs: (m, N) the FEM solution at the points.
        field_points: (n_f, gdim) where a field input is evaluated (None for scalars).
        key: The cache key.
        generation_s: Wall time of the FEM solves when the data set was generated (also when it
            is read from the cache, which records it).
        from_cache: Whether it was read from the cache.
    """

    inputs: np.ndarray
    points: np.ndarray
    outputs: np.ndarray
    field_points: np.ndarray | None
    key: str
    generation_s: float
    from_cache: bool


def _jsonable(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(o) for o in obj]
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, np.ndarray):
        return hashlib.sha256(np.ascontiguousarray(obj).tobytes()).hexdigest()
    if isinstance(obj, (int, float, str, bool)) or obj is None:
        return obj
    return repr(obj)


def _checksum(*arrays: np.ndarray) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a, dtype=np.float64).tobytes())
    return h.hexdigest()


def dataset_key(problem: AbstractInverseProblem, spec: DatasetSpec, points: np.ndarray,
                field_points: np.ndarray | None) -> str:
    """The hash of everything a data set depends on (short hex)."""
    desc = {
        "version": FORMAT_VERSION,
        "problem": type(problem).__qualname__,
        "settings": _jsonable(problem),
        "time": _jsonable(problem.time),
        "fem_degree": problem.fem_degree,
        "linear": problem.linear,
        "spec": _jsonable({k: v for k, v in vars(spec).items() if k != "sampler"}),
        "points": _jsonable(np.asarray(points)),
        "field_points": _jsonable(field_points),
    }
    return hashlib.sha256(json.dumps(desc, sort_keys=True).encode()).hexdigest()[:20]


def _inputs(problem: AbstractInverseProblem, spec: DatasetSpec) -> list[Any]:
    """The θ of every sample (dicts of scalars or field functions)."""
    unknowns = problem.unknowns
    if isinstance(spec, ParameterGrid):
        if not isinstance(unknowns, Scalars):
            raise ValueError(f"{problem.name}: a ParameterGrid needs scalar unknowns")
        if len(spec.axes) != len(unknowns.names):
            raise ValueError(f"ParameterGrid has {len(spec.axes)} axes; {problem.name} has the unknowns "
                             f"{unknowns.names}")
        return [dict(zip(unknowns.names, row.tolist(), strict=True)) for row in spec.inputs()]
    if spec.n < 1:
        raise ValueError(f"PriorSamples.n must be >= 1, got {spec.n}")
    draw = spec.sampler or problem.sample_prior
    return [draw(np.random.default_rng([spec.seed, i])) for i in range(spec.n)]


def _as_row(problem: AbstractInverseProblem, theta: Any, field_points: np.ndarray | None) -> np.ndarray:
    unknowns = problem.unknowns
    if isinstance(unknowns, Scalars):
        return np.array([float(theta[n]) for n in unknowns.names])
    assert callable(theta) and field_points is not None
    f: FieldFunction = theta
    return np.asarray(f(field_points), dtype=np.float64)


def _solver(problem: AbstractInverseProblem, local: Discretisation) -> Callable[[Any], np.ndarray]:
    """θ -> the FEM at ``local.x_ref`` (flattened).

    The named scalars of a transient problem reuse one set of compiled forms and one SNES
    (``adjoint.TransientReducedFunctional.observe``, the same BDF2 steps and Newton options as
    ``problem.forward``); anything else is ``problem.forward_map``, which compiles a stationary
    problem's forms once. A field is solved as the truth is (in ``Field.truth_element``): the
    draws of a prior share the truth's law, and so its representation on the mesh.
    """
    grid = local.x_ref
    if isinstance(problem.unknowns, Scalars) and problem.time is not None and isinstance(grid, SpaceTimeGrid):
        from inverse.adjoint_bridge import AdjointConfig, transient_functional

        disc = dataclasses.replace(local, x_dat=grid)
        zeros = np.zeros(len(grid.times) * len(grid.space))
        rf = transient_functional(problem, disc, zeros, cfg=AdjointConfig())
        names = problem.unknowns.names
        return lambda theta: rf.observe(np.array([float(theta[n]) for n in names])).ravel()
    solve = problem.forward_map(local, local.x_ref, truth=isinstance(problem.unknowns, Field))
    return lambda theta: np.asarray(solve(theta), dtype=np.float64).ravel()


def generate(problem: AbstractInverseProblem, spec: DatasetSpec, comm: MPI.Comm, *,
             field_points: np.ndarray | None = None, local: Discretisation | None = None,
             progress: Callable[[int, int], None] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(inputs, points, outputs): the FEM at every input, samples split over the ranks. Collective.

    Args:
        problem: The problem (its forward solve and reference points).
        spec: The inputs.
        comm: The ranks to share the solves.
        field_points: Where a field input is evaluated for the network (field unknowns).
        local: ``problem.discretise(MPI.COMM_SELF)``, if the caller has it already.
        progress: ``(done, total)`` callback on rank 0.
    """
    if isinstance(problem.unknowns, Field) and field_points is None:
        raise ValueError(f"{problem.name}: a field unknown needs field_points for its data set")
    if local is None:
        local = problem.discretise(MPI.COMM_SELF)  # each rank solves whole samples on its own mesh
    points = as_points(local.x_ref)
    thetas = _inputs(problem, spec)
    mine = range(comm.rank, len(thetas), comm.size)
    solve = _solver(problem, local)
    # a field is checked where the operator sees it: a GRF draw is a sum of 4096 cosines, and the
    # run's quadrature points would cost the check ten times the solve
    check = local if field_points is None else dataclasses.replace(local, x_field=field_points)
    rows, outs = [], []
    for count, i in enumerate(mine):
        theta = thetas[i]
        bad = problem.inadmissible(theta, check)
        if bad is not None:
            raise ValueError(f"{problem.name}: data-set sample {i} is not admissible: {bad}")
        rows.append(_as_row(problem, theta, field_points))
        outs.append(solve(theta))
        if progress is not None and comm.rank == 0:
            progress(min((count + 1) * comm.size, len(thetas)), len(thetas))
    gathered = comm.allgather((list(mine), rows, outs))
    width = next(len(r[0]) for _, r, _ in gathered if r)
    inputs, outputs = np.zeros((len(thetas), width)), np.zeros((len(thetas), len(points)))
    for idx, r, o in gathered:
        for i, row, out in zip(idx, r, o, strict=True):
            inputs[i], outputs[i] = row, out
    return inputs, points, outputs


def _read(path: Path, key: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None, float] | str:
    """The arrays of a cache file, or why it cannot be used."""
    import h5py

    try:
        with h5py.File(path, "r") as f:
            if f.attrs.get("key") != key or int(f.attrs.get("version", -1)) != FORMAT_VERSION:
                return "its key does not match this problem and data set"
            arrays = [np.asarray(f[name][()]) for name in ("inputs", "points", "outputs")]
            fp = np.asarray(f["field_points"][()]) if "field_points" in f else None
            if f.attrs.get("sha256") != _checksum(*arrays, *(() if fp is None else (fp,))):
                return "its checksum does not match its arrays"
            generation_s = float(f.attrs.get("generation_s", float("nan")))
    except (OSError, KeyError, ValueError) as exc:
        return f"it cannot be read ({type(exc).__name__}: {exc})"
    inputs, points, outputs = arrays
    if outputs.shape != (inputs.shape[0], points.shape[0]) or not np.isfinite(outputs).all():
        return "its arrays have inconsistent shapes or non-finite values"
    return inputs, points, outputs, fp, generation_s


def _write(path: Path, key: str, arrays: Sequence[np.ndarray], field_points: np.ndarray | None,
           generation_s: float) -> None:
    """Write atomically: a temporary file in the same folder, renamed (never a half-written file)."""
    import h5py

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    with h5py.File(tmp, "w") as f:
        for name, a in zip(("inputs", "points", "outputs"), arrays, strict=True):
            f.create_dataset(name, data=a)
        if field_points is not None:
            f.create_dataset("field_points", data=field_points)
        f.attrs["key"] = key
        f.attrs["version"] = FORMAT_VERSION
        f.attrs["generation_s"] = generation_s
        f.attrs["sha256"] = _checksum(*arrays, *(() if field_points is None else (field_points,)))
    os.replace(tmp, path)


def operator_dataset(
    problem: AbstractInverseProblem,
    spec: DatasetSpec,
    comm: MPI.Comm,
    *,
    cache_dir: str | Path | None = "results/cache",
    field_points: np.ndarray | None = None,
    log: Callable[[str], None] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> OperatorDataset:
    """The data set of ``spec`` for ``problem``: from the cache if valid, else generated and cached.

    Collective: every rank returns the whole data set. ``cache_dir=None`` never reads or writes.
    """
    import time

    local = problem.discretise(MPI.COMM_SELF)
    key = dataset_key(problem, spec, as_points(local.x_ref), field_points)
    path = None if cache_dir is None else Path(cache_dir) / f"{problem.name}-{key}.h5"
    why: str | None = "no cache"
    if path is not None:
        found: Any = None
        if comm.rank == 0:
            found = _read(path, key) if path.exists() else "it does not exist"
        found = comm.bcast(found, root=0)
        if not isinstance(found, str):
            inputs, points, outputs, fp, generated = found
            return OperatorDataset(inputs=inputs, points=points, outputs=outputs, field_points=fp, key=key,
                                   generation_s=generated, from_cache=True)
        why = found
        if log is not None and path.exists():
            log(f"data-set cache {path} is not used: {why}; rebuilding it")
    t0 = time.perf_counter()
    inputs, points, outputs = generate(problem, spec, comm, field_points=field_points, local=local,
                                       progress=progress)
    elapsed = float(comm.allreduce(time.perf_counter() - t0, op=MPI.MAX))
    if path is not None and comm.rank == 0:
        _write(path, key, (inputs, points, outputs), field_points, elapsed)
    comm.Barrier()
    return OperatorDataset(inputs=inputs, points=points, outputs=outputs, field_points=field_points, key=key,
                           generation_s=elapsed, from_cache=False)
