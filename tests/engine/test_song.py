"""Song-aware edits (engine.song, engine.song_plan, engine.song_edit): the plan takes the song's own
material with the asked-for actions and never the region; the pipeline renders it bit-exactly from the
input, reports where it came from, caches the song, and generates where nothing qualifies."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from engine import song_plan
from engine.request import EditRequest, EditSettings, Heard, Source
from engine.song import FEATURE_HOP, SongCache, SongIndex, matching_features, song_key, song_mel
from engine.song_plan import plan_takes, side_costs
from engine.window import EditError
from engine.wire import source_from_proto, source_to_proto
from tests.engine.conftest import best_plan, req

SR = 16000
HOP, CHUNK = 2048, 8  # the shipped bundle's geometry: a slot is 1.024 s
UNIT = HOP * CHUNK


def motif_song(bars: int, seed: int = 0) -> np.ndarray:
    """(N,) a 1.024 s bar of four distinct notes with attacks, repeated `bars` times, and a little noise."""
    t = np.arange(UNIT // 4) / SR
    envelope = np.exp(-6 * t)
    notes = [np.sin(2 * np.pi * f * t) * envelope for f in (220, 330, 262, 392)]
    bar = np.concatenate(notes)
    noise = 0.01 * np.random.default_rng(seed).standard_normal(bars * UNIT)
    return (0.4 * np.tile(bar, bars) + noise).astype(np.float32)


def index_of(signal: np.ndarray, actions: np.ndarray | None = None, heard=None, readings=None) -> SongIndex:
    """An index of `signal` whose LAM reads `actions` (T,) in every window, or `readings` (T, R)."""
    frames = -(-len(signal) // HOP)
    if readings is None:
        readings = (np.zeros(frames, np.int64) if actions is None else actions)[:, None]
    return SongIndex(
        key=song_key(signal[None], SR),
        sample_rate=SR,
        num_samples=len(signal),
        model_rate=SR,
        features=matching_features(song_mel(signal, SR)),
        hop=HOP,
        chunk_frames=CHUNK,
        readings=readings,
        heard=heard,
    )


def test_a_repeat_elsewhere_in_the_song_is_found_and_the_region_is_never_material():
    song = motif_song(12)
    region = (6 * UNIT, 8 * UNIT)  # two bars in the middle
    plan = best_plan(index_of(song), region, 2 * UNIT, np.zeros(2 * CHUNK, np.int64), margin=480)
    assert plan is not None and len(plan.pieces) == 1  # one passage: a repeat, not a patchwork
    source = plan.pieces[0].source
    assert source % UNIT < FEATURE_HOP * 2 or UNIT - source % UNIT < FEATURE_HOP * 2  # on the bar grid
    assert source + 2 * UNIT + 480 <= region[0] or source - 480 >= region[1]
    assert plan.ratio < 0.5  # far better than a typical stretch of the song


def test_side_costs_score_every_candidate_as_its_own_window_would(monkeypatch):
    monkeypatch.setattr(song_plan, "RUN", 7)  # runs of starts that do not divide the song evenly
    features = np.random.default_rng(3).normal(0, 10, (6, 101)).astype(np.float32)  # (M, F)
    width, template_first = 5, 40
    firsts = np.arange(-3, 101)  # both phases, and candidates that leave the song on either side
    span = song_plan.STEP * (width - 1)
    template = features[:, template_first : template_first + span + 1 : song_plan.STEP]
    expected = [
        np.abs(features[:, f : f + span + 1 : song_plan.STEP] - template).mean()
        if f >= 0 and f + span < 101
        else np.nan
        for f in firsts
    ]
    np.testing.assert_allclose(side_costs(features, template_first, firsts, width), expected, rtol=1e-5)


def test_the_asked_action_decides_which_material_fills_the_region():
    song = motif_song(12)
    actions = np.zeros(-(-len(song) // HOP), np.int64)
    actions[2 * CHUNK : 4 * CHUNK] = 3  # bars 2-3 carry action 3, the rest action 0
    region = (7 * UNIT, 8 * UNIT)
    plan = best_plan(index_of(song, actions), region, UNIT, np.full(CHUNK, 3), margin=480)
    assert plan is not None and plan.mismatch <= 0.25
    for piece in plan.pieces:
        assert 2 * UNIT - 2 * FEATURE_HOP <= piece.source < 4 * UNIT
    assert best_plan(index_of(song, actions), region, UNIT, np.full(CHUNK, 5)) is None  # nowhere in it


def test_the_seam_weighs_the_quarter_second_before_the_material(monkeypatch):
    song = motif_song(16)
    edge = UNIT // 4
    song[3 * UNIT - edge : 3 * UNIT] = 0.3 * np.random.default_rng(1).standard_normal(edge)  # a burst
    song[10 * UNIT : 11 * UNIT - edge] *= 0.25  # quieter long before bar 11, the last quarter second not
    actions = np.zeros(-(-len(song) // HOP), np.int64)
    actions[3 * CHUNK : 4 * CHUNK] = 3  # bar 3 (after the burst) and bar 11 carry the action asked
    actions[11 * CHUNK : 12 * CHUNK] = 3
    index, region, wanted = index_of(song, actions), (7 * UNIT, 8 * UNIT), np.full(CHUNK, 3)
    sources = {}
    for weight in (0.0, 1.0):
        monkeypatch.setattr(song_plan, "EDGE_WEIGHT", weight)
        plan = best_plan(index, region, UNIT, wanted, margin=480)
        sources[weight] = plan.pieces[0].source
    # over the whole second before, bar 11's quieter lead-in is the worse fit; at the seam it is the better
    assert abs(sources[0.0] - 11 * UNIT) > UNIT // 2
    assert abs(sources[1.0] - 11 * UNIT) < 2 * FEATURE_HOP


def test_material_is_judged_by_the_lam_readings_from_every_window_offset():
    song = motif_song(12)
    frames = -(-len(song) // HOP)
    readings = np.zeros((frames, 4), np.int8)
    readings[2 * CHUNK : 4 * CHUNK] = 3  # bars 2-3: action 3 however the LAM's windows fall
    readings[9 * CHUNK : 11 * CHUNK, 0] = 3  # bars 9-10: action 3 only in windows from the song's start
    index = index_of(song, readings=readings)
    region, wanted = (6 * UNIT, 7 * UNIT), np.full(CHUNK, 3)
    plan = best_plan(index, region, UNIT, wanted, margin=480)
    assert plan is not None
    for piece in plan.pieces:
        assert 2 * UNIT - 2 * FEATURE_HOP <= piece.source < 4 * UNIT  # never bars 9-10
    readings[2 * CHUNK : 4 * CHUNK, 1:] = 0  # now no stretch reads 3 in most windows: nothing qualifies
    assert best_plan(index_of(song, readings=readings), region, UNIT, wanted) is None


def test_seeds_give_other_takes_and_the_same_seed_the_same():
    song = motif_song(12)
    region, wanted = (6 * UNIT, 8 * UNIT), np.zeros(2 * CHUNK, np.int64)
    takes = [best_plan(index_of(song), region, UNIT, wanted, seed=s) for s in (0, 0, 1, 2, 3)]
    assert takes[0] == takes[1]
    assert len({t.pieces for t in takes}) > 1


def test_takes_are_distinct_chains_and_the_first_is_the_plan():
    song = motif_song(12)
    region, wanted = (6 * UNIT, 8 * UNIT), np.zeros(2 * CHUNK, np.int64)
    takes = plan_takes(index_of(song), region, UNIT, wanted, margin=480, takes=6)
    assert takes[0] == best_plan(index_of(song), region, UNIT, wanted, margin=480)
    assert len(takes) == 6 and len({t.pieces for t in takes}) == 6
    for take in takes:  # none of them is the region
        assert all(
            p.source + 2 * UNIT + 480 <= region[0] or p.source - 480 >= region[1] for p in take.pieces[:1]
        )


def test_players_cannot_be_matched_without_an_estimator():
    song = motif_song(6)
    players = np.ones((CHUNK, 2), np.float32)
    assert best_plan(index_of(song), (3 * UNIT, 4 * UNIT), UNIT, np.zeros(CHUNK), players) is None


def test_cache_builds_each_song_once_and_keeps_the_newest():
    cache, built = SongCache(size=2), []

    def build(name):
        built.append(name)
        return name

    assert cache.get("a", lambda: build("a")) == ("a", False)
    assert cache.get("a", lambda: build("a")) == ("a", True)
    cache.get("b", lambda: build("b"))
    cache.get("c", lambda: build("c"))
    assert len(cache) == 2 and cache.get("a", lambda: build("a")) == ("a", False)
    assert built == ["a", "b", "c", "a"]


def test_cache_says_which_songs_are_being_built_and_forgets_a_failed_build():
    import threading

    cache, started, release = SongCache(size=2), threading.Event(), threading.Event()

    def slow() -> str:
        started.set()
        release.wait(5)
        return "index"

    builder = threading.Thread(target=cache.get, args=("a", slow))
    builder.start()
    assert started.wait(5) and cache.building("a") and "a" not in cache  # an edit of "a" would wait for it
    release.set()
    builder.join(5)
    assert not cache.building("a") and "a" in cache

    def fail() -> str:
        raise RuntimeError("cancelled")

    with pytest.raises(RuntimeError):
        cache.get("b", fail)
    assert not cache.building("b") and "b" not in cache
    assert cache.get("b", lambda: "index b") == ("index b", False)  # the next request builds it


def test_closeness_is_checked_and_sources_cross_the_wire():
    from engine.bundle import Defaults

    with pytest.raises(EditError, match="closeness"):
        EditSettings.resolve(Defaults(), EditRequest((0, 1), (0,), closeness=1.5))
    assert EditSettings.resolve(Defaults(), EditRequest((0, 1), (0,))).closeness == Defaults().closeness
    source = Source("song", 42.0, 46.0, pieces=((42.0, 43.0), (70.5, 73.5)))
    assert source.text == "song 0:42.0-0:43.0 + 1:10.5-1:13.5"
    assert source_from_proto(source_to_proto(source)) == source
    assert Source("generated", reason="no passage").text == "generated (no passage)"
    heard = Heard(4, 3, 6 / 7, ("trumpet",), ("sax",))  # as the engine hears the region it returns
    for heard_source in (replace(source, heard=heard), Source("generated", heard=Heard(players=1.0))):
        assert source_from_proto(source_to_proto(heard_source)) == heard_source
    assert replace(source, heard=heard).text == (
        "song 0:42.0-0:43.0 + 1:10.5-1:13.5; asked action heard in 3 of 4 chunks; not heard: trumpet; "
        "still heard: sax"
    )
    assert Source("generated", heard=Heard(players=1.0)).text == "generated; who plays heard as asked"
    assert Heard(4, 3, 0.5).agreement == 0.625 and Heard().agreement == 0.0


# Through the pipeline, on the tiny bundle -------------------------------------------------------------
def test_the_index_reads_the_song_in_windows_from_every_offset(tiny_pipeline):
    from engine import song_edit

    song = motif_song(12, seed=4)
    index, _ = tiny_pipeline.songs.index(song[None], SR)
    b = tiny_pipeline.bundle
    assert index.readings.shape == (len(index.frame_actions), len(song_edit.READ_OFFSETS))
    padded = np.zeros(tiny_pipeline.songs.padded_length(len(song)), np.float32)
    padded[: len(song)] = song
    latents = tiny_pipeline.songs._encode(padded)[0]  # (T, D)
    per, shift = song_edit.INDEX_CHUNKS * b.chunk_frames, song_edit.READ_OFFSETS[1] * b.chunk_frames
    windows = (len(latents) - shift) // per
    lam = tiny_pipeline.runtime["lam_encoder"]
    inputs = {"latents": latents[shift : shift + windows * per].reshape(windows, per, -1)}
    if "instruments" in lam.input_types:
        players = tiny_pipeline.context_instruments(index.heard, len(latents))[0]
        inputs["instruments"] = players[shift : shift + windows * per].reshape(windows, per, -1)
    direct = np.repeat(lam.run(**inputs)["actions"].reshape(-1), b.chunk_frames)
    assert np.array_equal(index.readings[shift : shift + windows * per, 1], direct)


def test_a_cancelled_index_of_a_sent_song_leaves_the_song_for_the_next_request(tiny_pipeline):
    from engine.song_upload import Upload

    songs = tiny_pipeline.songs
    padded = np.zeros(songs.padded_length(6 * UNIT), np.float32)
    padded[: 6 * UNIT] = motif_song(6, seed=5)
    upload = Upload("f" * 32, padded, SR, 6 * UNIT)
    songs.uploads.release(0, upload)

    def cancel(fraction: float) -> None:
        raise RuntimeError("client gave up")

    with pytest.raises(RuntimeError, match="gave up"):
        songs.index_uploaded(upload.key, cancel)
    assert songs.has(upload.key) and upload.key not in songs.cache
    index, cached = songs.index_uploaded(upload.key)
    assert not cached and index.key == upload.key and upload.key not in songs.uploads


def test_pipeline_edit_takes_the_songs_material_bit_exactly(tiny_pipeline, monkeypatch):
    from engine import song_edit

    monkeypatch.setattr(song_edit, "JOIN_RAMP_S", 0.0)  # a changed request's edges are eased (test above)
    song = np.stack([motif_song(8, seed=1), 0.5 * motif_song(8, seed=2)])  # (2, N) stereo at 16 kHz
    region = (4 * UNIT / SR, 5 * UNIT / SR)
    index, cached = tiny_pipeline.songs.index(song, SR)
    common = int(np.bincount(index.frame_actions).argmax())  # an action the song surely has
    result = tiny_pipeline.edit(song, SR, req(region, [common], closeness=1.0, context_seconds=1.0))
    assert result.source.kind == "song"
    start, end = (round(r * SR) for r in region)
    fade = round(0.03 * SR)
    out = result.audio
    assert np.array_equal(out[:, : start - fade], song[:, : start - fade])
    assert np.array_equal(out[:, end + fade :], song[:, end + fade :])
    first = round(result.source.start * SR)  # the first stretch's material, both channels, as it was
    assert not (start - fade < first < end + fade)
    length = end - start  # one passage fills the region; a patchwork's first piece until the next fades in
    if result.source.pieces:
        length = round((result.source.pieces[0][1] - result.source.pieces[0][0]) * SR) - fade
    assert np.array_equal(out[:, start : start + length], song[:, first : first + length])
    assert not cached and tiny_pipeline.songs.index(song, SR) == (index, True)  # built once, then cached


def test_a_changed_request_gets_the_take_the_lam_reads_as_asked(tiny_pipeline, monkeypatch):
    """Every take but the estimate's first is read as asked: the edit is the second, read beside the first
    in the first round on two cores (after it on one: the same edit), and the search stops there. A request
    that keeps the region's reading is not checked."""
    from engine import song_edit

    song = motif_song(12, seed=6)[None]
    region = (6 * UNIT / SR, 8 * UNIT / SR)
    index, _ = tiny_pipeline.songs.index(song, SR)
    asked = int(np.bincount(index.frame_actions).argmax())  # an action the song surely has
    other = (asked + 1) % tiny_pipeline.bundle.num_actions
    real, reads, first = tiny_pipeline.infer_actions, [], []

    def reading(audio, sample_rate, span, checked=False, part=None):  # the region as it is: `other`
        return [{**c, "action": other} for c in real(audio, sample_rate, span, checked, part)]

    def read_back(index, span, fade, plan, wanted, players=None):  # as asked unless the estimate's first
        reads.append(plan.pieces)
        return Heard(2, 0) if not first or plan.pieces == first[0] else Heard(2, 2)

    monkeypatch.setattr(tiny_pipeline, "infer_actions", reading)
    monkeypatch.setattr(tiny_pipeline.songs, "read_back", read_back)
    monkeypatch.setattr(song_edit, "CHECK_TAKES", 8)
    monkeypatch.setattr(song_edit, "CHECK_READS", 1)  # the estimate's first take, read and kept
    request = req(region, [asked], closeness=1.0, context_seconds=1.0)
    alone = tiny_pipeline.edit(song, SR, request)
    assert alone.source.kind == "song" and len(reads) == 1
    first.append(reads.pop())
    monkeypatch.setattr(song_edit, "CHECK_READS", 4)
    edits = []
    for workers in (2, 1):  # the takes of a round read side by side, or one after the other
        monkeypatch.setattr(tiny_pipeline.runtime, "side_by_side_workers", lambda w=workers: w)
        edits.append(tiny_pipeline.edit(song, SR, request))
        assert len(reads) == 2 and first[0] in reads and reads[0] != reads[1]
        reads.clear()
    assert edits[0].source == edits[1].source != alone.source and edits[0].source.heard.agreement == 1.0
    assert np.array_equal(edits[0].audio, edits[1].audio)
    kept = tiny_pipeline.edit(song, SR, req(region, [other], closeness=1.0, context_seconds=1.0))
    assert not reads and kept.source.kind == "song"  # nothing the request changes: nothing to check


def test_takes_are_read_side_by_side_as_one_after_the_other(tiny_pipeline, monkeypatch):
    """Reading the takes two at a time, each on its own single-threaded sessions, gives the same edit and
    the same reading as reading them one by one; the estimate ranks the takes by the share of asked chunks
    it reads as asked, ties by the probability it gives the asked action."""
    from engine import song_edit

    song = motif_song(12, seed=8)[None]
    region = (5 * UNIT / SR, 7 * UNIT / SR)
    index, _ = tiny_pipeline.songs.index(song, SR)
    monkeypatch.setattr(song_edit, "CHECK_READS", 6)
    results = {}
    for action in range(tiny_pipeline.bundle.num_actions):
        request = req(region, [action], closeness=1.0, context_seconds=1.0)
        for workers in (2, 1):
            monkeypatch.setattr(tiny_pipeline.runtime, "side_by_side_workers", lambda w=workers: w)
            results[action, workers] = tiny_pipeline.edit(song, SR, request)
        two, one = results[action, 2], results[action, 1]
        assert two.source == one.source and np.array_equal(two.audio, one.audio)
    assert any(r.source.kind == "song" and r.source.heard is not None for r in results.values())

    songs, reads = tiny_pipeline.songs, []
    real_estimates, ranked = songs.estimates, {}

    def estimates(index, span, plans, frame_actions, asked):
        share, likely = ranked["estimate"] = real_estimates(index, span, plans, frame_actions, asked)
        ranked["plans"] = plans
        return share, likely

    def read_back(index, span, fade, plan, wanted, players=None):  # none as asked: every take is read
        reads.append(plan)
        return Heard(2, 0)

    monkeypatch.setattr(songs, "estimates", estimates)
    monkeypatch.setattr(songs, "read_back", read_back)
    monkeypatch.setattr(tiny_pipeline.runtime, "side_by_side_workers", lambda: 1)
    action = int(np.bincount(index.frame_actions).argmax())
    tiny_pipeline.edit(song, SR, req(region, [action], closeness=1.0, context_seconds=1.0))
    share, likely = ranked["estimate"]
    assert len(reads) == min(6, len(share)) > 1
    read = [next(i for i, plan in enumerate(ranked["plans"]) if plan is r) for r in reads]
    keys = [(-share[i], -likely[i]) for i in read]
    assert keys == sorted(keys) and read == list(np.lexsort((-likely, -share))[: len(read)])
    # the asked action is the most likely one where it is read, never where it is not
    assert (likely[share == 0] < 0.5).all() and (
        likely[share == 1] >= 1 / tiny_pipeline.bundle.num_actions
    ).all()


def test_a_take_is_read_back_as_infer_actions_reads_the_edit(tiny_pipeline):
    """At the model rate (mono 16 kHz) the check's reading of a take is exactly what `infer_actions` reads
    from the edit the engine returns."""
    from engine import song_edit
    from engine.window import spread_actions

    song = motif_song(12, seed=7)[None]
    region = (5 * UNIT / SR, 7 * UNIT / SR)
    songs = tiny_pipeline.songs
    index, _ = songs.index(song, SR)
    prepared = tiny_pipeline.prepare(song, SR, region, 1.0, encode=False)
    settings = tiny_pipeline.settings(req(region, [0], closeness=1.0, context_seconds=1.0))
    frames = prepared.window.frame_end - prepared.window.frame_start
    span = (prepared.window.start, prepared.window.end)  # the model rate is the input's
    compared, eased = 0, {False: 0, True: 0}
    for action in range(tiny_pipeline.bundle.num_actions):
        wanted = spread_actions([action], frames)
        plan = songs.plan(prepared, wanted, None, settings, 0).plan
        if plan is None:
            continue
        audio, _ = songs.render(prepared, plan)
        read = [c["action"] for c in tiny_pipeline.infer_actions(audio, SR, region)]
        changed = wanted != songs._reading(prepared, frames)
        assert plan.join_ramp == (song_edit.JOIN_RAMP_S if changed.any() else 0.0)  # only a change is eased
        assert songs.song_plan(prepared, plan).join_ramp == plan.join_ramp
        eased[changed.any()] += 1
        asked = song_edit.asked_chunks(wanted, np.ones(frames, bool), tiny_pipeline.bundle.chunk_frames)
        assert songs.read_back(index, span, prepared.window.fade, plan, asked).agreement == np.mean(
            np.array(read) == action
        )
        compared += 1
    assert compared > 0 and eased[True] > 0


def test_every_edit_says_how_the_lam_reads_it_against_the_request(tiny_pipeline):
    """`source.heard` of an edit, the song's material or generated, is `infer_actions`' reading of the
    region it returns (as `eval edit` reads it): the chunks the request changes and those read as asked. A
    request that changes nothing reads nothing."""
    from engine import song_edit
    from engine.window import spread_actions

    song = motif_song(12, seed=7)[None]
    region = (5 * UNIT / SR, 7 * UNIT / SR)
    shown = [c["action"] for c in tiny_pipeline.infer_actions(song, SR, region)]
    kept = tiny_pipeline.edit(song, SR, req(region, shown, closeness=1.0, context_seconds=1.0))
    assert kept.source.heard is None and "heard" not in kept.source.text
    frames = len(kept.frame_actions)
    kinds = set()
    for closeness, actions in ((1.0, range(tiny_pipeline.bundle.num_actions)), (0.0, range(2))):
        for action in actions:
            asked = song_edit.asked_chunks(
                spread_actions([action], frames),
                spread_actions([action], frames) != spread_actions(shown, frames),
                tiny_pipeline.bundle.chunk_frames,
            )
            if not (asked >= 0).any():
                continue
            edit = tiny_pipeline.edit(
                song, SR, req(region, [action], closeness=closeness, context_seconds=1.0)
            )
            reading = tiny_pipeline.infer_actions(edit.audio, SR, region, checked=True)  # untrained: loud
            read = np.array([c["action"] for c in reading])
            heard = edit.source.heard
            assert (heard.chunks, heard.as_asked) == ((asked >= 0).sum(), (read == asked).sum())
            assert heard.players is None and edit.source.text.endswith(heard.text)
            kinds.add(edit.source.kind)
    assert kinds == {"song", "generated"}


def test_pipeline_generates_at_closeness_zero_and_says_why_otherwise(tiny_pipeline):
    song = motif_song(6, seed=3)[None]
    region = (2 * UNIT / SR, 3 * UNIT / SR)
    generated = tiny_pipeline.edit(song, SR, req(region, [1], closeness=0.0, context_seconds=1.0))
    assert replace(generated.source, heard=None) == Source("generated")
    strict = tiny_pipeline.edit(song, SR, req(region, [1], closeness=1e-6, context_seconds=1.0))
    assert strict.source.kind == "generated" and strict.source.reason  # nothing fits that well


def test_a_long_song_is_encoded_in_blocks_side_by_side_as_one_after_the_other(tiny_bundle, monkeypatch):
    """On CPU with two threads the blocks run side by side on a single-threaded session of the encoder;
    the latents are those of the same blocks encoded one after the other."""
    from engine import song_edit
    from engine.bundle import load_bundle
    from engine.pipeline import Pipeline
    from engine.runtime import Runtime, RuntimeConfig

    pipeline = Pipeline(Runtime(load_bundle(tiny_bundle), RuntimeConfig(providers="cpu", intra_op_threads=2)))
    monkeypatch.setattr(song_edit, "ENCODE_CHUNKS", 2)
    mono = np.resize(
        motif_song(4, seed=4), 9 * pipeline.bundle.chunk_samples
    )  # (P,) 5 blocks, the last short
    side_by_side = pipeline.songs._encode(mono)  # (1, T, D)
    graph, workers = pipeline.runtime.side_by_side("tokenizer_encoder")
    assert workers == 2 and graph is not pipeline.runtime["tokenizer_encoder"]
    assert graph.session.get_session_options().intra_op_num_threads == 1
    one_by_one = pipeline.runtime.side_by_side
    monkeypatch.setattr(pipeline.runtime, "side_by_side", lambda name: (pipeline.runtime[name], 1))
    sequential = pipeline.songs._encode(mono)
    assert (
        side_by_side.shape == sequential.shape == (1, 9 * pipeline.bundle.chunk_frames, side_by_side.shape[2])
    )
    np.testing.assert_allclose(side_by_side, sequential, atol=1e-5)
    assert one_by_one("tokenizer_encoder")[0] is graph  # made once
