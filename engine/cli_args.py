"""Build argparse options from config dataclasses, so the CLI and the checkpoints share one definition.

A field's help text is the `# comment` at the end of its line in the dataclass source (the nanoGPT
style the house style asks for), so configs stay plain dataclasses and `--help` still explains them.
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import io
import tokenize
import types
import typing
from typing import Any, TypeVar

T = TypeVar("T")


def field_comments(cls: type) -> dict[str, str]:
    """Map each field name to the trailing comment on its line in the class source."""
    try:
        source = inspect.getsource(cls)
    except (OSError, TypeError):
        return {}
    comments: dict[str, str] = {}
    name_by_line: dict[int, str] = {}
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.NAME and tok.start[0] not in name_by_line and tok.start[1] == 4:
            name_by_line[tok.start[0]] = tok.string
        elif tok.type == tokenize.COMMENT and tok.start[0] in name_by_line:
            comments[name_by_line[tok.start[0]]] = tok.string.lstrip("# ").strip()
    return comments


def base_type(annotation: Any) -> Any:
    """int | None -> int; keeps plain types as they are."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return next(a for a in typing.get_args(annotation) if a is not type(None))
    return annotation


def add_dataclass_arguments(
    parser: argparse.ArgumentParser, cls: type, prefix: str = "", skip: tuple[str, ...] = ()
) -> None:
    """Add one `--prefix-field-name` option per dataclass field, defaulting to the field's default."""
    hints = typing.get_type_hints(cls)
    comments = field_comments(cls)
    group = parser.add_argument_group(f"{cls.__name__} ({prefix or 'options'})")
    for f in dataclasses.fields(cls):
        if f.name in skip:
            continue
        kind = base_type(hints[f.name])
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
        flag = "--" + (prefix + "-" if prefix else "") + f.name.replace("_", "-")
        helptext = comments.get(f.name, f.name.replace("_", " "))
        dest = (prefix + "_" if prefix else "") + f.name
        if kind is bool:
            group.add_argument(
                flag, dest=dest, action=argparse.BooleanOptionalAction, default=default, help=helptext
            )
        elif typing.get_origin(kind) in (tuple, list):
            inner = typing.get_args(kind)[0]
            group.add_argument(flag, dest=dest, type=inner, nargs="+", default=default, help=helptext)
        else:
            group.add_argument(flag, dest=dest, type=kind, default=default, help=helptext)


def dataclass_from_args(cls: type[T], args: argparse.Namespace, prefix: str = "", **overrides: Any) -> T:
    """Instantiate `cls` from the options `add_dataclass_arguments` added (plus explicit overrides)."""
    values = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        dest = (prefix + "_" if prefix else "") + f.name
        if hasattr(args, dest):
            value = getattr(args, dest)
            values[f.name] = tuple(value) if isinstance(value, list) else value
    values.update(overrides)
    return cls(**values)
