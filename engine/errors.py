"""Errors the library raises for problems a user can fix, shared by every package and command.

They live apart from `engine/cli.py` so that library code (manifests, recipes, the training loop) can raise
them without importing the command line; `musegenie` prints them without a traceback.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import grpc


class CommandError(Exception):
    """A problem the user can fix (bad path, bad flag combination): printed without a traceback."""


class EditorError(Exception):
    """A call the engine refused or could not finish; `code` is the gRPC status name."""

    def __init__(self, code: str, details: str) -> None:
        super().__init__(f"{code}: {details}")
        self.code = code
        self.details = details

    @classmethod
    def from_rpc(cls, err: grpc.RpcError) -> EditorError:
        return cls(err.code().name, err.details() or "")
