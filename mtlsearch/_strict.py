"""Strict YAML and strict conversion of plain data into frozen dataclasses.

Every YAML file mtlsearch reads (study files, search spaces, training configs, table schemas)
goes through :class:`StrictLoader`: a duplicate key in a mapping is an error naming the key and
its line, and aliases may repeat at most :data:`MAX_ALIAS_NODES` nodes in all, so that loading
stays linear in the file's size (an "alias bomb" such as billion laughs is refused at once).
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

__all__ = ["MAX_ALIAS_NODES", "StrictLoader", "from_plain", "load_yaml", "read_yaml", "to_plain"]

T = TypeVar("T")

MAX_ALIAS_NODES = 10_000  # nodes that aliases may add to a document by repeating anchored ones
_MERGE_TAG = "tag:yaml.org,2002:merge"


class StrictLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses duplicate keys and alias expansion beyond ``MAX_ALIAS_NODES``.

    Both problems raise a ``yaml.YAMLError`` subclass with ``problem`` and ``problem_mark`` set (the
    line of the second key, or of the alias), like any other YAML syntax error; messages never
    quote the expanded value.

    >>> yaml.load("lr: 1\nlr: 2\n", Loader=StrictLoader)
    Traceback (most recent call last):
    ...
    yaml.constructor.ConstructorError: while constructing a mapping
    ...duplicate key 'lr'...
    """

    def get_single_node(self) -> yaml.Node | None:
        node = super().get_single_node()
        if node is not None:
            _check_expansion(node)
        return node

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, yaml.MappingNode):
            seen: set[Any] = set()
            for key_node, _ in node.value:
                if key_node.tag == _MERGE_TAG or not isinstance(key_node, yaml.ScalarNode):
                    continue  # merged keys (<<: *base) may be overridden, as YAML intends
                key = self.construct_object(key_node)
                if key in seen:
                    error = yaml.constructor.ConstructorError(
                        "while constructing a mapping",
                        node.start_mark,
                        f"duplicate key {_short(key)}",
                        key_node.start_mark,
                    )
                    error.fix = f"keep one {_short(key)} in this mapping"  # type: ignore[attr-defined]
                    raise error
                seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _check_expansion(root: yaml.Node) -> None:
    """Count the nodes the document expands to, each distinct node once (linear in the file)."""
    sizes: dict[int, int] = {}  # id(node) -> expanded size; -1 while being counted
    distinct = 0
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if isinstance(node, yaml.ScalarNode):
            if id(node) not in sizes:
                sizes[id(node)] = 1
                distinct += 1
            continue
        children = [c for pair in node.value for c in pair] if isinstance(node, yaml.MappingNode) else node.value
        if children_done:
            sizes[id(node)] = 1 + sum(sizes[id(c)] for c in children)
            if sizes[id(node)] - distinct > MAX_ALIAS_NODES:
                error = yaml.composer.ComposerError(
                    None,
                    None,
                    f"aliases expand this document beyond {MAX_ALIAS_NODES} repeated nodes (an alias bomb?)",
                    node.start_mark,
                )
                error.fix = "write the values out, or repeat fewer of them through aliases"  # type: ignore[attr-defined]
                raise error
            continue
        if id(node) in sizes:
            if sizes[id(node)] < 0:
                error = yaml.composer.ComposerError(None, None, "an alias refers to its own anchor", node.start_mark)
                error.fix = "remove the alias from inside its anchored value"  # type: ignore[attr-defined]
                raise error
            continue
        sizes[id(node)] = -1
        distinct += 1
        stack.append((node, True))
        stack.extend((c, False) for c in children if id(c) not in sizes or sizes[id(c)] < 0)


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 3]}..."


def load_yaml(text: str) -> Any:
    """Parse YAML text with :class:`StrictLoader` (raises ``yaml.YAMLError``)."""
    return yaml.load(text, Loader=StrictLoader)  # a SafeLoader subclass: no arbitrary objects


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
        return load_yaml(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or "invalid syntax"
        if hasattr(error, "fix"):  # valid YAML that StrictLoader refuses
            raise MtlsearchError(f"{problem}{line}", where=str(path), fix=error.fix) from None
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
