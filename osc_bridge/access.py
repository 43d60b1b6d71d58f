"""Who may use the bridge and which files it may read: the bridge is as closed as the engine behind it.

- Exposure: a `--listen` address other than loopback needs a client token (`--client-token-file` or
  `$MUSEGENIE_CLIENT_TOKEN`) or an explicit `--insecure`, the rule `musegenie serve` follows for `--host`.
- Clients: with a token, a sender (host and port, as UDP shows them) first sends `/musegenie/auth id TOKEN`;
  until then every request is refused with UNAUTHENTICATED. OSC has no per-message metadata and Max's
  `udpsend` keeps one source port, so the token is asked once per sender, not with every request.
- Files: only under the allowed folders (default: the user's home), never in a hidden folder (a name
  starting with "."), with symlinks resolved before the check. A path outside gets the same answer whether
  or not it exists, so the bridge cannot be used to probe the disk.
"""

from __future__ import annotations

import collections
import hmac
import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path

from engine.server import is_loopback
from osc_bridge.parsing import BadMessage

log = logging.getLogger(__name__)

CLIENT_TOKEN_ENV = "MUSEGENIE_CLIENT_TOKEN"
MAX_CLIENTS = 256  # authorised senders remembered; the longest unused is forgotten first


def default_allowed_dirs() -> list[Path]:
    """Where a DAW user keeps audio: the home folder (Music, Documents, Desktop, the Live project ...)."""
    return [Path.home()]


def check_exposure(host: str, client_token: str | None, insecure: bool) -> None:
    """Refuse to open the bridge to the network without a client token unless told to."""
    if is_loopback(host):
        return
    if not client_token and not insecure:
        raise ValueError(
            f"--listen {host} opens the bridge (and the engine behind it) to the network: set "
            f"--client-token-file (or ${CLIENT_TOKEN_ENV}) so clients must send /musegenie/auth first, "
            "or pass --insecure to serve anyone who can reach it"
        )
    if not client_token:
        log.warning("OSC bridge on %s without a client token: anyone who can reach it can edit", host)


class FileGate:
    """Resolve a client's `in_path` to a real file path under the allowed folders, or refuse it."""

    def __init__(self, roots: Sequence[str | os.PathLike]) -> None:
        if not roots:
            raise ValueError("the bridge needs at least one folder it may read (--allow-dir)")
        self.roots = [Path(os.path.realpath(Path(r))) for r in roots]

    def resolve(self, request_id: int, in_path: str) -> Path:
        path = Path(in_path)
        if not path.is_absolute():  # "~" is not expanded: a request names exactly the file it means
            raise BadMessage(
                request_id, f"in_path must be an absolute path (Max: use `absolutepath`), got {in_path!r}"
            )
        if ".." in path.parts:
            raise BadMessage(request_id, f"in_path must not contain '..', got {in_path!r}")
        real = Path(os.path.realpath(path))  # symlinks followed: the check is on the file actually read
        for root in self.roots:
            if real.is_relative_to(root) and not any(
                part.startswith(".") for part in real.relative_to(root).parts
            ):
                return real
        # The same words whether or not the file exists: nothing is revealed about the rest of the disk.
        raise BadMessage(
            request_id,
            f"in_path is outside the folders this bridge reads ({', '.join(map(str, self.roots))}; hidden "
            "folders excluded): move the file there or start the bridge with --allow-dir",
        )


class ClientAuth:
    """The senders that proved they hold the client token (none needed when there is no token)."""

    def __init__(self, token: str | None) -> None:
        self._expected = token.encode() if token else None
        self._senders: collections.OrderedDict[tuple[str, int], None] = collections.OrderedDict()
        self._lock = threading.Lock()

    @property
    def required(self) -> bool:
        return self._expected is not None

    def admits(self, sender: tuple[str, int]) -> bool:
        if self._expected is None:
            return True
        with self._lock:
            if sender in self._senders:
                self._senders.move_to_end(sender)
                return True
            return False

    def authorise(self, sender: tuple[str, int], token: str) -> bool:
        """Remember `sender` when `token` is right (compared in constant time)."""
        if self._expected is None or not hmac.compare_digest(token.encode(), self._expected):
            return self._expected is None
        with self._lock:
            self._senders[sender] = None
            self._senders.move_to_end(sender)
            while len(self._senders) > MAX_CLIENTS:
                self._senders.popitem(last=False)
        return True
