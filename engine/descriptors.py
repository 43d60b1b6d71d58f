"""What a stretch of audio sounds like, in numbers a musician reads: the words actions are named with.

Each descriptor is measured on mono audio at the bundle's rate and expressed per second of it:

- from `librosa`: loudness (mean frame RMS, dB), brightness (spectral centroid, Hz), onset rate (onsets
  per second) and percussive share (the percussive part's share of the energy after harmonic-percussive
  separation, HPSS);
- from the note events of basic-pitch (engine.notes): note density (notes starting per second), register
  (median pitch, MIDI), pitch range (10th to 90th percentile of the notes' pitches, semitones) and polyphony
  (notes sounding at once, averaged over the region);
- from the bundle's instrument estimator (engine.instruments), who plays: each instrument's mean
  probability over the region's seconds.

A descriptor that cannot be measured is NaN (register of a region without notes), and a whole source that
is missing (librosa or basic-pitch not installed, a bundle without an estimator) is named in
`Measured.missing` instead of raising, so callers report it.

An action's *claim* is (descriptor, direction): its edits move that descriptor up (+1) or down (-1),
by at least the descriptor's `step`, relative to the other actions' edits of the same region; its name is the claims' words ("louder",
"busier, higher", "drums out"). `holds` is the one test of a claim, used by `actions describe`, `eval edit`
and `actions explore`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from engine import notes as note_events

N_FFT = 1024
HOP = 256
HPSS_KERNEL = 17  # median-filter length (frames and bins) of the harmonic-percussive separation
SILENCE_DB = -80.0  # floor of the loudness scale (digital silence would be -inf)


@dataclass(frozen=True)
class Descriptor:
    key: str  # the name stored in claims and JSON
    unit: str
    up: str  # the word a name uses when an action moves it up ...
    down: str  # ... and down
    source: str  # "librosa", "basic-pitch" or "estimator"
    step: float  # the smallest shift that counts as a move (below it two edits sound alike on this)
    digits: int = 1  # decimals when printed


LIBROSA = (
    Descriptor("loudness", "dB", "louder", "softer", "librosa", 0.5),
    Descriptor("brightness", "Hz", "brighter", "darker", "librosa", 25.0, 0),
    Descriptor("onset_rate", "onsets/s", "more attacks", "fewer attacks", "librosa", 0.25),
    Descriptor("percussive", "share", "punchier", "mellower", "librosa", 0.01, 2),
)
NOTES = (
    Descriptor("note_density", "notes/s", "busier", "sparser", "basic-pitch", 0.25),
    Descriptor("register", "semitones", "higher", "lower", "basic-pitch", 0.5),  # a MIDI note number
    Descriptor("pitch_range", "semitones", "wider", "narrower", "basic-pitch", 0.5),
    Descriptor("polyphony", "notes at once", "fuller", "thinner", "basic-pitch", 0.05, 2),
)
INSTRUMENT_STEP = 0.02  # of the estimator's probability that an instrument plays


def instrument_descriptor(name: str) -> Descriptor:
    """Who plays: the estimator's mean probability that `name` plays."""
    return Descriptor(
        f"plays_{name}", "probability", f"{name} in", f"{name} out", "estimator", INSTRUMENT_STEP, 2
    )


def catalogue(instruments: Sequence[str] = ()) -> dict[str, Descriptor]:
    """Every descriptor by key: librosa's, the notes', and one per instrument the estimator knows."""
    return {d.key: d for d in (*LIBROSA, *NOTES, *(instrument_descriptor(n) for n in instruments))}


def step(key: str) -> float:
    """The smallest shift of descriptor `key` that counts as a move."""
    fixed = {d.key: d.step for d in (*LIBROSA, *NOTES)}
    return fixed.get(key, INSTRUMENT_STEP)


@dataclass
class Measured:
    values: list[dict[str, float]]  # per clip: descriptor key -> value (NaN where undefined)
    missing: dict[str, str] = field(default_factory=dict)  # source -> why it was not measured


def _librosa_values(audio: np.ndarray, sample_rate: int) -> dict[str, float]:
    import librosa

    y = np.asarray(audio, np.float32)
    seconds = max(len(y) / sample_rate, 1e-9)
    rms = librosa.feature.rms(y=y, frame_length=N_FFT, hop_length=HOP)[0]  # (F,)
    level = 20 * np.log10(np.maximum(rms, 10 ** (SILENCE_DB / 20)))  # (F,) dB
    spectrum = np.abs(librosa.stft(y, n_fft=N_FFT, hop_length=HOP))  # (K, F)
    centroid = librosa.feature.spectral_centroid(S=spectrum, sr=sample_rate)[0]  # (F,)
    audible = level > SILENCE_DB + 20  # centroid of near-silence is noise
    onsets = librosa.onset.onset_detect(y=y, sr=sample_rate, hop_length=HOP, units="frames")
    # kernel 17 (librosa's default is 31) halves the median filtering, the slowest step of a description
    harmonic, percussive = librosa.decompose.hpss(spectrum**2, kernel_size=HPSS_KERNEL)  # (K, F) each, power
    total = float(harmonic.sum() + percussive.sum())
    return {
        "loudness": float(level.mean()),
        "brightness": float(np.median(centroid[audible])) if audible.any() else math.nan,
        "onset_rate": len(onsets) / seconds,
        "percussive": float(percussive.sum()) / total if total > 0 else math.nan,
    }


def _note_values(events: list[note_events.Note], seconds: float) -> dict[str, float]:
    if not events:
        return {"note_density": 0.0, "register": math.nan, "pitch_range": math.nan, "polyphony": 0.0}
    pitches = np.array([n.pitch for n in events], np.float64)  # (E,)
    lengths = np.array([n.end - n.start for n in events], np.float64)  # (E,)
    order = np.argsort(pitches)
    cumulative = np.cumsum(lengths[order]) / lengths.sum()  # duration-weighted median pitch
    register = float(pitches[order][np.searchsorted(cumulative, 0.5)])
    low, high = np.percentile(pitches, [10, 90])
    return {
        "note_density": len(events) / seconds,
        "register": register,
        "pitch_range": float(high - low),
        "polyphony": float(np.clip(lengths, 0, seconds).sum() / seconds),
    }


def measure(audio: Sequence[np.ndarray], sample_rate: int, estimator=None) -> Measured:
    """Descriptors of each mono clip (N,) at `sample_rate`; `estimator` (engine.instruments.
    InstrumentEstimator, 16 kHz audio) adds who plays."""
    clips = [np.asarray(a, np.float32) for a in audio]
    values: list[dict[str, float]] = [{} for _ in clips]
    missing: dict[str, str] = {}
    try:
        for row, clip in zip(values, clips, strict=True):
            row.update(_librosa_values(clip, sample_rate))
    except ImportError as err:
        missing["librosa"] = f"librosa is not installed ({err}): pip install -c constraints.txt -e '.[train]'"
    try:
        transcribed = note_events.transcribe_many(clips, sample_rate)
    except note_events.NotesUnavailable as err:
        missing["basic-pitch"] = str(err)
    else:
        for row, clip, events in zip(values, clips, transcribed, strict=True):
            row.update(_note_values(events, max(len(clip) / sample_rate, 1e-9)))
    if estimator is None:
        missing["estimator"] = "the bundle has no instrument estimator (who plays is not measured)"
    else:
        for row, clip in zip(values, clips, strict=True):
            probabilities = estimator.probabilities(clip, sample_rate)  # (S, I)
            for i, name in enumerate(estimator.names):
                row[f"plays_{name}"] = float(probabilities[:, i].mean()) if len(probabilities) else math.nan
    return Measured(values, missing)


# Claims ----------------------------------------------------------------------------------------------
Claim = tuple[str, int]  # (descriptor key, +1 up / -1 down)


def claim_words(claims: Sequence[Claim], descriptors: Mapping[str, Descriptor]) -> str:
    """The name a list of claims reads as: "busier, higher"."""
    return ", ".join(descriptors[k].up if s > 0 else descriptors[k].down for k, s in claims)


def shift(values: Mapping[int, Mapping[str, float]], action: int, key: str) -> float:
    """How far `action`'s edit moves descriptor `key` from the median of the other actions' edits of the
    same region (NaN when it or all of them are unmeasured)."""
    mine = values[action].get(key, math.nan)
    others = [v[key] for a, v in values.items() if a != action and math.isfinite(v.get(key, math.nan))]
    if not others or not math.isfinite(mine):
        return math.nan
    return float(mine - np.median(others))


def holds(values: Mapping[int, Mapping[str, float]], action: int, claims: Sequence[Claim]) -> bool:
    """Whether every claim of `action`'s name is true of its edit of one region: each claimed descriptor
    moves in the claimed direction from the median of the other actions' edits (`values`: action id ->
    descriptors of its edit) by at least its `step`. An unmeasured descriptor is not a move: the claim
    fails."""
    if not claims:
        return False
    return all(shift(values, action, k) * s >= step(k) for k, s in claims)


def change_text(
    before: Mapping[str, float],
    after: Mapping[str, float],
    descriptors: Mapping[str, Descriptor],
    first: Sequence[str] = (),
    limit: int = 4,
) -> str:
    """ "louder +2.1 dB, busier +1.5 notes/s, ...": how `after` differs from `before`, the `first` keys
    (an action's claims) leading, then the largest other changes relative to their scale."""
    scale = {"dB": 6.0, "Hz": 500.0, "onsets/s": 2.0, "share": 0.2, "notes/s": 2.0, "semitones": 5.0}
    scale |= {"notes at once": 1.0, "probability": 0.3}
    moves = []
    for key, d in descriptors.items():
        a, b = after.get(key, math.nan), before.get(key, math.nan)
        if math.isfinite(a) and math.isfinite(b) and a != b:
            moves.append((key not in first, -abs(a - b) / scale[d.unit], key, a - b))
    moves.sort()
    parts = []
    for _, _, key, delta in moves[:limit]:
        d = descriptors[key]
        word = d.up if delta > 0 else d.down
        parts.append(f"{word} {delta:+.{d.digits}f} {d.unit}")
    return ", ".join(parts) if parts else "no measurable change"
