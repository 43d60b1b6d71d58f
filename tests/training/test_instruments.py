"""The instrument-activity estimator: numpy features and inference, training on the synthetic corpus."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from engine.cli import main
from engine.instruments import (
    FEATURE_VERSION,
    N_MELS,
    EstimatorError,
    InstrumentEstimator,
    second_features,
    seconds_to_frames,
)
from training.data.annotations import INSTRUMENTS
from training.data.manifest import read_entries
from training.data.synth import write_corpus
from training.instruments import EstimatorTrainConfig, collect, fit


def _estimator(rng: np.random.Generator, features: int = 4 * N_MELS) -> InstrumentEstimator:
    return InstrumentEstimator(
        names=("a", "b"),
        mean=rng.standard_normal(features).astype(np.float32),
        scale=np.ones(features, np.float32),
        weights=(
            rng.standard_normal((features, 8)).astype(np.float32),
            rng.standard_normal((8, 2)).astype(np.float32),
        ),
        biases=(np.zeros(8, np.float32), np.zeros(2, np.float32)),
    )


def test_second_features_cover_every_started_second() -> None:
    audio = np.random.default_rng(0).standard_normal(16000 * 2 + 4000).astype(np.float32) * 0.1
    features = second_features(audio)
    assert features.shape == (3, 4 * N_MELS)
    assert np.isfinite(features).all()
    assert second_features(np.zeros(0, np.float32)).shape == (0, 4 * N_MELS)
    with pytest.raises(ValueError, match="16000 Hz"):
        second_features(audio, 44100)


def test_seconds_to_frames_takes_the_second_of_each_frame_centre() -> None:
    activity = np.array([[1, 0], [0, 1]], np.uint8)  # (S, I)
    frames = seconds_to_frames(activity, frame_rate=4.0, frames=8)  # (T, I)
    assert frames[:4].tolist() == [[1, 0]] * 4 and frames[4:].tolist() == [[0, 1]] * 4
    assert seconds_to_frames(activity, 4.0, 10)[-1].tolist() == [0, 1]  # clamped past the end


def test_save_load_round_trip_and_bad_files(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    estimator = _estimator(rng)
    path = estimator.save(tmp_path / "est.npz")
    again = InstrumentEstimator.load(path)
    features = rng.standard_normal((5, 4 * N_MELS)).astype(np.float32)
    np.testing.assert_array_equal(
        estimator.probabilities_from_features(features), again.probabilities_from_features(features)
    )
    assert again.names == ("a", "b")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(EstimatorError, match="not a readable instrument estimator"):
        InstrumentEstimator.load(tmp_path / "junk.npz")
    with np.load(path) as data:
        arrays = dict(data)
    arrays["feature_version"] = np.int64(FEATURE_VERSION + 1)
    np.savez(tmp_path / "future.npz", **arrays)
    with pytest.raises(EstimatorError, match="retrain it"):
        InstrumentEstimator.load(tmp_path / "future.npz")
    with pytest.raises(EstimatorError, match="outputs"):
        InstrumentEstimator(
            names=("a",),
            mean=estimator.mean,
            scale=estimator.scale,
            weights=estimator.weights,
            biases=estimator.biases,
        )


def test_numpy_inference_matches_sklearn(synth_corpus: Path) -> None:
    """The engine's numpy forward pass is the trained sklearn MLP, not an approximation of it."""
    from sklearn.neural_network import MLPClassifier

    x, y, _ = collect(read_entries(synth_corpus / "corpus.jsonl"), "features")
    estimator = fit(x, y, EstimatorTrainConfig(hidden=(16,), max_iter=50))
    mlp = MLPClassifier((16,), alpha=1e-2, max_iter=50, early_stopping=True, random_state=0)
    mlp.fit((x - estimator.mean) / estimator.scale, y)
    np.testing.assert_allclose(
        estimator.probabilities_from_features(x),
        mlp.predict_proba((x - estimator.mean) / estimator.scale),
        atol=1e-4,
    )


def test_train_instruments_learns_who_plays_on_held_out_pieces(tmp_path: Path, synth_corpus: Path) -> None:
    held = tmp_path / "held"
    write_corpus(held, minutes=0.5, seed=5, piece_seconds=(15, 15), progress=False)
    train = tmp_path / "train"
    write_corpus(train, minutes=3.0, seed=0, piece_seconds=(20, 20), progress=False)
    out = tmp_path / "est.npz"
    assert (
        main(["train", "instruments", "--data", str(train), "--held-out", str(held), "--out", str(out)]) == 0
    )
    metrics = json.loads(out.with_suffix(".json").read_text())
    assert metrics["names"] == list(INSTRUMENTS) and metrics["test_seconds"] == 30
    assert (
        metrics["accuracy"]["drums"] >= 0.9
    )  # drums are the easiest to hear; a broken pipeline is at chance
    assert metrics["mean_accuracy"] > 0.75
    estimator = InstrumentEstimator.load(out)
    assert estimator.activity(np.zeros(16000, np.float32)).shape == (1, len(INSTRUMENTS))


def test_train_instruments_refuses_data_without_annotations(tmp_path: Path) -> None:
    import soundfile as sf

    folder = tmp_path / "plain"
    folder.mkdir()
    for i in range(3):
        sf.write(folder / f"{i}.wav", np.zeros(16000, np.float32), 16000)
    assert main(["train", "instruments", "--data", str(folder), "--out", str(tmp_path / "e.npz")]) != 0
