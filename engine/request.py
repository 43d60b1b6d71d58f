"""What an edit asks for and what it gives back: the one declaration of an edit's parameters.

The pipeline, the gRPC wire format (`engine.wire`), the Python client, the CLI and the OSC bridge all pass
these types, so a parameter is declared once here (and once in protos/ for the wire). Sampling fields
left at None take the bundle's defaults (`engine.bundle.Defaults`), their only home; `EditSettings` is a
request's settings resolved against them once, and passed along from there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from engine.window import EditError

MAX_STEPS = 1000


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
    # How close to the song the edit stays: 0 generates freely, 1 always renders the song's best passage
    # with the asked-for actions; between, a passage is used when its surroundings match that well
    # (engine.song). None: the bundle's default.
    closeness: float | None = None
    seed: int = 0  # same seed and input -> bit-identical output (and, from the song, the same passage)

    def __post_init__(self) -> None:  # accept lists from callers; keep the dataclass hashable
        object.__setattr__(self, "region", (float(self.region[0]), float(self.region[1])))
        object.__setattr__(self, "actions", tuple(self.actions))
        if self.instruments is not None:
            object.__setattr__(self, "instruments", tuple(self.instruments))


@dataclass(frozen=True)
class EditSettings:
    """A request's settings with the bundle's defaults filled in and checked: what the pipeline runs with."""

    steps: int
    guidance: float
    decoder_steps: int
    context_seconds: float
    closeness: float
    instrument_guidance: float | None = None  # None: an instrument request guides with `guidance`

    @classmethod
    def resolve(cls, defaults, request: EditRequest) -> EditSettings:
        """Fill `request`'s unset fields from `defaults` (an `engine.bundle.Defaults`); raises EditError."""

        def pick(value, default):
            return default if value is None else value

        settings = cls(
            steps=int(pick(request.steps, defaults.steps)),
            guidance=float(pick(request.guidance, defaults.guidance)),
            decoder_steps=int(pick(request.decoder_steps, defaults.decoder_steps)),
            context_seconds=float(pick(request.context_seconds, defaults.context_seconds)),
            closeness=float(pick(request.closeness, defaults.closeness)),
            instrument_guidance=defaults.instrument_guidance,
        )
        try:
            defaults.check()
        except ValueError as err:  # the bundle's own settings: say which, for every edit of it
            raise EditError(
                f"bundle defaults: {err} (decoder_steps {defaults.decoder_steps}, decoder_shift "
                f"{defaults.decoder_shift}): fix them with `musegenie bundle update`"
            ) from err
        for name in ("steps", "decoder_steps"):
            if not 1 <= getattr(settings, name) <= MAX_STEPS:
                raise EditError(f"{name} must be in 1..{MAX_STEPS}, got {getattr(settings, name)}")
        if not math.isfinite(settings.context_seconds) or settings.context_seconds < 0:
            raise EditError(f"context_seconds must be >= 0, got {settings.context_seconds}")
        if not math.isfinite(settings.guidance) or not 0 <= settings.guidance <= 100:
            raise EditError(f"guidance must be in 0..100, got {settings.guidance}")
        if not math.isfinite(settings.closeness) or not 0 <= settings.closeness <= 1:
            raise EditError(
                f"closeness must be in 0..1 (0 generates freely, 1 keeps the song's material), "
                f"got {settings.closeness}"
            )
        return settings


@dataclass(frozen=True)
class Heard:
    """How the engine hears a returned region against its request, as `musegenie eval edit` hears an edit:
    the LAM's reading of the chunks whose action the request changes (`Pipeline.infer_actions`), and who
    the instrument estimator hears playing (`Pipeline.heard_in`) when the request says who plays."""

    chunks: int = 0  # chunks (~1 s each) whose action the request changes
    as_asked: int = 0  # of those, the chunks the LAM reads as the asked action
    # share of the bundle's instruments heard playing or not as asked; None: not asked, or nothing hears
    players: float | None = None
    missing: tuple[str, ...] = ()  # asked to play, not heard
    extra: tuple[str, ...] = ()  # heard, not asked to play

    @property
    def agreement(self) -> float:
        """0..1: the mean of the two shares, of those asked (0 when neither was)."""
        parts = ([self.as_asked / self.chunks] if self.chunks else []) + (
            [self.players] if self.players is not None else []
        )
        return float(np.mean(parts)) if parts else 0.0

    @property
    def text(self) -> str:
        parts = []
        if self.chunks:
            parts.append(f"asked action heard in {self.as_asked} of {self.chunks} chunks")
        if self.players is not None and not (self.missing or self.extra):
            parts.append("who plays heard as asked")
        if self.missing:
            parts.append("not heard: " + ", ".join(self.missing))
        if self.extra:
            parts.append("still heard: " + ", ".join(self.extra))
        return "; ".join(parts)


@dataclass(frozen=True)
class Source:
    """Where an edit's material came from, and how the engine hears it against the request, as every
    interface reports it."""

    kind: str = "generated"  # "song" (the song's own audio) or "generated" (dynamics model and decoder)
    start: float = -1.0  # seconds in the input of the passage used (kind "song"); -1 otherwise
    end: float = -1.0
    reason: str = ""  # why the region was generated, when it was
    # (start, end) seconds of each stretch when the region was assembled from several, in order
    pieces: tuple[tuple[float, float], ...] = ()
    heard: Heard | None = None  # None: the request changes nothing that could be read back

    @property
    def text(self) -> str:
        """For people: "song 0:42.0-0:46.0", "generated (why)", then how it is heard when it was read."""
        heard = f"; {self.heard.text}" if self.heard is not None and self.heard.text else ""
        return self.where + heard

    @property
    def where(self) -> str:
        if self.kind == "song" and self.pieces:
            return "song " + " + ".join(f"{clock(a)}-{clock(b)}" for a, b in self.pieces)
        if self.kind == "song":
            return f"song {clock(self.start)}-{clock(self.end)}"
        return f"generated ({self.reason})" if self.reason else "generated"


def clock(seconds: float) -> str:
    """m:ss.s, how a DAW user reads a position."""
    minutes, rest = divmod(max(0.0, seconds), 60.0)
    return f"{int(minutes)}:{rest:04.1f}"


@dataclass(frozen=True)
class SongPlan:
    """A song-aware edit of a file the engine did not hold whole (engine.clip): where each piece of the
    region's material starts in the song. The client renders it from its own file with
    `engine.song_render.render_plan`, as the engine renders it from audio it holds."""

    start: int  # the region [start, end) in input samples
    end: int
    fade: int  # crossfade length in input samples
    model_rate: int  # the rate of the pieces' positions
    pieces: tuple[tuple[int, int], ...]  # (offset in the region, song sample) at the model rate, in order
    # seconds over which each edge's band levels are eased from the outside's to the material's
    # (engine.song_render.eased_edges); 0 = joined by the crossfade alone
    join_ramp: float = 0.0


@dataclass(frozen=True)
class EditResult:
    # (C, N) the whole input with the region replaced, at the input's rate; for a stretch of a file
    # (engine.clip), that stretch edited, or None with `plan` for the client to render
    audio: np.ndarray | None
    sample_rate: int
    frame_actions: np.ndarray  # (F,) the action id used for each latent frame of the region
    instruments: tuple[str, ...] = ()  # who was asked to play in the region ([] = not conditioned)
    source: Source = Source()  # where the region's material came from
    seconds: float = field(default=0.0, compare=False)  # compute time
    plan: SongPlan | None = None  # a song-aware edit of a stretch, for the client to render


class Variant(NamedTuple):
    """One rendering of `explore`: the action (an `engine.bundle.Action`), the edited (C, N) audio, and
    where its material came from."""

    action: Any
    audio: np.ndarray
    source: Source
