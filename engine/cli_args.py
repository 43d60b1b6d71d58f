"""Build argparse options from config dataclasses, so the CLI and the checkpoints share one definition.

A field's help text is the `# comment` at the end of its line in the dataclass source (the nanoGPT
style the house style asks for), so configs stay plain dataclasses and `--help` still explains them.
Options that mean the same in several commands (`--providers`, `--intra-op-threads`) are declared here once,
and `HelpFormatter` shows each option's default once, only where there is one to show.
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import io
import re
import tokenize
import types
import typing
from typing import Any, TypeVar

T = TypeVar("T")

# A help text that already says what happens when the option is not given ("default: the run's data",
# "unset: the bundle's value", "default $MUSEGENIE_TOKEN") is not followed by a second, generated default.
_SAYS_DEFAULT = re.compile(r"\(default[: ]|\bdefault:|\bunset\b", re.IGNORECASE)


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """`(default: X)` after an option's help, once: not where the help already says it, and not where there
    is nothing to say (a required option, None, False, an empty list or string). The command's description
    keeps its own line breaks (examples, lists)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        empty = (
            default is None or default is False or (isinstance(default, (str, list, tuple)) and not default)
        )
        if (
            action.required
            or empty
            or default is argparse.SUPPRESS
            or not action.option_strings
            or _SAYS_DEFAULT.search(text)
        ):
            return action.help
        return text + " (default: %(default)s)"


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
    parser: argparse.ArgumentParser | argparse._ArgumentGroup,
    cls: type,
    prefix: str = "",
    skip: tuple[str, ...] = (),
    title: str | None = None,
) -> None:
    """Add one `--prefix-field-name` option per dataclass field, defaulting to the field's default; under
    the heading `title` if given, else among the command's other options."""
    hints = typing.get_type_hints(cls)
    comments = field_comments(cls)
    group = parser.add_argument_group(title) if title else parser
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


RUNTIME_OPTIONS = (
    "providers",
    "intra_op_threads",
)  # the RuntimeConfig fields a command that runs graphs offers


def add_runtime_arguments(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """`--providers` and `--intra-op-threads` with `engine.runtime.RuntimeConfig`'s defaults and help: the
    same two options in every command that runs the ONNX graphs."""
    from engine.runtime import RuntimeConfig  # onnxruntime only for the commands that offer these

    skip = tuple(f.name for f in dataclasses.fields(RuntimeConfig) if f.name not in RUNTIME_OPTIONS)
    add_dataclass_arguments(parser, RuntimeConfig, skip=skip)
