"""Careless use of the CLI and of files: `edit` never replaces its input and validates -o before any work,
an impossible action id is a one-line error, killed writes leave no temporaries behind for good, and no
engine process writes onnxruntime telemetry under ~/.cache."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine import audio as audio_io
from engine.cli import main as cli_main
from engine.server import ServerConfig, start_server
from tests.engine.conftest import stereo

ROOT = Path(__file__).resolve().parents[2]
SR = 44100
# No engine listens here: a command that got as far as doing work would fail with UNAVAILABLE instead.
DEAD = ["--engine", "127.0.0.1:1", "--timeout", "2"]


@pytest.fixture
def song(tmp_path: Path) -> Path:
    return audio_io.save_wav(tmp_path / "song.wav", stereo(1.0), SR)


def edit(song: Path, output: str | Path, *extra: str) -> list[str]:
    return ["edit", str(song), "--start", "0.1", "--end", "0.2", "--action", "0", "-o", str(output), *extra]


def test_output_that_is_the_input_is_refused_before_any_work(song: Path, tmp_path: Path, capsys, monkeypatch):
    original = song.read_bytes()
    (tmp_path / "link.wav").symlink_to(song)
    os.link(song, tmp_path / "hard.wav")
    monkeypatch.chdir(tmp_path)
    for output in (song, "song.wav", "./sub/../song.wav", tmp_path / "link.wav", tmp_path / "hard.wav"):
        (tmp_path / "sub").mkdir(exist_ok=True)
        assert cli_main(edit(song, output, *DEAD)) == 1
        err = capsys.readouterr().err
        assert "is the input file" in err and "UNAVAILABLE" not in err, err
    assert song.read_bytes() == original


def test_output_folder_gets_stem_edit_wav(song: Path, tiny_bundle: Path, tmp_path: Path, capsys):
    folder = tmp_path / "results"
    folder.mkdir()
    fast = ["--bundle", str(tiny_bundle), "--steps", "2", "--decoder-steps", "2"]
    assert cli_main(edit(song, folder, *fast)) == 0
    written = folder / "song_edit.wav"
    assert written.is_file() and audio_io.load(written)[0].shape == (2, SR)
    assert cli_main(edit(song, tmp_path, *DEAD)) == 1  # the input's own folder: song_edit.wav, not song.wav
    assert "UNAVAILABLE" in capsys.readouterr().err  # it got past the output check to the engine


def test_output_under_a_file_is_refused_before_any_work(song: Path, tmp_path: Path, capsys):
    assert cli_main(edit(song, tmp_path / "song.wav" / "out.wav", *DEAD)) == 1
    err = capsys.readouterr().err
    assert "is not a folder" in err and "UNAVAILABLE" not in err


def test_action_id_too_large_for_the_wire_is_a_one_line_error(song: Path, tiny_pipeline, tmp_path, capsys):
    server = start_server(pipeline=tiny_pipeline, config=ServerConfig(port=0))
    try:
        args = edit(song, tmp_path / "out.wav", "--engine", server.target)
        args[args.index("--action") + 1] = "99999999999"
        assert cli_main(args) == 1
    finally:
        server.stop(0)
    err = capsys.readouterr().err
    assert "INVALID_ARGUMENT" in err and "unknown action 99999999999" in err and "Traceback" not in err


def test_temporaries_of_killed_writers_are_removed_and_others_kept(tmp_path: Path):
    from engine.published_file import remove_stale_temporaries, temp_beside

    target = tmp_path / "out.wav"
    writer = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        fd, live = temp_beside(target)  # ours: this process is running
        os.close(fd)
        alive_other = tmp_path / f".out.wav.{writer.pid}.abcd1234.tmp"
        alive_other.write_bytes(b"in progress")
        dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True)
        dead_pid = int(dead.stdout)
        stale = tmp_path / f".out.wav.{dead_pid}.k2_9zq0x.tmp"
        stale.write_bytes(b"x" * 1000)
        other_name = tmp_path / f".other.wav.{dead_pid}.k2_9zq0x.tmp"
        other_name.write_bytes(b"y")
        foreign = [tmp_path / ".out.wav.123.notours", tmp_path / f".out.wav.{dead_pid}.tmp", target]
        for path in foreign:
            path.write_bytes(b"z")
        assert remove_stale_temporaries(tmp_path, "out.wav") == [stale]
        assert remove_stale_temporaries(tmp_path) == [other_name]
        assert Path(live).exists() and alive_other.exists() and all(p.exists() for p in foreign)
    finally:
        writer.kill()
        writer.wait()


def test_edit_cleans_the_temporaries_a_killed_edit_left(song: Path, tmp_path: Path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True)
    stale = tmp_path / f".out.wav.{int(dead.stdout)}.abcdefgh.tmp"
    stale.write_bytes(b"half a file")
    cli_main(edit(song, tmp_path / "out.wav", *DEAD))
    assert not stale.exists()


def test_a_write_that_fails_midway_leaves_nothing(tmp_path: Path, monkeypatch):
    def half_then_fail(fh, *args, **kwargs):
        fh.write(b"RIFF" + b"\0" * 4096)
        raise OSError("disk full")

    monkeypatch.setattr(audio_io.sf, "write", half_then_fail)
    with pytest.raises(OSError, match="disk full"):
        audio_io.save_wav(tmp_path / "x.wav", stereo(0.1), SR)
    assert list(tmp_path.iterdir()) == []


def test_no_onnxruntime_telemetry_under_home(tiny_bundle: Path, tmp_path: Path):
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("ORT_DISABLE_TELEMETRY", "XDG_CACHE_HOME")}
    env.update(HOME=str(home), PYTHONPATH=str(ROOT))
    script = (
        "from engine.bundle import load_bundle; from engine.runtime import Runtime, RuntimeConfig; "
        f"Runtime(load_bundle({str(tiny_bundle)!r}), RuntimeConfig('cpu', warmup=True))"
    )
    subprocess.run([sys.executable, "-c", script], env=env, check=True, cwd=ROOT)
    assert list(home.rglob("*")) == []
