"""The last step of an atomic write: give the finished temp file ordinary permissions, then rename it over
the target, so a reader never sees half a file and a crash never leaves one behind."""

from __future__ import annotations

import os

# Read once at import (the umask can only be read by setting it): new files get 0666 & ~umask.
_UMASK = os.umask(0)
os.umask(_UMASK)


def publish(tmp: str | os.PathLike, path: str | os.PathLike) -> None:
    """mkstemp makes 0600 files; a result or manifest should read like any other file, then replace `path`."""
    os.chmod(tmp, 0o666 & ~_UMASK)
    os.replace(tmp, path)
