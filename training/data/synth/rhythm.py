"""The beat grid: tempo, swung eighths and the beats that fall inside a stretch of seconds."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Grid:
    tempo: float  # beats per minute
    swing: float  # where the off-beat eighth falls inside the beat (0.5 straight, 0.67 triplet swing)

    @property
    def beat(self) -> float:
        """Seconds per beat."""
        return 60.0 / self.tempo

    def time(self, position: float) -> float:
        """Seconds at a beat position; a position ending in .5 is a swung off-beat."""
        whole = math.floor(position)
        frac = position - whole
        if abs(frac - 0.5) < 1e-9:
            frac = self.swing
        return (whole + frac) * self.beat

    def beats(self, start: float, end: float) -> range:
        """Whole beats whose onsets lie in [start, end) seconds."""
        return range(math.ceil(start / self.beat - 1e-9), math.ceil(end / self.beat - 1e-9))

    def positions(self, start: float, end: float, step: float) -> list[float]:
        """Beat positions every `step` beats (0.5 = swung eighths) whose times lie in [start, end)."""
        out = []
        first = math.floor(start / self.beat)
        count = int((end / self.beat - first) / step) + 2
        for i in range(count):
            p = first + i * step
            if start - 1e-9 <= self.time(p) < end - 1e-9:
                out.append(p)
        return out
