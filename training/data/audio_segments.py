"""Random fixed-length mono 16 kHz segments from manifest entries, and a segment-length curriculum.

Item i of epoch e is a pure function of (seed, e, i): the file (drawn in proportion to its usable
duration) and the offset come from `numpy.random.default_rng([seed, e, i])`, never the global RNG, so the
trainer's resume replays the same data whatever the number of DataLoader workers.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from engine import audio as audio_io
from training.data.manifest import Entry, ManifestError

log = logging.getLogger(__name__)

SAMPLE_RATE = 16_000
_MAX_ATTEMPTS = 8  # draws per item before giving up when files turn out corrupt mid-read


def readable_entries(entries: Sequence[Entry]) -> list[Entry]:
    """The entries whose file has a readable header and at least one sample, each bad file warned about
    once. Splitting only these keeps one corrupt file from becoming the whole held-out set."""
    bad: dict[Path, str] = {}
    checked: set[Path] = set()
    for entry in entries:
        if entry.path in checked:
            continue
        checked.add(entry.path)
        try:
            if audio_io.info(entry.path).frames == 0:
                raise audio_io.AudioError("no samples")
        except audio_io.AudioError as err:
            bad[entry.path] = str(err)
            log.warning("skipping %s: %s", entry.path, err)
    if bad:
        log.warning("%d of %d files skipped as unreadable", len(bad), len(checked))
    good = [e for e in entries if e.path not in bad]
    if not good:
        raise ManifestError(f"none of the {len(checked)} files is readable audio")
    return good


@dataclass(frozen=True)
class _Source:
    path: Path
    start: float  # seconds
    duration: float  # usable seconds from start


class AudioSegments(Dataset):
    """`{"audio": (1, N)}` float32 segments of `seconds` (N = round(seconds * sample_rate)), zero-padded
    when a source is shorter. Unreadable files are skipped with one warning each and listed in `skipped`.

    Args:
        items_per_epoch: dataset length; default = total usable audio / segment length (at least one per source).
    """

    def __init__(
        self,
        entries: Sequence[Entry],
        seconds: float,
        sample_rate: int = SAMPLE_RATE,
        seed: int = 0,
        items_per_epoch: int | None = None,
    ) -> None:
        if seconds <= 0:
            raise ValueError(f"segment length must be positive, got {seconds}")
        self.seconds, self.sample_rate, self.seed, self.epoch = seconds, sample_rate, seed, 0
        self.length = int(round(seconds * sample_rate))
        self.skipped: list[tuple[Path, str]] = []
        self.sources = self._probe(entries)
        if not self.sources:
            raise ManifestError(
                f"none of the {len(entries)} entries is readable audio ({len(self.skipped)} skipped)"
            )
        durations = np.array([s.duration for s in self.sources])
        self.weights = durations / durations.sum()
        self.items = items_per_epoch or max(len(self.sources), int(durations.sum() // seconds))
        self._bad: set[Path] = set()

    def _skip(self, path: Path, why: str) -> None:
        log.warning("skipping %s: %s", path, why)
        self.skipped.append((path, why))

    def _probe(self, entries: Sequence[Entry]) -> list[_Source]:
        durations: dict[Path, float | None] = {}
        sources = []
        for entry in entries:
            if entry.path not in durations:
                try:
                    header = audio_io.info(entry.path)
                    durations[entry.path] = header.frames / header.samplerate
                    if header.frames == 0:
                        raise audio_io.AudioError("no samples")
                except audio_io.AudioError as err:
                    durations[entry.path] = None
                    self._skip(entry.path, str(err))
            total = durations[entry.path]
            if total is None:
                continue
            end = total if entry.end is None else min(entry.end, total)
            if end - entry.start > 0:
                sources.append(_Source(entry.path, entry.start, end - entry.start))
        if self.skipped:
            log.warning("%d of %d files skipped as unreadable", len(self.skipped), len(durations))
        return sources

    @property
    def hours(self) -> float:
        """Usable audio, in hours."""
        return math.fsum(s.duration for s in self.sources) / 3600

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.items

    def _read(self, source: _Source, g: np.random.Generator) -> np.ndarray:
        take = min(self.seconds, source.duration)
        offset = source.start + g.uniform(0.0, source.duration - take)
        audio, _ = audio_io.load(
            source.path, sample_rate=self.sample_rate, mono=True, start=offset, duration=take
        )
        segment = np.zeros((1, self.length), dtype=np.float32)
        n = min(self.length, audio.shape[1])
        segment[:, :n] = audio[:, :n]
        return segment

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        g = np.random.default_rng([self.seed, self.epoch, index])
        for _ in range(_MAX_ATTEMPTS):
            source = self.sources[g.choice(len(self.sources), p=self.weights)]
            if source.path in self._bad:
                continue
            try:
                return {"audio": torch.from_numpy(self._read(source, g))}  # (1, N)
            except audio_io.AudioError as err:
                self._bad.add(source.path)
                self._skip(source.path, str(err))
        raise ManifestError(
            f"item {index}: {_MAX_ATTEMPTS} draws hit unreadable files ({len(self._bad)} bad so far)"
        )


@dataclass(frozen=True)
class Curriculum:
    """Segment length by training step: `Curriculum(((0, 1.0), (2000, 2.0), (6000, 5.0))).seconds(2500) == 2.0`."""

    stages: tuple[tuple[int, float], ...]  # (first step, seconds), first step of the first stage = 0

    def __post_init__(self) -> None:
        steps = [s for s, _ in self.stages]
        if not self.stages or steps[0] != 0 or steps != sorted(set(steps)):
            raise ValueError(
                f"curriculum stages need increasing start steps beginning at 0, got {self.stages}"
            )
        if any(sec <= 0 for _, sec in self.stages):
            raise ValueError(f"curriculum lengths must be positive, got {self.stages}")

    @classmethod
    def parse(cls, text: str) -> Curriculum:
        """From "STEP:SECONDS,..." e.g. "0:1,2000:2,6000:5" (a bare "5" = 5 s throughout)."""
        stages = []
        for part in text.split(","):
            step, _, seconds = part.strip().rpartition(":")
            try:
                stages.append((int(step or 0), float(seconds)))
            except ValueError as err:
                raise ValueError(f"bad curriculum stage {part!r} (expected STEP:SECONDS)") from err
        return cls(tuple(stages))

    @property
    def max_seconds(self) -> float:
        return max(sec for _, sec in self.stages)

    def seconds(self, step: int) -> float:
        """Segment length in seconds at `step`."""
        return [sec for start, sec in self.stages if start <= step][-1]

    def samples(self, step: int, sample_rate: int = SAMPLE_RATE, multiple: int = 1) -> int:
        """Segment length in samples at `step`, rounded down to a multiple of `multiple` (e.g. the hop)."""
        n = int(round(self.seconds(step) * sample_rate))
        return max(multiple, n // multiple * multiple)


def random_crop(audio: torch.Tensor, length: int) -> torch.Tensor:
    """A random `length`-sample window per item of (B, C, N) audio (offsets from the global torch RNG)."""
    n = audio.shape[-1]
    if length >= n:
        return audio
    offsets = torch.randint(0, n - length + 1, (audio.shape[0],))
    return torch.stack(
        [a[..., o : o + length] for a, o in zip(audio, offsets.tolist(), strict=True)]
    )  # (B, C, length)
