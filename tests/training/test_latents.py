"""Latent cache: entry files and index, resumable reads, LatentWindows shapes and the split by piece."""

import json

import numpy as np
import pytest

from training.latents import LatentWindows, load_entry, read_index, split_sources, write_entry


def _write(tmp_path, name, frames, source=None, annotated=True, dim=4):
    rng = np.random.default_rng(len(name) + frames)
    return write_entry(
        tmp_path,
        name,
        rng.standard_normal((frames, dim)).astype(np.float32),
        source=source or f"/x/{name}.wav",
        start=0.0,
        frame_rate=8.0,
        tokenizer_sha="abc",
        instruments=(rng.random((frames, 7)) > 0.5).astype(np.uint8) if annotated else None,
        events=(rng.random((frames, 8)) > 0.9).astype(np.uint8) if annotated else None,
    )


def test_write_and_read_entry(tmp_path):
    latents = np.arange(12, dtype=np.float32).reshape(6, 2) / 4
    record = write_entry(
        tmp_path, "a", latents, source="/s/a.wav", start=1.5, frame_rate=7.8125, tokenizer_sha="f00"
    )
    assert record == {
        "name": "a",
        "source": "/s/a.wav",
        "start": 1.5,
        "frames": 6,
        "frame_rate": 7.8125,
        "tokenizer_sha": "f00",
        "annotated": False,
    }
    assert read_index(tmp_path) == [record]
    arrays = load_entry(tmp_path, "a")
    assert set(arrays) == {"latents"} and arrays["latents"].dtype == np.float32
    np.testing.assert_array_equal(arrays["latents"], latents)
    with np.load(tmp_path / "a.npz") as raw:
        assert raw["latents"].dtype == np.float16
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp files left
    with pytest.raises(ValueError, match="instruments has 5 frames"):
        write_entry(
            tmp_path,
            "b",
            latents,
            source="s",
            start=0,
            frame_rate=8,
            tokenizer_sha="f",
            instruments=np.zeros((5, 7)),
            events=np.zeros((6, 8)),
        )


def test_index_skips_torn_line(tmp_path):
    _write(tmp_path, "a", 10)
    with open(tmp_path / "index.jsonl", "a") as f:
        f.write('{"name": "b", "sou')
    assert [r["name"] for r in read_index(tmp_path)] == ["a"]


def test_split_by_piece_is_disjoint_seeded_and_complete():
    sources = [f"s{i}" for i in range(20)]
    train, val = split_sources(sources, "train", 3, 0.1), split_sources(sources, "val", 3, 0.1)
    assert len(val) == 2 and not train & val and train | val == set(sources)
    assert val == split_sources(list(reversed(sources)), "val", 3, 0.1)
    assert val != split_sources(sources, "val", 4, 0.1) or val != split_sources(sources, "val", 5, 0.1)
    assert split_sources(["only"], "val", 0, 0.1) == set()
    with pytest.raises(ValueError):
        split_sources(sources, "test", 0, 0.1)


def test_windows_shapes_split_and_jitter(tmp_path):
    for i in range(10):
        _write(tmp_path, f"p{i}", 40 + i)
    _write(tmp_path, "p0_part2", 30, source="/x/p0.wav")  # a second span of piece p0 stays with it
    _write(tmp_path, "short", 5)
    train = LatentWindows(tmp_path, 16, "train", seed=1)
    val = LatentWindows(tmp_path, 16, "val", seed=1)
    train_sources = {r["source"] for r in train.records}
    val_sources = {r["source"] for r in val.records}
    assert len(val_sources) == 1 and not train_sources & val_sources
    assert len(train.records) + len(val.records) == 12
    item = train[0]
    assert (
        item["latents"].shape == (16, 4)
        and item["instruments"].shape == (16, 7)
        and item["events"].shape == (16, 8)
    )
    assert all(v.dtype == np.float32 for v in item.values())
    assert train.frame_rate == 8.0 and train.latent_dim == 4 and train.num_instruments == 7
    assert all(w.offset + w.slack + 16 <= train.entries[w.entry]["latents"].shape[0] for w in train.windows)
    assert all(w.slack == 0 for w in val.windows)
    first = [train[i]["latents"].copy() for i in range(len(train))]
    assert all(np.array_equal(a, train[i]["latents"]) for i, a in enumerate(first))  # deterministic per epoch
    train.set_epoch(1)
    assert any(not np.array_equal(a, train[i]["latents"]) for i, a in enumerate(first))


def test_windows_without_annotations_and_errors(tmp_path):
    _write(tmp_path, "a", 20, annotated=False)
    _write(tmp_path, "b", 20, annotated=False)
    item = LatentWindows(tmp_path, 8, "train", val_fraction=0.0)[0]
    assert item["instruments"].shape == (8, 0) and item["events"].shape == (8, 0)
    with pytest.raises(FileNotFoundError, match="no latent cache"):
        LatentWindows(tmp_path / "missing", 8)
    with open(tmp_path / "index.jsonl", "a") as f:
        f.write(
            json.dumps(
                {
                    "name": "c",
                    "source": "c",
                    "start": 0,
                    "frames": 1,
                    "frame_rate": 50.0,
                    "tokenizer_sha": "zzz",
                }
            )
            + "\n"
        )
    with pytest.raises(ValueError, match="different tokenizers"):
        LatentWindows(tmp_path, 8)
