"""Labelling: sources and clip choice, the labels CSV, the interactive loop (scripted answers), the commands."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from engine.cli import main
from training.data.quality.clips import choose_sources, sample_clips
from training.data.quality.labelling import Player, label_clips, skips_path
from training.data.quality.labels import read_labels
from training.data.quality.sources import list_sources


@pytest.fixture
def corpus(synth_corpus) -> Path:
    """The shared synthetic corpus (6 pieces x 12 s, half damaged) by its corpus.jsonl."""
    return synth_corpus / "corpus.jsonl"


def test_sources_from_a_folder_a_jsonl_and_a_csv(corpus, tmp_path):
    folder = list_sources(corpus.parent)
    listing = list_sources(corpus)
    assert [s.path for s in folder] == sorted(s.path for s in listing)
    assert {s.quality for s in folder} == {"good", "bad"}  # read from the NAME.json beside each file
    assert all(s.annotations is not None and s.annotations.is_file() for s in listing)
    table = tmp_path / "songs.csv"
    table.write_text("path,year\n" + "".join(f"{s.path},{1920 + 10 * i}\n" for i, s in enumerate(folder)))
    from_csv = list_sources(table)
    assert [s.metadata["year"] for s in from_csv][:2] == ["1920", "1930"]
    with pytest.raises(FileNotFoundError):
        list_sources(tmp_path / "nothing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no audio"):
        list_sources(tmp_path / "empty")


def test_bias_column_draws_evenly_across_years(corpus, tmp_path):
    sources = list_sources(corpus.parent)
    years = [1925] * 2 + [2005] * 4  # most songs are recent
    table = tmp_path / "songs.csv"
    table.write_text("path,year\n" + "".join(f"{s.path},{y}\n" for s, y in zip(sources, years, strict=True)))
    listed = list_sources(table)
    chosen = choose_sources(listed, 4, seed=0, bias_column="year", num_bins=2)
    assert sorted(int(s.metadata["year"]) for s in chosen) == [1925, 1925, 2005, 2005]
    assert choose_sources(listed, 4, seed=5) == choose_sources(listed, 4, seed=5)  # seeded


def test_clips_from_the_head_or_a_random_point(corpus):
    sources = list_sources(corpus)
    head = sample_clips(sources, 3, seed=1)
    assert [c.start for c in head] == [0.0, 0.0, 0.0] and all(c.duration == 5.0 for c in head)
    random = sample_clips(sources, 3, seed=1, duration=2.0, position="random")
    assert all(0.0 <= c.start <= 10.0 for c in random) and any(c.start > 0 for c in random)


def test_labelling_loop_records_answers_and_resumes(corpus, tmp_path):
    clips = sample_clips(list_sources(corpus), 4, seed=0)
    out, pictures = tmp_path / "labels.csv", tmp_path / "pics"
    answers = iter(["r", "g", "maybe", "b", "s", "q"])
    said: list[str] = []
    result = label_clips(clips, out, pictures, ask=lambda _: next(answers), say=said.append, show=False)
    assert (result.good, result.bad, result.skipped, result.remaining, result.quit) == (1, 1, 1, 1, True)
    assert [item.label for item in read_labels(out)] == ["good", "bad"]
    assert [item.path for item in read_labels(out)] == [clips[0].path, clips[1].path]
    assert len(list(pictures.glob("*.png"))) == 4  # the quit clip's picture is shown before the answer
    with skips_path(out).open() as fh:
        assert [row["path"] for row in csv.DictReader(fh)] == [str(clips[2].path)]
    # resuming asks only about the clip still unanswered; end of input counts as quit
    asked: list[str] = []
    again = label_clips(
        clips, out, pictures, ask=lambda p: asked.append(p) or "bad", say=said.append, show=False
    )
    assert len(asked) == 1 and again.bad == 1 and again.remaining == 0
    assert len(read_labels(out)) == 3


def test_labelling_without_playback_says_so(corpus, tmp_path):
    player = Player()
    said: list[str] = []
    clips = sample_clips(list_sources(corpus), 1, seed=0)

    def eof(_: str) -> str:
        raise EOFError

    result = label_clips(
        clips, tmp_path / "l.csv", tmp_path / "p", ask=eof, say=said.append, player=player, show=False
    )
    assert result.quit and not (tmp_path / "l.csv").exists()
    if not player.available:
        assert player.reason and any(
            "no audio playback" in line and str(tmp_path / "p") in line for line in said
        )


def test_unreadable_clip_is_skipped_in_the_loop(corpus, tmp_path):
    (tmp_path / "ok.wav").write_bytes(list_sources(corpus)[0].path.read_bytes())
    (tmp_path / "bad.wav").write_bytes(b"not audio")
    clips = sample_clips(list_sources(tmp_path), 2, seed=0)
    result = label_clips(
        clips, tmp_path / "l.csv", tmp_path / "p", ask=lambda _: "g", say=lambda _: None, show=False
    )
    assert (result.good, result.skipped) == (1, 1)


def test_label_train_filter_commands_end_to_end(corpus, tmp_path, capsys):
    labels = tmp_path / "labels.csv"
    assert main(["data", "label", str(corpus), "--out", str(labels), "--from-annotations", "--n", "6"]) == 0
    assert main(["data", "label", str(corpus), "--out", str(labels), "--from-annotations", "--n", "6"]) == 0
    rows = read_labels(labels)
    assert len(rows) == 6 and {r.label for r in rows} == {"good", "bad"}  # the second run added nothing
    hand = tmp_path / "hand.csv"
    hand.write_text("path,start,label\n" + f"{rows[0].path.name},1.0,good\nmissing.wav,0,bad\n")
    assert main(["data", "label", str(corpus), "--out", str(labels), "--from-csv", str(hand)]) == 0
    assert len(read_labels(labels)) == 7
    model = tmp_path / "filter.joblib"
    assert (
        main(
            ["data", "train-filter", str(labels), "--out", str(model), "--n-estimators", "30", "--folds", "2"]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "2-fold accuracy" in printed and "most useful features" in printed and model.is_file()
    out = tmp_path / "manifest.jsonl"
    args = [
        "data",
        "filter",
        str(corpus.parent),
        "--model",
        str(model),
        "--out",
        str(out),
        "--min-good-seconds",
        "5",
    ]
    assert main([*args, "--shard", "0/2"]) == 0
    assert main([*args, "--shard", "1/2"]) == 0
    entries = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(entries) == 6 and len({e["path"] for e in entries}) == 6
    assert out.with_suffix(".png").is_file() and "passed" in capsys.readouterr().out
    assert main([*args, "--shard", "2/2"]) == 1  # a user error: message, no traceback
    assert (
        main(["data", "filter", str(corpus), "--model", str(tmp_path / "none.joblib"), "--out", str(out)])
        == 1
    )


@pytest.mark.parametrize("command", ["label", "train-filter", "filter"])
def test_every_option_has_help(command, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["data", command, "--help"])
    assert stop.value.code == 0
    text = capsys.readouterr().out
    assert "--out" in text and "(default:" in text
