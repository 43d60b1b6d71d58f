"""Seeded fuzzing of the gRPC server and the OSC bridge on the tiny bundle (about half a minute on 2 cores).

Hundreds of hostile requests (random bytes, random protobuf field values, NaN/Inf and absurd audio, odd
rates and channel counts, regions out of bounds, unknown actions, oversize payloads; malformed OSC type
tags, strings, bundles) must each get a status a client can act on: never INTERNAL or UNKNOWN, never no
reply. Afterwards the server still answers health and a valid edit, and its memory is back near its start.
Most requests are refused before any compute, which keeps the count high and the run short.
"""

from __future__ import annotations

import collections
import gc
import math
import queue
import struct
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import numpy as np
import pytest
from grpc_health.v1 import health_pb2
from pythonosc.osc_message_builder import build_msg

from engine.audio import save_wav
from engine.client import EditorClient
from engine.server import ServerConfig, start_server
from osc_bridge import addresses as osc
from osc_bridge.osc_client import OscClient, loopback_rig
from protos.musegenie.v1 import engine_pb2 as pb
from tests.engine.conftest import raw_call, req, stereo, tiny_pipeline  # noqa: F401 (a fixture, used by name)

SEED = 28
GRPC_REQUESTS = 560
OSC_DATAGRAMS = 340
# FAILED_PRECONDITION: a stretch of a file whose song the engine was never sent (engine.clip);
# NOT_FOUND: IndexSong of such a song
ACCEPTABLE = {
    "OK",
    "INVALID_ARGUMENT",
    "OUT_OF_RANGE",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "NOT_FOUND",
}
MAX_MESSAGE_MB = 2
EDITOR = "/musegenie.v1.Editor/"
METHODS = {  # path -> (request class, response streaming)
    EDITOR + "Edit": (pb.EditRequest, True),
    EDITOR + "Explore": (pb.ExploreRequest, True),
    EDITOR + "InferActions": (pb.InferActionsRequest, False),
    EDITOR + "GetInfo": (pb.GetInfoRequest, False),
    EDITOR + "GetSong": (pb.SongQuery, False),
    EDITOR + "IndexSong": (pb.SongQuery, True),
    "/grpc.health.v1.Health/Check": (health_pb2.HealthCheckRequest, False),
}
WEIRD_FLOATS = [math.nan, math.inf, -math.inf, -1.0, -0.0, 0.0, 5e-324, 1e308, 1e20, 0.05, 0.1, 0.3, 10.0]


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def pick(rng: np.random.Generator, values: list):
    return values[int(rng.integers(len(values)))]


# gRPC ------------------------------------------------------------------------------------------------
def random_audio(rng: np.random.Generator) -> pb.Audio:
    channels = pick(rng, [1, 2, 2, 1, 0, 3, 65, 2**32 - 1])
    rate = pick(rng, [44100, 16000, 8000, 22050, 0, 1, 999, 1000, 768_001, 2**32 - 1])
    frames = pick(rng, [0, 1, 7, 400, 4000, 8000])
    if rate >= 1000:
        frames = min(frames, rate)  # at most a second: what reaches compute stays cheap
    real = channels if 1 <= channels <= 4 else 2
    samples = (0.3 * rng.standard_normal(frames * real)).astype("<f4")
    if samples.size:
        mutation = pick(rng, ["none", "none", "nan", "inf", "-inf", "huge", "max", "denormal", "zero"])
        where = int(rng.integers(samples.size))
        value = {
            "nan": np.nan,
            "inf": np.inf,
            "-inf": -np.inf,
            "huge": 1e20,
            "max": 3.4e38,
            "denormal": 1e-45,
        }
        if mutation in value:
            samples[where] = value[mutation]
        elif mutation == "zero":
            samples[:] = 0
    pcm = samples.tobytes()
    if rng.random() < 0.1:
        pcm = pcm[: max(0, len(pcm) - int(rng.integers(1, 4)))]  # not a whole number of frames
    return pb.Audio(pcm=pcm, sample_rate=rate, channels=channels)


def random_fields(rng: np.random.Generator, kind: type) -> bytes:
    request = kind()
    if rng.random() < 0.95:
        request.audio.CopyFrom(random_audio(rng))
    if rng.random() < 0.9:
        request.region.start = pick(rng, WEIRD_FLOATS)
        request.region.end = pick(rng, WEIRD_FLOATS)
    if kind is not pb.InferActionsRequest:
        count = pick(rng, [0, 1, 1, 2, 3, 5, 1000])
        request.actions.extend(pick(rng, [0, 1, 2, 3, 4, -1, 9, 2**31 - 1, -(2**31)]) for _ in range(count))
        p = request.params
        for name, values in (
            ("steps", [0, 1, 2, -1, 1001, 2**31 - 1]),
            ("decoder_steps", [0, 1, 2, -5, 1001]),
            ("guidance", [math.nan, math.inf, -1.0, 0.0, 1.0, 3.0, 101.0, 1e38]),
            ("context_seconds", [math.nan, math.inf, -math.inf, -1.0, 0.0, 0.1, 1e308, 5e-324]),
        ):
            if rng.random() < 0.6:
                setattr(p, name, pick(rng, values))
        if not p.HasField("steps") or p.steps > 2:  # what reaches compute must stay cheap
            p.steps = pick(rng, [1, 2, 0, 1001])
        if not p.HasField("decoder_steps") or p.decoder_steps > 2:
            p.decoder_steps = pick(rng, [1, 2, -5, 1001])
        p.seed = int(rng.integers(0, 2**63))
    return request.SerializeToString()


def one_bad_field(rng: np.random.Generator, kind: type) -> bytes:
    """A valid, cheap request with at most one field made hostile: reaches the deeper checks."""
    request = kind(audio=pb.Audio(pcm=stereo(0.3).T.tobytes(), sample_rate=44100, channels=2))
    request.region.start, request.region.end = 0.1, 0.2
    if kind is not pb.InferActionsRequest:
        request.actions.append(int(rng.integers(0, 4)))
        request.params.steps, request.params.decoder_steps = 1, 1
    field = pick(rng, ["none", "start", "end", "rate", "channels", "sample", "action", "param", "param"])
    if field in ("start", "end"):
        setattr(request.region, field, pick(rng, WEIRD_FLOATS))
    elif field == "rate":
        request.audio.sample_rate = pick(rng, [0, 1, 999, 8000, 768_001, 2**32 - 1])  # 1000 Hz: 13 s
    elif field == "channels":
        request.audio.channels = pick(rng, [0, 1, 3, 4, 64, 65])
    elif field == "sample":
        samples = np.frombuffer(request.audio.pcm, "<f4").copy()
        samples[int(rng.integers(samples.size))] = pick(rng, [np.nan, np.inf, -np.inf, 1e20, 3.4e38, 1001.0])
        request.audio.pcm = samples.tobytes()
    elif field == "action" and kind is not pb.InferActionsRequest:
        request.actions[0] = pick(rng, [4, 5, -1, 2**31 - 1, -(2**31)])
    elif field == "param" and kind is not pb.InferActionsRequest:
        name, values = pick(
            rng,
            [
                ("steps", [0, -1, 1001, 2**31 - 1]),
                ("decoder_steps", [0, -1, 1001]),
                ("guidance", [math.nan, math.inf, -1.0, 101.0, 0.0, 1.0, 7.5]),
                ("context_seconds", [math.nan, math.inf, -1.0, 0.0, 1e308, 5e-324]),
            ],
        )
        setattr(request.params, name, pick(rng, values))
    return request.SerializeToString()


def random_bytes(rng: np.random.Generator, method: str) -> bytes:
    kind = METHODS[method][0]
    style = pick(rng, ["random", "truncated", "flipped"])
    if style == "random":
        return rng.integers(0, 256, int(rng.integers(0, 300)), dtype=np.uint8).tobytes()
    valid = (
        bytearray(random_fields(rng, kind)) if kind in (pb.EditRequest, pb.ExploreRequest) else bytearray()
    )
    if style == "truncated" and valid:
        return bytes(valid[: int(rng.integers(0, len(valid)))])
    for _ in range(int(rng.integers(1, 6)) if valid else 0):
        valid[int(rng.integers(len(valid)))] = int(rng.integers(256))
    return bytes(valid) + rng.integers(0, 256, int(rng.integers(0, 8)), dtype=np.uint8).tobytes()


def grpc_cases(rng: np.random.Generator, n: int) -> list[tuple[str, bytes]]:
    cases = []
    for i in range(n):
        if i % 180 == 0:  # oversize: more PCM than the server's message limit
            big = pb.Audio(pcm=b"\0" * ((MAX_MESSAGE_MB << 20) + 4096), sample_rate=44100, channels=1)
            cases.append((EDITOR + "Edit", pb.EditRequest(audio=big, actions=[0]).SerializeToString()))
        elif rng.random() < 0.35:
            method = pick(rng, list(METHODS))
            cases.append((method, random_bytes(rng, method)))
        else:
            method = pick(rng, [EDITOR + "Edit"] * 3 + [EDITOR + "Explore", EDITOR + "InferActions"])
            make = random_fields if rng.random() < 0.5 else one_bad_field
            cases.append((method, make(rng, METHODS[method][0])))
    return cases


def call(channel: grpc.Channel, method: str, payload: bytes) -> str:
    return raw_call(channel, method, payload, METHODS[method][1], timeout=60).name


@pytest.fixture(scope="module")
def engine(tiny_pipeline):  # noqa: F811
    config = ServerConfig(port=0, max_message_mb=MAX_MESSAGE_MB, max_queue=8, max_region_seconds=5.0)
    server = start_server(config=config, pipeline=tiny_pipeline)
    yield server
    server.stop(0)


def valid_edit(client: EditorClient) -> tuple[int, int]:
    return client.edit(
        stereo(0.5), 44100, req((0.1, 0.2), [1], steps=2, decoder_steps=2), timeout=60
    ).audio.shape


def test_grpc_fuzz(engine):
    rng = np.random.default_rng(SEED)
    cases = grpc_cases(rng, GRPC_REQUESTS)
    options = [("grpc.max_send_message_length", 64 << 20), ("grpc.max_receive_message_length", 64 << 20)]
    with EditorClient(engine.target, max_message_mb=64) as client:
        for _ in range(3):  # warm the arenas before taking the memory baseline
            valid_edit(client)
        gc.collect()
        baseline = rss_mb()
        channel = grpc.insecure_channel(engine.target, options=options)
        with channel, ThreadPoolExecutor(4) as pool:  # the per-client limit is 4
            codes = list(pool.map(lambda case: call(channel, *case), cases))
        tally = collections.Counter(codes)
        bad = [
            (method, payload[:60], code)
            for (method, payload), code in zip(cases, codes, strict=True)
            if code not in ACCEPTABLE
        ]
        assert not bad, f"{tally}; first: {bad[:5]}"
        assert len(codes) == GRPC_REQUESTS >= 500
        assert tally["INVALID_ARGUMENT"] > 200 and tally["OUT_OF_RANGE"] > 20 and tally["OK"] > 40, tally
        assert tally["RESOURCE_EXHAUSTED"] >= 3, tally  # at least the oversize payloads
        assert client.health() == "SERVING" and valid_edit(client) == (2, 22050)
        gc.collect()
        assert rss_mb() - baseline < 200, f"RSS grew from {baseline:.0f} to {rss_mb():.0f} MB"
        deadline = time.monotonic() + 10  # a call leaves the count when gRPC reports it over, just after
        while (engine.guard.in_flight() or engine.service.admission.waiting) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert engine.guard.in_flight() == 0 and engine.service.admission.waiting == 0


# OSC -------------------------------------------------------------------------------------------------
def bundle(*elements: bytes) -> bytes:
    return b"#bundle\0" + b"\0" * 7 + b"\1" + b"".join(struct.pack(">i", len(e)) + e for e in elements)


class Datagrams:
    """Hostile datagrams, each tagged with the id its reply must carry (None: answered with id -1)."""

    def __init__(self, rng: np.random.Generator, song: Path, junk: Path) -> None:
        self.rng, self.next_id, self.song = rng, 1000, str(song)
        self.values = [
            str(song), str(junk), "relative.wav", "/no/such/file.wav", "/" + "a" * 300 + ".wav",
            "/tmp/\u00fcnicode \u266b.wav", "", math.nan, math.inf, -math.inf, -1.0, 0.05, 0.1, 0.2, 0.3,
            3e38, 2**40, -5, 0, 1, 3, 99, 2**31 - 1, True, None, b"\x00\xff blob",
        ]  # fmt: skip
        self.addresses = [*osc.REQUESTS, "/musegenie/bogus", "/musegenie", "/", "/musegenie/edit/x"]

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id if self.rng.random() < 0.9 else 2**40 + self.next_id  # int64 ids too

    def message(self) -> tuple[bytes, int]:
        request_id = self.new_id()
        args = [pick(self.rng, self.values) for _ in range(int(self.rng.integers(0, 7)))]
        return build_msg(pick(self.rng, self.addresses), [request_id, *args]).dgram, request_id

    def plausible(self) -> tuple[bytes, int]:
        """The right address and types, with the song, and hostile numbers: reaches the engine's checks."""
        request_id = self.new_id()
        region = [
            pick(self.rng, [-1.0, 0.0, 0.1, 0.2, 0.25, 0.4, 0.5, 9.0, math.nan, math.inf]) for _ in "se"
        ]
        address = pick(self.rng, [osc.EDIT, osc.EDIT, osc.INFER, osc.EXPLORE])
        actions = [
            pick(self.rng, [0, 1, 2, 3, 4, 99, -1, 2**40]) for _ in range(int(self.rng.integers(1, 4)))
        ]
        in_path = pick(self.rng, [self.song] * 4 + ["/" + "a" * 300 + ".wav", "/tmp", "/dev/null"])
        if self.rng.random() < 0.4:  # now and then a request that should succeed, between the hostile ones
            in_path, region, actions = self.song, [0.1, 0.2], [int(self.rng.integers(0, 4))]
        args = [in_path, *region, *(actions if address == osc.EDIT else [])]
        return build_msg(address, [request_id, *args]).dgram, request_id

    def damaged(self) -> tuple[bytes, int]:
        request_id = self.new_id()
        dgram = bytearray(build_msg(osc.EDIT, [request_id, "/tmp/x.wav", 0.1, 0.2, 1]).dgram)
        tags = dgram.index(b",") + 2 + (request_id >= 2**31)  # the tags after the id's
        style = pick(self.rng, ["utf8", "tag", "truncate", "append"])
        if style == "utf8":
            dgram = dgram.replace(b"x.wav", b"\xff\xfe.wav")
        elif style == "tag":
            dgram[tags + int(self.rng.integers(0, 4))] = ord(pick(self.rng, list("Zxq!dtmrcbTFNI[]")))
        elif style == "truncate":
            dgram = dgram[: len(dgram) - int(self.rng.integers(1, 16))]
        else:
            dgram += self.rng.integers(0, 256, int(self.rng.integers(1, 12)), dtype=np.uint8).tobytes()
        return bytes(dgram), request_id

    def garbage(self) -> tuple[bytes, None]:
        body = self.rng.integers(0, 256, int(self.rng.integers(0, 200)), dtype=np.uint8).tobytes()
        return (b"" if self.rng.random() < 0.05 else pick(self.rng, [b"\x00", b"x", b"\xff"]) + body), None

    def bundled(self) -> list[tuple[bytes, int | None]]:
        style = pick(self.rng, ["nested", "nested", "many", "bad size", "several"])
        if style == "nested":
            depth = int(self.rng.integers(1, 12))
            request_id = self.new_id()
            packet = build_msg(osc.PING, [request_id]).dgram
            for _ in range(depth):
                packet = bundle(packet)
            return [(packet, request_id if depth <= 4 else None)]
        if style == "many":
            ping = build_msg(osc.PING, [self.new_id()]).dgram
            return [(bundle(*[ping] * int(self.rng.integers(65, 2200))), None)]
        if style == "bad size":
            ping = build_msg(osc.PING, [self.new_id()]).dgram
            packet = bytearray(bundle(ping))
            packet[16:20] = struct.pack(">i", pick(self.rng, [-4, 0, 3, 4096]))
            return [(bytes(packet), None)]
        ids = [self.new_id() for _ in range(int(self.rng.integers(2, 6)))]
        return [(bundle(*[build_msg(osc.PING, [i]).dgram for i in ids]), ids)]

    def all(self, n: int) -> list[tuple[bytes, int | list[int] | None]]:
        out: list = []
        while len(out) < n:
            kind = pick(
                self.rng, ["message"] * 3 + ["plausible"] * 2 + ["damaged"] * 3 + ["garbage", "bundled"]
            )
            out.extend(self.bundled() if kind == "bundled" else [getattr(self, kind)()])
        return out


def test_osc_fuzz(engine, tmp_path):
    rng = np.random.default_rng(SEED + 1)
    song = save_wav(tmp_path / "song.wav", stereo(0.5), 44100)
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"RIFF this is not audio" * 20)
    datagrams = Datagrams(rng, song, junk).all(OSC_DATAGRAMS)
    finals = {osc.PONG, osc.INFERRED, osc.DONE, osc.ERROR}
    codes: collections.Counter[str] = collections.Counter()
    addresses: collections.Counter[str] = collections.Counter()
    with loopback_rig(engine.target, tmp_path / "out", workers=2) as (bridge, max_patch):
        for start in range(0, len(datagrams), 8):  # small batches: no reply is lost to a full socket buffer
            batch = datagrams[start : start + 8]
            for dgram, _ in batch:
                max_patch.send_raw(dgram)
            for dgram, expect in batch:
                ids = expect if isinstance(expect, list) else [-1 if expect is None else expect]
                for request_id in ids:
                    replies = final_replies(max_patch, request_id, finals)
                    address, args = replies[-1]
                    assert address in finals, (dgram[:80], replies)
                    addresses[address] += 1
                    if address == osc.ERROR:
                        codes[args[0]] += 1
                        assert args[0] in ACCEPTABLE, (dgram[:80], args)
        assert set(max_patch._inbox) - {-1} <= {i for _, e in datagrams for i in _ids(e)}
        assert max_patch._inbox.get(-1, queue.Queue()).empty()  # exactly one error per id-less datagram
        assert len(datagrams) >= 300 and codes["INVALID_ARGUMENT"] > 150 and codes["OUT_OF_RANGE"] > 5, codes
        assert addresses[osc.DONE] > 5 and addresses[osc.INFERRED] and addresses[osc.PONG] > 20, addresses
        assert max_patch.call(osc.PING)[-1] == (osc.PONG, ["SERVING"])
        assert max_patch.call(osc.EDIT, str(song), 0.1, 0.2, 1, timeout=60)[-1][0] == osc.DONE
    assert not list((tmp_path / "out").glob(".*.tmp"))


def _ids(expect) -> list[int]:
    return expect if isinstance(expect, list) else [] if expect is None else [expect]


def final_replies(max_patch: OscClient, request_id: int, finals: set[str]) -> list:
    """Replies to `request_id` up to the final one (progress and variants come first)."""
    box, got, deadline = max_patch._box(request_id), [], time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            got.append(box.get(timeout=0.5))
        except queue.Empty:
            continue
        if got[-1][0] in finals:
            return got
    raise AssertionError(f"no final reply for id {request_id} within 60 s; got {got}")
