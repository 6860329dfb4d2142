"""The command line of every comparison, built from the study presets and the typed methods.

``python -m comparisons.<name> [--preset P] [--out DIR] [--methods 'bilo,pinn(w_dat=100)']
[--noise SIGMA] [--seeds N] [--device cpu|cuda] [--dtype float32|float64] [--threads T]
[--quiet]`` plus the flags the problem adds. One invocation is one noise level.

``--methods`` names registered methods with their options (``inverse.method_options``); the
argparse pieces are in ``inverse.arguments``.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, final

import torch
from mpi4py import MPI

import hybrid
from fem.parallel import run_collectively
from inverse.arguments import Parser, non_negative_float, positive_int, user_errors
from inverse.method import RunOptions
from inverse.method_options import option_types, parse_methods
from inverse.methods import METHODS
from inverse.outputs import RunFolder
from inverse.report import Report
from inverse.runner import Plots, Study, run_study

_GAUSSIAN_NOISE = "standard deviation σ of the i.i.d. Gaussian noise added to the data"


@final
@dataclass(frozen=True, kw_only=True)
class ProblemFlag:
    """A flag of one comparison that sets one field of its problem (``--slice 30`` -> ``z_mm=30``).

    Unset, the preset's value stays. The problem with every given flag is checked by
    :meth:`AbstractInverseProblem.check` before any work; its ``ValueError`` names the flags.

    Attributes:
        flag: The option, e.g. ``--slice``.
        field: The problem's dataclass field it replaces.
        help: The ``--help`` text (say the default).
        type: The argparse type (a converter that raises ``argparse.ArgumentTypeError``).
        choices: The allowed values, when a closed set.
        metavar: The value's name in ``--help`` (default: argparse's).
    """

    flag: str
    field: str
    help: str
    type: Callable[[str], Any] | None = None
    choices: tuple[str, ...] | None = None
    metavar: str | None = None

    def add_to(self, p: argparse.ArgumentParser) -> None:
        """Add the flag (default None: the preset's value)."""
        p.add_argument(self.flag, type=self.type or str, choices=self.choices, default=None, help=self.help,
                       metavar=self.metavar)

    @property
    def dest(self) -> str:
        """Its attribute on the parsed namespace (argparse's: ``--seed-mm`` -> ``seed_mm``)."""
        return self.flag.lstrip("-").replace("-", "_")

    @staticmethod
    def apply(flags: tuple[ProblemFlag, ...], study: Study, args: argparse.Namespace) -> Study:
        """The study whose problem has every given flag's value, checked (``ValueError`` naming them)."""
        given = [f for f in flags if getattr(args, f.dest) is not None]
        # every problem is a dataclass (AbstractInverseProblem's contract), which mypy cannot see
        problem = dataclasses.replace(typing.cast(Any, study.problem), **{f.field: getattr(args, f.dest)
                                                                          for f in given})
        try:
            problem.check()
        except (ValueError, FileNotFoundError) as exc:
            raise ValueError(f"{'/'.join(f.flag for f in given) or 'the preset'}: {exc}") from None
        return dataclasses.replace(study, problem=problem)


@final
@dataclass(frozen=True, kw_only=True)
class Comparison:
    """A runnable comparison: its presets, its own flags, its plots; ``main(argv) -> Report``.

    Attributes:
        name: ``python -m comparisons.<name>``.
        description: The ``--help`` text.
        presets: Preset name -> study factory, with a one-line description each.
        flags: The comparison's flags that set one field of the problem each.
        add_flags: Adds flags that need more than that to the parser.
        apply_flags: Applies them to the preset's study, after ``flags`` (raise ``ValueError``
            for a bad value: it is reported as a usage error, before any work).
        plots: The comparison's figures.
        default_preset: The preset without ``--preset``.
        default_noise: σ without ``--noise``.
        noise_help: What ``--noise`` means when it is not the σ of Gaussian noise (e.g. label noise).
        prog: The command in ``--help`` (default ``python -m comparisons.<name>``).
    """

    name: str
    description: str
    presets: Mapping[str, tuple[Callable[[], Study], str]]
    flags: tuple[ProblemFlag, ...] = ()
    add_flags: Callable[[argparse.ArgumentParser], None] | None = None
    apply_flags: Callable[[Study, argparse.Namespace], Study] | None = None
    plots: Plots | None = None
    default_preset: str = "default"
    default_noise: float = 0.0
    noise_help: str | None = None
    prog: str | None = None

    def parser(self) -> argparse.ArgumentParser:
        """The argument parser (``--help`` lists the presets, the methods and their options)."""
        methods = "; ".join(
            f"{n}({', '.join(k for k in option_types(c) if k not in f)})" for n, (c, f) in METHODS.items()
        )
        p = Parser(
            prog=self.prog or f"python -m comparisons.{self.name}",
            description=self.description,
            epilog=f"methods and their options: {methods}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        p.add_argument(
            "--preset",
            choices=tuple(self.presets),
            default=self.default_preset,
            help="run size: "
            + "; ".join(f"'{k}' {h}" for k, (_, h) in self.presets.items())
            + f" (default {self.default_preset})",
        )
        p.add_argument(
            "--out", default=None, help="output directory (default: results/<problem>-<preset>-noise<σ>)"
        )
        p.add_argument(
            "--methods",
            default=None,
            help="comma-separated methods with options, e.g. 'bilo,pinn(w_dat=100)' "
            "(default: the preset's list)",
        )
        p.add_argument(
            "--noise",
            type=non_negative_float,
            default=self.default_noise,
            help=f"{self.noise_help or _GAUSSIAN_NOISE} "
            f"(default {self.default_noise:g})",
        )
        p.add_argument(
            "--seeds",
            type=positive_int,
            default=None,
            help="number of seeds per method (seeds 0..N-1; default from the preset)",
        )
        p.add_argument(
            "--device",
            choices=("cpu", "cuda"),
            default=None,
            help="torch device (default: cuda when available, else cpu)",
        )
        p.add_argument("--dtype", choices=("float32", "float64"), default="float32", help="torch dtype")
        p.add_argument(
            "--threads",
            type=int,
            default=None,
            help="torch CPU threads per rank (default: the preset's, else the cores this process may "
            "use divided by the ranks on its node)",
        )
        p.add_argument("--quiet", action="store_true", help="no progress bars")
        p.add_argument(
            "--checkpoint-every",
            type=positive_int,
            default=None,
            metavar="N",
            help="checkpoint every network fit (BiLO, PINN: per method and seed, in <out>/checkpoints) "
            "every N steps and at the end of each phase (default: no checkpoints)",
        )
        p.add_argument(
            "--resume",
            action="store_true",
            help="continue the run in --out: each network fit from its checkpoint, the other methods "
            "rerun; a checkpoint of another run (data, config, seed, ranks) is refused",
        )
        p.add_argument(
            "--overwrite", action="store_true", help="replace the earlier run in --out (a non-empty --out "
            "is refused otherwise)"
        )
        p.add_argument("--debug", action="store_true", help="tracebacks for errors (default: one line)")
        for flag in self.flags:
            flag.add_to(p)
        if self.add_flags is not None:
            self.add_flags(p)
        return p

    def run(self, argv: list[str] | None = None) -> Report:
        """Parse, check everything, then run the study and write the report."""
        p = self.parser()
        args = p.parse_args(argv)
        try:
            study = ProblemFlag.apply(self.flags, self.presets[args.preset][0](), args)
            if self.apply_flags is not None:
                study = self.apply_flags(study, args)
            study.problem.check_noise(args.noise)
            if args.threads is not None and args.threads < 1:
                raise ValueError(f"--threads must be >= 1, got {args.threads}")
            if args.seeds is not None:
                study = dataclasses.replace(study, seeds=args.seeds)
            methods = parse_methods(args.methods or study.methods, study)
            for label, m in methods.items():
                m.check(study.problem, label)
        except ValueError as exc:
            p.error(str(exc))
        device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
        if device == "cuda" and not torch.cuda.is_available():
            p.error("--device cuda requested but torch sees no CUDA device")
        if args.resume and args.overwrite:
            p.error("--resume and --overwrite exclude each other")
        comm = MPI.COMM_WORLD
        hybrid.set_threads(args.threads if args.threads is not None else study.threads, comm)
        out = Path(args.out or f"results/{self.name}-{args.preset}-noise{args.noise:g}")
        folder = RunFolder.prepare(out, comm, resume=args.resume, overwrite=args.overwrite, about={
            "command": f"{p.prog} {' '.join(argv if argv is not None else sys.argv[1:])}",
            "ranks": comm.size})
        checkpoints = args.resume or args.checkpoint_every is not None
        options = RunOptions(device=device, dtype=args.dtype, progress=not args.quiet,
                             checkpoints=folder.checkpoints if checkpoints else None,
                             checkpoint_every=args.checkpoint_every, resume=args.resume)
        try:
            report, _ = run_study(study, methods, noise=args.noise, preset=args.preset, options=options,
                                  comm=comm, out=folder, plots=self.plots)
        except BaseException as exc:
            # the folder says the run did not finish; its checkpoints stay for --resume
            interrupted = isinstance(exc, KeyboardInterrupt)
            folder.mark("interrupted" if interrupted else "failed", error=" ".join(str(exc).split()))
            raise
        return report

    def main(self, argv: list[str] | None = None) -> Report:
        """Entry point: :meth:`run` under MPI error handling (an error on one rank ends all ranks).

        A user's error (a bad value, mesh, folder or checkpoint) is printed as one line and
        exits with status 2; ``--debug`` shows the traceback instead.
        """
        argv = sys.argv[1:] if argv is None else argv
        return run_collectively(lambda: self.run(argv), messages=user_errors("--debug" in argv))
