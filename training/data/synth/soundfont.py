"""The sampled renderer: a piece's performance as a General MIDI file, played by FluidSynth from a soundfont.

Each voice gets its own MIDI channel with a General MIDI program chosen per piece (grand or bright piano,
jazz guitar, upright bass, soprano/alto/tenor sax, open or muted trumpet, vibraphone; the drums switch
between the GS jazz or standard kit and the brush kit as the piece's kit changes). Per-piece channel volumes
set the mix balance and each note's velocity gets a small random push, drawn from the piece's own stream.
FluidSynth's chorus and reverb stay off: the room is added afterwards by the corpus (the same numpy room for
both renderers), and its float output is not dithered, so the same MIDI gives the same samples every time.

The soundfont comes from `--soundfont` or the standard Debian places (`fluid-soundfont-gm` is the best of
the packaged ones, `timgm6mb-soundfont` the smallest); the `fluidsynth` program renders it.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import shutil
import subprocess
import tempfile
from pathlib import Path

import mido
import numpy as np
import soundfile

from engine.errors import CommandError
from training.data.synth.timbres import instrument_of

log = logging.getLogger(__name__)

SEARCH = (  # best first: the largest General MIDI set Debian packages, then the others
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",
    "/usr/share/sounds/sf3/MuseScore_General.sf3",
    "/usr/share/sounds/sf2/default-GM.sf2",
    "/usr/share/sounds/sf2/TimGM6mb.sf2",
    "/usr/share/soundfonts/FluidR3_GM.sf2",
    "/usr/share/soundfonts/default.sf2",
)
INSTALL_HINT = (
    "install one with `sudo apt-get install fluidsynth fluid-soundfont-gm` (or the small "
    "timgm6mb-soundfont), pass --soundfont PATH, or use --renderer additive"
)
TICKS_PER_BEAT = 960  # at MIDI's default 120 BPM: 1920 ticks per second (corpus.TICKS_PER_SECOND)
DRUM_CHANNEL = 9
# voice -> (MIDI channel, General MIDI programs a piece chooses from, level in dB before the piece's balance)
VOICES = {
    "piano": (0, (0, 1), -3.0),
    "guitar": (1, (26,), -6.0),
    "guitar_lead": (2, (26,), -3.0),
    "bass": (3, (32,), 0.0),
    "sax": (4, (64, 65, 66), -3.0),
    "trumpet": (5, (56, 59), -5.0),
    "vibes": (6, (11,), -4.0),
}
KITS = {"sticks": (32, 0), "brushes": (40,)}  # GS drum kits: jazz or standard; brush
DRUM_NOTES = {"ride": 51, "hihat": 44, "snare": 38, "kick": 36, "crash": 49, "tap": 38, "swish": 40}
DRUM_SECONDS = {"ride": 0.9, "hihat": 0.12, "snare": 0.3, "kick": 0.4, "crash": 1.6, "tap": 0.2}
DRUM_LEVEL_DB = -3.0
BALANCE_DB = 4.0  # each channel's level varies this much (+-) from piece to piece
VELOCITY_JITTER = 0.06  # relative spread of a note's velocity around what the score asks for


class SoundfontMissing(CommandError):
    """No soundfont, or no fluidsynth program: the message says what to install."""


def find_soundfont(path: str | Path | None = None) -> Path:
    """The soundfont to render with: `path` when given, else the first of SEARCH that exists."""
    if path is not None:
        path = Path(path).expanduser()
        if not path.is_file():
            raise SoundfontMissing(f"soundfont {path} does not exist; {INSTALL_HINT}")
        return path
    for candidate in SEARCH:
        if Path(candidate).is_file():
            return Path(candidate).resolve()
    raise SoundfontMissing(f"no General MIDI soundfont found in {', '.join(SEARCH)}; {INSTALL_HINT}")


def fluidsynth_program() -> str:
    program = shutil.which("fluidsynth")
    if program is None:
        raise SoundfontMissing(
            "the fluidsynth program is not installed: `sudo apt-get install fluidsynth`, or use --renderer additive"
        )
    return program


def choose_renderer(renderer: str, soundfont: str | Path | None = None) -> tuple[str, Path | None]:
    """("additive" | "soundfont", the soundfont or None) for a requested renderer "additive", "soundfont" or
    "auto" (the soundfont when one and fluidsynth are installed, else additive, saying why)."""
    if renderer == "additive":
        return "additive", None
    if renderer not in ("soundfont", "auto"):
        raise ValueError(f"renderer must be additive, soundfont or auto, got {renderer!r}")
    try:
        font = find_soundfont(soundfont)
        fluidsynth_program()
    except SoundfontMissing as err:
        if renderer == "soundfont":
            raise
        log.warning("rendering with the additive synthesiser: %s", err)
        return "additive", None
    return "soundfont", font


@functools.lru_cache(maxsize=4)
def sha256(path: Path) -> str:
    """The soundfont's checksum, recorded in corpus.jsonl so a corpus names exactly what it was played on."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _velocity(vel: float, rng: np.random.Generator) -> int:
    """Score velocity 0..1 -> MIDI 1..127; the soundfonts' own curve then makes loud notes brighter."""
    pushed = vel * (1.0 + VELOCITY_JITTER * rng.standard_normal())
    return int(np.clip(round(127 * max(pushed, 0.0) ** 0.75), 1, 127))


def _volume(db: float) -> int:
    """Channel volume (CC 7) for a level in dB; General MIDI's curve is 40 log10(cc / 127)."""
    return int(np.clip(round(127 * 10 ** (db / 40)), 1, 127))


def _one_at_a_time(notes: list[tuple[float, float, int, float]]) -> list[tuple[float, float, int, float]]:
    """(onset, end, key, velocity) notes, each cut where the same key on its channel sounds again: MIDI
    cannot tell two overlapping notes of one key apart (the first note-off would stop both). Two strokes
    of one key at the same instant become one, the louder."""
    out: list[list] = []
    sounding: dict[int, list] = {}
    for onset, end, key, vel in sorted(notes, key=lambda n: (n[0], -n[3])):
        previous = sounding.get(key)
        if previous is not None and previous[0] == onset:
            continue
        if previous is not None and previous[1] > onset:
            previous[1] = onset
        sounding[key] = [onset, end, key, vel]
        out.append(sounding[key])
    return [tuple(n) for n in out]


def midi_file(notes: list, hits: list, duration: float, rng: np.random.Generator) -> mido.MidiFile:
    """The performance as a type-1 MIDI file: one track per voice (named by its instrument) plus drums.

    Args:
        notes: (voice, onset s, end s, MIDI pitch, velocity) as in corpus.Performance.
        hits: (onset s, kind, velocity, variant, swish length s, kit, end s of the drums' run).
        duration: seconds; every track ends there, so the rendering covers the whole piece.
    """
    tick = TICKS_PER_BEAT * 2  # ticks per second at 120 BPM
    out = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_BEAT)
    tracks: list[tuple[str, int, list[tuple[int, int, mido.Message]]]] = []
    for voice, (channel, programs, level) in VOICES.items():
        program = int(programs[rng.integers(len(programs))])
        setup = [
            mido.Message("program_change", channel=channel, program=program),
            mido.Message(
                "control_change",
                channel=channel,
                control=7,
                value=_volume(level - BALANCE_DB + rng.uniform(-BALANCE_DB, BALANCE_DB)),
            ),
        ]
        events = [(0, i, m) for i, m in enumerate(setup)]
        for onset, end, pitch, vel in _one_at_a_time(
            [(n[1], n[2], n[3], n[4]) for n in notes if n[0] == voice]
        ):
            message = mido.Message("note_on", channel=channel, note=pitch, velocity=_velocity(vel, rng))
            events.append((round(onset * tick), 3, message))
            events.append((round(end * tick), 2, mido.Message("note_off", channel=channel, note=pitch)))
        tracks.append((instrument_of(voice), channel, events))
    kit_choice = {kit: int(options[rng.integers(len(options))]) for kit, options in KITS.items()}
    drum_volume = _volume(DRUM_LEVEL_DB - BALANCE_DB + rng.uniform(-BALANCE_DB, BALANCE_DB))
    events = [(0, 1, mido.Message("control_change", channel=DRUM_CHANNEL, control=7, value=drum_volume))]
    kit = None
    strokes = []
    for onset, kind, vel, _, length, hit_kit, run_end in sorted(hits, key=lambda h: (h[0], h[1])):
        if hit_kit != kit:  # the drummer picks up brushes or sticks: a kit change before the hit
            kit = hit_kit
            change = mido.Message("program_change", channel=DRUM_CHANNEL, program=kit_choice[kit])
            events.append((round(onset * tick), 0, change))
        strokes.append((onset, min(onset + (length or DRUM_SECONDS[kind]), run_end), DRUM_NOTES[kind], vel))
    for onset, end, note, vel in _one_at_a_time(strokes):
        message = mido.Message("note_on", channel=DRUM_CHANNEL, note=note, velocity=_velocity(vel, rng))
        events.append((round(onset * tick), 3, message))
        events.append((round(end * tick), 2, mido.Message("note_off", channel=DRUM_CHANNEL, note=note)))
    tracks.append(("drums", DRUM_CHANNEL, events))
    for name, _, events in tracks:
        track = mido.MidiTrack([mido.MetaMessage("track_name", name=name, time=0)])
        now = 0
        for at, _, message in sorted(events, key=lambda e: (e[0], e[1])):  # note-offs before note-ons
            track.append(message.copy(time=at - now))
            now = at
        track.append(mido.MetaMessage("end_of_track", time=max(round(duration * tick) - now, 0)))
        out.tracks.append(track)
    return out


def render(midi_path: Path, soundfont: Path, sample_rate: int, seconds: float) -> np.ndarray:
    """Play a MIDI file through FluidSynth: (N,) float64 mono, N = seconds * sample_rate."""
    with tempfile.TemporaryDirectory(prefix="musegenie_fluidsynth_") as tmp:
        wav = Path(tmp) / "out.wav"
        command = [
            fluidsynth_program(),
            "-n",  # no MIDI input
            "-i",  # no shell
            "-q",
            "-R", "0",  # reverb and chorus off: the corpus adds its own room
            "-C", "0",
            "-g", "0.5",
            "-r", str(sample_rate),
            "-O", "float",  # float samples: no dither, so the output is a pure function of the MIDI
            "-T", "wav",
            "-o", "synth.cpu-cores=1",
            "-F", str(wav),
            str(soundfont),
            str(midi_path),
        ]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0 or not wav.is_file():
            raise RuntimeError(f"fluidsynth failed ({done.returncode}): {done.stderr.strip()[-500:]}")
        audio, sr = soundfile.read(wav, dtype="float64", always_2d=True)  # (N, channels)
    if sr != sample_rate:
        raise RuntimeError(f"fluidsynth wrote {sr} Hz instead of {sample_rate} Hz")
    mono = audio.mean(axis=1)  # (N,)
    n = int(round(seconds * sample_rate))
    return np.pad(mono[:n], (0, max(0, n - len(mono))))
