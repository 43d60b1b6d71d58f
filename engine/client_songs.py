"""What an `engine.client.EditorClient` sends for a region of a file, and how it turns a reply into samples.

An engine that takes stretches gets the region's window at the file's rate (`Stretch`) and, once per song,
the song at the model's rate (GetSong/PutSong, streamed from the file); an older engine or a cluster gateway
gets the whole file. A song-aware reply is a plan the client renders from its own file with the engine's
own code (`engine.song_render`). See docs/interfaces.md, "Files of any length".

`prepare` sends a song and has the engine index it (IndexSong) while the user is still choosing what to do,
so the song's first song-aware edit is as quick as later ones.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, replace

import grpc
import numpy as np

from engine import clip, wire
from engine.audio import AudioError
from engine.errors import EditorError
from engine.request import EditRequest, EditResult
from engine.song_render import Patch, render_plan
from engine.window import Part, RegionError
from protos.musegenie.v1 import engine_pb2 as pb

SONG_SECONDS_PER_MINUTE = 4.0  # PutSong's deadline: the idle timeout plus this per minute of song

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PreparedSong:
    """What `SongTransport.prepare` did."""

    indexed: bool  # the engine holds the song's index now: its next song-aware edit does not build it
    built: bool  # this call built it (False: the engine had it already, or cannot hold songs)
    key: str = ""  # the song's key on the engine; "" when the engine keeps no songs
    seconds: float = 0.0  # the engine's compute time for the index
    note: str = ""  # for people, when nothing was indexed: why (and that the first edit will index it)


class SongTransport:
    """EditorClient's songs and stretches; it uses the client's stub, metadata, limits and `info()`."""

    def has_song(self, key: str, timeout: float | None = None) -> bool:
        try:
            return self._stub.GetSong(pb.SongQuery(key=key), **self._kw(timeout, unary=True)).known
        except grpc.RpcError as err:
            raise EditorError.from_rpc(err) from err

    def put_song(self, source: clip.AudioSource, key: str) -> None:
        """Send a song at the model's rate, streamed from `source`; the deadline grows with its length."""
        minutes = source.num_samples / source.sample_rate / 60
        timeout = self.timeout or self.idle_timeout
        if timeout is not None:
            timeout += SONG_SECONDS_PER_MINUTE * minutes
        part = max(1024, min(clip.PART_SAMPLES, self.max_message_bytes // 8))
        parts = clip.song_parts(source, self.info().model_sample_rate, key, part)
        try:
            self._stub.PutSong(parts, metadata=self._metadata, timeout=timeout)
        except grpc.RpcError as err:
            raise EditorError.from_rpc(err) from err

    def _stretches(self) -> bool:
        """Whether the engine takes stretches (an older engine or a cluster gateway takes whole files)."""
        return self._song_rpcs and self.info().limits.max_song_seconds > 0

    def _song(self, source: clip.AudioSource, closeness: float) -> str:
        """The song's key on the engine, sent there first if it lacks it; "" for an edit that needs none."""
        if closeness <= 0:
            return ""
        identity = source.identity()
        key = self._songs.get(identity) if identity is not None else None
        if key is None:
            key = clip.song_key(source)
            if identity is not None:
                self._songs = {**dict(list(self._songs.items())[-63:]), identity: key}
        if not self.has_song(key):
            self.put_song(source, key)
        return key

    def _check_song_length(self, source: clip.AudioSource, closeness: float) -> None:
        longest = self.info().limits.max_song_seconds
        if closeness > 0 and source.num_samples / source.sample_rate > longest:
            raise EditorError(
                "RESOURCE_EXHAUSTED",
                f"the song is {source.num_samples / source.sample_rate / 60:.1f} min long; the engine indexes "
                f"songs of at most {longest / 60:g} min: edit with closeness 0 (generated from the region's "
                "surroundings), or a shorter stretch of the song",
            )

    def _stretch(self, source: clip.AudioSource, request: EditRequest, context: bool = True) -> tuple:
        """(the stretch's Part, its audio): the region and (with `context`) its context, read alone."""
        d = self.info().defaults
        seconds = 0.0 if not context else request.context_seconds
        seconds = d.context_seconds if seconds is None else seconds
        try:
            lo, hi = clip.window_span(source, request.region, seconds, d.crossfade_ms)
        except RegionError as err:
            raise EditorError("OUT_OF_RANGE", str(err)) from err
        self.check_size(
            source.channels, hi - lo, source.sample_rate, "the region and its context", "Shorten either"
        )
        return Part(lo, source.num_samples), source.read(lo, hi)

    def _whole(self, source: clip.AudioSource) -> np.ndarray:
        """All of the source, for an engine that takes only whole files (refused first when too large)."""
        self.check_size(source.channels, source.num_samples, source.sample_rate)
        return source.read(0, source.num_samples)

    def _patch(self, source: clip.AudioSource, part: Part | None, result: EditResult) -> tuple:
        """(the changed samples, the result with its source) of an engine reply: a plan is rendered here."""
        if result.plan is None:
            return Patch(0 if part is None else part.offset, result.audio), result
        try:
            patch, where = render_plan(source.read, source.num_samples, source.sample_rate, result.plan)
        except (ValueError, IndexError) as err:  # a plan that does not fit the file: not this song's
            raise EditorError("INTERNAL", f"the engine's plan does not fit this file: {err}") from err
        where = replace(where, heard=result.source.heard)  # how the engine heard its plan
        return patch, replace(result, source=where)

    @staticmethod
    def _source(make: Callable[[], clip.AudioSource]) -> clip.AudioSource:
        try:
            return make()
        except AudioError as err:
            raise EditorError("INVALID_ARGUMENT", str(err)) from err

    def _message(self, source, request: EditRequest, kind: type) -> tuple[Part | None, object]:
        """The request on the wire: its stretch (the song sent first if the edit needs it and the engine
        lacks it) where the engine takes stretches, else the whole file."""
        if self._stretches():
            closeness = self.info().defaults.closeness if request.closeness is None else request.closeness
            self._check_song_length(source, closeness)  # before anything is read
            part, audio = self._stretch(source, request)
            try:
                part = replace(part, song=self._song(source, closeness))
                return part, wire.request_to_proto(audio, source.sample_rate, request, kind, part)
            except EditorError as err:
                if err.code != "UNIMPLEMENTED":
                    raise
                self._song_rpcs = False  # an engine without songs (a cluster gateway): whole files
        return None, wire.request_to_proto(self._whole(source), source.sample_rate, request, kind)

    # Prepare -------------------------------------------------------------------------------------------
    def prepare_file(
        self,
        path: str | os.PathLike,
        on_progress: Callable[[float, str], None] | None = None,
        timeout: float | None = None,
    ) -> PreparedSong:
        """`prepare` a file (read once to hash it and send it at the model's rate, if the engine lacks it)."""
        return self.prepare(self._source(lambda: clip.FileSource(path)), on_progress, timeout)

    def prepare(
        self,
        source: clip.AudioSource,
        on_progress: Callable[[float, str], None] | None = None,
        timeout: float | None = None,
    ) -> PreparedSong:
        """Have the engine index a song now (sent first if it lacks it), so that the song's first song-aware
        edit is as quick as later ones; `on_progress(fraction, stage)` hears "queued" and "index". An
        engine that keeps no songs (a cluster gateway, an older engine) is not an error: the result says
        nothing was indexed, and why (its first edit indexes the song instead).

        Args:
            source: the song (`engine.clip.FileSource` or `ArraySource`).
            on_progress: called with (fraction 0..1, stage) as the engine reports.
            timeout: deadline in seconds for the IndexSong call (default: the client's).
        """
        for attempt in range(2):  # the engine may drop a song between its upload and the index: send again
            if not self._stretches():
                return self._not_prepared("keeps no songs (a cluster gateway or an older engine)")
            self._check_song_length(source, 1.0)  # before the file is read
            try:
                key = self._song(source, 1.0)
            except EditorError as err:
                if err.code != "UNIMPLEMENTED":
                    raise
                self._song_rpcs = False  # a cluster gateway answers GetSong so
                return self._not_prepared("keeps no songs (a cluster gateway or an older engine)")
            try:
                return self._retrying(lambda k=key: self._index(k, on_progress, timeout))
            except EditorError as err:
                if err.code == "UNIMPLEMENTED":
                    return self._not_prepared("predates IndexSong", key)
                if err.code != "NOT_FOUND" or attempt:
                    raise
        raise AssertionError("unreachable")

    def _index(self, key: str, on_progress, timeout: float | None) -> PreparedSong:
        """One IndexSong call (gRPC errors propagate for `_retrying`)."""
        for event in self._watched(self._stub.IndexSong(pb.SongQuery(key=key), **self._kw(timeout))):
            kind = event.WhichOneof("event")
            if kind == "done":
                d = event.done
                return PreparedSong(indexed=True, built=d.built, key=d.song.key, seconds=d.seconds)
            if on_progress is not None and kind == "progress":
                on_progress(event.progress, "index")
            elif on_progress is not None:
                on_progress(0.0, "queued")
        raise EditorError("INTERNAL", "the engine closed the IndexSong stream without a done event")

    def _not_prepared(self, why: str, key: str = "") -> PreparedSong:
        note = f"the engine at {self.target} {why}: its first song-aware edit of the song indexes it"
        log.info("%s", note)
        return PreparedSong(indexed=False, built=False, key=key, note=note)
