"""Errors the library raises for problems a user can fix, shared by every package and command.

They live apart from `engine/cli.py` so that library code (manifests, recipes, the training loop) can raise
them without importing the command line; `musegenie` prints them without a traceback.
"""

from __future__ import annotations


class CommandError(Exception):
    """A problem the user can fix (bad path, bad flag combination): printed without a traceback."""
