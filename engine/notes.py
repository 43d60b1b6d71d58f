"""Note events heard in audio, by Spotify's basic-pitch (ICASSP 2022, https://arxiv.org/abs/2203.09893).

basic-pitch ships its network as an ONNX graph inside its wheel (`saved_models/icassp_2022/nmp.onnx`);
onnxruntime runs it, so neither TensorFlow nor a download is needed. The package declares TensorFlow as a
dependency on Linux with Python >= 3.11, so it is installed with `--no-deps` (the Makefile does, from
constraints.txt); its import-time needs (librosa, mir-eval, pretty-midi, resampy, scipy) are the train
extra's. Without it, `available()` says why and `transcribe` raises `NotesUnavailable`: the note
descriptors (engine.descriptors) are then reported as unmeasured, never guessed.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from engine import audio as audio_io

N_OVERLAP_FRAMES = 30  # model frames shared by neighbouring windows (basic-pitch's own default)
ONSET_THRESHOLD = 0.5  # basic-pitch's defaults: the note decoder's onset and frame activations
FRAME_THRESHOLD = 0.3
MIN_NOTE_SECONDS = 0.1277  # basic-pitch's default minimum note length (127.7 ms)

_lock = threading.Lock()


class NotesUnavailable(RuntimeError):
    """basic-pitch (or what it imports) is not installed; the message says how to install it."""


@dataclass(frozen=True, order=True)
class Note:
    start: float  # seconds from the start of the transcribed audio
    end: float
    pitch: int  # MIDI note number
    amplitude: float  # basic-pitch's activation, 0..1


@lru_cache(maxsize=1)
def _basic_pitch() -> tuple[Any, Any, Any, Any] | str:
    """(model, inference module, note_creation module, constants module), or why they cannot load."""
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)  # its __init__ warns about every backend it lacks (TF, CoreML, TFLite)
    try:
        import basic_pitch
        from basic_pitch import constants, inference, note_creation
    except ImportError as err:
        return (
            f"basic-pitch is not installed ({err}): pip install --no-deps -c constraints.txt basic-pitch "
            "(make setup does), with the train extra for its dependencies"
        )
    finally:
        logging.disable(previous)
    path = basic_pitch.build_icassp_2022_model_path(basic_pitch.FilenameSuffix.onnx)
    if not path.is_file():
        return f"basic-pitch's ONNX model is missing from its install ({path})"
    return inference.Model(path), inference, note_creation, constants


def available() -> str | None:
    """None when notes can be transcribed, else the reason they cannot."""
    loaded = _basic_pitch()
    return loaded if isinstance(loaded, str) else None


def transcribe_many(clips: list[np.ndarray], sample_rate: int) -> list[list[Note]]:
    """Note events of each mono clip (N,), in one batched run of the network.

    Raises NotesUnavailable without basic-pitch.
    """
    loaded = _basic_pitch()
    if isinstance(loaded, str):
        raise NotesUnavailable(loaded)
    model, inference, note_creation, c = loaded
    overlap = N_OVERLAP_FRAMES * c.FFT_HOP
    hop = c.AUDIO_N_SAMPLES - overlap
    windows, counts, lengths = [], [], []
    for clip in clips:
        audio = audio_io.resample(np.asarray(clip, np.float32)[None], sample_rate, c.AUDIO_SAMPLE_RATE)[0]
        padded = np.concatenate([np.zeros(overlap // 2, np.float32), audio])  # (N',) as basic-pitch pads
        mine = [w for w, _ in inference.window_audio_file(padded, hop)]  # each (AUDIO_N_SAMPLES, 1)
        windows += mine
        counts.append(len(mine))
        lengths.append(len(audio))
    if not windows:
        return [[] for _ in clips]
    with _lock:  # one onnxruntime session, shared
        outputs = model.predict(np.stack(windows).astype(np.float32))  # each (W, frames, bins)
    min_frames = int(np.round(MIN_NOTE_SECONDS * c.AUDIO_SAMPLE_RATE / c.FFT_HOP))
    results, at = [], 0
    for count, length in zip(counts, lengths, strict=True):
        mine = {
            k: inference.unwrap_output(v[at : at + count], length, N_OVERLAP_FRAMES)
            for k, v in outputs.items()
        }  # each (frames, bins)
        at += count
        events = note_creation.output_to_notes_polyphonic(
            mine["note"],
            mine["onset"],
            onset_thresh=ONSET_THRESHOLD,
            frame_thresh=FRAME_THRESHOLD,
            min_note_len=min_frames,
            infer_onsets=True,
            max_freq=None,
            min_freq=None,
            melodia_trick=True,
        )
        seconds = c.FFT_HOP / c.AUDIO_SAMPLE_RATE  # model frames are FFT_HOP samples apart
        results.append(
            sorted(Note(float(s * seconds), float(e * seconds), int(p), float(a)) for s, e, p, a in events)
        )
    return results
