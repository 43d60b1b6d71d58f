"""What an edit asks for and what it gives back: the one declaration of an edit's parameters.

The pipeline, the gRPC wire format (`engine.wire`), the Python client, the CLI and the OSC bridge all pass
these two types, so a parameter is declared once here (and once in protos/ for the wire). Sampling fields
left at None take the bundle's defaults (`engine.bundle.Defaults`), their only home.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class EditRequest:
    """One edit (or, for explore, one rendering per action) of a region of some audio."""

    region: tuple[float, float]  # (start, end) seconds from the audio's first sample; end > start
    actions: tuple[int | str, ...] = ()  # ids or names; one fills the region, several are spread evenly
    # Who should play in the region: instrument names or ids from the bundle's vocabulary. None = whoever
    # plays there now (as the bundle's instrument estimator hears it). Only instrument-conditioned bundles
    # accept a set.
    instruments: tuple[int | str, ...] | None = None
    steps: int | None = None  # dynamics sampling steps
    guidance: float | None = None  # classifier-free guidance (0 ignores the actions, 1 plain conditional)
    decoder_steps: int | None = None  # tokenizer decoder sampling steps
    context_seconds: float | None = None  # audio each side of the region the models hear
    seed: int = 0  # same seed and input -> bit-identical output

    def __post_init__(self) -> None:  # accept lists from callers; keep the dataclass hashable
        object.__setattr__(self, "region", (float(self.region[0]), float(self.region[1])))
        object.__setattr__(self, "actions", tuple(self.actions))
        if self.instruments is not None:
            object.__setattr__(self, "instruments", tuple(self.instruments))


@dataclass(frozen=True)
class EditResult:
    audio: np.ndarray  # (C, N) the whole input with the region replaced, at the input's rate
    sample_rate: int
    frame_actions: np.ndarray  # (F,) the action id used for each latent frame of the region
    instruments: tuple[str, ...] = ()  # who was asked to play in the region ([] = not conditioned)
    seconds: float = field(default=0.0, compare=False)  # compute time
