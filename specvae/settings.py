"""Settings files: ``specvae <command> --config FILE``, flags on top, and the settings a run used written beside it.

A command's settings are the parameters of the library function it runs (``train_spectra``, ``ingest``,
``rank_spectra``, ``evaluate_casmi``, the ``run_*`` of each benchmark), plus the few of the command itself: their names,
types and defaults come from the function's signature (:func:`schema`). A parameter whose type is a dataclass
(:class:`~specvae.training.loop.TrainConfig`, :class:`~specvae.ingest.clean.Cleaning`,
:class:`~specvae.bench.common.BenchOptions` with its ``oracle`` section, ...) is a *section*: its keys are the
dataclass's fields, and what the file leaves out comes from the parameter's default. So every default lives in one
place (the signature or the dataclass), and a new field or parameter can be set from a file without a change here.

A file is YAML (``.yaml``/``.yml``), TOML (``.toml``) or JSON (``.json``), with the same keys, e.g. for ``train``::

    model: vaevae
    preset: small
    supervision: 0.1
    config:              # TrainConfig
      epochs: 40
      lr: 0.001

Flags override the file (:func:`merge`); an unknown key or a value of the wrong type is an
:class:`~specvae.errors.InputError` naming the key (:func:`resolve`). :func:`write_settings` writes the complete
settings of a run, defaults included, as YAML that ``--config`` reads back.

This module imports nothing of specvae but its errors and :mod:`specvae.outputs`: each command hands it the
function (or dataclass) to read.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import os
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from specvae.errors import InputError

SETTINGS_FILE = "settings.yaml"
# Invocation switches, not settings: never read from a file, never written.
NOT_SETTINGS = frozenset({"progress", "resume", "overwrite", "cache", "record_settings"})


class Setting(NamedTuple):
    """One key: its type (from the annotation) and its default (``REQUIRED`` when there is none)."""

    type: Any
    default: Any


REQUIRED = inspect.Parameter.empty


def keys(types: Mapping[str, Any]) -> dict[str, Setting]:
    """A schema from a plain mapping of keys to types (every key optional), for settings that are a dict."""
    return {key: Setting(typ, None) for key, typ in types.items()}


def schema(target: Callable | type, skip: Sequence[str] = ()) -> dict[str, Setting]:
    """The settings of a function (its parameters) or a dataclass (its fields), minus ``skip`` and
    :data:`NOT_SETTINGS`."""
    skip = set(skip) | NOT_SETTINGS
    hints = typing.get_type_hints(target)
    if dataclasses.is_dataclass(target):
        out = {}
        for f in dataclasses.fields(target):
            if f.name in skip:
                continue
            default = f.default if f.default is not dataclasses.MISSING else (
                f.default_factory() if f.default_factory is not dataclasses.MISSING else REQUIRED)
            out[f.name] = Setting(hints.get(f.name, Any), default)
        return out
    out = {}
    for name, p in inspect.signature(target).parameters.items():
        if name in skip or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        out[name] = Setting(hints.get(name, Any), p.default)
    return out


def read_settings(path: str | Path) -> dict[str, Any]:
    """The mapping in a YAML, TOML or JSON settings file (chosen by suffix)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(2, "no such settings file", str(path))
    suffix = path.suffix.lower()
    text = path.read_text(encoding="utf-8")
    try:
        if suffix in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text)
        elif suffix == ".toml":
            import tomllib

            data = tomllib.loads(text)
        elif suffix == ".json":
            data = json.loads(text)
        else:
            raise InputError(f"cannot tell the format of settings file {path}: name it .yaml, .toml or .json")
    except (ValueError, ImportError) as exc:
        if isinstance(exc, InputError):
            raise
        message = " ".join(str(exc).split())
        raise InputError(f"{path} is not a valid {suffix[1:].upper()} settings file: {message}") from None
    except Exception as exc:  # yaml.YAMLError: a user's file, so a one-line message
        raise InputError(f"{path} is not a valid YAML settings file: {' '.join(str(exc).split())}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InputError(f"{path} must hold a mapping of settings (key: value), not a {type(data).__name__}")
    return data


NONE = type("GivenAsNone", (), {"__repr__": lambda self: "NONE"})()  # a flag that sets a setting to None


def merge(file_values: Mapping[str, Any], flags: Mapping[str, Any]) -> dict[str, Any]:
    """File values with the given flags on top; sections (dicts) merge key by key. A ``None`` flag was not given;
    :data:`NONE` sets the setting to ``None`` (e.g. ``--ion-mode any``)."""
    out = dict(file_values)
    for key, value in flags.items():
        if value is None:
            continue
        if value is NONE:
            out[key] = None
        elif isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge(out[key], value)
        elif isinstance(value, Mapping):
            out[key] = merge({}, value)
        else:
            out[key] = value
    return out


def check(settings: Mapping[str, Setting], values: Mapping[str, Any], where: str) -> dict[str, Any]:
    """The ``values`` that are given, checked against ``settings`` (:func:`schema`) and converted to their types
    (sections to dataclass instances, sequences to the annotated type). ``where`` names the source in messages."""
    unknown = sorted(set(values) - set(settings))
    if unknown:
        raise InputError(f"unknown setting {unknown[0]!r} in {where}; known: {', '.join(sorted(settings))}")
    return {key: _convert(value, *settings[key], key, where) for key, value in values.items()}


def resolve(settings: Mapping[str, Setting], values: Mapping[str, Any], where: str,
            required: Mapping[str, str] | None = None) -> dict[str, Any]:
    """:func:`check` the ``values`` and fill in every default: all keys of ``settings`` with their values.

    A required setting that is missing is an error; ``required`` maps a key to the message to give (e.g. naming its
    command-line option), else the message names the key.
    """
    out = check(settings, values, where)
    for key, (typ, default) in settings.items():
        if key in out:
            continue
        if default is REQUIRED:
            raise InputError((required or {}).get(key) or f"setting {key!r} is required (in {where})")
        out[key] = _convert({}, typ, default, key, where) if default is None and _section_type(typ) else default
    return {key: out[key] for key in settings}


def to_plain(value: Any) -> Any:
    """A resolved value as YAML/JSON data: dataclasses as mappings, tuples as lists, paths as strings."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_plain(getattr(value, f.name)) for f in dataclasses.fields(value)
                if f.name not in NOT_SETTINGS}
    if isinstance(value, Mapping):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, float) and value in (float("inf"), float("-inf")):
        return None
    return value


def settings_text(values: Mapping[str, Any], command: str) -> str:
    """The settings a run used (``values``: resolved, see :func:`resolve`) as YAML that ``--config`` reads."""
    import yaml

    from specvae import __version__

    header = (f"# The settings of `specvae {command}` for this run (specvae {__version__}); every default included.\n"
              f"# Run it again with: specvae {command} --config {SETTINGS_FILE}\n")

    class Dumper(yaml.SafeDumper):  # mappings as blocks, lists on one line
        pass

    Dumper.add_representer(list, lambda d, v: d.represent_sequence("tag:yaml.org,2002:seq", v, flow_style=True))
    return header + yaml.dump(to_plain(dict(values)), Dumper=Dumper, sort_keys=False, default_flow_style=False,
                              width=120)


def write_settings(path: str | Path, values: Mapping[str, Any], command: str) -> Path:
    """Write :func:`settings_text` to ``path`` (atomically)."""
    from specvae.outputs import write_atomically

    path = Path(path)
    write_atomically(path, settings_text(values, command).replace(f"--config {SETTINGS_FILE}\n",
                                                                  f"--config {path.name}\n", 1))
    return path


# --- type checks, from the annotations ----------------------------------------------------------------------------

def _section_type(typ) -> type | None:
    """The dataclass a setting's type names (``X`` or ``X | None``), or ``None``."""
    members = typing.get_args(typ) if _is_union(typ) else (typ,)
    return next((m for m in members if isinstance(m, type) and dataclasses.is_dataclass(m)), None)


def _is_union(typ) -> bool:
    return typing.get_origin(typ) in (typing.Union, types.UnionType)


def _describe(typ) -> str:
    if _is_union(typ):
        return " or ".join(_describe(t) for t in typing.get_args(typ))
    origin = typing.get_origin(typ)
    if origin in (tuple, list, Sequence, typing.get_origin(Sequence[int])):
        args = [a for a in typing.get_args(typ) if a is not Ellipsis]
        return f"a list of {_describe(args[0]) if args else 'values'}"
    names = {bool: "true or false", int: "an integer", float: "a number", str: "a string", type(None): "null",
             Path: "a path", os.PathLike: "a path", dict: "a mapping"}
    return names.get(origin or typ, getattr(typ, "__name__", str(typ)))


class _Mismatch(Exception):
    pass


def _convert(value, typ, default, key: str, where: str):
    try:
        return _check(value, typ, default, key, where)
    except _Mismatch:
        shown = json.dumps(value) if isinstance(value, (str, int, float, bool, type(None))) else repr(value)
        raise InputError(f"setting {key!r} in {where} must be {_describe(typ)}, not {shown}") from None


def _check(value, typ, default, key: str, where: str):
    if typ is Any or typ is inspect.Parameter.empty:
        return value
    if _is_union(typ):
        members = typing.get_args(typ)
        if value is None:
            if type(None) in members:
                return None
            raise _Mismatch
        for member in members:
            if member is type(None):
                continue
            try:
                return _check(value, member, default, key, where)
            except _Mismatch:
                continue
        raise _Mismatch
    origin = typing.get_origin(typ) or typ
    if isinstance(origin, type) and dataclasses.is_dataclass(origin):
        if not isinstance(value, Mapping):
            raise _Mismatch
        base = default if isinstance(default, origin) else origin()
        fields = schema(origin)
        unknown = sorted(set(value) - set(fields))
        if unknown:
            raise InputError(f"unknown setting '{key}.{unknown[0]}' in {where}; known in {key}: "
                             f"{', '.join(sorted(fields))}")
        changes = {k: _convert(v, fields[k].type, getattr(base, k), f"{key}.{k}", where) for k, v in value.items()}
        return dataclasses.replace(base, **changes)
    if origin is bool:
        if isinstance(value, bool):
            return value
        raise _Mismatch
    if origin is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise _Mismatch
    if origin is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise _Mismatch
    if origin is str:
        if isinstance(value, str):
            return value
        raise _Mismatch
    if origin in (Path, os.PathLike):
        if isinstance(value, (str, os.PathLike)):
            return Path(value)
        raise _Mismatch
    if origin in (dict, Mapping, typing.get_origin(Mapping[str, int])):
        if isinstance(value, Mapping):
            return dict(value)
        raise _Mismatch
    if origin in (tuple, list, Sequence, typing.get_origin(Sequence[int])):
        if not isinstance(value, (list, tuple)):
            raise _Mismatch
        args = [a for a in typing.get_args(typ) if a is not Ellipsis]
        items = [_check(v, args[0], None, key, where) for v in value] if args else list(value)
        return items if origin is list else tuple(items)
    if isinstance(origin, type):
        if isinstance(value, origin):
            return value
        raise _Mismatch
    return value
