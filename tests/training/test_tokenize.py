"""musegenie tokenize, train lam and eval lam end to end on the synthetic corpus with tiny models."""

import dataclasses
import json
import shlex

import numpy as np
import pytest
import torch

from engine.cli import main
from training.data import annotations
from training.latents import LatentWindows, load_entry, read_index
from training.loop import checkpoint
from training.models.tokenizer import build
from training.recipe import load_recipe
from training.tokenize import TokenizeConfig, entry_names, parse_shard, tokenize, tokenizer_sha


@pytest.fixture(scope="module")
def tokenizer_run(tmp_path_factory):
    """An untrained tiny tokenizer saved as a run (hop 32: 500 frames/s)."""
    torch.manual_seed(0)
    model = build("tiny")
    run = tmp_path_factory.mktemp("tokenizer_run")
    state = {
        "kind": "tokenizer",
        "model_config": dataclasses.asdict(model.config),
        "train_config": {},
        "extra": {},
        "epoch": 0,
        "position": 0,
        "ema_updates": 0,
    }
    checkpoint.save(run, 1, model, model, torch.optim.AdamW(model.parameters()), state, [{}], keep=1)
    return run


@pytest.fixture(scope="module")
def latent_dir(tmp_path_factory, tokenizer_run, synth_corpus):
    out = tmp_path_factory.mktemp("latents")
    counts = tokenize(
        tokenizer_run, synth_corpus, out, TokenizeConfig(batch_size=3, segment_seconds=5.0, device="cpu")
    )
    assert counts == {"written": 6, "skipped": 0, "empty": 0}
    return out


def test_tokenize_writes_latents_annotations_and_metadata(latent_dir, tokenizer_run, synth_corpus):
    records = read_index(latent_dir)
    assert len(records) == 6
    sha = tokenizer_sha(tokenizer_run)
    model, _ = checkpoint.load_model(tokenizer_run)
    for record in records:
        assert record["frame_rate"] == 500.0 and record["tokenizer_sha"] == sha and record["annotated"]
        assert record["source"] == str((synth_corpus / f"{record['name']}.wav").resolve())
        arrays = load_entry(latent_dir, record["name"])
        assert arrays["latents"].shape == (record["frames"], 8) and record["frames"] == 12 * 500
        ann = annotations.load(synth_corpus / f"{record['name']}.json")
        np.testing.assert_array_equal(
            arrays["instruments"], annotations.activity_frames(ann, 500.0, record["frames"])
        )
        np.testing.assert_array_equal(
            arrays["events"], annotations.event_frames(ann, 500.0, record["frames"])
        )
    # segmenting into 5 s pieces agrees with encoding the first segment directly
    from engine.audio import load

    audio, _ = load(synth_corpus / "piece_00000.wav", sample_rate=16000, mono=True)
    with torch.no_grad():
        direct = model.encode(torch.from_numpy(audio[:, : 5 * 16000])[None]).numpy()[0]  # (T, D)
    cached = load_entry(latent_dir, "piece_00000")["latents"][: direct.shape[0]]
    np.testing.assert_allclose(cached, direct, atol=2e-2)  # float16 storage


def test_a_partial_annotation_leaves_the_instruments_unknown(tmp_path, tokenizer_run, synth_corpus):
    """A real song's guitar stem annotates one instrument: the others are unknown, not absent, so the
    cache marks the entry unannotated (all-zero instruments, what the models read as unknown)."""
    ann = annotations.load(synth_corpus / "piece_00000.json")
    column = ann["instruments"].index("guitar")
    partial = {**ann, "instruments": ["guitar"], "activity": [[row[column]] for row in ann["activity"]]}
    (tmp_path / "song.json").write_text(json.dumps(partial))
    (tmp_path / "song.wav").symlink_to(synth_corpus / "piece_00000.wav")
    (tmp_path / "corpus.jsonl").write_text(
        json.dumps({"path": "song.wav", "annotations": "song.json"}) + "\n"
    )
    out = tmp_path / "latents"
    tokenize(tokenizer_run, tmp_path, out, TokenizeConfig(batch_size=3, segment_seconds=5.0, device="cpu"))
    (record,) = read_index(out)
    arrays = load_entry(out, record["name"])
    assert not record["annotated"] and "instruments" not in arrays
    np.testing.assert_array_equal(arrays["events"], annotations.event_frames(ann, 500.0, record["frames"]))


def test_tokenize_resumes_and_shards(tmp_path, tokenizer_run, synth_corpus):
    config = TokenizeConfig(batch_size=4, segment_seconds=6.0, device="cpu")
    assert tokenize(tokenizer_run, synth_corpus, tmp_path, config, shard=(1, 3))["written"] == 2
    assert tokenize(tokenizer_run, synth_corpus, tmp_path, config, shard=(0, 3))["written"] == 2
    names = sorted(r["name"] for r in read_index(tmp_path))
    assert names == ["piece_00000", "piece_00001", "piece_00003", "piece_00004"]
    (tmp_path / "piece_00004.npz").unlink()  # a lost file whose index line survived stays "done"
    counts = tokenize(tokenizer_run, synth_corpus, tmp_path, config)
    assert counts == {"written": 2, "skipped": 4, "empty": 0}
    assert len(read_index(tmp_path)) == 6
    assert tokenize(tokenizer_run, synth_corpus, tmp_path, config)["written"] == 0


def test_tokenize_refuses_another_tokenizers_cache(tmp_path, tokenizer_run, synth_corpus, latent_dir):
    (tmp_path / "index.jsonl").write_text(
        json.dumps({**read_index(latent_dir)[0], "tokenizer_sha": "other"}) + "\n"
    )
    with pytest.raises(ValueError, match="another tokenizer"):
        tokenize(tokenizer_run, synth_corpus, tmp_path, TokenizeConfig(device="cpu"))


def test_names_and_shard_parsing(tmp_path):
    from training.data.manifest import Entry

    entries = [
        Entry(tmp_path / "a" / "x.wav"),
        Entry(tmp_path / "b" / "x.wav"),
        Entry(tmp_path / "y z.wav", 1.5, 9.0),
    ]
    names = entry_names(entries)
    assert names[0] != names[1] and names[0].startswith("x_") and names[2] == "y_z_00001500ms"
    assert entry_names(entries) == names
    assert parse_shard("2/4") == (2, 4)
    for bad in ("4/4", "x", "1/0", "-1/2"):
        with pytest.raises(ValueError):
            parse_shard(bad)


def test_train_and_eval_lam_commands(tmp_path, latent_dir, tokenizer_run, capsys):
    run = tmp_path / "lam"
    rc = main(
        shlex.split(
            "train lam --set task.preset=tiny --set task.chunk_seconds=0.01 --set task.window_chunks=6 "
            "--set task.actions=4 --instruments --max-steps 6 --batch-size 8 --set train.warmup_steps=2 "
            "--set train.sample_every=3 --set train.checkpoint_every=3 --device cpu --set task.val_fraction=0.2"
        )
        + ["--latents", str(latent_dir), "--out", str(run)]
    )
    assert rc == 0
    info = checkpoint.load_run(run)
    assert info.kind == "lam" and info.step == 6
    assert info.model_config["chunk_frames"] == 5 and info.model_config["num_instruments"] == 7
    recipe = load_recipe("lam", run / "recipe.toml")  # the resolved recipe reads back as a recipe
    assert recipe.build("task").actions == 4 and recipe.build("task").instruments is True
    assert recipe.section("model")["width"] == info.model_config["width"]  # without the data-set fields
    assert "--instruments True" in info.extra["recipe"]["sets"]
    model, config = checkpoint.load_model(run)
    windows = LatentWindows(latent_dir, 30, "val", seed=0, val_fraction=0.2)
    logits, ids = model.infer_actions(
        torch.from_numpy(windows[0]["latents"])[None], torch.from_numpy(windows[0]["instruments"])[None]
    )
    assert logits.shape == (1, 6, 4)
    out = tmp_path / "eval"
    rc = main(
        shlex.split("eval lam --seeds 2 --mel-windows 1 --decoder-steps 1")
        + [
            "--checkpoint",
            str(run),
            "--latents",
            str(latent_dir),
            "--out",
            str(out),
            "--tokenizer",
            str(tokenizer_run),
        ]
    )
    assert rc == 0
    metrics = json.loads((out / "metrics.json").read_text())
    for key in (
        "delta_psnr",
        "delta_psnr_std",
        "perplexity",
        "nmi_event",
        "nmi_instrumentation",
        "mel_delta_psnr",
        "contingency",
        "usage",
    ):
        assert key in metrics
    assert len(metrics["delta_psnr_draws"]) == 2 and 1.0 <= metrics["perplexity"] <= 4.0
    every = LatentWindows(latent_dir, 30, "val", seed=0, val_fraction=1.0)
    assert np.array(metrics["contingency"]["counts"]).sum() == len(every) * 6  # every chunk of every piece
    actions = json.loads((out / "actions.json").read_text())
    assert [a["id"] for a in actions] == [0, 1, 2, 3]
    assert len({a["name"] for a in actions}) == 4 and all(a["description"] for a in actions)
    assert (out / "contingency.png").stat().st_size > 1000
    assert "delta-PSNR" in capsys.readouterr().out
    assert main(["train", "lam", "--latents", str(tmp_path / "none"), "--out", str(tmp_path / "x")]) == 1
