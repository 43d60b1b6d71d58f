"""The interactive labelling loop: play a clip, show its mel spectrogram (engine.spectrogram), ask good/bad/skip/replay/quit.

Every answer is written to disk at once (labels to the labels CSV, skips to `LABELS.skipped.csv`), so the
loop can be quit at any time and started again: clips already answered are not asked again.

Playback uses `sounddevice`, imported only here and only when the loop starts. Without it, without the
PortAudio library or without an output device, the loop says so once and carries on: the spectrogram
picture (always saved as a PNG, also shown in a window when matplotlib has an interactive backend) is then
what the labeller judges by.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.audio import AudioError
from engine.spectrogram import save_spectrograms
from training.data.quality.clips import Clip, load_clip
from training.data.quality.features import FeatureConfig
from training.data.quality.labels import Label, append_labels, clip_key, read_labels

log = logging.getLogger(__name__)

ANSWERS = {"g": "good", "good": "good", "b": "bad", "bad": "bad", "s": "skip", "skip": "skip"}
ANSWERS |= {"r": "replay", "replay": "replay", "": "replay", "q": "quit", "quit": "quit"}
PROMPT = "good (g) / bad (b) / skip (s) / replay (r, Enter) / quit (q)? "


class Player:
    """Audio playback through sounddevice; `reason` says why there is none (then `available` is False)."""

    def __init__(self) -> None:
        self.reason: str | None = None
        self._sd = None
        try:
            import sounddevice
        except (ImportError, OSError) as err:  # OSError: the PortAudio library itself is missing
            self.reason = (
                f"sounddevice cannot load ({err}); install PortAudio (e.g. apt install libportaudio2)"
            )
            return
        try:
            sounddevice.query_devices(kind="output")
        except (sounddevice.PortAudioError, ValueError) as err:
            self.reason = f"no audio output device ({err})"
            return
        self._sd = sounddevice

    @property
    def available(self) -> bool:
        return self._sd is not None

    def play(self, audio: np.ndarray, sample_rate: int) -> None:
        """Start playing (N,) audio without blocking; a new call stops the previous one."""
        if self._sd is not None:
            self._sd.stop()
            self._sd.play(audio, sample_rate)

    def stop(self) -> None:
        if self._sd is not None:
            self._sd.stop()


def show_picture(path: Path) -> bool:
    """Open the PNG in a matplotlib window when an interactive backend exists; False when it cannot."""
    import matplotlib

    if matplotlib.get_backend().lower() in ("agg", "pdf", "ps", "svg", "cairo", "template"):
        return False
    import matplotlib.pyplot as plt

    plt.close("all")
    plt.figure(figsize=(8, 3.2))
    plt.imshow(plt.imread(path))
    plt.axis("off")
    plt.show(block=False)
    plt.pause(0.1)
    return True


def skips_path(labels_csv: Path) -> Path:
    return labels_csv.with_name(labels_csv.stem + ".skipped.csv")


def answered(labels_csv: Path) -> set[tuple[str, float]]:
    """Keys (path, start) of clips already labelled or skipped in an earlier session."""
    keys = (
        {clip_key(item.path, item.start) for item in read_labels(labels_csv)}
        if labels_csv.exists()
        else set()
    )
    skipped = skips_path(labels_csv)
    if skipped.exists():
        with skipped.open(newline="") as fh:
            keys |= {clip_key(row["path"], float(row["start"])) for row in csv.DictReader(fh)}
    return keys


def _record_skip(labels_csv: Path, clip: Clip) -> None:
    path = skips_path(labels_csv)
    new = not path.exists()
    with path.open("a", newline="") as fh:
        writer = csv.writer(fh)
        if new:
            writer.writerow(("path", "start", "duration"))
        writer.writerow([str(clip.path), f"{clip.start:g}", f"{clip.duration:g}"])


@dataclass
class SessionResult:
    good: int = 0  # clips labelled good in this session
    bad: int = 0  # clips labelled bad in this session
    skipped: int = 0  # clips skipped (or unreadable) in this session
    remaining: int = 0  # clips still unanswered when the session ended
    quit: bool = False  # the labeller quit before the end


def label_clips(
    clips: list[Clip],
    labels_csv: Path,
    picture_dir: Path,
    ask: Callable[[str], str] = input,
    say: Callable[[str], None] = log.info,
    player: Player | None = None,
    show: bool = True,
    config: FeatureConfig = FeatureConfig(),
) -> SessionResult:
    """Ask about every clip not answered yet, appending each answer to disk as it is given.

    Args:
        ask: reads one answer (input() at a terminal); EOF counts as quit.
        say: where messages for the labeller go.
        player: playback (None: no playback); when unavailable its reason is said once.
        show: also open each picture in a window when matplotlib can.
    """
    labels_csv = Path(labels_csv)
    done = answered(labels_csv)
    todo = [c for c in clips if clip_key(c.path, c.start) not in done]
    result = SessionResult(remaining=len(todo))
    say(f"{len(clips) - len(todo)} of {len(clips)} clips already answered; {len(todo)} to go")
    if player is not None and not player.available:
        say(f"no audio playback: {player.reason}. Judge by the spectrogram pictures in {picture_dir}")
    can_show = show
    for number, clip in enumerate(todo, 1):
        try:
            audio = load_clip(clip.path, clip.start, clip.duration, config)  # (N,)
        except AudioError as err:
            say(f"skipped, unreadable: {err}")
            _record_skip(labels_csv, clip)
            result.skipped, result.remaining = result.skipped + 1, result.remaining - 1
            continue
        title = f"{clip.path.name} @ {clip.start:g}s"
        picture = save_spectrograms(
            picture_dir / f"{clip.path.stem}_{clip.start:g}s.png", [(title, audio, config.sample_rate)]
        )
        if can_show and not show_picture(picture):
            say("no interactive matplotlib backend: open the saved pictures instead")
            can_show = False
        say(f"[{number}/{len(todo)}] {title}  spectrogram: {picture}")
        answer = "replay"
        while answer == "replay":
            if player is not None and player.available:
                player.play(audio, config.sample_rate)
            try:
                answer = ANSWERS.get(ask(PROMPT).strip().lower(), "again")
            except EOFError:
                answer = "quit"
            while answer == "again":
                try:
                    answer = ANSWERS.get(ask("please answer g, b, s, r or q: ").strip().lower(), "again")
                except EOFError:
                    answer = "quit"
        if player is not None:
            player.stop()
        if answer == "quit":
            result.quit = True
            break
        if answer == "skip":
            _record_skip(labels_csv, clip)
            result.skipped += 1
        else:
            append_labels(labels_csv, [Label(clip.path, clip.start, clip.duration, answer)])
            result.good += answer == "good"
            result.bad += answer == "bad"
        result.remaining -= 1
    return result
