"""engine.pipeline and engine.runtime: region maths, action spreading, crossfades, and real edits on the
tiny bundle in onnxruntime (stitching is bit-exact, seeds are deterministic, actions matter)."""

from __future__ import annotations

import numpy as np
import pytest

from engine import audio as audio_io
from engine.runtime import resolve_providers
from engine.window import (
    EditError,
    RegionError,
    action_probabilities,
    crossfade_gains,
    plan_window,
    spread_actions,
    stitch,
)
from tests.engine.conftest import FAST, req, stereo

SR = 44100


def plan(n: int, region: tuple[float, float], context: float = 1.0, sr: int = SR, fade_ms: float = 30.0):
    return plan_window(n, sr, region, context, fade_ms, model_rate=16000, hop=32, chunk_frames=4)


# Pure logic -------------------------------------------------------------------------------------------
def test_window_clips_context_at_file_edges_and_pads_to_chunks():
    w = plan(3 * SR, (0.5, 1.0), context=1.0)
    assert (w.start, w.end) == (SR // 2, SR)
    assert (w.window_start, w.window_end) == (0, 2 * SR)  # clipped at 0, full context after
    assert w.model_length == 32000 and w.padded_length % (32 * 4) == 0 and w.padded_length >= w.model_length
    assert w.model_start == 8000 and w.model_end == 16000
    assert (w.frame_start, w.frame_end) == (250, 500)
    assert w.fade == round(0.03 * SR)
    late = plan(3 * SR, (2.5, 3.0), context=1.0)
    assert (late.window_start, late.window_end) == (int(1.5 * SR), 3 * SR)


def test_frames_cover_every_region_sample():
    w = plan(SR, (0.10001, 0.2), context=0.05)
    hop = 32
    assert w.frame_start * hop <= w.model_start and w.frame_end * hop >= w.model_end


@pytest.mark.parametrize(
    ("region", "message"),
    [
        ((0.5, 0.5), "not after its start"),
        ((0.6, 0.5), "not after its start"),
        ((-0.1, 0.5), "before the start"),
        ((0.5, 3.5), "beyond the end"),
        ((float("nan"), 1.0), "not finite"),
        ((0.5, 0.50001), "shorter than one sample"),
    ],
)
def test_bad_regions_raise_region_error(region, message):
    with pytest.raises(RegionError, match=message):
        plan(3 * SR, region)


def test_region_ending_exactly_at_the_end_is_fine():
    w = plan(3 * SR, (2.0, 3.0))
    assert w.end == 3 * SR and w.window_end == 3 * SR


def test_one_action_fills_the_region_and_several_are_spread_evenly():
    assert spread_actions([2], 5).tolist() == [2] * 5
    assert spread_actions([0, 1, 3], 9).tolist() == [0, 0, 0, 1, 1, 1, 3, 3, 3]
    uneven = spread_actions([0, 1], 5).tolist()
    assert uneven == [0, 0, 0, 1, 1]
    with pytest.raises(EditError, match="only 2"):
        spread_actions([0, 1, 2], 2)
    with pytest.raises(EditError, match="no action"):
        spread_actions([], 4)


def test_action_probabilities_are_a_softmax_over_the_last_axis_even_for_huge_logits():
    logits = np.array([[[0.0, np.log(3.0)], [1000.0, 1000.0]], [[-2000.0, 0.0], [5.0, 5.0 + np.log(0.25)]]])
    probs = action_probabilities(logits.astype(np.float32))  # (2, 2, 2), float32 as the LAM gives them
    assert probs.dtype == np.float64 and np.all(np.isfinite(probs))
    np.testing.assert_allclose(probs.sum(axis=-1), 1.0, atol=1e-12)
    np.testing.assert_allclose(probs[0, 0], [0.25, 0.75], atol=1e-6)
    np.testing.assert_allclose(probs[0, 1], [0.5, 0.5], atol=1e-12)
    np.testing.assert_allclose(probs[1, 0], [0.0, 1.0], atol=1e-12)
    np.testing.assert_allclose(probs[1, 1], [0.8, 0.2], atol=1e-6)


def test_crossfade_is_equal_power_and_monotonic():
    old, new = crossfade_gains(64)
    np.testing.assert_allclose(old**2 + new**2, 1.0, atol=1e-12)
    assert np.all(np.diff(new) > 0) and np.all(np.diff(old) < 0)
    assert new[0] < 0.05 and new[-1] > 0.999


def test_stitch_is_bit_exact_outside_region_and_fades():
    rng = np.random.default_rng(0)
    original = rng.standard_normal((2, 1000)).astype(np.float32)
    generated = rng.standard_normal(1000).astype(np.float32)
    out = stitch(original, generated, 400, 600, 50)
    assert np.array_equal(out[:, :350], original[:, :350]) and np.array_equal(out[:, 650:], original[:, 650:])
    assert np.array_equal(out[0, 400:600], generated[400:600]) and np.array_equal(
        out[1, 400:600], generated[400:600]
    )
    assert not np.array_equal(out[:, 350:400], original[:, 350:400])
    # fades clip at the limits where `generated` is valid
    clipped = stitch(original, generated, 400, 600, 50, limits=(380, 610))
    assert np.array_equal(clipped[:, :380], original[:, :380]) and np.array_equal(
        clipped[:, 610:], original[:, 610:]
    )
    at_edges = stitch(original, generated, 0, 1000, 50)
    assert np.array_equal(at_edges[1], generated)


def test_provider_resolution():
    assert resolve_providers("auto")[-1] == "CPUExecutionProvider"
    assert resolve_providers("cpu") == ["CPUExecutionProvider"]
    assert resolve_providers(["CPUExecutionProvider"]) == ["CPUExecutionProvider"]
    with pytest.raises(ValueError, match="not installed"):
        resolve_providers("nosuch,cpu")


# Real edits on the tiny bundle ------------------------------------------------------------------------
def changed_span(a: np.ndarray, b: np.ndarray) -> tuple[int, int]:
    idx = np.nonzero((a != b).any(axis=0))[0]
    return int(idx.min()), int(idx.max()) + 1


def test_edit_stereo_44k_is_bit_identical_outside_region_and_deterministic(tiny_pipeline):
    x = stereo(1.0)
    fade = round(tiny_pipeline.bundle.defaults.crossfade_ms * SR / 1000)
    y = tiny_pipeline.edit(x, SR, req((0.4, 0.6), ["solo"], seed=7)).audio
    assert y.shape == x.shape and y.dtype == np.float32 and np.isfinite(y).all()
    lo, hi = changed_span(x, y)
    assert lo >= round(0.4 * SR) - fade and hi <= round(0.6 * SR) + fade
    assert np.array_equal(y[:, :lo], x[:, :lo]) and np.array_equal(y[:, hi:], x[:, hi:])
    region = slice(round(0.4 * SR), round(0.6 * SR))
    assert np.array_equal(y[0, region], y[1, region])  # the mono edit is written into every channel
    assert np.abs(y[:, region] - x[:, region]).mean() > 1e-3
    again = tiny_pipeline.edit(x, SR, req((0.4, 0.6), ["solo"], seed=7)).audio
    assert np.array_equal(y, again)
    other_seed = tiny_pipeline.edit(x, SR, req((0.4, 0.6), ["solo"], seed=8)).audio
    assert not np.array_equal(y, other_seed)
    other_action = tiny_pipeline.edit(x, SR, req((0.4, 0.6), ["drop"], seed=7)).audio
    assert not np.array_equal(y[:, region], other_action[:, region])


def test_actions_by_name_and_id_agree_and_are_spread(tiny_pipeline):
    x = stereo(0.5, sr=16000)[:1]  # mono at the model rate
    result = tiny_pipeline.edit(x, 16000, req((0.1, 0.3), ["louder", "drop"], seed=1))
    by_name, frames = result.audio, result.frame_actions
    by_id = tiny_pipeline.edit(x, 16000, req((0.1, 0.3), [0, 3], seed=1)).audio
    assert np.array_equal(by_name, by_id)
    half = len(frames) // 2
    assert set(frames[:half].tolist()) == {0} and set(frames[-half:].tolist()) == {3}
    assert len(frames) == 0.2 * 16000 / 32  # 100 frames of 2 ms


def test_edit_at_the_file_edges_and_with_guidance_extremes(tiny_pipeline):
    x = stereo(0.5, sr=22050)
    for region in ((0.0, 0.1), (0.4, 0.5)):
        for guidance in (0.0, 1.0, 3.0):
            y = tiny_pipeline.edit(x, 22050, req(region, [1], guidance=guidance, context_seconds=0.1)).audio
            assert y.shape == x.shape and np.isfinite(y).all()
            lo, hi = changed_span(x, y)
            assert lo >= round(region[0] * 22050) - 700 and hi <= round(region[1] * 22050) + 700


def test_progress_is_monotonic_and_ends_at_one(tiny_pipeline):
    seen = []
    tiny_pipeline.edit(stereo(0.5), SR, req((0.1, 0.2), [2]), progress=lambda f, s: seen.append((f, s)))
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[0] == 0.0 and fractions[-1] == 1.0
    assert [s for _, s in seen if s in ("encode", "dynamics", "decode")][0] == "encode"
    # one event per network call: the bundle's dynamics use Euler, its decoder Heun (2 calls a step but the last)
    assert tiny_pipeline.bundle.defaults.sampler == "euler"
    assert tiny_pipeline.bundle.defaults.decoder_sampler == "heun"
    stages = [s for _, s in seen]
    assert (
        stages.count("dynamics") == FAST["steps"] and stages.count("decode") == 2 * FAST["decoder_steps"] - 1
    )


def test_bad_parameters_raise_edit_error(tiny_pipeline):
    x = stereo(0.5)
    with pytest.raises(EditError, match="unknown action"):
        tiny_pipeline.edit(x, SR, req((0.1, 0.2), ["nosuch"]))
    with pytest.raises(EditError, match="out of range"):
        tiny_pipeline.edit(x, SR, req((0.1, 0.2), [4]))  # 4 is the null action, not selectable
    with pytest.raises(EditError, match="steps"):
        tiny_pipeline.edit(x, SR, req((0.1, 0.2), [0], steps=0))
    with pytest.raises(EditError, match="guidance"):
        tiny_pipeline.edit(x, SR, req((0.1, 0.2), [0], guidance=float("nan")))
    with pytest.raises(audio_io.AudioError, match="NaN"):
        bad = x.copy()
        bad[0, 5] = np.nan
        tiny_pipeline.edit(bad, SR, req((0.1, 0.2), [0]))
    with pytest.raises(RegionError):
        tiny_pipeline.edit(x, SR, req((0.2, 0.1), [0]))


def test_infer_actions_covers_the_region_with_distributions(tiny_pipeline):
    x = stereo(0.5)
    chunks = tiny_pipeline.infer_actions(x, SR, (0.1, 0.13))
    chunk_s = tiny_pipeline.bundle.chunk_samples / 16000
    assert len(chunks) == int(np.ceil(0.03 / chunk_s - 1e-9))
    assert chunks[0]["start"] == pytest.approx(0.1) and chunks[-1]["end"] == pytest.approx(0.13)
    for c in chunks:
        assert 0 <= c["action"] < 4 and len(c["probabilities"]) == 4
        assert sum(c["probabilities"]) == pytest.approx(1.0, abs=1e-5)
        assert c["action"] == int(np.argmax(c["probabilities"]))


def test_explore_renders_every_action_with_the_same_seed(tiny_pipeline):
    x = stereo(0.5)
    variants = list(tiny_pipeline.explore(x, SR, req((0.1, 0.2), seed=3, context_seconds=0.1)))
    assert [a.name for a, _, _ in variants] == ["louder", "softer", "solo", "drop"]
    solo = tiny_pipeline.edit(x, SR, req((0.1, 0.2), ["solo"], seed=3, context_seconds=0.1)).audio
    assert np.array_equal(variants[2][1], solo)
    picked = list(tiny_pipeline.explore(x, SR, req((0.1, 0.2), ["drop", 1], seed=3, context_seconds=0.1)))
    assert [a.id for a, _, _ in picked] == [3, 1]


def test_io_binding_matches_a_plain_run(tiny_pipeline):
    graph = tiny_pipeline.runtime["dynamics"]
    rng = np.random.default_rng(0)
    inputs = {
        "noisy": rng.standard_normal((2, 8, 8)),
        "t": np.array([0.3, 0.7]),
        "context": rng.standard_normal((2, 8, 8)),
        "mask": (rng.random((2, 8)) > 0.5).astype(np.float32),
        "actions": rng.integers(0, 5, (2, 8)),
    }
    plain = graph.run(**inputs)["velocity"]
    bound = graph.bind(context=inputs["context"], mask=inputs["mask"], actions=inputs["actions"])
    np.testing.assert_array_equal(bound(noisy=inputs["noisy"], t=inputs["t"]), plain)


def test_the_bundles_decoder_shift_moves_the_decoders_levels(tiny_pipeline, tiny_bundle, tmp_path):
    import json
    import shutil

    from engine.bundle import load_bundle
    from engine.pipeline import Pipeline
    from engine.runtime import Runtime, RuntimeConfig

    def pipeline_with_shift(shift: float) -> Pipeline:
        folder = tmp_path / f"shift{shift}"
        shutil.copytree(tiny_bundle, folder)
        manifest = json.loads((folder / "manifest.json").read_text())
        manifest["defaults"]["decoder_shift"] = shift
        (folder / "manifest.json").write_text(json.dumps(manifest))
        return Pipeline(Runtime(load_bundle(folder), RuntimeConfig(providers="cpu", intra_op_threads=1)))

    x = stereo(0.5)
    plain = tiny_pipeline.edit(x, SR, req((0.1, 0.3), [0], seed=3)).audio
    shifted = pipeline_with_shift(0.5).edit(x, SR, req((0.1, 0.3), [0], seed=3)).audio
    assert np.isfinite(shifted).all() and not np.array_equal(plain, shifted)
    with pytest.raises(EditError, match="decoder_shift"):
        pipeline_with_shift(0.0).edit(x, SR, req((0.1, 0.3), [0], seed=3))


def test_a_render_started_from_known_latents_stays_near_them(tiny_pipeline):
    """`init` + `strength` (SDEdit): strength 1 is the plain edit bit for bit; a low strength started from
    the window's own latents decodes nearer the round trip than an edit from pure noise."""
    x = stereo(0.5)
    p = tiny_pipeline.prepare(x, SR, (0.1, 0.3), 0.1)
    settings = tiny_pipeline.settings(req((0.1, 0.3), [1], guidance=2.0))  # FAST: generated, 4 + 4 steps
    plain = tiny_pipeline.render(p, [1], None, settings, seed=3)[0]
    same = tiny_pipeline.render(p, [1], None, settings, seed=3, init=p.latents, strength=1.0)[0]
    assert np.array_equal(plain, same)
    near = tiny_pipeline.render(p, [1], None, settings, seed=3, init=p.latents, strength=0.05)[0]
    trip = tiny_pipeline.roundtrip(p, 4, seed=3)
    region = slice(int(0.1 * SR), int(0.3 * SR))
    assert (
        np.abs(near[:, region] - trip[:, region]).mean()
        < 0.5 * np.abs(plain[:, region] - trip[:, region]).mean()
    )
