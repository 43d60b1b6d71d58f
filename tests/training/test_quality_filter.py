"""Quality filter: smoothing and pass/fail rules, spans, shards, training, and filtering a collection."""

from __future__ import annotations

import json
from pathlib import Path

import joblib
import numpy as np
import pytest

from training.data.provenance import PROVENANCE_KEYS
from training.data.quality.classifier import (
    FilterFormatError,
    FilterTrainConfig,
    labelled_features,
    load_filter,
    save_filter,
    train_filter,
)
from training.data.quality.clips import sample_clips
from training.data.quality.filtering import (
    MANIFEST_KEYS,
    FilterConfig,
    filter_collection,
    good_spans,
    parse_shard,
    read_manifest,
    select_shard,
    shard_of,
    smooth,
    song_passes,
)
from training.data.quality.labels import labels_from_annotations
from training.data.quality.sources import Source, list_sources
from training.data.synth import write_corpus

TREES = FilterTrainConfig(n_estimators=100, folds=3)


# -- smoothing, threshold and spans on hand-made probability sequences ------------------------------------


def test_smoothing_keeps_constants_and_fills_a_single_dip():
    np.testing.assert_allclose(smooth(np.full(7, 0.8), 1.5), 0.8)
    dip = np.array([0.9, 0.9, 0.9, 0.1, 0.9, 0.9, 0.9])
    smoothed = smooth(dip, 1.0)
    assert smoothed[3] > 0.5 and smoothed.min() == smoothed[3]
    assert np.isclose(smoothed.mean(), dip.mean(), atol=0.01)  # smoothing moves mass, it does not add it
    np.testing.assert_array_equal(smooth(dip, 0.0), dip)
    np.testing.assert_array_equal(smooth(np.array([0.3]), 2.0), [0.3])


def test_song_passes_when_the_mean_is_strictly_above_the_threshold():
    assert song_passes(np.array([0.6, 0.6, 0.5]), 0.55)  # mean 0.567
    assert not song_passes(np.array([0.55, 0.55]), 0.55)
    assert not song_passes(np.array([1.0, 0.1, 0.1, 0.1]), 0.55)  # one good segment does not carry a song


def test_good_spans_keep_long_runs_only():
    probs = np.array([0.1, 0.2, 0.9, 0.9, 0.9, 0.8, 0.9, 0.9, 0.2, 0.9, 0.1, 0.9, 0.9])  # 13 segments of 5 s
    starts = np.arange(13) * 5.0
    assert good_spans(probs, starts, 5.0, 65.0, 0.55, 30.0) == [[10.0, 40.0]]
    assert good_spans(probs, starts, 5.0, 65.0, 0.55, 5.0) == [[10.0, 40.0], [45.0, 50.0], [55.0, 65.0]]
    # the last segment of a 62 s song starts at 57 s (it overlaps) and the span ends with the song
    starts[-1] = 57.0
    assert good_spans(probs, starts, 5.0, 62.0, 0.55, 5.0)[-1] == [55.0, 62.0]
    assert good_spans(np.zeros(4), starts[:4], 5.0, 20.0, 0.55, 0.0) == []


# -- shards ----------------------------------------------------------------------------------------------


def test_shards_cover_every_file_exactly_once():
    sources = [Source(Path(f"/x/{i}.wav"), f"dir{i % 7}/{i}.wav") for i in range(500)]
    for count in (1, 3, 16):
        shards = [select_shard(sources, i, count) for i in range(count)]
        keys = [s.key for shard in shards for s in shard]
        assert sorted(keys) == sorted(s.key for s in sources)
        assert all(len(shard) > 0 for shard in shards)
    assert shard_of("dir1/1.wav", 16) == shard_of("dir1/1.wav", 16)  # stable across runs and machines


@pytest.mark.parametrize("text", ["3", "3/3", "-1/4", "a/b", "1/0"])
def test_bad_shard_specs_are_refused(text):
    with pytest.raises(ValueError, match="shard"):
        parse_shard(text)


def test_shard_spec_parses():
    assert parse_shard("2/5") == (2, 5)


# -- training and filtering on a small degraded corpus ----------------------------------------------------


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> dict[str, Path]:
    """Synthetic corpora, half damaged: 40 x 5 s pieces to train on, 12 x 16 s different pieces to test on."""
    root = tmp_path_factory.mktemp("quality")
    for name, minutes, seconds, seed in (("train", 40 * 5 / 60, 5, 11), ("test", 12 * 16 / 60, 16, 12)):
        write_corpus(
            root / name, minutes, seed, degrade_fraction=0.5, piece_seconds=(seconds, seconds), progress=False
        )
    return {"train": root / "train" / "corpus.jsonl", "test": root / "test" / "corpus.jsonl"}


@pytest.fixture(scope="module")
def model_path(corpus, tmp_path_factory) -> Path:
    sources = list_sources(corpus["train"])
    labels = labels_from_annotations(sample_clips(sources, 100, seed=0), sources)
    x, y, groups, unreadable = labelled_features(labels)
    quality_filter, report = train_filter(x, y, groups, TREES)
    assert unreadable == [] and report.folds == 3 and report.segments == 40
    assert report.accuracy > 0.65
    return save_filter(quality_filter, tmp_path_factory.mktemp("model") / "filter.joblib")


def test_trained_filter_separates_clean_from_degraded_pieces_it_never_saw(corpus, model_path):
    quality_filter = load_filter(model_path)
    sources = list_sources(corpus["test"])
    labels = labels_from_annotations(sample_clips(sources, 100, seed=0), sources)
    x, y, _, _ = labelled_features(labels)
    probs = quality_filter.predict_good(x)
    assert ((probs > 0.5) == y).mean() >= 0.7
    assert probs[y == 1].mean() > probs[y == 0].mean() + 0.2


def test_filter_writes_the_manifest_and_resumes(corpus, model_path, tmp_path):
    out = tmp_path / "manifest.jsonl"
    sources = list_sources(corpus["test"])
    config = FilterConfig(threshold=0.55, sigma=1.0, min_good_seconds=10.0)
    first = filter_collection(sources, model_path, out, config)
    entries = read_manifest(out)
    assert first.scored == len(sources) == len(entries) and first.errors == []
    metadata = {str(s.path): s.metadata for s in sources}
    for entry in entries:
        assert tuple(entry)[: len(MANIFEST_KEYS)] == MANIFEST_KEYS
        provenance = {k: entry[k] for k in tuple(entry)[len(MANIFEST_KEYS) :]}
        assert (
            set(provenance) <= set(PROVENANCE_KEYS) and "renderer" in provenance
        )  # the corpus says who played
        assert all(metadata[entry["path"]][k] == v for k, v in provenance.items())
        assert Path(entry["path"]).is_absolute() and entry["sample_rate"] == 16_000
        assert (
            len(entry["segment_probs"]) == len(entry["smoothed_probs"]) == 4
        )  # 16 s: 3 segments + one ending at 16 s
        assert entry["passed"] == (np.mean(entry["smoothed_probs"]) > 0.55)
        assert entry["annotations"].endswith(".json")
    quality = {str(s.path): s.quality for s in sources}
    agree = np.mean([(e["passed"]) == (quality[e["path"]] == "good") for e in entries])
    assert agree >= 0.75
    # a re-run skips everything; an interrupted last line is dropped and that song scored again
    again = filter_collection(sources, model_path, out, config)
    assert again.scored == 0 and again.resumed == len(sources)
    text = out.read_text()
    out.write_text(text[: text.rfind("\n", 0, len(text) - 1) + 1] + text.splitlines()[-1][:30])
    resumed = filter_collection(sources, model_path, out, config)
    assert resumed.scored == 1 and len(read_manifest(out)) == len(sources)
    assert sorted(e["path"] for e in read_manifest(out)) == sorted(str(s.path) for s in sources)


def test_corrupt_file_is_reported_and_skipped(corpus, model_path, tmp_path):
    good = list_sources(corpus["test"])[:2]
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt garbage")
    sources = [*good, Source(broken.resolve(), "broken.wav"), Source(tmp_path / "gone.wav", "gone.wav")]
    out = tmp_path / "m.jsonl"
    run = filter_collection(sources, model_path, out, FilterConfig())
    assert run.scored == 2 and len(run.errors) == 2
    assert {Path(p).name for p, _ in run.errors} == {"broken.wav", "gone.wav"}
    errors = [json.loads(line) for line in (tmp_path / "m.errors.jsonl").read_text().splitlines()]
    assert {Path(e["path"]).name for e in errors} == {"broken.wav", "gone.wav"}
    assert len(read_manifest(out)) == 2


def test_parallel_workers_give_the_same_manifest(corpus, model_path, tmp_path):
    sources = list_sources(corpus["test"])[:4]
    filter_collection(sources, model_path, tmp_path / "one.jsonl", FilterConfig(), workers=1)
    filter_collection(sources, model_path, tmp_path / "two.jsonl", FilterConfig(), workers=2)
    one = {e["path"]: e for e in read_manifest(tmp_path / "one.jsonl")}
    two = {e["path"]: e for e in read_manifest(tmp_path / "two.jsonl")}
    assert one == two


def test_filter_of_another_feature_version_is_refused(model_path, tmp_path):
    payload = joblib.load(model_path)
    payload["feature_version"] = -1
    joblib.dump(payload, tmp_path / "old.joblib")
    with pytest.raises(FilterFormatError, match="feature version -1"):
        load_filter(tmp_path / "old.joblib")
    (tmp_path / "junk.joblib").write_bytes(b"not a model")
    with pytest.raises(FilterFormatError):
        load_filter(tmp_path / "junk.joblib")


def test_filter_carries_its_song_threshold_and_filtering_uses_it(corpus, model_path, tmp_path):
    quality_filter = load_filter(model_path)
    chosen = quality_filter.threshold
    assert 0.05 <= chosen <= 0.95
    assert chosen == joblib.load(model_path)["threshold"]
    sources = list_sources(corpus["test"])[:4]
    filter_collection(sources, model_path, tmp_path / "own.jsonl", FilterConfig())
    for entry in read_manifest(tmp_path / "own.jsonl"):  # no --threshold: the filter's own
        assert entry["passed"] == (np.mean(entry["smoothed_probs"]) > chosen)
    filter_collection(sources, model_path, tmp_path / "all.jsonl", FilterConfig(threshold=0.0))
    assert all(e["passed"] for e in read_manifest(tmp_path / "all.jsonl"))
