"""`musegenie eval edit` on the tiny exported bundle, and its scores and baselines on real (synthetic) music."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from engine import audio as audio_io
from engine.cli import main
from engine.window import stitch
from training.evaluation import edit_scores as scores
from training.evaluation.edit import METHODS, METRICS
from training.evaluation.edit_baselines import BaselineError, copy_baseline, copy_source, shaped_noise

SR = 16_000


@pytest.fixture(scope="module")
def tiny_pipeline(tiny_bundle: Path):
    from engine.bundle import load_bundle
    from engine.pipeline import Pipeline
    from engine.runtime import Runtime, RuntimeConfig

    return Pipeline(Runtime(load_bundle(tiny_bundle), RuntimeConfig(providers="cpu", intra_op_threads=1)))


def _pieces(corpus: Path, count: int) -> list[np.ndarray]:
    return [audio_io.load(p, sample_rate=SR, mono=True)[0][0] for p in sorted(corpus.glob("*.wav"))[:count]]


def test_end_to_end_writes_json_page_and_every_baseline(
    tiny_bundle: Path, synth_corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    data = tmp_path / "clips"
    data.mkdir()
    for n, piece in enumerate(_pieces(synth_corpus, 2)):  # stereo at 22.05 kHz: downmixed and resampled
        stereo = np.stack([piece, 0.5 * piece]).T
        sf.write(data / f"clip{n}.wav", audio_io.resample(stereo.T, SR, 22050).T, 22050)
    out = tmp_path / "eval"
    args = ["eval", "edit", "--bundle", str(tiny_bundle), "--data", str(data), "--out", str(out)]
    args += ["--clips", "2", "--region-seconds", "0.5", "--context-seconds", "0.5", "--no-visqol"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert all(m in printed for m in METHODS) and "action fidelity" in printed

    summary = json.loads((out / "edit.json").read_text())
    assert summary["clips"] == 2 and summary["region_seconds"] == 0.5 and summary["context_seconds"] == 0.5
    assert summary["bundle"] == str(tiny_bundle) and summary["data"] == str(data)
    assert summary["command"].startswith("musegenie eval edit --bundle")
    assert set(summary["methods"]) == set(METHODS)
    for method, row in summary["methods"].items():
        assert set(row) == set(METRICS), method
        # beat_ratio is None where no clip's song keeps a beat grid over its region (0.5 s regions here)
        finite = [(m == "beat_ratio" and v is None) or (np.isfinite(v) and v >= 0) for m, v in row.items()]
        assert all(finite), (method, row)
        assert 0.0 <= row["realism"] <= 1.0
    assert summary["methods"]["noise"]["flatness_ratio"] > 1.0  # noise is flatter than music
    assert summary["action_effect"] > 0 and np.isfinite(summary["action_effect"])
    ratios = [
        c["scores"]["edit_inferred"]["logmel_l1"] / c["scores"]["copy"]["logmel_l1"]
        for c in summary["per_clip"]
    ]
    assert summary["edit_vs_copy"] == {
        "median_ratio": pytest.approx(float(np.median(ratios))),
        "closer": float(np.mean(np.array(ratios) < 1)),
    }
    assert "closer in" in printed
    assert summary["action_fidelity"]["chance"] == 0.25 and 0 <= summary["action_fidelity"]["accuracy"] <= 1
    assert summary["visqol_roundtrip"] is None
    assert summary["instrument_fidelity"]["available"] is False  # the tiny bundle has no instruments
    assert summary["name_fidelity"]["mean"] is None  # its actions were never described: said, not scored
    assert "actions describe" in summary["name_fidelity"]["note"]
    assert set(summary["per_clip"][0]["names"]["held"]) == {"0", "1", "2", "3"}
    clip = summary["per_clip"][0]
    assert clip["region"] == pytest.approx([5.75, 6.25])  # centred in a 12 s piece
    assert len(clip["inferred_actions"]) >= 1 and set(clip["action_fidelity"]) == {"0", "1", "2", "3"}
    assert not 5.25 <= clip["copy_source_seconds"] <= 6.25  # never the region or its own context

    page = (out / "index.html").read_text()
    for name in ("original", *[m for m in METHODS if m != "edit_other_actions"], "action_3"):
        for suffix in ("wav", "png"):
            assert f"clips/01/{name}.{suffix}" in page
            assert (out / "clips" / "01" / f"{name}.{suffix}").stat().st_size > 1000
    assert "louder" in page  # the bundle's action names label the per-action renders
    wav, sr = sf.read(out / "clips" / "00" / "copy.wav")
    assert sr == SR and len(wav) == pytest.approx(2.5 * SR, abs=2)  # the region and 1 s either side


def test_roundtrip_changes_only_the_region(tiny_pipeline, synth_corpus: Path) -> None:
    piece = _pieces(synth_corpus, 1)[0][None]  # (1, N)
    prepared = tiny_pipeline.prepare(piece, SR, (4.0, 4.5), 0.5)
    a = tiny_pipeline.roundtrip(prepared, 2, seed=3)
    fade = prepared.window.fade
    assert np.array_equal(a[:, : 64000 - fade], piece[:, : 64000 - fade])
    assert np.array_equal(a[:, 72000 + fade :], piece[:, 72000 + fade :])
    assert not np.allclose(a[:, 64000:72000], piece[:, 64000:72000])
    assert np.array_equal(a, tiny_pipeline.roundtrip(prepared, 2, seed=3))


def test_a_near_copy_scores_better_than_shaped_noise_on_every_score(synth_corpus: Path) -> None:
    """The original region lightly perturbed (what a good round trip is) against the noise floor."""
    fade, context = 480, 2 * SR
    rng = np.random.default_rng(0)
    real, fakes, seams = [], {"near": [], "noise": []}, {"original": [], "near": [], "noise": []}
    for n, piece in enumerate(_pieces(synth_corpus, 3)):
        for start in (int(4.3 * SR), int(6.6 * SR)):
            end = start + 2 * SR
            generated = piece * 0.9 + 0.002 * rng.standard_normal(piece.shape).astype(np.float32)
            signals = {
                "original": piece,
                "near": stitch(piece[None], generated, start, end, fade)[0],
                "noise": shaped_noise(piece, start, end, context, fade, seed=n),
            }
            noise = signals["noise"]
            assert np.array_equal(noise[: start - fade], piece[: start - fade])  # untouched outside the seams
            assert np.array_equal(noise[end + fade :], piece[end + fade :])
            region = piece[start:end]
            real.append((n, scores.frame_features(region, SR)))
            for name in ("near", "noise"):
                fakes[name].append((n, scores.frame_features(signals[name][start:end], SR)))
            for name, signal in signals.items():
                seams[name].append(scores.seam_flux_ratio(piece, signal, SR, start, end, fade))
            near_l1, noise_l1 = (
                scores.logmel_l1(region, signals[k][start:end], SR) for k in ("near", "noise")
            )
            assert scores.logmel_l1(region, region, SR) == 0.0 and near_l1 < 0.5 * noise_l1
            near_flat, noise_flat = (
                scores.flatness_ratio(region, signals[k][start:end]) for k in ("near", "noise")
            )
            assert abs(np.log(near_flat)) < np.log(noise_flat)
    mean = {name: float(np.mean(values)) for name, values in seams.items()}
    assert abs(mean["near"] - mean["original"]) < 0.2 and mean["near"] < mean["noise"], mean
    assert (
        scores.two_sample_accuracy(real, fakes["near"])
        < 0.65
        < 0.75
        < scores.two_sample_accuracy(real, fakes["noise"])
    )
    assert abs(scores.two_sample_accuracy(real, real) - 0.5) < 0.1  # the same frames cannot be told apart


def test_copy_finds_the_passage_with_the_same_surroundings() -> None:
    """A region whose context recurs later around a different middle: the copy takes that middle."""
    rng = np.random.default_rng(1)
    t = np.arange(SR) / SR
    before, after = np.sin(2 * np.pi * 330 * t), np.sin(2 * np.pi * 523 * t)  # 1 s each

    def chord(*hz: float) -> np.ndarray:
        return sum(np.sin(2 * np.pi * f * t) for f in hz) / len(hz)

    filler = [0.3 * rng.standard_normal(SR), chord(200, 300), chord(700), 0.1 * rng.standard_normal(SR)]
    parts = [filler[0], before, chord(440), after, filler[1], filler[2], before, chord(880), after, filler[3]]
    audio = np.concatenate(parts).astype(np.float32)
    start, end = 2 * SR, 3 * SR
    source = copy_source(audio, SR, start, end, SR)
    assert abs(source - 7 * SR) <= 512  # the second 880 Hz middle, to a frame
    edited, _ = copy_baseline(audio, SR, start, end, SR, fade=480)
    assert np.allclose(edited[start + 600 : end - 600], audio[source + 600 : source + SR - 600], atol=1e-6)
    with pytest.raises(BaselineError, match="fits elsewhere"):
        copy_source(audio[SR : 4 * SR + 1024], SR, SR, 2 * SR, SR)  # the region and its context only


def test_visqol_prefers_the_reference_to_noise(synth_corpus: Path) -> None:
    if why := scores.visqol_available():
        pytest.skip(why)
    region = _pieces(synth_corpus, 1)[0][4 * SR : 6 * SR]
    noisy = region + 0.05 * np.random.default_rng(0).standard_normal(region.shape).astype(np.float32)
    assert scores.visqol(region, region, SR) > 4.0 > scores.visqol(region, noisy, SR)


def test_bad_inputs_are_refused_without_a_traceback(
    tiny_bundle: Path, synth_corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    base = ["eval", "edit", "--bundle", str(tiny_bundle), "--out", str(tmp_path / "o"), "--no-visqol"]
    empty = tmp_path / "empty"
    empty.mkdir()
    piece = sorted(synth_corpus.glob("*.wav"))[0]
    cases = {
        "no such file": ["--data", str(tmp_path / "missing.wav")],
        "no audio files": ["--data", str(empty)],
        "shorter than the region": ["--data", str(piece), "--region-seconds", "30"],
        "position must be one of": ["--data", str(piece), "--position", "left"],
        "--clips must be at least 1": ["--data", str(piece), "--clips", "0"],
    }
    for message, extra in cases.items():
        assert main([*base, *extra]) == 1, message
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err, err
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(12 * SR, np.float32), SR)
    assert main([*base, "--data", str(silent), "--region-seconds", "2"]) == 1
    assert "the region is silent" in capsys.readouterr().err
    manifest = tmp_path / "corpus.jsonl"
    manifest.write_text(json.dumps({"path": "gone.wav"}) + "\n")
    assert main([*base, "--data", str(manifest)]) == 1
    assert "no such file" in capsys.readouterr().err


def test_random_regions_are_drawn_from_the_region_seed_and_not_the_edits_seed(synth_corpus: Path) -> None:
    from training.data.manifest import read_entries
    from training.evaluation.edit import EditEvalConfig, load_clips

    entries = read_entries(synth_corpus / "corpus.jsonl")

    def starts(**settings) -> list[int]:
        config = EditEvalConfig(clips=4, region_seconds=2.0, position="random", **settings)
        return [clip.start for clip in load_clips(entries, config, SR, 2.0)[0]]

    drawn = starts(seed=1)
    assert len(drawn) == 4 and len(set(drawn)) > 1
    assert starts(seed=0, region_seed=1) == drawn  # the same regions, edited with the default seed
    assert starts(seed=0) != drawn


def test_beat_ratio_is_one_for_the_original_and_falls_when_the_region_leaves_the_beat() -> None:
    from tests.engine.test_beats import BPM, click_track

    song = click_track(30.0)
    start, end = 12 * SR, 16 * SR
    grid = scores.beat_grid(song, SR)
    assert len(grid) > 0
    half = int(round(30.0 / BPM * SR))  # half a beat
    late = song.copy()
    late[start:end] = song[start - half : end - half]  # the same clicks, half a beat off the song's grid
    assert scores.beat_ratio(song, song, SR, start, end, grid) == pytest.approx(1.0)
    assert scores.beat_ratio(song, late, SR, start, end, grid) < 0.5
    on = song.copy()
    on[start:end] = song[start - 2 * half : end - 2 * half]  # a whole beat earlier: still on the grid
    assert scores.beat_ratio(song, on, SR, start, end, grid) > 0.8
    noise = 0.3 * np.random.default_rng(0).standard_normal(len(song)).astype(np.float32)
    assert np.isnan(scores.beat_ratio(noise, noise, SR, start, end, scores.beat_grid(noise, SR)))
