"""What each pitched player plays: walking/pedal bass, piano and guitar comping, phrased lead lines and
horn/vibes backgrounds behind a soloist.

Every generator walks the sections, plays only where its instrument has the matching role, starts with a
note right at the boundary where it comes in (so an entry is heard at once) and cuts notes that would ring
into a section where it has stopped. Output notes are (onset s, duration s, MIDI, velocity 0..1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from training.data.synth.arrangement import LEVELS, Section
from training.data.synth.harmony import Chord, chord_at, guitar_voicing, nearest, piano_voicing
from training.data.synth.rhythm import Grid

Note = tuple[float, float, int, float]

# piano comping rhythms within a bar: (beat position, length in beats); .5 positions are swung
PIANO_RHYTHMS = (
    ((0, 1.2), (1.5, 1.0)),  # Charleston
    ((1.5, 0.8), (3.5, 0.8)),
    ((0.5, 0.5), (2, 1.0), (3.5, 0.5)),
    ((1, 0.6), (3, 0.6)),
    ((0, 3.0),),
    ((0, 0.8), (2.5, 1.2)),
)
RANGE = 7  # a soloist stays within this many semitones of the register centre, so register jumps stand out
LEAD_CENTRE = {"sax": 62, "trumpet": 70, "vibes": 74, "guitar": 66}
# where a background part sits: below the same instrument's solo register, under the soloist
BACKING_CENTRE = {"sax": 58, "trumpet": 64, "vibes": 67}
LEAD_CELLS = (
    (0.5, 0.5),
    (0.5, 0.5, 0.5, 0.5),
    (1.0,),
    (1 / 3, 1 / 3, 1 / 3),
    (1.5, 0.5),
    (2.0,),
    (1.0, 0.5, 0.5),
)


@dataclass
class Span:
    start: float  # seconds
    end: float  # seconds: where the role stops (notes are cut here)
    entry: bool  # the role starts at `start` (play a note right there)
    section: Section


def spans(sections: list[Section], instrument: str, role: str) -> list[Span]:
    """The sections in which `instrument` has `role`, each knowing where that role next stops."""
    out = []
    for i, sec in enumerate(sections):
        if sec.state.role(instrument) != role:
            continue
        j = i
        while j + 1 < len(sections) and sections[j + 1].state.role(instrument) == role:
            j += 1
        entry = i == 0 or sections[i - 1].state.role(instrument) != role
        out.append(Span(float(sec.start), float(sections[j].end), entry, sec))
    return out


def _vel(sec: Section, rng: np.random.Generator, spread: float = 0.15) -> float:
    return float(np.clip(LEVELS[sec.state.level] * (1 - spread + spread * rng.random()), 0.05, 1.0))


def bass_line(
    sections: list[Section], grid: Grid, chords: list[Chord], tonic: int, rng: np.random.Generator
) -> list[Note]:
    notes: list[Note] = []
    prev = 40
    for span in spans(sections, "bass", "bass"):
        sec, state = span.section, span.section.state
        beats = list(grid.beats(sec.start, sec.end))
        if span.entry and (not beats or grid.time(beats[0]) > sec.start + 0.05):
            notes.append(
                (
                    sec.start,
                    grid.beat,
                    nearest(chord_at(chords, sec.start / grid.beat).root, 40),
                    _vel(sec, rng),
                )
            )
        for b in beats:
            chord = chord_at(chords, b)
            if state.pattern == "stop_time":
                if b % 4 == 0:
                    notes.append((grid.time(b), 3.5 * grid.beat, nearest(chord.root, 36), _vel(sec, rng)))
                continue
            if state.bass_mode == "pedal":  # the low dominant in a Charleston figure, whatever the chords do
                pedal = nearest((tonic + 7) % 12, 33)
                if b % 4 == 0:
                    notes.append((grid.time(b), 1.5 * grid.beat, pedal, 1.1 * _vel(sec, rng)))
                    notes.append((grid.time(b + 1.5), 2.4 * grid.beat, pedal, _vel(sec, rng)))
                elif b % 4 == 2 and b - 2 < sec.start / grid.beat:  # entered mid-bar: pick up the figure
                    notes.append((grid.time(b), 1.9 * grid.beat, pedal, _vel(sec, rng)))
                continue
            step = 0.5 if state.pattern == "double_time" else 1.0  # double-time feel: the bass walks eighths
            for position in (b, b + 0.5) if step == 0.5 else (b,):
                prev = _walk(chords, position, step, prev, rng)
                accent = 1.0 if position % 2 == 0 else 0.9
                notes.append((grid.time(position), 0.95 * step * grid.beat, prev, _vel(sec, rng) * accent))
                if step == 1.0 and rng.random() < 0.07:  # a swung skip note
                    notes.append((grid.time(b + 0.5), 0.3 * grid.beat, prev, 0.6 * _vel(sec, rng)))

    return _cut(notes, spans(sections, "bass", "bass"))


def _walk(chords: list[Chord], position: float, step: float, prev: int, rng: np.random.Generator) -> int:
    """One walking-bass note: the root on a chord change, a chromatic approach just before one, else
    chord tones and scale steps near the previous note, kept between E1 and E3."""
    chord = chord_at(chords, position)
    following = chord_at(chords, position + step)
    if abs(chord.start - position) < 1e-9:
        pitch = nearest(chord.root, prev)
    elif abs(following.start - (position + step)) < 1e-9 and following != chord:
        pitch = nearest(following.root, prev) + (1 if rng.random() < 0.5 else -1)
    else:
        options = [nearest(pc, prev) for pc in chord.tones()[1:]] + [prev + 2, prev - 2, prev + 1]
        pitch = int(options[rng.integers(len(options))])
        if pitch % 12 not in chord.scale() and rng.random() < 0.5:
            pitch = nearest(chord.tones()[rng.integers(4)], prev)
    while pitch > 52:
        pitch -= 12
    while pitch < 28:
        pitch += 12
    return pitch


def comp_line(
    sections: list[Section],
    grid: Grid,
    chords: list[Chord],
    instrument: str,
    style: str,
    rng: np.random.Generator,
) -> list[Note]:
    """Comping chords; style "sparse" (piano-like rhythms) or "four" (Freddie Green guitar quarters)."""
    notes: list[Note] = []
    previous: list[int] | None = None
    for span in spans(sections, instrument, "comp"):
        sec, state = span.section, span.section.state
        hits: list[tuple[float, float, float]] = []  # (beat position, beats, accent)
        first_bar = int(np.floor(sec.start / grid.beat / 4))
        last_bar = int(np.ceil(sec.end / grid.beat / 4))
        for bar in range(first_bar, last_bar + 1):
            if state.pattern == "stop_time":
                hits.append((bar * 4.0, 3.0, 1.1))
            elif style == "four":
                hits += [(bar * 4.0 + i, 0.45, 1.0 if i % 2 else 0.8) for i in range(4)]
            else:
                rhythm = PIANO_RHYTHMS[rng.integers(len(PIANO_RHYTHMS))]
                hits += [(bar * 4.0 + p, d, 1.0) for p, d in rhythm]
        hits = [h for h in hits if sec.start <= grid.time(h[0]) < sec.end]
        if span.entry and (not hits or grid.time(hits[0][0]) > sec.start + 0.05):
            hits.insert(0, (sec.start / grid.beat, 1.0, 1.0))
        if style == "sparse" and hits:  # the sustain pedal holds each chord until the next one
            nexts = [h[0] for h in hits[1:]] + [sec.end / grid.beat + 4]
            hits = [(p, max(b, q - p), a) for (p, b, a), q in zip(hits, nexts, strict=True)]
        for position, beats, accent in hits:
            t = grid.time(position) if position != sec.start / grid.beat else float(sec.start)
            ahead = 0.5 if position % 1 else 0.0  # off-beat hits anticipate the next chord
            chord = chord_at(chords, position + ahead)
            if instrument == "piano":
                previous = piano_voicing(chord, previous)
                pitches = previous
                spread = 0.004
            else:
                pitches = guitar_voicing(chord)
                spread = 0.012  # a downstroke strum
            vel = _vel(sec, rng) * accent
            for k, pitch in enumerate(pitches):
                notes.append((t + k * spread, beats * grid.beat, int(pitch), vel))
    return _cut(notes, spans(sections, instrument, "comp"))


def lead_line(
    sections: list[Section], grid: Grid, chords: list[Chord], instrument: str, rng: np.random.Generator
) -> list[Note]:
    """Phrases of swung eighths, triplets and long notes over the chord scales, breathing between phrases."""
    notes: list[Note] = []
    pitch = LEAD_CENTRE[instrument]
    direction = 1
    lead_spans = spans(sections, instrument, "lead")
    for span in lead_spans:
        sec = span.section
        centre = LEAD_CENTRE[instrument] + sec.state.register
        if span.entry or abs(pitch - centre) > RANGE:
            pitch = centre
        position = sec.start / grid.beat if span.entry else np.ceil(sec.start / grid.beat * 2) / 2
        max_rest = max(0.5, np.floor(0.6 / grid.beat * 2) / 2)  # never silent for much over half a second
        while grid.time(position) < sec.end:
            phrase_end = position + float(rng.choice([2, 3, 4, 6, 8]))
            arc = 0.85 + 0.15 * rng.random()
            while position < phrase_end and grid.time(position) < sec.end:
                arpeggio = rng.random() < 0.3  # run up or down the chord instead of the scale
                if rng.random() < 0.25:
                    direction = -direction
                for length in LEAD_CELLS[rng.integers(len(LEAD_CELLS))]:
                    chord = chord_at(chords, position)
                    strong = abs(position - round(position)) < 1e-6
                    if rng.random() < 0.08:
                        pitch += direction * int(rng.integers(5, 9))  # a leap, answered by a turn
                        direction = -direction
                    else:
                        pitch += direction * (1 if arpeggio else int(rng.integers(1, 3)))
                    pool = chord.tones() if strong or arpeggio else chord.scale()
                    pitch = _snap(pitch, pool, direction)
                    if not centre - RANGE <= pitch <= centre + RANGE:
                        direction = -direction
                        pitch = _snap(int(np.clip(pitch, centre - RANGE, centre + RANGE)), pool, direction)
                    t = grid.time(position) if position * grid.beat >= sec.start else float(sec.start)
                    if t >= sec.end:
                        break
                    ring = 1.6 if instrument == "vibes" else 0.95
                    vel = _vel(sec, rng, 0.25) * arc * (1.05 if not strong else 0.95)  # accent the off-beats
                    notes.append((t, length * grid.beat * ring, int(pitch), min(vel, 1.0)))
                    position += length
            rest = min(float(rng.choice([0.5, 1.0, 1.5])), max_rest)
            position = float(np.ceil((position + rest) * 2 - 1e-6) / 2)
    return _cut(notes, lead_spans)


def backing_line(
    sections: list[Section],
    grid: Grid,
    chords: list[Chord],
    instrument: str,
    rng: np.random.Generator,
    leads: dict[str, list[Note]] | None = None,
) -> list[Note]:
    """Backgrounds behind the soloist, one style per section: held pads or off-beat stabs (beats 1 and the and
    of 2) on the chords' guide tones (3rd and 7th, voice-led), softer than the soloist; or soli, the soloist's
    own line (from `leads`, each soloist's notes) harmonised a third below, nearly as loud, as a two-horn front
    line plays a head. Draws nothing from `rng` when the instrument never plays backgrounds, so pieces without
    them are unchanged."""
    notes: list[Note] = []
    backing_spans = spans(sections, instrument, "backing")
    centre = pitch = BACKING_CENTRE[instrument]
    for span in backing_spans:
        sec = span.section
        if span.entry:
            pitch = centre
        style = rng.random()
        stabs = style < 0.25
        lead_notes = (leads or {}).get(sec.state.lead or "", [])
        if style >= 0.6 and lead_notes:  # soli
            line = _soli(lead_notes, sec, chords, grid, centre)
            if line:
                if span.entry and line[0][0] > sec.start + 0.05:  # come in at once on a guide tone
                    chord = chord_at(chords, sec.start / grid.beat)
                    guide = _place(nearest(chord.tones()[1], centre), centre)
                    notes.append((float(sec.start), line[0][0] - sec.start, guide, line[0][3]))
                notes += line
                pitch = line[-1][2]
                continue
        first = sec.start / grid.beat
        bar = np.floor(first / 4 + 1e-9) * 4  # the bar the section starts in
        position = first if span.entry else np.ceil(first - 1e-9)
        ring = 1.6 if instrument == "vibes" else 0.92
        end = sec.end / grid.beat  # in beats: a section boundary re-articulates the part
        while position < end - 1e-6 and grid.time(position) < sec.end:
            chord = chord_at(chords, position)
            tones = chord.tones()
            guide = (tones[1], tones[3])
            options = [nearest(pc, pitch) for pc in guide]
            options = [p + 12 if p < centre - 6 else p - 12 if p > centre + 6 else p for p in options]
            pitch = min(options, key=lambda p: (abs(p - pitch), rng.random()))
            vel = 0.7 * _vel(sec, rng, 0.1)
            chord_end = chord.start + chord.beats
            next_bar = bar + 4 * (np.floor((position - bar) / 4 + 1e-9) + 1)
            until = min(chord_end, next_bar, end)
            if stabs:
                for offset, length in ((0.0, 0.6), (1.5, 0.4)):
                    at = position + offset
                    if at < until - 1e-9 and grid.time(at) < sec.end:
                        stab = (grid.time(at), length * grid.beat * ring, int(pitch), min(1.0, 1.1 * vel))
                        notes.append(stab)
            else:
                notes.append((grid.time(position), (until - position) * grid.beat * ring, int(pitch), vel))
            position = until
    return _cut(notes, backing_spans)


def _soli(lead: list[Note], sec: Section, chords: list[Chord], grid: Grid, centre: int) -> list[Note]:
    """The soloist's notes inside `sec` a diatonic third below (a chord tone where one is 3-4 semitones
    down), moved by octaves to within a fifth of the part's register centre, at 85% of the soloist's velocity."""
    out = []
    for t, dur, pitch, vel in lead:
        if not sec.start <= t < sec.end:
            continue
        chord = chord_at(chords, t / grid.beat + 1e-6)  # the beat the note falls in
        below = [pitch - k for k in (3, 4)]
        tone = next((p for p in below if p % 12 in chord.tones()), None)
        tone = tone if tone is not None else next((p for p in below if p % 12 in chord.scale()), pitch - 3)
        out.append((t, dur, _place(tone, centre), 0.85 * vel))
    return out


def _place(pitch: int, centre: int) -> int:
    """`pitch` moved by octaves to within a fifth of `centre` (the part's register)."""
    while pitch < centre - 7:
        pitch += 12
    while pitch > centre + 7:
        pitch -= 12
    return int(pitch)


def _snap(pitch: int, pool: tuple[int, ...], direction: int) -> int:
    """The nearest pitch of `pool` (pitch classes) from `pitch` in the direction of travel."""
    return pitch + direction * min((direction * (pc - pitch)) % 12 for pc in pool)


def _cut(notes: list[Note], role_spans: list[Span]) -> list[Note]:
    """Shorten notes so none rings past the end of its role's run of sections."""
    out = []
    for t, dur, pitch, vel in notes:
        end = next((s.end for s in role_spans if s.start - 1e-6 <= t < s.end), None)
        if end is not None:
            out.append((t, min(dur, end - t), pitch, vel))
    return out
