"""The bridge's engine calls: a stopped engine mid-edit is reported within the engine timeout, while an edit
that keeps progressing, or waits its turn in a busy engine's queue, is not cut short; jobs the engine has no
room for yet (its per-client limit) wait and retry instead of failing."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from engine.audio import save_wav
from engine.request import EditResult
from engine.server import ServerConfig, start_server
from osc_bridge import addresses as osc
from osc_bridge.osc_client import loopback_rig

IDLE = 2.0  # the bridge's engine timeout in these tests


class ScriptedPipeline:
    """The tiny pipeline's bundle and checks, with edits that report `beats` progress events `pause` apart
    and then either finish (returning the input) or stop dead until `wake` is set."""

    def __init__(self, pipeline, beats: int, pause: float, stall: bool = False) -> None:
        self.bundle, self.runtime, self.check = pipeline.bundle, pipeline.runtime, pipeline.check
        self.songs = pipeline.songs  # a song-aware edit sends its song first
        self.beats, self.pause, self.stall = beats, pause, stall
        self.wake = threading.Event()

    def edit(self, audio, sample_rate, request, progress, part=None):
        for beat in range(self.beats):
            progress(beat / self.beats, "dynamics")
            time.sleep(self.pause)
        if self.stall:
            self.wake.wait(30)  # like an engine under SIGSTOP: nothing more arrives
        return EditResult(audio, sample_rate, np.zeros(0, np.int64))


@pytest.fixture(scope="module")
def song(tmp_path_factory):
    return save_wav(tmp_path_factory.mktemp("songs") / "song.wav", np.zeros((2, 22050), np.float32), 44100)


def run_edits(pipeline, song, out, count: int, **config) -> tuple[list, float]:
    """`count` simultaneous OSC edits through a bridge with engine timeout IDLE and `count` workers; the
    final replies and the seconds they took."""
    server = start_server(pipeline=pipeline, config=ServerConfig(port=0, max_concurrent=1, **config))
    try:
        with loopback_rig(server.target, out, workers=count, engine_timeout=IDLE) as (_, max_patch):
            began = time.monotonic()
            ids = [max_patch.send(osc.EDIT, str(song), 0.1, 0.2, 0) for _ in range(count)]
            finals = [max_patch.replies(i, timeout=30)[-1] for i in ids]
            return finals, time.monotonic() - began
    finally:
        pipeline.wake.set()
        server.stop(0)


def test_a_stalled_engine_mid_edit_is_reported_within_the_timeout(tiny_pipeline, song, tmp_path):
    stalled = ScriptedPipeline(tiny_pipeline, beats=2, pause=0.2, stall=True)
    ((address, args),), seconds = run_edits(stalled, song, tmp_path / "out", 1)
    assert address == osc.ERROR and args[0] == "DEADLINE_EXCEEDED" and "no word" in args[1], args
    assert IDLE < seconds < IDLE + 2.5


def test_progress_and_a_place_in_the_queue_keep_an_edit_alive(tiny_pipeline, song, tmp_path):
    # Each edit runs 1.5 * IDLE, progressing every IDLE / 4; the second waits that long in the queue.
    steady = ScriptedPipeline(tiny_pipeline, beats=6, pause=IDLE / 4)
    finals, seconds = run_edits(steady, song, tmp_path / "out", 2)
    assert [address for address, _ in finals] == [osc.DONE, osc.DONE], finals
    assert seconds > 2 * IDLE


def test_bridge_workers_wait_for_room_under_the_engines_per_client_limit(tiny_pipeline, song, tmp_path):
    quick = ScriptedPipeline(tiny_pipeline, beats=2, pause=0.1)
    finals, _ = run_edits(quick, song, tmp_path / "out", 8, max_per_peer=2, max_queue=8)
    assert [address for address, _ in finals] == [osc.DONE] * 8, finals
