"""Strict conversion of plain data (parsed YAML) into frozen dataclasses.

Unknown keys, missing required keys and wrong types are errors that name the field.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml

from mtlsearch.errors import MtlsearchError

__all__ = ["from_plain", "read_yaml", "to_plain"]

T = TypeVar("T")


def read_yaml(path: str | Path, *, what: str = "file") -> Any:
    """Parse a YAML file, turning I/O and syntax problems into one-line errors."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise MtlsearchError(f"{what} not found", where=str(path), fix="check the path") from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as error:
        raise MtlsearchError(
            f"cannot read {what}: {error.__class__.__name__}", where=str(path), fix="point to a readable YAML file"
        ) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or "invalid syntax"
        raise MtlsearchError(f"malformed YAML{line}: {problem}", where=str(path), fix="fix the YAML syntax") from None


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", str(tp).replace("typing.", ""))


def _convert(value: Any, tp: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in (a for a in args if a is not type(None)):
            try:
                return _convert(value, arg, where)
            except MtlsearchError as error:
                errors.append(error)
        raise errors[0]
    if dataclasses.is_dataclass(tp):
        return from_plain(tp, value, where)
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise MtlsearchError(f"expected a list, got {value!r}", where=where, fix="write a YAML list")
        item = args[0] if args and (len(args) == 2 and args[1] is Ellipsis) else Any
        return tuple(_convert(v, item, f"{where}[{i}]") for i, v in enumerate(value))
    if origin is dict or tp is dict:
        if not isinstance(value, dict):
            raise MtlsearchError(f"expected a mapping, got {value!r}", where=where, fix="write key: value pairs")
        key_t, val_t = args if args else (Any, Any)
        return {_convert(k, key_t, where): _convert(v, val_t, f"{where}.{k}") for k, v in value.items()}
    if tp is bool:
        if not isinstance(value, bool):
            raise MtlsearchError(f"expected true or false, got {value!r}", where=where, fix="write true or false")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise MtlsearchError(f"expected an integer, got {value!r}", where=where, fix="write a whole number")
        return value
    if tp is float:
        if isinstance(value, str):  # YAML 1.1 reads 1e-3 as a string
            try:
                value = float(value)
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise MtlsearchError(f"expected a number, got {value!r}", where=where, fix="write a number")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise MtlsearchError(f"expected a string, got {value!r}", where=where, fix="write a string")
        return value
    raise TypeError(f"unsupported field type {_type_name(tp)} at {where}")  # a bug, not user input


def from_plain(cls: type[T], data: Any, where: str) -> T:
    """Build dataclass ``cls`` from a mapping; ``where`` names it in errors (e.g. ``"model"``)."""
    if not isinstance(data, dict):
        raise MtlsearchError(f"expected a mapping, got {data!r}", where=where, fix="write key: value pairs")
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in dataclasses.fields(cls) if f.init}
    for key in data:
        if key not in known:
            raise MtlsearchError(f"unknown key {key!r}", where=f"{where}.{key}", fix=f"use one of {', '.join(known)}")
    values = {}
    for name, f in known.items():
        if name in data:
            values[name] = _convert(data[name], hints[name], f"{where}.{name}")
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise MtlsearchError(f"missing required key {name!r}", where=f"{where}.{name}", fix="add it")
    return cls(**values)


def to_plain(obj: Any) -> Any:
    """Dataclasses, tuples and dicts as YAML-friendly plain data."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_plain(getattr(obj, f.name)) for f in dataclasses.fields(obj) if f.init}
    if isinstance(obj, (list, tuple)):
        return [to_plain(v) for v in obj]
    if isinstance(obj, dict):
        return {k: to_plain(v) for k, v in obj.items()}
    return obj
