"""Dynamics model, guided inpainting, training masks and the train/eval commands, on tiny CPU configs."""

from __future__ import annotations

import json
from dataclasses import asdict
from functools import partial
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from engine.bundle import Defaults
from engine.cli import main
from engine.errors import CommandError
from training.evaluation.dynamics import latent_scores
from training.inpainting import guided_velocity, inpaint
from training.latents import LatentWindows, MaskedWindows, write_entry
from training.loop import checkpoint, rng
from training.loop.checkpoint import load_model, load_run
from training.models.dynamics import DynamicsConfig, DynamicsModel, preset
from training.models.lam import LatentActionModel, lam_config
from training.models.tokenizer import build as build_tokenizer
from training.tasks.dynamics import (
    DynamicsTask,
    DynamicsTaskConfig,
    MaskConfig,
    draw_mask,
    load_lam,
    player_changes,
    sample_mask,
)

B, T, D, A = 2, 24, 16, 4


def _model(num_instruments: int = 0, trained: bool = True) -> DynamicsModel:
    """A tiny model; `trained` replaces the zero-initialised weights with random ones so outputs are non-zero."""
    torch.manual_seed(0)
    model = DynamicsModel(preset("tiny", latent_dim=D, num_actions=A, num_instruments=num_instruments)).eval()
    if trained:
        with torch.no_grad():
            for p in model.parameters():
                p.normal_(0.0, 0.2)
    return model


def _inputs(seed: int = 1) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    mask = torch.zeros(B, T)
    mask[0, 5:13] = 1
    mask[1, :6] = 1  # region at the window's left edge
    mask[1, 20:] = 1  # and at its right edge
    return {
        "context": torch.randn(B, T, D, generator=g),
        "mask": mask,
        "actions": torch.randint(0, A, (B, T), generator=g),
    }


def test_fresh_model_outputs_exact_zeros() -> None:
    model = _model(trained=False)
    x = _inputs()
    v = model(torch.randn(B, T, D), torch.rand(B), x["context"], x["mask"], x["actions"])
    assert v.shape == (B, T, D)
    assert torch.count_nonzero(v) == 0


def test_model_reads_noisy_only_where_masked_and_context_only_where_known() -> None:
    model = _model()
    x = _inputs()
    noisy, t = torch.randn(B, T, D), torch.rand(B)
    v = model(noisy, t, x["context"], x["mask"], x["actions"])
    known = (x["mask"] == 0).unsqueeze(-1)
    scrambled_noisy = torch.where(known, torch.randn(B, T, D), noisy)  # change noisy on known frames
    scrambled_context = torch.where(known, x["context"], torch.randn(B, T, D))  # and context on masked ones
    v2 = model(scrambled_noisy, t, scrambled_context, x["mask"], x["actions"])
    assert torch.allclose(v, v2, atol=1e-6)
    assert v.abs().mean() > 1e-3


def test_actions_and_time_change_the_output() -> None:
    model = _model()
    x = _inputs()
    noisy, t = torch.randn(B, T, D), torch.rand(B)
    v = model(noisy, t, x["context"], x["mask"], x["actions"])
    assert not torch.allclose(v, model(noisy, t, x["context"], x["mask"], (x["actions"] + 1) % A))
    assert not torch.allclose(v, model(noisy, 1 - t, x["context"], x["mask"], x["actions"]))


@pytest.mark.parametrize("frames", [1, 7, 131])
def test_any_length(frames: int) -> None:
    model = _model()
    v = model(
        torch.randn(1, frames, D),
        torch.rand(1),
        torch.randn(1, frames, D),
        torch.ones(1, frames),
        torch.zeros(1, frames, dtype=torch.long),
    )
    assert v.shape == (1, frames, D) and torch.isfinite(v).all()


def test_instruments_required_iff_configured() -> None:
    with_instruments, without = _model(num_instruments=3), _model()
    x = _inputs()
    args = (torch.randn(B, T, D), torch.rand(B), x["context"], x["mask"], x["actions"])
    instruments = torch.randint(0, 2, (B, T, 3)).float()
    v = with_instruments(*args, instruments)
    assert not torch.allclose(v, with_instruments(*args, 1 - instruments))
    with pytest.raises(ValueError, match="instruments"):
        with_instruments(*args)
    with pytest.raises(ValueError, match="instruments"):
        without(*args, instruments)


def test_bad_head_split_is_rejected() -> None:
    with pytest.raises(ValueError, match="heads"):
        DynamicsModel(DynamicsConfig(width=30, heads=4))
    with pytest.raises(KeyError, match="tiny"):
        preset("enormous")


def test_known_frames_pass_through_untouched() -> None:
    model = _model()
    x = _inputs()
    for guidance in (0.0, 1.0, 3.0):
        out = inpaint(model, x["context"], x["mask"], x["actions"], steps=4, guidance=guidance, method="heun")
        known = x["mask"] == 0
        assert torch.equal(out[known], x["context"][known])  # bit-identical
        assert not torch.allclose(out[~known], x["context"][~known])
        assert torch.isfinite(out).all()


def test_masks_can_start_or_end_where_who_plays_changes() -> None:
    players = np.zeros((64, 7), np.float32)
    players[20:, 3] = 1.0  # drums come in at frame 20
    players[50:, 0] = 1.0  # piano at 50
    changes = player_changes(players)
    assert changes.tolist() == [20, 50] and player_changes(players[:, :0]).size == 0
    rng_ = np.random.default_rng(0)
    masks = [sample_mask(64, 8, MaskConfig(change_prob=1.0), rng_, changes) for _ in range(400)]
    edges = {(int(m.argmax()), int(64 - m[::-1].argmax())) for m in masks}  # (first, end) of the one region
    assert edges == {(20, 64), (0, 20), (50, 64), (0, 50)}  # from a change to an edge, both ways, each change
    plain = [sample_mask(64, 8, MaskConfig(change_prob=0.0), rng_, changes) for _ in range(100)]
    assert len({(int(m.argmax()), int(m.sum())) for m in plain}) > 20  # off by default: the usual masks
    same = [np.random.default_rng(7) for _ in range(2)]  # the default never draws for it: masks as before
    assert all(
        np.array_equal(
            sample_mask(64, 8, MaskConfig(), same[0], changes), sample_mask(64, 8, MaskConfig(), same[1])
        )
        for _ in range(50)
    )
    no_change = [sample_mask(64, 8, MaskConfig(change_prob=1.0), rng_, changes[:0]) for _ in range(50)]
    assert all(1 <= m.sum() <= 63 for m in no_change)


def test_guidance_null_row_has_unknown_instruments() -> None:
    """Training drops actions and instruments together, so the null velocity has all-zero instruments."""
    model = _model(num_instruments=3)
    x = _inputs()
    players = torch.zeros(B, T, 3)
    players[..., 1] = 1.0
    xt, t = torch.randn(B, T, D), 0.7
    tt = torch.full((B,), t)
    v_cond = model(xt, tt, x["context"], x["mask"], x["actions"], players)
    v_null = model(
        xt, tt, x["context"], x["mask"], torch.full_like(x["actions"], A), torch.zeros_like(players)
    )
    g0 = guided_velocity(model, x["context"], x["mask"], x["actions"], players, guidance=0.0)(xt, t)
    g2 = guided_velocity(model, x["context"], x["mask"], x["actions"], players, guidance=2.0)(xt, t)
    assert torch.equal(g0, v_null)
    assert torch.allclose(g2, v_null + 2.0 * (v_cond - v_null), atol=1e-5)


def test_guidance_zero_and_one_behave_as_defined() -> None:
    model = _model()
    x = _inputs()
    xt, t = torch.randn(B, T, D), 0.7
    tt = torch.full((B,), t)
    null = torch.full_like(x["actions"], A)
    v_cond = model(xt, tt, x["context"], x["mask"], x["actions"])
    v_null = model(xt, tt, x["context"], x["mask"], null)
    g0 = guided_velocity(model, x["context"], x["mask"], x["actions"], guidance=0.0)(xt, t)
    g1 = guided_velocity(model, x["context"], x["mask"], x["actions"], guidance=1.0)(xt, t)
    g3 = guided_velocity(model, x["context"], x["mask"], x["actions"], guidance=3.0)(xt, t)
    assert torch.equal(g0, v_null)
    assert torch.equal(g1, v_cond)
    assert torch.allclose(g3, v_null + 3.0 * (v_cond - v_null), atol=1e-5)
    # g=0 ignores the actions entirely: two different action sequences give the same latents.
    a = inpaint(model, x["context"], x["mask"], x["actions"], steps=3, guidance=0.0, method="euler")
    b = inpaint(model, x["context"], x["mask"], (x["actions"] + 1) % A, steps=3, guidance=0.0, method="euler")
    assert torch.equal(a, b)
    c = inpaint(model, x["context"], x["mask"], (x["actions"] + 1) % A, steps=3, guidance=1.0, method="euler")
    assert not torch.allclose(a, c)


def test_inpainting_is_deterministic_for_a_seed() -> None:
    model = _model()
    x = _inputs()
    settings = {"steps": 3, "guidance": 2.0, "method": "heun"}
    a = inpaint(model, x["context"], x["mask"], x["actions"], **settings, seed=5)
    b = inpaint(model, x["context"], x["mask"], x["actions"], **settings, seed=5)
    c = inpaint(model, x["context"], x["mask"], x["actions"], **settings, seed=6)
    assert torch.equal(a, b)
    assert not torch.allclose(a, c)


# Training masks -------------------------------------------------------------------------------------------


def test_masks_vary_cover_edges_and_are_never_all_or_none() -> None:
    rng_ = np.random.default_rng(0)
    frames, chunk = 64, 8
    masks = np.stack([sample_mask(frames, chunk, MaskConfig(), rng_) for _ in range(2000)])  # (N, T)
    counts = masks.sum(axis=1)
    assert masks.dtype == np.float32 and set(np.unique(masks)) <= {0.0, 1.0}
    assert counts.min() >= 1 and counts.max() <= frames - 1
    assert 0.1 < masks[:, 0].mean() < 0.6 and 0.1 < masks[:, -1].mean() < 0.6  # both window edges, sometimes
    assert len(np.unique(counts)) > 30  # region lengths vary
    runs = (np.diff(masks, axis=1) == 1).sum(axis=1) + masks[:, 0]  # masked runs per window
    assert (runs == 1).mean() > 0.6 and (runs > 1).any()  # mostly one region, sometimes scattered chunks
    starts = masks.argmax(axis=1)[runs == 1]
    assert len(np.unique(starts)) > 30  # region positions vary
    # Degenerate settings still leave context and a target: chunk masks at rate ~1 and ~0, and tiny windows.
    for cfg in (
        MaskConfig(region_prob=0.0, chunk_min=0.99, chunk_max=1.0),
        MaskConfig(region_prob=0.0, chunk_min=0.0, chunk_max=0.0),
    ):
        for _ in range(200):
            m = sample_mask(20, 8, cfg, rng_)
            assert 1 <= m.sum() <= 19
    assert sample_mask(2, 8, MaskConfig(), rng_).sum() == 1
    with pytest.raises(ValueError, match="2 frames"):
        sample_mask(1, 8, MaskConfig(), rng_)


def test_masks_are_a_function_of_seed_epoch_and_index(corpus: dict[str, Path]) -> None:
    windows = LatentWindows(corpus["latents"], 32, "train", seed=0)
    data = MaskedWindows(windows, partial(draw_mask, 8, MaskConfig()), seed=3)
    first = [data[i]["mask"] for i in range(len(data))]
    assert all(np.array_equal(a, data[i]["mask"]) for i, a in enumerate(first))
    data.set_epoch(1)
    assert not all(np.array_equal(a, data[i]["mask"]) for i, a in enumerate(first))
    assert set(data[0]) == {"latents", "instruments", "events", "mask"}


# Task and commands on a tiny synthetic latent cache --------------------------------------------------------

FRAME_RATE = 500.0  # the tiny tokenizer: 16 kHz / hop 32


def _save_run(run_dir: Path, kind: str, model: torch.nn.Module, config: object) -> None:
    optimizer = torch.optim.AdamW(model.parameters())
    state = {"kind": kind, "model_config": asdict(config), "train_config": {}, "extra": {}}
    checkpoint.save(run_dir, 1, model, model, optimizer, state, [rng.get_state()], keep=1)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Six pieces of structured latents (per-chunk levels + a tone), a tiny LAM run and a tiny tokenizer run."""
    root = tmp_path_factory.mktemp("dynamics")
    g = np.random.default_rng(0)
    for n in range(6):
        levels = np.repeat(g.normal(size=(12, 8)), 8, axis=0)  # (96, 8) a new "state" every chunk
        tone = np.sin(np.arange(96)[:, None] * (0.2 + 0.1 * np.arange(8))[None])  # (96, 8)
        write_entry(
            root / "latents",
            f"piece{n}",
            (levels + 0.3 * tone).astype(np.float32),
            source=f"/corpus/piece{n}.wav",
            start=0.0,
            frame_rate=FRAME_RATE,
            tokenizer_sha="test",
            instruments=(g.random((96, 7)) < 0.3).astype(np.uint8),
            events=np.zeros((96, 8), np.uint8),
        )
    torch.manual_seed(0)
    lam_cfg = lam_config("tiny", latent_dim=8, chunk_frames=8, num_actions=4)
    _save_run(root / "lam", "lam", LatentActionModel(lam_cfg), lam_cfg)
    lam_cfg = lam_config("tiny", latent_dim=8, chunk_frames=8, num_actions=4, num_instruments=7)
    _save_run(root / "lam_instruments", "lam", LatentActionModel(lam_cfg), lam_cfg)
    tokenizer = build_tokenizer(
        "tiny"
    )  # a fresh one decodes silence: perturb it so the audio carries the latents
    with torch.no_grad():
        for p in tokenizer.parameters():
            p.add_(0.05 * torch.randn(p.shape, generator=torch.Generator().manual_seed(p.numel())))
    _save_run(root / "tokenizer", "tokenizer", tokenizer, tokenizer.config)
    names = ("latents", "lam", "lam_instruments", "tokenizer")
    return {"root": root, **{name: root / name for name in names}}


def test_task_windows_model_and_masked_only_loss(corpus: dict[str, Path]) -> None:
    task = DynamicsTask(
        corpus["latents"], corpus["lam"], DynamicsTaskConfig(preset="tiny", window_seconds=0.05), MaskConfig()
    )
    assert task.window_frames == 32  # 25 frames rounded up to whole chunks of 8
    assert task.model.config.num_actions == 4 and task.model.config.latent_dim == 8
    assert task.model.config.num_instruments == 0  # the LAM did not use instruments
    assert len(task.dataset) > 0 and len(task.val) > 0
    items = [task.dataset[i] for i in range(4)]
    batch = {k: torch.from_numpy(np.stack([it[k] for it in items])) for k in items[0]}
    batch["latents"] = torch.where(
        batch["mask"][..., None] > 0, batch["latents"], torch.full_like(batch["latents"], 1e3)
    )
    torch.manual_seed(0)
    loss, metrics = task.loss(task.model, batch, 0)
    # A fresh model predicts 0, so the loss is |noise - x0|^2 on the frames it counts: ~2 on masked frames,
    # ~1e6 on the known frames set to 1e3. A small loss means only masked frames count.
    assert 0.5 < loss.item() < 10.0
    assert metrics["masked_fraction"] == pytest.approx(float(batch["mask"].mean()))
    loss.backward()
    assert task.model.final_layer.linear.weight.grad.abs().sum() > 0


def test_task_takes_a_patch_that_divides_the_lams_chunks(corpus: dict[str, Path]) -> None:
    config = DynamicsTaskConfig(preset="tiny", window_seconds=0.05)
    task = DynamicsTask(corpus["latents"], corpus["lam"], config, MaskConfig(), patch=4)
    assert task.model.config.patch == 4 and task.model.x_embedder.in_features == 4 * 9
    with pytest.raises(CommandError, match="model.patch 3 must divide the LAM's chunks of 8 frames"):
        DynamicsTask(corpus["latents"], corpus["lam"], config, MaskConfig(), patch=3)


def test_task_conditions_on_instruments_when_the_lam_did(corpus: dict[str, Path]) -> None:
    config = DynamicsTaskConfig(
        preset="tiny", window_seconds=0.05, instrument_dropout=0.0, action_dropout=0.0
    )
    task = DynamicsTask(corpus["latents"], corpus["lam_instruments"], config, MaskConfig())
    assert task.model.config.num_instruments == 7
    items = [task.dataset[i] for i in range(4)]
    batch = {k: torch.from_numpy(np.stack([it[k] for it in items])) for k in items[0]}
    with torch.no_grad():
        for p in task.model.parameters():
            p.normal_(0.0, 0.2)
    torch.manual_seed(0)
    with_instruments = task.loss(task.model, batch, 0)[0]
    task.config.instrument_dropout = 1.0  # the same draws, but every window's instruments unknown
    torch.manual_seed(0)
    assert not torch.isclose(task.loss(task.model, batch, 0)[0], with_instruments)


def test_train_and_eval_commands_end_to_end(
    corpus: dict[str, Path], tmp_path: Path, tiny_bundle: Path
) -> None:
    run_dir, eval_dir = tmp_path / "run", tmp_path / "eval"
    common = ["--latents", str(corpus["latents"]), "--lam", str(corpus["lam"])]
    args = [
        "train",
        "dynamics",
        *common,
        "--out",
        str(run_dir),
        "--set",
        "task.preset=tiny",
        "--set",
        "task.window_seconds=0.064",
    ]
    args += ["--max-steps", "3", "--batch-size", "4", "--set", "train.warmup_steps=1"]
    args += ["--set", "train.sample_every=3", "--set", "train.log_every=1"]
    assert main(args) == 0
    info = load_run(run_dir)
    assert info.kind == "dynamics" and info.step == 3
    assert info.extra["window_frames"] == 32 and info.extra["lam"] == str(corpus["lam"].resolve())
    model, config = load_model(run_dir)
    assert isinstance(model, DynamicsModel) and config.num_actions == 4
    assert main(args) == 1  # the run exists and --resume was not given

    bundle = tmp_path / "bundle"  # a bundle whose defaults differ from export's: the eval must use them
    manifest = json.loads((tiny_bundle / "manifest.json").read_text())
    manifest["defaults"].update(guidance=3.5, sampler="heun", decoder_shift=0.7)
    bundle.mkdir()
    (bundle / "manifest.json").write_text(json.dumps(manifest))
    eval_args = ["eval", "dynamics", "--checkpoint", str(run_dir), "--tokenizer", str(corpus["tokenizer"])]
    eval_args += [
        "--out",
        str(eval_dir),
        "--steps",
        "2",
        "--decoder-steps",
        "2",
        "--windows",
        "4",
        "--examples",
        "1",
        "--bundle",
        str(bundle),
    ]
    assert main(eval_args) == 0
    summary = json.loads((eval_dir / "dynamics.json").read_text())
    # Sampling: the bundle's defaults, except the steps the flags set.
    assert summary["sampling"]["steps"] == 2 and summary["sampling"]["decoder_steps"] == 2
    assert summary["sampling"]["guidance"] == 3.5 and summary["sampling"]["sampler"] == "heun"
    assert summary["sampling"]["decoder_shift"] == 0.7
    for c in ("inferred", "random", "null"):
        for key in (f"latent_mse_{c}", f"log_mel_{c}", f"seam_ratio_{c}"):
            assert np.isfinite(summary[key]) and summary[key] >= 0, key
    assert summary["windows"] == 3 and summary["natural_flux"] > 0
    names = sorted(p.name for p in (eval_dir / "examples" / "00").glob("*.wav"))
    assert names == sorted(["truth.wav", "null.wav", *(f"action_{a}.wav" for a in range(4))])
    assert (eval_dir / "examples" / "00" / "spectrograms.png").stat().st_size > 10_000
    audio, sr = sf.read(eval_dir / "examples" / "00" / "action_0.wav")
    assert sr == 16_000 and audio.shape == (32 * 32,) and np.isfinite(audio).all()

    assert (
        main(
            [
                "eval",
                "dynamics",
                "--checkpoint",
                str(corpus["lam"]),
                "--tokenizer",
                str(corpus["tokenizer"]),
                "--out",
                str(eval_dir),
            ]
        )
        == 1
    )
    assert (
        main(
            [
                "train",
                "dynamics",
                "--latents",
                str(tmp_path / "nowhere"),
                "--lam",
                str(corpus["lam"]),
                "--out",
                str(run_dir),
            ]
        )
        == 1
    )


@pytest.mark.slow
def test_informative_actions_are_followed(tmp_path: Path) -> None:
    """Every 1 s chunk shows one of 8 hidden states that the context cannot predict: after a short run the
    LAM names the states, and inpainting with the inferred actions lands far nearer the truth than random ones."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # several threads on a busy 2-core box are many times slower than one
    try:
        _train_and_score_hidden_states(tmp_path)
    finally:
        torch.set_num_threads(threads)


def _train_and_score_hidden_states(tmp_path: Path) -> None:
    g = np.random.default_rng(0)
    patterns = g.normal(size=(8, 16))
    for n in range(60):
        x = np.repeat(patterns[g.integers(0, 8, size=12)], 8, axis=0) + 0.2 * g.normal(size=(96, 16))
        write_entry(
            tmp_path / "lat",
            f"p{n:02d}",
            x.astype(np.float32),
            source=f"/s/p{n}.wav",
            start=0.0,
            frame_rate=7.8125,
            tokenizer_sha="t",
        )
    lam_args = [
        "train",
        "lam",
        "--latents",
        str(tmp_path / "lat"),
        "--out",
        str(tmp_path / "lam"),
        "--set",
        "task.preset=tiny",
    ]
    lam_args += ["--set", "task.actions=8", "--set", "task.chunk_seconds=1.024", "--max-steps", "300"]
    assert main([*lam_args, "--set", "train.sample_every=0"]) == 0
    dyn_args = [
        "train",
        "dynamics",
        "--latents",
        str(tmp_path / "lat"),
        "--lam",
        str(tmp_path / "lam"),
        "--out",
        str(tmp_path / "dyn"),
    ]
    dyn_args += ["--set", "task.preset=tiny", "--max-steps", "600", "--batch-size", "16"]
    dyn_args += ["--set", "train.warmup_steps=30", "--set", "train.lr=1e-3", "--set", "train.sample_every=0"]
    assert main(dyn_args) == 0
    model, _ = load_model(tmp_path / "dyn")
    info = load_run(tmp_path / "dyn")
    val = LatentWindows(tmp_path / "lat", info.extra["window_frames"], "val", 0, info.extra["val_fraction"])
    sampling = Defaults(steps=8, guidance=2.0, sampler="euler")
    scores = latent_scores(model.eval(), load_lam(tmp_path / "lam"), val, sampling, max_windows=16)
    assert scores["latent_mse_inferred"] < 0.7 * scores["latent_mse_random"], scores
    assert scores["latent_mse_inferred"] < 0.7 * scores["latent_mse_null"], scores
