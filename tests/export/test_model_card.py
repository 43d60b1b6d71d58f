"""The model card: written from the manifest and eval JSONs, not checksummed, summarised by `bundle info`."""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import pytest

from engine.bundle import CARD_NAME, load_bundle, read_manifest
from engine.cli import main as cli_main
from export.bundle_update import eval_file, update
from export.model_card import load_evals, render_card, write_card
from training.data.provenance import data_sources
from training.record import training_record

SHIPPED = Path(__file__).resolve().parents[2] / "models" / "default"
EDIT = {
    "methods": {
        "dynamics": {"log_mel_l1": 1.25, "mr_stft": 1.5},
        "copy": {"log_mel_l1": 2.0, "mr_stft": 2.5},
    },
    "action_effect": 0.123,
    "action_fidelity": {"accuracy": 0.4, "chance": 0.125},
    "visqol_roundtrip": None,
    "clips": 12,
    "region_seconds": 3.0,
    "data": "held-out",
    "command": "musegenie eval edit --bundle B",
}


def test_the_shipped_card_is_what_the_generator_writes_from_the_shipped_files() -> None:
    card = (SHIPPED / CARD_NAME).read_text()
    assert card == render_card(read_manifest(SHIPPED), load_evals(SHIPPED))
    tokenizer = json.loads((SHIPPED / "eval" / "tokenizer_metrics.json").read_text())["mean"]
    assert f"| log-mel L1 (lower is better) | {tokenizer['tokenizer']['log_mel_l1']:.3f} |" in card
    edit = json.loads((SHIPPED / "eval" / "edit.json").read_text())["methods"]
    assert f"log-mel L1 to the original {edit['edit_inferred']['logmel_l1']:.3f}" in card
    assert f"{edit['copy']['logmel_l1']:.3f} for a copy" in card
    assert "`shipped-4-mdct1024`" in card and "| Debian package `asc-music` | GPL-2+ |" in card
    assert "Real recordings" in card.split("## Limits")[1]
    fidelity = json.loads((SHIPPED / "eval" / "edit.json").read_text())["instrument_fidelity"]
    assert f"is heard in {fidelity['add']['success']:.3f} of {fidelity['add']['requests']} edits" in card


def test_an_edit_evaluation_is_the_first_table(tiny_bundle: Path, tmp_path: Path) -> None:
    bundle = Path(shutil.copytree(tiny_bundle, tmp_path / "b"))
    (bundle / "eval" / "edit.json").write_text(json.dumps(EDIT))
    card = write_card(bundle).read_text()
    tables = [line for line in card.splitlines() if line.startswith("| ")]
    assert tables[0] == "| method | log_mel_l1 | mr_stft |" and tables[1] == "| dynamics | 1.250 | 1.500 |"
    assert "Edit (12 clips): action effect 0.123, requested action recovered 0.400 (chance 0.125)" in card
    assert "ViSQOL of the tokenizer round trip n/a" in card
    assert "Clip by clip" not in card  # edit.json written before the per-clip comparison existed
    versus = {"edit_vs_copy": {"median_ratio": 0.9, "closer": 0.75}}
    (bundle / "eval" / "edit.json").write_text(json.dumps(EDIT | versus))
    card = write_card(bundle).read_text()
    assert (
        "the edit's log-mel L1 over the copy's has median 0.900; the edit is closer in 75% of clips" in card
    )
    load_bundle(bundle)  # the card and the new eval file are outside the checksummed set: still verified


def test_further_held_out_sets_get_their_own_edit_tables(tiny_bundle: Path, tmp_path: Path) -> None:
    bundle = Path(shutil.copytree(tiny_bundle, tmp_path / "b"))
    (bundle / "eval" / "edit.json").write_text(json.dumps(EDIT))
    (bundle / "eval" / "edit_real.json").write_text(json.dumps(EDIT | {"clips": 8, "data": "real.jsonl"}))
    card = write_card(bundle).read_text()
    assert "Edit (12 clips): action effect" in card and "Edit, real (8 clips): action effect" in card
    assert "8 clips of `real.jsonl`" in card
    edit_section = card.split("## The edit")[1].split("## Tokenizer")[0]
    assert edit_section.count("| method |") == 2


def test_bundle_info_prints_the_cards_summary(tiny_bundle: Path, capsys: pytest.CaptureFixture) -> None:
    assert cli_main(["bundle", "info", str(SHIPPED)]) == 0
    out = capsys.readouterr().out
    assert f"card       {SHIPPED / CARD_NAME}" in out and "checksums  OK" in out
    assert "  - Tokenizer: held-out log-mel L1 0.592 against Griffin-Lim's 0.636" in out
    assert "## " not in out  # the summary only, not the card's other sections
    assert cli_main(["bundle", "info", str(tiny_bundle)]) == 0
    assert "- The edit itself has not been measured" in capsys.readouterr().out


def test_bundle_update_adds_an_evaluation_the_bundle_verifies_and_the_card_quotes(
    tiny_bundle: Path, tmp_path: Path
) -> None:
    bundle = Path(shutil.copytree(tiny_bundle, tmp_path / "b"))
    source = tmp_path / "edit.json"
    source.write_text(json.dumps(EDIT))
    card = update(bundle, {"edit": source}).read_text()
    assert json.loads((bundle / "eval" / "edit.json").read_text()) == EDIT
    assert "eval/edit.json" in load_bundle(bundle).files  # checksummed, and every checksum still holds
    assert "Edit (12 clips)" in card


def test_bundle_card_rewrites_the_card_and_records_shipped_recipes(
    tiny_bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    bundle = Path(shutil.copytree(tiny_bundle, tmp_path / "b"))
    (bundle / CARD_NAME).unlink()
    assert cli_main(["bundle", "card", str(bundle)]) == 0
    assert capsys.readouterr().out.strip() == str(bundle / CARD_NAME)
    assert (bundle / CARD_NAME).read_text() == render_card(read_manifest(bundle), load_evals(bundle))
    args = ["bundle", "card", str(bundle), "--recipes", "tokenizer=low-1-base,low-2-spectrum", "lam=low"]
    assert cli_main([*args, "--note", "tiny test models"]) == 0
    runs = load_bundle(bundle).manifest["training"]["runs"]  # rewritten, and every checksum still holds
    assert [stage["recipe"] for stage in runs["tokenizer"]] == ["low-1-base", "low-2-spectrum"]
    assert runs["lam"][0]["steps"] is None and "- tiny test models" in (bundle / CARD_NAME).read_text()
    assert cli_main(["bundle", "card", str(bundle), "--recipes", "tokenizer"]) == 1
    assert "expected KIND=NAME" in capsys.readouterr().err


def test_eval_files_are_named_or_take_their_stem(tmp_path: Path) -> None:
    source = tmp_path / "lr=3e-4" / "edit.json"  # a folder name with "=" in it
    source.parent.mkdir()
    source.write_text("{}")
    assert eval_file(str(source)) == ("edit", source)
    assert eval_file(f"edit_song={source}") == ("edit_song", source)
    for bad, why in ((f"../x={source}", "plain file name"), ("edit=missing.json", "no such file")):
        with pytest.raises(argparse.ArgumentTypeError, match=why):
            eval_file(bad)


def test_every_eval_option_counts_when_given_more_than_once(tmp_path: Path) -> None:
    from export.bundle_update import add_eval_option

    files = [tmp_path / f"{name}.json" for name in ("a", "b", "c")]
    for f in files:
        f.write_text("{}")
    parser = argparse.ArgumentParser()
    add_eval_option(parser, "evaluations")
    args = parser.parse_args(["--eval", f"one={files[0]}", "--eval", f"two={files[1]}", str(files[2])])
    assert args.eval == [("one", files[0]), ("two", files[1]), ("c", files[2])]


def test_the_card_names_every_source_and_licence_of_the_training_data(tmp_path: Path) -> None:
    old = tmp_path / "old"  # a corpus written before --renderer existed: additive
    old.mkdir()
    (old / "corpus.jsonl").write_text(json.dumps({"path": "a.wav", "duration": 30.0}) + "\n")
    rows = [
        {"path": str(old / "a.wav"), "duration": 30.0, "passed": True, "spans": [[0.0, 30.0]]},
        {
            "path": "/x/b.wav",
            "duration": 60.0,
            "passed": True,
            "renderer": "soundfont",
            "soundfont": "FluidR3_GM.sf2",
        },
        {
            "path": "/x/c.flac",
            "duration": 120.0,
            "passed": False,
            "spans": [[0.0, 30.0], [60.0, 90.0]],
            "source_package": "asc-music",
            "license": "GPL-2+",
        },
        {"path": "/x/d.wav", "duration": 6.0, "passed": True},
    ]
    data = tmp_path / "manifest.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    sources = data_sources(data)
    assert sources == [
        {"source": "Debian package `asc-music`", "licence": "GPL-2+", "files": 1, "minutes": 1.0},
        {
            "source": "musegenie synth, sampled instruments (FluidR3_GM.sf2)",
            "licence": "MIT (fluid-soundfont-gm)",
            "files": 1,
            "minutes": 1.0,
        },
        {
            "source": "musegenie synth, additive synthesiser",
            "licence": "Apache-2.0 (musegenie's own synthesiser and scores)",
            "files": 1,
            "minutes": 0.5,
        },
        {"source": "unrecorded", "licence": "unknown licence", "files": 1, "minutes": 0.1},
    ]
    manifest = read_manifest(SHIPPED) | {"training": training_record({}, str(data))}
    card = render_card(manifest, {})
    assert "| Debian package `asc-music` | GPL-2+ | 1 | 1.0 |" in card
    assert data_sources(tmp_path / "missing.jsonl") == [] and data_sources(None) == []


def test_the_card_quotes_who_plays_in_edits_that_ask(tiny_bundle: Path, tmp_path: Path) -> None:
    per = {
        "sax": {
            "precision": 0.5,
            "recall": 1.0,
            "added": 0.75,
            "added_requests": 4,
            "removed": None,
            "removed_requests": 0,
        },
        "bass": {
            "precision": 1.0,
            "recall": 0.5,
            "added": None,
            "added_requests": 0,
            "removed": 1.0,
            "removed_requests": 2,
        },
    }
    fidelity = {
        "available": True,
        "clips": 6,
        "add": {"requests": 4, "success": 0.75, "success_unasked": 0.25},
        "remove": {"requests": 2, "success": 1.0, "success_unasked": 0.0},
        "exact": 0.5,
        "per_instrument": per,
    }
    bundle = Path(shutil.copytree(tiny_bundle, tmp_path / "b"))
    (bundle / "eval" / "edit.json").write_text(json.dumps(EDIT | {"instrument_fidelity": fidelity}))
    card = write_card(bundle).read_text()
    assert "is heard in 0.750 of 4 edits (0.250 without the request)" in card
    assert "| sax | 0.750 (4) | n/a (0) | 0.500 | 1.000 |" in card
    assert "Log-mel L1 of the region" not in card  # an edit.json from before the scores existed
    assert "song's material" not in card  # nor where the requests' material came from
    fidelity["from_song"] = 0.75
    fidelity["quality"] = {
        kind: {"logmel_l1": value, "flatness_ratio": 1.5, "requests": 4}
        for kind, value in (("unasked", 1.1), ("keep", 1.12), ("add", 1.3), ("remove", 1.2))
    }
    (bundle / "eval" / "edit.json").write_text(json.dumps(EDIT | {"instrument_fidelity": fidelity}))
    card = write_card(bundle).read_text()
    assert "keep 1.120 (1.500x as flat), add 1.300 (1.500x as flat), remove 1.200" in card
    assert "the same edits without a request 1.100 (1.500x)" in card
    assert "Made of the song's material: 0.750 of the requests (else generated)." in card
