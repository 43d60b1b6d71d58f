"""The CLI commands (serve, edit, actions list/infer/explore) on the tiny bundle, remote and in-process;
graceful SIGTERM of a real `musegenie serve` process; the committed gRPC stubs are the generator's output."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from engine import audio as audio_io
from engine.cli import main as cli_main
from engine.client import EditorClient, EditorError
from engine.server import ServerConfig, start_server
from tests.engine.conftest import req, stereo

ROOT = Path(__file__).resolve().parents[2]
SR = 44100
FAST_FLAGS = ["--steps", "4", "--decoder-steps", "4"]


@pytest.fixture(scope="module")
def song(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "song.wav"
    audio_io.save_wav(path, stereo(1.0), SR)
    return path


@pytest.fixture(scope="module")
def server(tiny_pipeline):
    running = start_server(pipeline=tiny_pipeline, config=ServerConfig(port=0))
    yield running
    running.stop(0)


def test_generated_stubs_are_up_to_date(tmp_path: Path):
    sys.path.insert(0, str(ROOT / "protos"))
    try:
        import generate
    finally:
        sys.path.remove(str(ROOT / "protos"))
    for fresh in generate.generate(tmp_path):
        committed = ROOT / "protos" / "musegenie" / "v1" / fresh.name
        assert committed.read_bytes() == fresh.read_bytes(), (
            f"{committed.name} is stale: run python protos/generate.py"
        )


def test_edit_in_process_writes_the_whole_file(song: Path, tiny_bundle: Path, tmp_path: Path, capsys):
    out = tmp_path / "out.wav"
    args = ["edit", str(song), "--start", "0.4", "--end", "0.6", "--actions", "solo,drop", "-o", str(out)]
    assert cli_main([*args, "--bundle", str(tiny_bundle), "--seed", "3", *FAST_FLAGS]) == 0
    assert "wrote" in capsys.readouterr().out
    x, _ = audio_io.load(song)
    y, sr = audio_io.load(out)
    assert sr == SR and y.shape == x.shape
    fade = round(0.03 * SR)
    assert np.array_equal(y[:, : round(0.4 * SR) - fade], x[:, : round(0.4 * SR) - fade])
    assert np.array_equal(y[:, round(0.6 * SR) + fade :], x[:, round(0.6 * SR) + fade :])
    assert not np.array_equal(y, x)


def test_edit_remote_equals_in_process(song: Path, tiny_bundle: Path, server, tmp_path: Path):
    common = [
        "edit",
        str(song),
        "--start",
        "0.2",
        "--end",
        "0.5",
        "--action",
        "louder",
        "--seed",
        "9",
        *FAST_FLAGS,
    ]
    assert cli_main([*common, "-o", str(tmp_path / "remote.wav"), "--engine", server.target]) == 0
    local_args = ["-o", str(tmp_path / "local.wav"), "--bundle", str(tiny_bundle), "--intra-op-threads", "1"]
    assert cli_main([*common, *local_args]) == 0  # the server's pipeline runs one thread per operator
    remote, _ = audio_io.load(tmp_path / "remote.wav")
    local, _ = audio_io.load(tmp_path / "local.wav")
    assert np.array_equal(remote, local)


def test_edit_errors_are_one_line_messages(song: Path, tiny_bundle: Path, tmp_path: Path, capsys):
    out = str(tmp_path / "x.wav")
    assert (
        cli_main(
            [
                "edit",
                str(song),
                "--start",
                "0.5",
                "--end",
                "3",
                "--action",
                "0",
                "-o",
                out,
                "--bundle",
                str(tiny_bundle),
            ]
        )
        == 1
    )
    assert "beyond the end" in capsys.readouterr().err
    assert (
        cli_main(
            [
                "edit",
                str(song),
                "--start",
                "0.1",
                "--end",
                "0.2",
                "--action",
                "nosuch",
                "-o",
                out,
                "--bundle",
                str(tiny_bundle),
            ]
        )
        == 1
    )
    assert "unknown action 'nosuch'" in capsys.readouterr().err
    dead = ["--engine", "127.0.0.1:1", "--timeout", "2"]
    assert (
        cli_main(["edit", str(song), "--start", "0.1", "--end", "0.2", "--action", "0", "-o", out, *dead])
        == 1
    )
    err = capsys.readouterr().err
    assert "UNAVAILABLE" in err or "DEADLINE_EXCEEDED" in err
    assert not Path(out).exists()


def test_actions_list_local_and_remote(tiny_bundle: Path, server, capsys):
    assert cli_main(["actions", "list", "--bundle", str(tiny_bundle)]) == 0
    table = capsys.readouterr().out
    assert "louder" in table and "the drums drop out" in table
    assert cli_main(["actions", "list", "--engine", server.target, "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [a["name"] for a in listed] == ["louder", "softer", "solo", "drop"]


def test_actions_infer_json(song: Path, server, capsys):
    assert (
        cli_main(
            [
                "actions",
                "infer",
                str(song),
                "--start",
                "0.1",
                "--end",
                "0.12",
                "--engine",
                server.target,
                "--json",
            ]
        )
        == 0
    )
    chunks = json.loads(capsys.readouterr().out)
    assert chunks and all(c["name"] in ("louder", "softer", "solo", "drop") for c in chunks)
    assert chunks[0]["start"] == pytest.approx(0.1) and chunks[-1]["end"] == pytest.approx(0.12)


def test_actions_explore_writes_a_page_with_players_and_spectrograms(
    song: Path, tiny_bundle: Path, tmp_path: Path
):
    out = tmp_path / "explore"
    args = [
        "actions",
        "explore",
        str(song),
        "--start",
        "0.3",
        "--end",
        "0.5",
        "-o",
        str(out),
        "--context-seconds",
        "0.2",
    ]
    assert cli_main([*args, "--bundle", str(tiny_bundle), *FAST_FLAGS]) == 0
    page = (out / "index.html").read_text()
    assert page.count("<audio") == 5 and page.count("<img") == 5  # the original + 4 actions
    for name in ("original", "action_00_louder", "action_01_softer", "action_02_solo", "action_03_drop"):
        assert f'src="{name}.wav"' in page and f'src="{name}.png"' in page
        assert (out / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert audio_io.info(out / f"{name}.wav").samplerate == SR
    assert "the drums drop out" in page
    assert page.count("<b>measured:</b> against the original:") == 4  # each rendering's descriptor changes


def test_serve_process_finishes_in_flight_edit_on_sigterm(tiny_bundle: Path):
    command = [sys.executable, "-m", "engine.cli", "serve", "--bundle", str(tiny_bundle), "--port", "0"]
    proc = subprocess.Popen(
        [*command, "--grace-seconds", "60", "--intra-op-threads", "1"],
        cwd=ROOT,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    try:
        target = None
        deadline = time.monotonic() + 60
        while target is None and time.monotonic() < deadline:
            line = proc.stderr.readline()
            assert line, "serve exited before listening"
            if match := re.search(r"listening on (\S+)", line):
                target = match.group(1)
        threading.Thread(target=proc.stderr.read, daemon=True).start()  # keep the pipe drained
        client = EditorClient(target, timeout=120)
        client.wait_ready(timeout=60)
        result: dict = {}
        started = threading.Event()

        def edit() -> None:
            try:
                result["audio"] = client.edit(
                    stereo(1.0),
                    SR,
                    req((0.2, 0.8), [2], steps=60, decoder_steps=60),
                    on_progress=lambda f, s: started.set(),
                ).audio
            except EditorError as err:
                result["error"] = err

        worker = threading.Thread(target=edit)
        worker.start()
        assert started.wait(60)
        proc.send_signal(signal.SIGTERM)
        worker.join(timeout=120)
        assert "error" not in result, result.get("error")
        assert result["audio"].shape == (2, SR)
        assert proc.wait(timeout=60) == 0
        with pytest.raises(EditorError):
            EditorClient(target).info(timeout=2)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


NO_TORCH_EDIT = """
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("torch", "torchaudio", "training", "export"):
            raise ImportError(f"{name} is blocked: the engine must not need it")
sys.meta_path.insert(0, Block())
import numpy as np
from engine.cli import main
from engine.client import EditorClient
from engine.request import EditRequest
from engine.server import ServerConfig, start_server
server = start_server(sys.argv[1], ServerConfig(port=0))
with EditorClient(server.target) as client:
    x = np.zeros((2, 8000), np.float32)
    y = client.edit(x, 16000, EditRequest((0.1, 0.2), ["solo"], steps=2, decoder_steps=2)).audio
    assert y.shape == x.shape
server.stop(0)
assert main(["actions", "list", "--bundle", sys.argv[1]]) == 0
assert not any(m.split(".")[0] in ("torch", "training", "export") for m in sys.modules)
print("ok")
"""


def test_serve_and_edit_run_with_torch_blocked(tiny_bundle: Path):
    result = subprocess.run(
        [sys.executable, "-c", NO_TORCH_EDIT, str(tiny_bundle)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("ok")
