"""Atomic writes: a temp file beside the target, then a rename over it, so a reader never sees half a file.

`atomic_write(path)` is the one way to write a file so: it opens the temp file (`temp_beside`, named
`.<target name>.<writer pid>.<random>.tmp`), and on success flushes it to disk and `publish`es it (ordinary
permissions, renamed over the target). A writer that fails removes its temp file; one that is killed
(kill -9, power loss) cannot, so `remove_stale_temporaries` deletes, on the next start, the temp files of
this naming whose writer process no longer runs (same host: the pid is only meaningful there).
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

# Read once at import (the umask can only be read by setting it): new files get 0666 & ~umask.
_UMASK = os.umask(0)
os.umask(_UMASK)
# mkstemp's random part is 8 characters of [a-z0-9_]; nothing else in a folder is ever matched.
_TEMP_NAME = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.[a-z0-9_]{8}\.tmp$")


def temp_beside(path: str | os.PathLike) -> tuple[int, str]:
    """(fd, temp path) of a new 0600 file in `path`'s folder, named so a later run can tell it is stale."""
    path = Path(path)
    return tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=path.parent)


def publish(tmp: str | os.PathLike, path: str | os.PathLike) -> None:
    """mkstemp makes 0600 files; a result or manifest should read like any other file, then replace `path`."""
    os.chmod(tmp, 0o666 & ~_UMASK)
    os.replace(tmp, path)


@contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb") -> Iterator[IO[Any]]:
    """Write `path` through a file object (mode "wb" or "w") that only replaces it once the block ends
    without an exception: flushed and fsynced first, so a crash right after never leaves a truncated file."""
    fd, tmp = temp_beside(path)
    try:
        with os.fdopen(fd, mode) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        publish(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _running(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    return True


def remove_stale_temporaries(directory: str | os.PathLike, name: str | None = None) -> list[Path]:
    """Delete `temp_beside` files in `directory` (only those for target `name`, if given) whose writer
    is gone; returns what was deleted. Files of any other naming are never touched."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    removed = []
    for entry in directory.iterdir():
        match = _TEMP_NAME.match(entry.name)
        if match is None or (name is not None and match["name"] != name) or _running(int(match["pid"])):
            continue
        try:
            entry.unlink()
        except FileNotFoundError:  # another process cleaned it first
            continue
        removed.append(entry)
    return removed
