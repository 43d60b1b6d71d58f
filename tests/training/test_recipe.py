"""Recipes: the shipped ones rebuild the shipped bundle's models; --recipe/--set resolve with clear errors."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest

from engine.bundle import load_bundle
from engine.cli import main
from training.data.annotations import INSTRUMENTS
from training.models.dynamics import DynamicsModel
from training.models.dynamics import preset as dynamics_preset
from training.models.lam import LatentActionModel, lam_config
from training.models.tokenizer import build as build_tokenizer
from training.recipe import SECTIONS, RecipeError, load_recipe, recipe_names
from training.tasks.lam import chunk_frames_for

BUNDLE = Path(__file__).resolve().parents[2] / "models" / "default"
TOKENIZER_STAGES = (
    "shipped-1-base",
    "shipped-2-spectrum",
    "shipped-3-anneal",
    "shipped-4-mdct1024",
    "shipped-5-mix",
)


def as_json(config: object) -> dict:
    """A config as a bundle manifest stores it (tuples become lists)."""
    return json.loads(json.dumps(dataclasses.asdict(config)))


def tokenizer_config(name: str, base: dict | None = None) -> dict:
    """The config `train tokenizer --recipe NAME` builds, from scratch or warm-started from `base`."""
    recipe = load_recipe("tokenizer", name)
    preset = recipe.build("task").preset
    return as_json(build_tokenizer(preset, **{**(base or {}), **recipe.section("model")}).config)


def test_the_shipped_recipes_rebuild_the_shipped_architecture() -> None:
    configs = load_bundle(BUNDLE, verify=False).configs
    previous = None
    for name in TOKENIZER_STAGES:  # each stage warm-starts from the one before: its architecture + the recipe
        fresh = tokenizer_config(name)
        assert previous is None or tokenizer_config(name, previous) == fresh, name
        previous = fresh
    assert previous == configs["tokenizer"]
    assert tokenizer_config("shipped-1-base") != configs["tokenizer"]  # the stages do change the model

    lam = load_recipe("lam", "shipped")
    task = lam.build("task")
    frame_rate = 16_000 / configs["tokenizer"]["patch"] / 32  # hop 2048 -> 7.8125 frames/s
    lam_cfg = lam_config(
        task.preset,
        latent_dim=configs["tokenizer"]["latent_dim"],
        chunk_frames=chunk_frames_for(task.chunk_seconds, frame_rate),
        num_actions=task.actions,
        num_instruments=len(INSTRUMENTS) if task.instruments else 0,
        **lam.section("model"),
    )
    # The bundle predates `patch` (frames per transformer token); its default, 1, is what it was trained with.
    assert as_json(LatentActionModel(lam_cfg).config) == {"patch": 1, **configs["lam"]}

    dynamics = load_recipe("dynamics", "shipped")
    dyn_cfg = dynamics_preset(
        dynamics.build("task").preset,
        latent_dim=lam_cfg.latent_dim,
        num_actions=lam_cfg.num_actions,
        num_instruments=lam_cfg.num_instruments,
        **dynamics.section("model"),
    )
    assert as_json(DynamicsModel(dyn_cfg).config) == {"patch": 1, **configs["dynamics"]}


def test_the_lower_rate_recipes_chain_at_four_times_the_frame_rate() -> None:
    """Issue 25's lower-compression tokenizer: 31.25 frames/s x 32 channels, each run warm-startable from the
    one before, like the shipped chain."""
    previous = None
    for name in ("low-1-base", "low-2-spectrum", "low-3-anneal"):
        fresh = tokenizer_config(name)
        assert previous is None or tokenizer_config(name, previous) == fresh, name
        previous = fresh
    tokenizer = build_tokenizer("small", **{k: v for k, v in previous.items() if k != "sample_rate"})
    shipped = load_bundle(BUNDLE, verify=False).configs["tokenizer"]
    assert tokenizer.config.hop == 512 and tokenizer.config.latent_dim == 32
    assert 16_000 / tokenizer.config.hop == 4 * 16_000 / (shipped["patch"] * 32)
    assert previous["widths"] == shipped["widths"] and previous["spectrum"] and previous["fine_gate"]

    # Its LAM and dynamics: chunks of the shipped length in seconds, and 4 frames per transformer token, so a
    # window is as many tokens as the shipped models see and a training step costs about the same.
    lam = load_recipe("lam", "low")
    task = lam.build("task")
    k = chunk_frames_for(task.chunk_seconds, 16_000 / tokenizer.config.hop)
    lam_cfg = lam_config(
        task.preset, latent_dim=32, chunk_frames=k, num_actions=task.actions, **lam.section("model")
    )
    shipped_lam = load_bundle(BUNDLE, verify=False).configs["lam"]
    assert k == 4 * shipped_lam["chunk_frames"] and k // lam_cfg.patch == shipped_lam["chunk_frames"]
    LatentActionModel(lam_cfg)
    dynamics = load_recipe("dynamics", "low")
    dyn_cfg = dynamics_preset(dynamics.build("task").preset, latent_dim=32, **dynamics.section("model"))
    assert dyn_cfg.patch == 4 and k % dyn_cfg.patch == 0
    assert dynamics.build("train") == load_recipe("dynamics", "shipped").build("train")


@pytest.mark.parametrize("kind", sorted(SECTIONS))
def test_every_shipped_recipe_resolves_to_valid_configs(kind: str) -> None:
    names = recipe_names(kind)
    assert "default" in names and len(names) >= 3
    for name in names:
        recipe = load_recipe(kind, name)
        for section in SECTIONS[kind]:
            if section != "model":
                recipe.build(section)  # raises on a value the dataclass refuses
    assert load_recipe("tokenizer", "gpu-high").build("task").preset == "high"


def test_defaults_and_extends_resolve_in_order() -> None:
    default = load_recipe("tokenizer")
    assert default.build("train").lr == 1e-3 and default.build("train").max_steps == 4000
    stage3 = load_recipe("tokenizer", "shipped-3-anneal")
    train = stage3.build("train")
    assert (train.lr, train.warmup_steps, train.max_steps, train.batch_size) == (2e-4, 100, 4500, 8)
    assert stage3.build("flow").loss_t_floor == 0.0  # run 2 set it back from run 1's 0.25
    assert stage3.section("model")["latent_mel_weight"] == 10.0  # from run 1, through run 2


def test_set_changes_one_value_with_its_type() -> None:
    recipe = load_recipe(
        "tokenizer",
        "shipped-1-base",
        ["train.lr=2e-4", "task.curriculum=0:2", "model.factors=[4, 4, 2]", "train.max_steps=10"],
    )
    assert recipe.build("train").lr == 2e-4 and recipe.build("train").max_steps == 10
    assert recipe.build("task").curriculum == "0:2"  # a bare word is a string
    assert recipe.section("model")["factors"] == (4, 4, 2)
    assert load_recipe("lam", "default", ["train.lr=1"]).build("train").lr == 1.0  # an int where a float goes


@pytest.mark.parametrize(
    ("assignment", "message"),
    [
        ("train.lrr=1e-4", "[train] has no key 'lrr' (did you mean lr?)"),
        ("train.lr=fast", "train.lr must be float, got 'fast'"),
        ("train.max_steps=1.5", "train.max_steps must be int, got 1.5"),
        ("model.spectrum=1", "model.spectrum must be bool, got 1"),
        ("optim.lr=1", "no section 'optim'"),
        ("lr=1", "expected SECTION.KEY=VALUE"),
    ],
)
def test_bad_set_assignments_say_what_is_wrong(assignment: str, message: str) -> None:
    with pytest.raises(RecipeError, match=re.escape(message)):
        load_recipe("tokenizer", "default", [assignment])


def test_bad_recipe_files_say_what_is_wrong(tmp_path: Path) -> None:
    cases = {
        "section.toml": ("[optimizer]\nlr = 1.0\n", "unknown section [optimizer]"),
        "key.toml": ("[task]\npreset = 'small'\nbogus = 1\n", "[task] has no key 'bogus'"),
        "derived.toml": ("[model]\nlatent_dim = 32\n", "model.latent_dim is set by the data"),
        "kind.toml": ("kind = 'tokenizer'\n", "is a tokenizer recipe, not a lam one"),
        "loop.toml": ("extends = 'loop.toml'\n", "extends itself"),
        "broken.toml": ("[task\n", "unreadable"),
    }
    for name, (text, message) in cases.items():
        (tmp_path / name).write_text(text)
        with pytest.raises(RecipeError, match=re.escape(message)):
            load_recipe("lam", tmp_path / name)
    with pytest.raises(RecipeError, match="no lam recipe named 'nope'; shipped: .*shipped"):
        load_recipe("lam", "nope")
    bad_value = load_recipe("lam", "default", ["train.precision=fp8"])
    with pytest.raises(RecipeError, match="precision must be 'fp32' or 'bf16'"):
        bad_value.build("train")


def test_a_recipe_file_may_extend_a_shipped_recipe(tmp_path: Path) -> None:
    (tmp_path / "mine.toml").write_text("extends = 'shipped-4-mdct1024'\n[train]\nmax_steps = 500\n")
    recipe = load_recipe("tokenizer", tmp_path / "mine.toml")
    assert recipe.build("train").max_steps == 500 and recipe.section("model")["compand_bins"] == 1024


def test_train_help_is_short_and_a_bad_set_fails_cleanly(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    for kind in ("tokenizer", "lam", "dynamics"):
        with pytest.raises(SystemExit):
            main(["train", kind, "--help"])
        options = re.findall(r"^\s+(-{1,2}[\w-]+)", capsys.readouterr().out, re.MULTILINE)
        assert len(options) <= 25, (kind, options)
        assert {"--recipe", "--set", "--out", "--max-steps", "--resume", "--device"} <= set(options)
    code = main(
        ["train", "tokenizer", "--data", str(tmp_path), "--out", str(tmp_path / "r"), "--set", "x.y=1"]
    )
    assert code == 1 and "no section 'x'" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()
