"""Audio and settings between numpy and the `musegenie.v1` messages, shared by the server and the client.

On the wire audio is float32 little-endian PCM interleaved by frame; in Python it is (C, N) float32.
"""

from __future__ import annotations

import numpy as np

from engine.audio import MAX_CHANNELS, AudioError, check
from engine.bundle import Action
from engine.request import EditRequest, Heard, SongPlan, Source
from engine.window import Part
from protos.musegenie.v1 import engine_pb2 as pb

PCM_DTYPE = np.dtype("<f4")
MiB = 1 << 20


def audio_to_proto(audio: np.ndarray, sample_rate: int) -> pb.Audio:
    """(C, N) float audio -> Audio message (interleaved float32 PCM)."""
    audio = np.asarray(audio)
    if audio.ndim != 2:
        raise AudioError(f"audio: expected shape (channels, samples), got {audio.shape}")
    pcm = np.ascontiguousarray(audio.T, dtype=PCM_DTYPE).tobytes()  # (N, C) frames
    return pb.Audio(pcm=pcm, sample_rate=int(sample_rate), channels=int(audio.shape[0]))


def audio_from_proto(message: pb.Audio, source: str = "request audio") -> tuple[np.ndarray, int]:
    """Audio message -> ((C, N) float32, sample_rate); raises AudioError for anything unusable."""
    channels, sample_rate = int(message.channels), int(message.sample_rate)
    if not 1 <= channels <= MAX_CHANNELS:
        raise AudioError(f"{source}: channels must be 1..{MAX_CHANNELS}, got {channels}")
    if len(message.pcm) == 0:
        raise AudioError(f"{source}: zero-length audio")
    frame_bytes = channels * PCM_DTYPE.itemsize
    if len(message.pcm) % frame_bytes:
        raise AudioError(
            f"{source}: {len(message.pcm)} bytes is not a whole number of {channels}-channel float32 frames"
        )
    samples = np.frombuffer(message.pcm, dtype=PCM_DTYPE).reshape(-1, channels).T  # (C, N)
    return check(samples, sample_rate, source), sample_rate


def params_to_proto(request: EditRequest) -> pb.EditParams:
    """The request's sampling settings, with only the ones it sets (unset take the bundle's defaults)."""
    params = pb.EditParams(seed=int(request.seed) % 2**64)
    if request.steps is not None:
        params.steps = int(request.steps)
    if request.guidance is not None:
        params.guidance = float(request.guidance)
    if request.context_seconds is not None:
        params.context_seconds = float(request.context_seconds)
    if request.decoder_steps is not None:
        params.decoder_steps = int(request.decoder_steps)
    if request.closeness is not None:
        params.closeness = float(request.closeness)
    return params


def request_to_proto(
    audio: np.ndarray,
    sample_rate: int,
    request: EditRequest,
    message: type = pb.EditRequest,
    part: Part | None = None,
):
    """An `EditRequest` (or, with `message=pb.ExploreRequest`, an explore) on the wire; with `part`, the
    audio is that stretch of a file.

    Actions must already be ids and instruments names (the client resolves them against GetInfo)."""
    return message(
        audio=audio_to_proto(audio, sample_rate),
        region=pb.Region(start=request.region[0], end=request.region[1]),
        actions=[int(a) for a in request.actions],
        params=params_to_proto(request),
        instruments=[str(i) for i in request.instruments or ()],
        stretch=part_to_proto(part),
    )


def part_to_proto(part: Part | None) -> pb.Stretch | None:
    return None if part is None else pb.Stretch(offset=part.offset, total_samples=part.total, song=part.song)


def part_from_proto(request, length: int) -> Part | None:
    """The stretch a request's audio of `length` samples is, or None (the whole file); raises AudioError
    for one that cannot be."""
    if not request.HasField("stretch"):
        return None
    s = request.stretch
    if s.offset + length > s.total_samples:
        raise AudioError(
            f"stretch: {length} samples from {s.offset} run past the file's {s.total_samples} samples"
        )
    return Part(int(s.offset), int(s.total_samples), s.song)


def plan_to_proto(plan: SongPlan | None) -> pb.SongPlan | None:
    if plan is None:
        return None
    pieces = [pb.PlanPiece(offset=o, source=src) for o, src in plan.pieces]
    return pb.SongPlan(
        start=plan.start,
        end=plan.end,
        fade=plan.fade,
        model_rate=plan.model_rate,
        pieces=pieces,
        join_ramp=plan.join_ramp,
    )


def plan_from_proto(message) -> SongPlan | None:
    """A reply's SongPlan (None when it has none)."""
    if not message.HasField("plan"):
        return None
    p = message.plan
    pieces = tuple((int(q.offset), int(q.source)) for q in p.pieces)
    return SongPlan(int(p.start), int(p.end), int(p.fade), int(p.model_rate), pieces, float(p.join_ramp))


def request_from_proto(message: pb.EditRequest | pb.ExploreRequest) -> EditRequest:
    """The `EditRequest` a wire message asks for (its audio is decoded separately: `audio_from_proto`)."""
    p = message.params
    return EditRequest(
        region=(message.region.start, message.region.end),
        actions=tuple(message.actions),
        instruments=tuple(message.instruments) or None,
        steps=p.steps if p.HasField("steps") else None,
        guidance=p.guidance if p.HasField("guidance") else None,
        decoder_steps=p.decoder_steps if p.HasField("decoder_steps") else None,
        context_seconds=p.context_seconds if p.HasField("context_seconds") else None,
        closeness=p.closeness if p.HasField("closeness") else None,
        seed=int(p.seed),
    )


def source_to_proto(source: Source) -> pb.Source:
    return pb.Source(
        kind=source.kind,
        start=source.start,
        end=source.end,
        text=source.text,
        reason=source.reason,
        pieces=[pb.Span(start=a, end=b) for a, b in source.pieces],
        heard=None if source.heard is None else heard_to_proto(source.heard),
    )


def heard_to_proto(heard: Heard) -> pb.Heard:
    message = pb.Heard(chunks=heard.chunks, as_asked=heard.as_asked, missing=heard.missing, extra=heard.extra)
    if heard.players is not None:
        message.players = heard.players
    return message


def heard_from_proto(message: pb.Heard) -> Heard:
    players = message.players if message.HasField("players") else None
    return Heard(message.chunks, message.as_asked, players, tuple(message.missing), tuple(message.extra))


def source_from_proto(message: pb.Source) -> Source:
    """The reply's Source; an engine that predates song-aware edits sends none: "generated"."""
    if not message.kind:
        return Source()
    pieces = tuple((p.start, p.end) for p in message.pieces)
    heard = heard_from_proto(message.heard) if message.HasField("heard") else None
    return Source(message.kind, message.start, message.end, message.reason, pieces, heard)


def action_to_proto(action: Action) -> pb.Action:
    message = pb.Action(id=action.id, name=action.name, description=action.description)
    if action.name_fidelity is not None:
        message.name_fidelity = action.name_fidelity
    return message


def action_from_proto(message: pb.Action) -> Action:
    """An action as the engine reports it (its claims stay in the bundle; the fidelity travels)."""
    fidelity = message.name_fidelity if message.HasField("name_fidelity") else None
    return Action(message.id, message.name, message.description, name_fidelity=fidelity)
