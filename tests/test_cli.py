"""The one `musegenie` entry point: every command is reachable and every option explains itself."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys

import pytest

from engine import cli


def test_overview_lists_every_command(capsys):
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    for words in cli.COMMANDS:
        assert " ".join(words) in out


def test_group_help(capsys):
    assert cli.main(["data"]) == 0
    out = capsys.readouterr().out
    assert "data filter" in out and "serve" not in out


def test_unknown_command_exits_2(capsys):
    assert cli.main(["frobnicate"]) == 2
    assert "unknown command" in capsys.readouterr().err


@pytest.mark.parametrize("words", list(cli.COMMANDS), ids=lambda w: "-".join(w))
def test_every_option_has_help(words):
    parser, module = cli.build_parser(words)
    assert callable(module.run)
    assert parser.description
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        assert action.help and action.help.strip(), f"{' '.join(words)}: {action.dest} has no help text"
    parser.format_help()


# What a help text says about an option's default: "(default: X)", "(default X)", "default: X", "unset: ...".
SAYS_DEFAULT = re.compile(r"\(default[: ]|\bdefault:|\bunset\b", re.IGNORECASE)
INVOCATION = re.compile(r"--?[\w-]+|\b[A-Z][A-Z0-9_]+\b|\[[A-Z_]+=\]")  # flags and metavars (--default-steps)


def help_entries(text: str) -> list[str]:
    """One string per argument of a --help text: its line, flush two spaces in, and the lines indented under it."""
    entries: list[str] = []
    current = None
    for line in text.splitlines():
        if re.match(r"^  \S", line):
            current = len(entries)
            entries.append(line)
        elif current is not None and line.startswith("   "):
            entries[current] += " " + line.strip()
        else:
            current = None  # a heading or a blank line ends the entry
    return entries


HELPS = [(), *((group,) for group in cli.GROUPS), *cli.COMMANDS]


@pytest.mark.parametrize("words", HELPS, ids=lambda w: "-".join(w) or "musegenie")
def test_every_help_shows_a_default_once_and_never_none(words, capsys):
    try:
        code = cli.main([*words, "--help"])
    except SystemExit as done:  # argparse exits after printing a command's help
        code = done.code
    assert code == 0
    for entry in help_entries(capsys.readouterr().out):
        assert "(default: None)" not in entry, f"musegenie {' '.join(words)}: {entry}"
        said = SAYS_DEFAULT.findall(INVOCATION.sub("", entry))
        assert len(said) <= 1, f"musegenie {' '.join(words)}: two defaults in {entry!r}"


def test_the_help_check_catches_both_faults():
    text = "options:\n  --bundle BUNDLE  a folder (default models/default) (default: None)\n  --x X  x\n"
    first, second = help_entries(text)
    assert "(default: None)" in first and len(SAYS_DEFAULT.findall(INVOCATION.sub("", first))) == 2
    assert second == "  --x X  x"


def test_models_run_with_the_same_thread_options_everywhere():
    torch_commands = [("train", kind) for kind in ("tokenizer", "lam", "dynamics")]
    torch_commands += [("tokenize",), ("eval", "tokenizer"), ("eval", "lam"), ("eval", "dynamics")]
    graph_commands = [("eval", "edit"), ("serve",), ("osc-bridge",), ("edit",), ("actions", "infer")]

    def options(words: tuple[str, ...]) -> dict[str, tuple[object, str]]:
        parser, _ = cli.build_parser(words)
        return {a.option_strings[-1]: (a.default, a.help) for a in parser._actions if a.option_strings}

    for flags, commands in (
        (("--threads",), torch_commands),
        (("--providers", "--intra-op-threads"), graph_commands),
    ):
        for flag in flags:
            seen = {options(words)[flag] for words in commands}
            assert len(seen) == 1, f"{flag} differs between commands: {seen}"


def test_console_script_help():
    out = subprocess.run(
        [sys.executable, "-m", "engine.cli", "--help"], capture_output=True, text=True, check=True
    )
    assert "musegenie" in out.stdout
