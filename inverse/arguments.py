"""The pieces of every command line of the toolkit.

An MPI-aware argparse parser, the user errors printed as one line, and argparse types that
check a value where it is typed.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mpi4py import MPI

from fem.parallel import collective


class Parser(argparse.ArgumentParser):
    """argparse under MPI: messages from rank 0 only; an error exits every rank alike (status 2).

    Values such as ``--truth -1,2`` are read as values, not as unknown options.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # argparse takes "-1,2" for an option because only "-1" and "-.5" look like negative numbers
        self._negative_number_matcher = re.compile(r"^-\.?\d[\d.eE+-]*(,-?\.?\d[\d.eE+-]*)*$")

    def _print_message(self, message: str, file: Any = None) -> None:
        if MPI.COMM_WORLD.rank == 0:
            super()._print_message(message, file)

    def exit(self, status: int = 0, message: str | None = None) -> typing.NoReturn:
        """Print ``message`` (rank 0) and exit every rank with ``status``, without an MPI abort."""
        if message:
            self._print_message(message, sys.stderr)
        raise collective(SystemExit(status))


def user_errors(debug: bool) -> dict[type[BaseException], int]:
    """Exception types printed as one line (exit status) by the command lines; none with ``--debug``."""
    from hybrid.training import DivergenceError

    return {} if debug else {ValueError: 2, OSError: 2, DivergenceError: 1}


def _number(text: str, kind: type[float] | type[int], ok: Callable[[float], bool], expected: str) -> Any:
    """``kind(text)`` when it parses, is finite and ``ok``; else argparse's error ``expected ...``."""
    try:
        value = kind(text)
    except ValueError:
        value = None
    if value is None or not math.isfinite(value) or not ok(value):
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
    return value


def finite_float(text: str) -> float:
    """argparse type: a finite number."""
    return float(_number(text, float, lambda v: True, "a finite number"))


def non_negative_float(text: str) -> float:
    """argparse type: a finite number >= 0."""
    return float(_number(text, float, lambda v: v >= 0, "a finite number >= 0"))


def positive_float(text: str) -> float:
    """argparse type: a finite number > 0."""
    return float(_number(text, float, lambda v: v > 0, "a positive number"))


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    return int(_number(text, int, lambda v: v >= 1, "an integer >= 1"))


def non_negative_int(text: str) -> int:
    """argparse type: an integer >= 0 (a seed)."""
    return int(_number(text, int, lambda v: v >= 0, "an integer >= 0"))


def float_tuple(names: tuple[str, ...]) -> Callable[[str], tuple[float, ...]]:
    """argparse type for ``a,b,...``: one finite float per name."""

    def parse(text: str) -> tuple[float, ...]:
        parts = text.split(",")
        if len(parts) != len(names):
            raise argparse.ArgumentTypeError(
                f"expected {len(names)} comma-separated numbers {','.join(names)}, got {text!r}"
            )
        try:
            values = tuple(float(p) for p in parts)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected numbers {','.join(names)}, got {text!r}") from None
        if not all(math.isfinite(v) for v in values):
            raise argparse.ArgumentTypeError(f"{','.join(names)} must be finite, got {text!r}")
        return values

    return parse


def int_tuple(text: str) -> tuple[int, ...]:
    """argparse type for ``1,2,...``: comma-separated integers (facet tags)."""
    try:
        return tuple(int(t) for t in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None


def existing_file(text: str) -> str:
    """argparse type: the path of an existing file."""
    if not Path(text).is_file():
        raise argparse.ArgumentTypeError(f"{text}: no such file")
    return text
