"""The ``--methods`` language: ``'bilo,pinn(w_dat=100,steps=500)'`` -> label -> configured method.

The options in parentheses are the fields of the method's dataclass, converted to the field's
type here and range-checked by the method itself, so ``pinn(w_dat=-100)`` is refused before any
work.
"""

from __future__ import annotations

import math
import typing
from collections.abc import Mapping
from dataclasses import fields
from typing import Any

from inverse.method import AbstractMethod, method_label
from inverse.methods import METHODS
from inverse.runner import Study, configure


def split_top_level(text: str) -> list[str]:
    """Split on the commas that are not inside parentheses (empty items dropped)."""
    parts, depth, cur = [], 0, ""
    for ch in text:
        depth += (ch == "(") - (ch == ")")
        if depth < 0:
            raise ValueError(f"unbalanced parentheses in --methods {text!r}")
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    if depth != 0:
        raise ValueError(f"unbalanced parentheses in --methods {text!r}")
    parts.append(cur)
    return [p for p in (s.strip() for s in parts) if p]


def option_types(cls: type[AbstractMethod]) -> dict[str, Any]:
    """The options of a method class that ``--methods`` can set: field name -> type hint."""
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in fields(cls) if f.name != "config"}  # type: ignore[arg-type]


def _convert(text: str, hint: Any, where: str) -> Any:
    """A command-line value as the option's type: float, int, bool, str or one of a Literal's strings."""
    args = [a for a in typing.get_args(hint) if a is not type(None)] or [hint]
    if len(args) == 1 and typing.get_origin(args[0]) is typing.Literal:  # Literal[...] | None
        return _convert(text, args[0], where)
    if typing.get_origin(hint) is typing.Literal:
        if text not in args:
            raise ValueError(f"{where}: expected one of {', '.join(map(str, args))}, got {text!r}")
        return text
    kind = args[0]
    if kind is float:
        try:
            value = float(text)
        except ValueError:
            raise ValueError(f"{where}={text!r} is not a number") from None
        if not math.isfinite(value):
            raise ValueError(f"{where}={text!r} must be finite")
        return value
    if kind is int:
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"{where}={text!r} is not an integer") from None
    if kind is bool:
        flag = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}.get(
            text.lower())
        if flag is None:
            raise ValueError(f"{where}={text!r} is not true or false")
        return flag
    if kind is str:
        return text
    raise ValueError(f"{where} cannot be set from the command line")


def parse_methods(
    text: str, study: Study, registry: Mapping[str, Any] = METHODS
) -> dict[str, AbstractMethod]:
    """``--methods`` -> label -> configured method.

    Raises:
        ValueError: Unknown method or option, malformed or out-of-range value, a duplicate.
    """
    out: dict[str, AbstractMethod] = {}
    for item in split_top_level(text):
        name, _, inner = item.partition("(")
        name = name.strip()
        if inner and not inner.rstrip().endswith(")"):
            raise ValueError(f"cannot parse method {item!r}; expected e.g. 'bilo' or 'pinn(w_dat=100)'")
        if name not in registry:
            raise ValueError(f"unknown method {name!r}; available: {', '.join(sorted(registry))}")
        cls, fixed = registry[name]
        types = {k: v for k, v in option_types(cls).items() if k not in fixed}
        options: dict[str, Any] = {}
        for kv in split_top_level(inner.rstrip()[:-1] if inner else ""):
            key, eq, val = (s.strip() for s in kv.partition("="))
            if not eq:
                raise ValueError(f"method option {kv!r} of {name!r} must be key=value")
            if key not in types:
                raise ValueError(
                    f"method {name!r} has no option {key!r}; options: {', '.join(types) or 'none'}"
                )
            options[key] = _convert(val, types[key], f"option {key} of {name!r}")
        label = method_label(name, options)
        if label in out:
            raise ValueError(f"--methods lists a method twice: {label}")
        try:
            out[label] = configure(study, name, options, registry)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{label}: {exc}") from None
    if not out:
        raise ValueError("--methods is empty")
    return out
