"""Render pieces and write the corpus: `NAME.wav` + `NAME.json` per piece and a `corpus.jsonl` manifest.

A piece is composed (tempo, key, progression, sections and events), performed into one stem per
instrument, gated so a silent instrument is exactly silent, mixed and optionally damaged. Piece i of a
corpus draws from `SeedSequence(seed, spawn_key=(i,))`, so the corpus is the same for any worker count.
"""

from __future__ import annotations

import contextlib
import json
import logging
import multiprocessing
import multiprocessing.pool
import os
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy.signal import butter, fftconvolve, sosfilt
from tqdm import tqdm

from engine.audio import save_wav
from engine.published_file import atomic_write
from training.data.annotations import INSTRUMENTS, validate
from training.data.synth import arrangement, drums, harmony, lines, timbres
from training.data.synth.rhythm import Grid
from training.data.synth.timbres import instrument_of

log = logging.getLogger(__name__)

MIN_SECONDS = 4
GATE_FADE = 0.01  # seconds: an instrument that stops fades out over this before the boundary
# (mean, spread) in seconds of each player's timing against the grid: soloists lay back behind the beat
TIMING = {"bass": (0.0, 0.004), "piano": (0.0, 0.006), "guitar": (0.0, 0.005), "drums": (0.0, 0.003)}
LEAD_TIMING = (0.012, 0.008)
PEAK = 0.89  # mix peak after normalisation
ONSET_WINDOW = 1.0  # seconds after its boundary an event's first note must sound to be its onset
RENDERERS = ("additive", "soundfont")
TICKS_PER_SECOND = 1920  # MIDI time resolution: 960 ticks per beat at the file's 120 BPM


@dataclass(frozen=True)
class Piece:
    """Everything composed about a piece before it is played."""

    duration: int  # seconds
    grid: Grid
    tonic: int  # pitch class
    minor: bool
    chords: list[harmony.Chord]
    sections: list[arrangement.Section]
    events: list[dict]
    comp_style: str  # guitar comping: "four" (quarters) or "sparse"


def _seeds(seed: int | np.random.SeedSequence) -> list[np.random.SeedSequence]:
    """Child streams for compose, perform, damage, room and the MIDI mix, derived without mutating `seed` (unlike spawn())."""
    root = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    return [np.random.SeedSequence(root.entropy, spawn_key=(*root.spawn_key, k)) for k in range(5)]


def compose(seed: int | np.random.SeedSequence, duration: float, backing: float = 0.0) -> Piece:
    """Choose tempo (90-260 BPM), swing, key, progression and the sections with their events; `backing`
    weighs a second horn or the vibes coming in on backgrounds behind the soloist (0: never, as before)."""
    rng = np.random.default_rng(_seeds(seed)[0])
    seconds = max(MIN_SECONDS, int(np.ceil(duration - 1e-6)))
    tempo = float(np.round(rng.uniform(90, 260)))
    swing = float(np.interp(tempo, [90, 260], [0.68, 0.58]) + rng.uniform(-0.02, 0.02))  # fast is straighter
    grid = Grid(tempo, swing)
    tonic, minor = int(rng.integers(12)), bool(rng.random() < 0.3)
    chords = harmony.progression(rng, tonic, minor, seconds / grid.beat + 8)
    sections, events = arrangement.plan(rng, seconds, tempo, backing=backing)
    style = "four" if rng.random() < 0.5 else "sparse"
    return Piece(seconds, grid, tonic, minor, chords, sections, events, style)


@dataclass(frozen=True)
class Performance:
    """What the players play, humanised and on the MIDI tick grid: both renderers play exactly this."""

    notes: list[tuple[str, float, float, int, float]]  # (voice, onset s, end s, MIDI pitch, velocity 0..1)
    hits: list[tuple[float, str, float, int, float, str, float]]  # (onset s, kind, velocity, variant,
    # swish length s (0: the hit's own length), kit, end s of the drums' run of sections)


def play(piece: Piece, seed: int | np.random.SeedSequence) -> Performance:
    """The notes and drum hits of the piece, each nudged off the grid the way its player does."""
    rng = np.random.default_rng(_seeds(seed)[1])
    grid, chords, sections = piece.grid, piece.chords, piece.sections
    parts: dict[str, list[tuple[str, list[lines.Note]]]] = {
        "bass": [("bass", lines.bass_line(sections, grid, chords, piece.tonic, rng))],
        "piano": [("piano", lines.comp_line(sections, grid, chords, "piano", "sparse", rng))],
        "guitar": [("guitar", lines.comp_line(sections, grid, chords, "guitar", piece.comp_style, rng))],
    }
    leads: dict[str, list[lines.Note]] = {}
    for lead in arrangement.LEADS:
        voice = "guitar_lead" if lead == "guitar" else lead
        leads[lead] = lines.lead_line(sections, grid, chords, lead, rng)
        parts.setdefault(lead, []).append((voice, leads[lead]))
    for backer in arrangement.BACKERS:  # backgrounds (none unless composed with a backing weight)
        parts[backer].append((backer, lines.backing_line(sections, grid, chords, backer, rng, leads)))
    notes = []
    for voiced in parts.values():
        for voice, line in voiced:
            timing = TIMING.get(voice, LEAD_TIMING)
            for t, dur, pitch, vel in line:
                onset = _humanise(t, timing, rng)
                if onset < t + dur:  # the note still ends where the line cut it (at its role's end)
                    notes.append((voice, onset, _tick(t + dur), pitch, vel))
    hits = []
    for span in lines.spans(piece.sections, "drums", "drums"):
        state = span.section.state
        section_hits = drums.pattern_hits(
            state.pattern, state.kit, piece.grid, span.section.start, span.section.end, rng
        )
        if span.entry:  # the drummer comes in with a crash and a kick
            section_hits += [
                (float(span.section.start), "crash", 0.7),
                (float(span.section.start), "kick", 0.8),
            ]
        level = arrangement.LEVELS[state.level] ** 1.5  # the same loudness curve as the pitched voices
        swish = piece.grid.beat / (2 if state.pattern == "double_time" else 1)
        for t, kind, vel in section_hits:
            variant = int(rng.integers(drums.VARIANTS))
            onset = _humanise(t, TIMING["drums"], rng)
            length = swish if kind == "swish" else 0.0
            hits.append((onset, kind, vel * level, variant, length, state.kit, span.end))
    return Performance(notes, hits)


def perform(piece: Piece, seed: int | np.random.SeedSequence, sample_rate: int = 16000) -> np.ndarray:
    """The additive renderer: stems (I, N) float32 in INSTRUMENTS order, silent where an instrument is inactive."""
    return additive_stems(piece, play(piece, seed), sample_rate)


def additive_stems(piece: Piece, performance: Performance, sample_rate: int) -> np.ndarray:
    """Play a performance on the additive timbres and drums: stems (I, N) float32, gated by the activity."""
    stems = np.zeros((len(INSTRUMENTS), piece.duration * sample_rate), dtype=np.float32)  # (I, N)
    for voice, onset, end, pitch, vel in performance.notes:
        buf = stems[INSTRUMENTS.index(instrument_of(voice))]
        timbres.place(buf, voice, pitch, onset, end - onset, vel, sample_rate)
    buf = stems[INSTRUMENTS.index("drums")]
    for onset, kind, vel, variant, length, _, _ in performance.hits:
        drums.place_hit(buf, kind, onset, vel, sample_rate, variant, int(length * sample_rate))
    _gate(stems, arrangement.activity(piece.sections, piece.duration), sample_rate)
    return stems


def _humanise(t: float, timing: tuple[float, float], rng: np.random.Generator) -> float:
    """Nudge an onset off the grid (onto the MIDI tick grid). Sections start on whole seconds, so an onset
    never moves back across the whole second before it: one on a boundary only moves later."""
    shift = timing[0] + timing[1] * rng.standard_normal()
    return _tick(max(np.floor(t + 1e-9), t + shift))


def _tick(t: float) -> float:
    """Seconds rounded to the MIDI file's tick, so the annotations, the MIDI and the audio agree exactly."""
    return round(t * TICKS_PER_SECOND) / TICKS_PER_SECOND


def _room(mix: np.ndarray, sr: int, rng: np.random.Generator) -> np.ndarray:
    """A small room: pre-delayed, darkened noise tail (decay 0.2-0.7 s) mixed 12-20 dB under the dry band."""
    decay = rng.uniform(0.2, 0.7)
    t = np.arange(int(decay * sr)) / sr
    tail = sosfilt(
        butter(2, 3000 / (0.5 * sr), output="sos"), rng.standard_normal(len(t)) * np.exp(-6.9 * t / decay)
    )
    ir = np.concatenate([np.zeros(int(rng.uniform(0.01, 0.025) * sr)), tail])
    ir *= 10 ** (-rng.uniform(12, 20) / 20) / np.sqrt(np.sum(ir**2))
    return mix + fftconvolve(mix, ir)[: len(mix)]


def _gate(stems: np.ndarray, activity: np.ndarray, sr: int) -> None:
    """Zero every instrument outside its active seconds, fading out just before it stops."""
    fade = int(GATE_FADE * sr)
    ramp = np.linspace(1.0, 0.0, fade, dtype=np.float32)
    for i in range(stems.shape[0]):
        gate = np.repeat(activity[:, i].astype(np.float32), sr)  # (N,)
        stops = np.flatnonzero(np.diff(activity[:, i].astype(np.int8)) == -1) + 1
        for s in stops:
            gate[s * sr - fade : s * sr] = ramp
        stems[i] *= gate


def _event_onsets(events: list[dict], performance: Performance) -> list[dict]:
    """Events with the `onset` of what is heard: the first note (or drum hit) the event's instrument plays
    from its boundary on, as written to the MIDI file; exits and band-wide events have none."""
    starts: dict[str, list[float]] = {name: [] for name in INSTRUMENTS}
    for voice, onset, *_ in performance.notes:
        starts[instrument_of(voice)].append(onset)
    starts["drums"] = [hit[0] for hit in performance.hits]
    out = []
    for event in events:
        window = (event["time"], event["time"] + ONSET_WINDOW)
        heard = [t for t in starts.get(event["instrument"] or "", []) if window[0] <= t < window[1]]
        playing = event["type"] != "exit" and heard
        out.append({**event, "onset": min(heard) if playing else None})
    return out


def annotation(
    piece: Piece, name: str, sample_rate: int, degradations: list[str], performance: Performance
) -> dict[str, Any]:
    """The `NAME.json` dict (schema in docs/interfaces.md; events also carry a `detail` and an `onset`)."""
    return validate(
        {
            "name": name,
            "sample_rate": sample_rate,
            "duration": float(piece.duration),
            "tempo": piece.grid.tempo,
            "key": harmony.key_name(piece.tonic, piece.minor),
            "instruments": list(INSTRUMENTS),
            "activity": arrangement.activity(piece.sections, piece.duration).tolist(),
            "events": _event_onsets(piece.events, performance),
            "quality": "bad" if degradations else "good",
            "degradations": degradations,
            "swing": round(piece.grid.swing, 3),
            "sections": [[s.start, s.end] for s in piece.sections],
        },
        source=name,
    )


def render_piece(
    seed: int | np.random.SeedSequence,
    duration: float,
    sample_rate: int = 16000,
    degrade: bool = False,
    name: str = "piece",
    renderer: str = "additive",
    soundfont: Path | None = None,
    midi_path: Path | None = None,
    backing: float = 0.0,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Compose, perform, render (additive or soundfont), mix (and maybe damage) one piece; `backing` as in
    `compose`.

    The performance is also written as MIDI to `midi_path` (the soundfont renderer needs a file: a
    temporary one when None).

    Returns:
        audio (1, N) float32 with N = ceil(duration) * sample_rate, and its annotation dict.
    """
    from training.data.synth import soundfont as sf

    streams = _seeds(seed)
    piece = compose(seed, duration, backing)
    performance = play(piece, seed)
    if renderer not in RENDERERS:
        raise ValueError(f"renderer must be one of {RENDERERS}, got {renderer!r}")
    with tempfile.TemporaryDirectory(prefix="musegenie_midi_") as tmp:
        midi = Path(midi_path) if midi_path is not None else Path(tmp) / f"{name}.mid"
        if midi_path is not None or renderer == "soundfont":
            mix_rng = np.random.default_rng(streams[4])
            sf.midi_file(performance.notes, performance.hits, piece.duration, mix_rng).save(midi)
        if renderer == "soundfont":
            mix = sf.render(midi, sf.find_soundfont(soundfont), sample_rate, piece.duration)  # (N,)
        else:
            mix = additive_stems(piece, performance, sample_rate).sum(axis=0, dtype=np.float64)  # (N,)
    mix = _room(mix, sample_rate, np.random.default_rng(streams[3]))
    mix *= PEAK / max(float(np.abs(mix).max()), 1e-9)
    names: list[str] = []
    if degrade:
        from training.data.synth.degrade import damage

        mix, names = damage(mix, sample_rate, np.random.default_rng(streams[2]))
        mix *= PEAK / max(float(np.abs(mix).max()), 1e-9)
    audio = mix.astype(np.float32)[None]  # (1, N)
    return audio, annotation(piece, name, sample_rate, names, performance)


def _plan(
    minutes: float, seed: int, degrade_fraction: float, piece_seconds: tuple[int, int]
) -> list[tuple[int, bool]]:
    """(duration, degrade) per piece: durations in [lo, hi] s summing to the requested minutes."""
    lo, hi = max(MIN_SECONDS, int(piece_seconds[0])), max(MIN_SECONDS, int(piece_seconds[-1]))
    if lo > hi:
        raise ValueError(f"piece seconds {piece_seconds}: the shortest must not exceed the longest")
    rng = np.random.default_rng(seed)
    remaining = max(MIN_SECONDS, int(round(minutes * 60)))
    durations = []
    while remaining > 0:
        d = int(rng.integers(lo, hi + 1))
        d = remaining if remaining - d < lo else d
        durations.append(max(d, MIN_SECONDS))
        remaining -= d
    damaged = set(rng.permutation(len(durations))[: int(round(degrade_fraction * len(durations)))].tolist())
    return [(d, i in damaged) for i, d in enumerate(durations)]


def _write_one(
    job: tuple[Path, str, int, int, int, bool, int, str, str, Path | None, float],
) -> dict[str, Any]:
    out_dir, name, seed, index, duration, degrade, sample_rate, subtype, renderer, soundfont, backing = job
    audio, ann = render_piece(
        np.random.SeedSequence(seed, spawn_key=(index,)),
        duration,
        sample_rate,
        degrade,
        name,
        renderer,
        soundfont,
        out_dir / f"{name}.mid",
        backing,
    )
    save_wav(out_dir / f"{name}.wav", audio, sample_rate, subtype=subtype)
    _write_text(out_dir / f"{name}.json", json.dumps(ann, indent=1))
    return {
        "path": f"{name}.wav",
        "annotations": f"{name}.json",
        "midi": f"{name}.mid",
        "duration": ann["duration"],
        "sample_rate": sample_rate,
        "quality": ann["quality"],
        "degradations": ann["degradations"],
    }


def _write_text(path: Path, text: str) -> None:
    with atomic_write(path, "w") as fh:
        fh.write(text)


def _pool(workers: int) -> multiprocessing.pool.Pool:
    """Fork (cheap: no re-imports, warm note caches) from a single-threaded parent on POSIX; spawn otherwise.

    tqdm's monitor thread only sleeps and the workers never touch tqdm, so it does not count.
    """
    others = [
        t for t in threading.enumerate() if t is not threading.main_thread() and t.name != "tqdm_monitor"
    ]
    single = not others and "fork" in multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if single else "spawn").Pool(workers)


def write_corpus(
    out_dir: str | os.PathLike,
    minutes: float,
    seed: int,
    workers: int = 1,
    degrade_fraction: float = 0.0,
    piece_seconds: tuple[int, int] = (20, 40),
    sample_rate: int = 16000,
    subtype: str = "PCM_16",
    progress: bool = True,
    renderer: str = "additive",
    soundfont: str | os.PathLike | None = None,
    backing: float = 0.0,
) -> list[dict[str, Any]]:
    """Render `minutes` of music into `out_dir`; returns the corpus.jsonl entries (also written).

    `renderer` is "additive", "soundfont" (raises SoundfontMissing without one) or "auto" (the soundfont
    when one is found, else additive with a warning); entries record which played and the soundfont's sha256.
    """
    from training.data.synth.soundfont import choose_renderer, sha256

    if not 0.0 <= degrade_fraction <= 1.0:
        raise ValueError(f"degrade fraction {degrade_fraction} is outside [0, 1]")
    if not 0.0 <= backing < float("inf"):
        raise ValueError(f"backing weight {backing} must be a number >= 0")
    renderer, font = choose_renderer(renderer, soundfont)
    played = {"renderer": renderer, "soundfont": font.name if font else None}
    played["soundfont_sha256"] = sha256(font) if font else None
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    plan = _plan(minutes, seed, degrade_fraction, piece_seconds)
    jobs = [
        (out_dir, f"piece_{i:05d}", seed, i, d, bad, sample_rate, subtype, renderer, font, backing)
        for i, (d, bad) in enumerate(plan)
    ]
    entries = []
    with contextlib.ExitStack() as stack:
        results = (
            map(_write_one, jobs)
            if workers <= 1
            else stack.enter_context(_pool(workers)).imap(_write_one, jobs)
        )
        for entry in tqdm(results, total=len(jobs), desc="synth", unit="piece", disable=not progress):
            entries.append({**entry, **played})
    _write_text(out_dir / "corpus.jsonl", "".join(json.dumps(e) + "\n" for e in entries))
    log.info(
        "wrote %d pieces (%.1f min) to %s", len(entries), sum(e["duration"] for e in entries) / 60, out_dir
    )
    return entries
