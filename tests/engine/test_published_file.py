"""publish: a finished mkstemp file gets the permissions of any new file, then replaces the target."""

import os
import tempfile

from engine.published_file import publish


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
