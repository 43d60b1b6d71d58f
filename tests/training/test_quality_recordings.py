"""Copies of one recording stay in one fold, and a threshold fitted to chance is not kept."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from engine.audio import save_wav
from training.data.quality.classifier import (
    NEUTRAL_THRESHOLD,
    FilterTrainConfig,
    chance_p_value,
    labelled_features,
    train_filter,
)
from training.data.quality.damage import MILD, damage_mild
from training.data.quality.features import audio_features
from training.data.quality.filtering import smooth, song_passes
from training.data.quality.labels import Label, append_labels, read_labels
from training.data.quality.recordings import MATCH, fingerprint, recording_groups, similarity
from training.data.synth import render_piece

SR = 16_000
SECONDS = 10
TRAIN_SONGS, HELD_OUT_SONGS = 8, 4


def _twins(seed: int, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """(N,) a clean piece and its copy with one mild damage, the copy's first 0.37 s trimmed off (another
    transfer of the same recording starts elsewhere)."""
    clean = render_piece(seed, SECONDS, SR)[0][0]
    damaged = damage_mild(clean, SR, kind, np.random.default_rng(seed))
    return clean, damaged[int(0.37 * SR) :]


@pytest.fixture(scope="module")
def songs() -> list[tuple[np.ndarray, np.ndarray]]:
    kinds = sorted(MILD)
    return [_twins(seed, kinds[seed % len(kinds)]) for seed in range(TRAIN_SONGS + HELD_OUT_SONGS)]


def test_a_damaged_copy_sounds_like_its_recording_and_unlike_other_songs(songs) -> None:
    prints = [(fingerprint(clean), fingerprint(damaged)) for clean, damaged in songs[:6]]
    for i, (clean, damaged) in enumerate(prints):
        assert similarity(clean, damaged) > MATCH
        for other_clean, other_damaged in prints[i + 1 :]:
            assert similarity(clean, other_clean) < MATCH and similarity(damaged, other_damaged) < MATCH
    assert similarity(fingerprint(np.zeros(SR)), prints[0][0]) == 0.0  # silence is nobody's copy
    assert similarity(fingerprint(songs[0][0][:1000]), prints[0][0]) == 0.0  # too short to tell


def test_twins_under_two_names_stay_together_and_the_threshold_holds_on_other_songs(
    songs, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # each recording twice, under unrelated names, labelled on different excerpts: as a user labels
    rows = []
    for i, (clean, damaged) in enumerate(songs[:TRAIN_SONGS]):
        clean_path = save_wav(tmp_path / "albums" / f"song{i}.wav", clean[None], SR)
        damaged_path = save_wav(tmp_path / "transfers" / f"take_{7 * i + 3}.wav", damaged[None], SR)
        rows += [Label(clean_path, 0.0, 5.0, "good"), Label(damaged_path, 4.0, 5.0, "bad")]
    append_labels(tmp_path / "labels.csv", rows)
    labels = read_labels(tmp_path / "labels.csv")
    x, y, groups, unreadable = labelled_features(labels)
    assert unreadable == [] and len(y) == 2 * TRAIN_SONGS  # one 5 s segment per clip, in label order
    np.testing.assert_array_equal(groups[0::2], groups[1::2])  # each clean clip with its damaged twin
    assert len(np.unique(groups)) == TRAIN_SONGS

    with caplog.at_level(logging.WARNING, logger="training.data.quality.classifier"):
        quality_filter, report = train_filter(x, y, groups, FilterTrainConfig(n_estimators=100, folds=4))
    assert report.recordings == TRAIN_SONGS and report.folds == 4
    passed = {"good": [], "bad": []}
    for clean, damaged in songs[TRAIN_SONGS:]:
        for label, audio in (("good", clean), ("bad", damaged)):
            probs = quality_filter.predict_good(audio_features(audio)[0])
            passed[label].append(song_passes(smooth(probs, 1.0), quality_filter.threshold))
    accuracy = 0.5 * np.mean(passed["good"]) + 0.5 * (1 - np.mean(passed["bad"]))
    if report.threshold_rule == "chance":  # too few recordings to learn from: said, and no extreme threshold
        assert quality_filter.threshold == NEUTRAL_THRESHOLD and "no better than chance" in caplog.text
        assert "WARNING" in report.format()
    else:
        assert report.threshold_rule == "out of fold" and report.chance_p < 0.05
        assert accuracy >= 0.9, (accuracy, passed, report.format())


def test_the_group_column_names_the_recordings(tmp_path: Path) -> None:
    csv = tmp_path / "labels.csv"
    csv.write_text(
        "path,start,duration,label,group\n"
        "a.wav,0,5,good,concert\n"
        "b.wav,0,5,bad, concert \n"  # another file of the same recording
        "c.wav,0,5,good,\n"  # no group: its own file's recording
        "c.wav,5,5,bad,studio\n"  # one file is one recording whatever its rows say
        "d.wav,0,5,bad,studio\n"
        "e.wav,0,5,good,\n"
    )
    labels = read_labels(csv)
    assert [item.group for item in labels] == ["concert", "concert", "", "studio", "studio", ""]
    groups = recording_groups(labels)  # the files do not exist: given groups need no listening
    assert groups[0] == groups[1] and groups[2] == groups[3] == groups[4]
    assert len({groups[0], groups[2], groups[5]}) == 3


def test_a_threshold_is_not_fitted_to_predictions_no_better_than_chance(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # 12 recordings, each clean and damaged, whose features tell the recording and never the damage
    rng = np.random.default_rng(0)
    per_recording = rng.normal(size=(12, 6))
    groups = np.repeat(np.arange(12), 4)  # (48,) two segments of each twin
    y = np.tile([1, 1, 0, 0], 12)
    x = per_recording[groups] + 0.01 * rng.normal(size=(48, 6))
    with caplog.at_level(logging.WARNING, logger="training.data.quality.classifier"):
        quality_filter, report = train_filter(x, y, groups, FilterTrainConfig(n_estimators=50, folds=4))
    assert report.threshold_rule == "chance" and report.chance_p >= 0.05
    assert quality_filter.threshold == report.threshold == NEUTRAL_THRESHOLD
    assert "no better than chance" in caplog.text and "neutral song threshold 0.50" in report.format()


def test_chance_p_value_tells_separated_songs_from_shuffled_ones() -> None:
    units = np.arange(16)
    y = np.repeat([1, 0], 8)
    separated = np.where(y == 1, 0.6, 0.4) + np.linspace(0, 0.05, 16)
    assert chance_p_value(separated, y, units) < 0.001
    assert chance_p_value(1 - separated, y, units) > 0.99  # ranked backwards: worse than chance
    assert chance_p_value(separated, np.ones(16, int), units) == 1.0  # one class: nothing to rank
