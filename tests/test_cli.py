"""The one `musegenie` entry point: every command is reachable and every option explains itself."""

from __future__ import annotations

import argparse
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


def test_console_script_help():
    out = subprocess.run(
        [sys.executable, "-m", "engine.cli", "--help"], capture_output=True, text=True, check=True
    )
    assert "musegenie" in out.stdout
