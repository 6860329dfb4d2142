"""The command-line interface shared by every comparison.

``python -m comparisons.<name> [--preset smoke|default|paper] [--out DIR] [--methods a,b]
[--noise SIGMA] [--seeds N] [--device cpu|cuda] [--dtype float32|float64]`` plus the flags a
problem adds. One invocation is one noise level.
"""

from __future__ import annotations

import argparse
import math
import re
from dataclasses import dataclass, field
from typing import Any

PRESETS = ("smoke", "default", "paper")

_METHOD = re.compile(r"^\s*([a-z_][a-z0-9_]*)\s*(?:\((.*)\))?\s*$")


@dataclass(frozen=True)
class MethodSpec:
    """One entry of ``--methods``, e.g. ``pinn(w_dat=100)`` -> name ``pinn``, options ``{"w_dat": 100.0}``."""

    name: str
    options: dict[str, float] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """The name used in tables and JSON (``pinn(w_dat=100)``)."""
        if not self.options:
            return self.name
        inner = ",".join(f"{k}={_fmt(v)}" for k, v in self.options.items())
        return f"{self.name}({inner})"


def _fmt(v: float) -> str:
    return str(int(v)) if float(v).is_integer() and abs(v) < 1e15 else repr(v)


def _split_top_level(text: str) -> list[str]:
    """Split on commas that are not inside parentheses."""
    parts, depth, cur = [], 0, ""
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    if depth != 0:
        raise ValueError(f"unbalanced parentheses in --methods {text!r}")
    parts.append(cur)
    return [p for p in (s.strip() for s in parts) if p]


def parse_methods(text: str, allowed: dict[str, tuple[str, ...]]) -> list[MethodSpec]:
    """Parse ``--methods`` against the method names a comparison knows and their options.

    Args:
        text: e.g. ``"bilo,pinn(w_dat=10),pinn(w_dat=100)"``.
        allowed: method name -> names of the numeric options it accepts.

    Raises:
        ValueError: unknown method or option, malformed or non-finite value.
    """
    specs = []
    for item in _split_top_level(text):
        m = _METHOD.match(item)
        if not m:
            raise ValueError(f"cannot parse method {item!r}; expected e.g. 'bilo' or 'pinn(w_dat=100)'")
        name, inner = m.group(1), m.group(2)
        if name not in allowed:
            raise ValueError(f"unknown method {name!r}; available: {', '.join(sorted(allowed))}")
        options: dict[str, float] = {}
        for kv in _split_top_level(inner or ""):
            if "=" not in kv:
                raise ValueError(f"method option {kv!r} of {name!r} must be key=value")
            key, val = (s.strip() for s in kv.split("=", 1))
            if key not in allowed[name]:
                raise ValueError(f"method {name!r} has no option {key!r}; options: {', '.join(allowed[name]) or 'none'}")
            try:
                value = float(val)
            except ValueError:
                raise ValueError(f"option {key}={val!r} of {name!r} is not a number") from None
            if not math.isfinite(value):
                raise ValueError(f"option {key}={val!r} of {name!r} must be finite")
            options[key] = value
        specs.append(MethodSpec(name, options))
    if not specs:
        raise ValueError("--methods is empty")
    labels = [s.label for s in specs]
    if len(set(labels)) != len(labels):
        raise ValueError(f"--methods lists a method twice: {labels}")
    return specs


def _nonneg_float(text: str) -> float:
    v = float(text)
    if not math.isfinite(v) or v < 0:
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {text!r}")
    return v


def _pos_int(text: str) -> int:
    v = int(text)
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}")
    return v


def float_pair(names: tuple[str, str]) -> Any:
    """An argparse type for ``a,b`` giving a tuple of two finite floats."""

    def parse(text: str) -> tuple[float, float]:
        parts = text.split(",")
        if len(parts) != 2:
            raise argparse.ArgumentTypeError(f"expected two comma-separated numbers {','.join(names)}, got {text!r}")
        try:
            a, b = (float(p) for p in parts)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected numbers {','.join(names)}, got {text!r}") from None
        if not (math.isfinite(a) and math.isfinite(b)):
            raise argparse.ArgumentTypeError(f"{','.join(names)} must be finite, got {text!r}")
        return a, b

    return parse


def common_parser(prog: str, description: str, default_methods: str,
                  presets: tuple[str, ...] = PRESETS) -> argparse.ArgumentParser:
    """The flags every comparison accepts; a comparison adds its problem flags to the result."""
    p = argparse.ArgumentParser(prog=prog, description=description,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", choices=presets, default="default",
                   help="run size: 'smoke' (< 2 min, used by tests), 'default' (every method, "
                        "< 30 min on 2 CPU cores), 'paper' (the paper's step counts, 5 seeds; meant for a GPU)"
                        + (", 'demo' (what `make demo` runs, < 10 min on 2 cores)" if "demo" in presets else ""))
    p.add_argument("--out", default=None, help="output directory (default: results/<problem>-<preset>-noise<σ>)")
    p.add_argument("--methods", default=default_methods,
                   help=f"comma-separated methods with options, e.g. '{default_methods}' (default: all)")
    p.add_argument("--noise", type=_nonneg_float, default=0.0,
                   help="standard deviation σ of the i.i.d. Gaussian noise added to the training data (default 0)")
    p.add_argument("--seeds", type=_pos_int, default=None,
                   help="number of seeds per method (seeds 0..N-1; default from the preset)")
    p.add_argument("--device", choices=("cpu", "cuda"), default=None,
                   help="torch device (default: cuda when available, else cpu)")
    p.add_argument("--dtype", choices=("float32", "float64"), default="float32", help="torch dtype (default float32)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    return p
