"""Jazz harmony for the synthetic corpus: keys, chord qualities, ii-V-I progressions with turnarounds, voicings.

Pitches are MIDI numbers; pitch classes are 0..11 with C = 0. A progression is a list of `Chord`s laid on
the beat grid (start beat, length in beats), built from two- and four-bar cells written as scale degrees.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NOTE_NAMES = ("C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B")

# quality -> chord tones (semitones above the root)
CHORD_TONES = {
    "maj7": (0, 4, 7, 11),
    "6": (0, 4, 7, 9),
    "m7": (0, 3, 7, 10),
    "m6": (0, 3, 7, 9),
    "7": (0, 4, 7, 10),
    "7b9": (0, 4, 7, 10),
    "m7b5": (0, 3, 6, 10),
}
# quality -> rootless voicing (3rd/7th plus colour tones), the way a pianist leaves the root to the bass
ROOTLESS = {
    "maj7": ((4, 7, 11, 14), (11, 14, 16, 19)),
    "6": ((4, 7, 9, 14), (9, 14, 16, 19)),
    "m7": ((3, 7, 10, 14), (10, 14, 15, 19)),
    "m6": ((3, 7, 9, 14), (9, 14, 15, 19)),
    "7": ((4, 9, 10, 14), (10, 14, 16, 21)),
    "7b9": ((4, 8, 10, 13), (10, 13, 16, 20)),
    "m7b5": ((3, 6, 10, 12), (10, 12, 15, 18)),
}
# quality -> the scale a soloist plays over it
SCALES = {
    "maj7": (0, 2, 4, 5, 7, 9, 11),
    "6": (0, 2, 4, 7, 9),
    "m7": (0, 2, 3, 5, 7, 9, 10),
    "m6": (0, 2, 3, 5, 7, 9, 11),
    "7": (0, 2, 4, 5, 7, 9, 10),
    "7b9": (0, 1, 4, 5, 7, 8, 10),
    "m7b5": (0, 1, 3, 5, 6, 8, 10),
}

# Cells: (degree in semitones above the key, quality, beats). Each cell fills whole 4/4 bars.
MAJOR_CELLS = (
    ((2, "m7", 4), (7, "7", 4), (0, "maj7", 8)),  # long ii-V-I
    ((2, "m7", 2), (7, "7", 2), (0, "maj7", 4)),  # short ii-V-I
    ((0, "maj7", 2), (9, "m7", 2), (2, "m7", 2), (7, "7", 2)),  # I-vi-ii-V turnaround
    ((4, "m7", 2), (9, "7", 2), (2, "m7", 2), (7, "7", 2)),  # iii-VI-ii-V turnaround
    ((2, "m7", 2), (1, "7", 2), (0, "6", 4)),  # tritone substitution
    ((0, "maj7", 4), (9, "7", 4), (2, "m7", 4), (7, "7", 4)),  # I-VI7-ii-V
    ((5, "maj7", 4), (5, "m6", 4), (0, "maj7", 8)),  # IV-iv-I
)
MINOR_CELLS = (
    ((2, "m7b5", 4), (7, "7b9", 4), (0, "m6", 8)),  # long minor ii-V-i
    ((2, "m7b5", 2), (7, "7b9", 2), (0, "m6", 4)),  # short minor ii-V-i
    ((0, "m6", 2), (8, "maj7", 2), (2, "m7b5", 2), (7, "7b9", 2)),  # i-bVI-ii-V turnaround
    ((0, "m6", 4), (5, "m7", 4), (2, "m7b5", 2), (7, "7b9", 2), (0, "m6", 4)),  # i-iv-ii-V-i
)


@dataclass(frozen=True)
class Chord:
    start: float  # beat on which the chord starts
    beats: float  # how long it lasts
    root: int  # pitch class of the root
    quality: str  # key of CHORD_TONES

    def tones(self) -> tuple[int, ...]:
        """Pitch classes of the chord tones."""
        return tuple((self.root + i) % 12 for i in CHORD_TONES[self.quality])

    def scale(self) -> tuple[int, ...]:
        """Pitch classes of the chord scale."""
        return tuple((self.root + i) % 12 for i in SCALES[self.quality])

    def name(self) -> str:
        return NOTE_NAMES[self.root] + self.quality


def key_name(tonic: int, minor: bool) -> str:
    return f"{NOTE_NAMES[tonic]} {'minor' if minor else 'major'}"


def progression(rng: np.random.Generator, tonic: int, minor: bool, beats: float) -> list[Chord]:
    """Chain cells (with the odd modulation up a fourth) until `beats` are covered."""
    cells = MINOR_CELLS if minor else MAJOR_CELLS
    chords: list[Chord] = []
    position = 0.0
    key = tonic
    while position < beats:
        cell = cells[rng.integers(len(cells))]
        for degree, quality, length in cell:
            chords.append(Chord(position, float(length), (key + degree) % 12, quality))
            position += length
        if rng.random() < 0.15:  # a short excursion to the IV key, the way standards move
            key = (key + 5) % 12
        elif key != tonic and rng.random() < 0.5:
            key = tonic
    return chords


def chord_at(chords: list[Chord], beat: float) -> Chord:
    """The chord sounding at `beat` (chords are sorted and contiguous)."""
    lo, hi = 0, len(chords) - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if chords[mid].start <= beat + 1e-9:
            lo = mid
        else:
            hi = mid - 1
    return chords[lo]


def nearest(pitch_class: int, target: float) -> int:
    """The MIDI note of this pitch class closest to `target`."""
    base = int(round(target)) - 6
    return base + (pitch_class - base) % 12


def piano_voicing(chord: Chord, previous: list[int] | None, centre: float = 62.0) -> list[int]:
    """A rootless A/B voicing around `centre`, choosing the one that moves least from `previous`."""
    options = []
    for shape in ROOTLESS[chord.quality]:
        low = nearest((chord.root + shape[0]) % 12, centre - 5)
        options.append([low + i - shape[0] for i in shape])
    if previous is None:
        return min(options, key=lambda v: abs(np.mean(v) - centre))
    return min(options, key=lambda v: abs(np.mean(v) - np.mean(previous)) + 0.3 * abs(np.mean(v) - centre))


def guitar_voicing(chord: Chord) -> list[int]:
    """A four-note drop-2 style grip: root on the low strings, 7th, 3rd, and 5th or 9th on top."""
    root = nearest(chord.root, 45)
    tones = CHORD_TONES[chord.quality]
    top = 14 if chord.quality in ("maj7", "m7", "7", "6", "m6") else tones[2] + 12
    return sorted([root, root + tones[3], root + tones[1] + 12, root + top])
