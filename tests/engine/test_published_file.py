"""publish: a finished mkstemp file gets the permissions of any new file, then replaces the target;
atomic_write: the target changes only when the whole write succeeded, and no temp file is left either way."""

import os
import tempfile

import pytest

from engine.published_file import atomic_write, publish


def test_publish_replaces_the_target_with_ordinary_permissions(tmp_path):
    target = tmp_path / "latents.npz"
    target.write_bytes(b"old")
    fd, tmp = tempfile.mkstemp(dir=tmp_path)
    with os.fdopen(fd, "wb") as fh:
        fh.write(b"new")
    assert os.stat(tmp).st_mode & 0o777 == 0o600
    publish(tmp, target)
    umask = os.umask(0)
    os.umask(umask)
    assert target.read_bytes() == b"new" and target.stat().st_mode & 0o777 == 0o666 & ~umask
    assert [p.name for p in tmp_path.iterdir()] == ["latents.npz"]


def test_atomic_write_replaces_the_target_only_when_the_write_finishes(tmp_path):
    target = tmp_path / "corpus.jsonl"
    target.write_text("old\n")
    with pytest.raises(RuntimeError), atomic_write(target, "w") as fh:
        fh.write("half")
        raise RuntimeError("the writer failed")
    assert target.read_text() == "old\n" and [p.name for p in tmp_path.iterdir()] == ["corpus.jsonl"]
    with atomic_write(target, "w") as fh:
        fh.write("new\n")
    assert target.read_text() == "new\n" and [p.name for p in tmp_path.iterdir()] == ["corpus.jsonl"]
