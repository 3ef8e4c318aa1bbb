"""Read one section of `params.yaml` into a typed dataclass config.

Every config in tokshift is a dataclass whose field docstrings are its documentation; this module
turns a YAML mapping into one, checking types and unknown keys, and names the offending field
(`params.yaml: corpus.valid_fraction ...`) in every error. It leaves value ranges to each
dataclass's `__post_init__`, which raises `ParamsError` through `check`.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml

from tokshift.core.errors import TokshiftError

T = TypeVar("T")


class ParamsError(TokshiftError, ValueError):
    """A params value is missing, of the wrong type or out of range; the message names the field."""


def check(ok: bool, field: str, message: str) -> None:
    """Raise `ParamsError("<field> <message>")` unless `ok`."""
    if not ok:
        raise ParamsError(f"{field} {message}")


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Parse a YAML file that must hold a mapping; errors name the file."""
    path = Path(path)
    if not path.exists():
        raise ParamsError(f"{path}: file not found; run from the project root or pass --params")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise ParamsError(f"{path}: not valid YAML ({err}); fix the syntax at the line shown") from err
    if not isinstance(data, dict):
        raise ParamsError(f"{path}: expected a mapping of sections at the top level")
    return data


def load_section(path: str | Path, section: str, cls: type[T]) -> T:
    """`params.yaml` section -> `cls` instance, e.g. `load_section("params.yaml", "corpus", CorpusConfig)`."""
    data = read_yaml(path)
    if section not in data:
        raise ParamsError(f"{path}: section '{section}' is missing; add it (see params.yaml in the project root)")
    return from_dict(cls, data[section], f"{Path(path).name}: {section}")


def from_dict(cls: type[T], data: Any, where: str) -> T:
    """Build dataclass `cls` from a mapping, recursing into nested dataclasses and lists of them."""
    if not isinstance(data, dict):
        raise ParamsError(f"{where}: expected a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ParamsError(f"{where}: unknown key(s) {unknown}; known keys are {sorted(fields)}")
    kwargs = {}
    for name, field in fields.items():
        if name in data:
            kwargs[name] = _coerce(hints[name], data[name], f"{where}.{name}")
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            raise ParamsError(f"{where}.{name} is required; add it to params.yaml")
    try:
        return cls(**kwargs)
    except ParamsError as err:
        raise ParamsError(f"{where}.{err}") from None


def _coerce(hint: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        errors = []
        for arg in inner:
            try:
                return _coerce(arg, value, where)
            except ParamsError as err:
                errors.append(str(err))
        raise ParamsError(errors[0])
    if dataclasses.is_dataclass(hint):
        return from_dict(hint, value, where)
    if origin is list:
        if not isinstance(value, list):
            raise ParamsError(f"{where}: expected a list, got {value!r}")
        return [_coerce(args[0], v, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ParamsError(f"{where}: expected a mapping, got {value!r}")
        return {_coerce(args[0], k, where): _coerce(args[1], v, f"{where}.{k}") for k, v in value.items()}
    if hint is Any:
        return value
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    # bool is an int subclass: `vocab_size: true` must not pass as 1.
    if not isinstance(value, hint) or (hint is int and isinstance(value, bool)):
        raise ParamsError(f"{where}: expected {hint.__name__}, got {value!r}")
    return value
