"""engine.bundle: manifest round trip, validation and corruption detection (no torch needed)."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import numpy as np
import pytest

from engine.bundle import (
    FORMAT,
    FORMAT_VERSION,
    GRAPH_NAMES,
    MANIFEST_NAME,
    BundleError,
    Defaults,
    load_bundle,
    resolve_id,
    write_manifest,
)
from engine.cli import main as cli_main
from engine.decoder_space import DecoderSpace


def _manifest() -> dict:
    io = {
        "tokenizer_encoder": ({"audio": ["B", 1, "N"]}, {"latents": ["B", "T", 8]}),
        "tokenizer_decoder": (
            {"noisy": ["B", 1, "N"], "t": ["B"], "latents": ["B", "T", 8]},
            {"velocity": ["B", 1, "N"]},
        ),
        "lam_encoder": ({"latents": ["B", "T", 8]}, {"action_logits": ["B", "K", 4], "actions": ["B", "K"]}),
        "dynamics": (
            {
                "noisy": ["B", "T", 8],
                "t": ["B"],
                "context": ["B", "T", 8],
                "mask": ["B", "T"],
                "actions": ["B", "T"],
            },
            {"velocity": ["B", "T", 8]},
        ),
    }
    return {
        "name": "unit",
        "created": "2025-01-01T00:00:00+00:00",
        "sample_rate": 16000,
        "hop": 160,
        "latent_dim": 8,
        "frame_rate": 100.0,
        "chunk_frames": 4,
        "audio_scale": 2.0,
        "num_actions": 4,
        "actions": [{"id": i, "name": f"a{i}", "description": f"does {i}"} for i in range(4)],
        "instruments": [],
        "defaults": {
            "steps": 8,
            "decoder_steps": 8,
            "guidance": 1.5,
            "sampler": "euler",
            "context_seconds": 2.0,
            "crossfade_ms": 20.0,
        },
        "graphs": {n: {"file": f"{n}.onnx", "inputs": i, "outputs": o} for n, (i, o) in io.items()},
        "opset": 17,
        "configs": {"tokenizer": {}, "lam": {}, "dynamics": {}},
        "parity": {n: {"max_abs": 1e-6, "max_rel": 1e-5} for n in GRAPH_NAMES},
        "command": "musegenie export --unit",
    }


@pytest.fixture()
def bundle_dir(tmp_path: Path) -> Path:
    for name in GRAPH_NAMES:
        (tmp_path / f"{name}.onnx").write_bytes(bytes(range(256)) * 4 + name.encode())
    (tmp_path / "eval").mkdir()
    (tmp_path / "eval" / "lam.json").write_text('{"score": 1}')
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "engine.trt").write_bytes(b"machine specific")
    write_manifest(tmp_path, _manifest())
    return tmp_path


def test_round_trip(bundle_dir: Path) -> None:
    bundle = load_bundle(bundle_dir)
    assert bundle.manifest["format"] == FORMAT and bundle.format_version == FORMAT_VERSION
    assert sorted(bundle.files) == sorted([f"{n}.onnx" for n in GRAPH_NAMES] + ["eval/lam.json"])
    assert bundle.files["eval/lam.json"]["bytes"] == len('{"score": 1}')
    assert bundle.graph_path("dynamics") == bundle_dir / "dynamics.onnx"
    assert bundle.graphs["dynamics"].inputs["mask"] == ["B", "T"]
    assert bundle.null_action == 4 and bundle.chunk_samples == 640
    assert bundle.defaults.guidance == 1.5 and bundle.defaults.sampler == "euler"
    assert bundle.defaults.decoder_sampler == "euler"  # no decoder_sampler (older bundles): the one sampler
    assert bundle.defaults.decoder_shift == 1.0  # no decoder_shift (older bundles): evenly spaced levels
    assert bundle.decoder_space == DecoderSpace(0.0, 2.0, 1.0, 0)  # made before emphasis and companding
    assert [a.name for a in bundle.actions] == ["a0", "a1", "a2", "a3"]
    assert bundle.action_id("a2") == 2 and bundle.action_id("3") == 3
    with pytest.raises(KeyError):
        bundle.action_id("nope")
    with pytest.raises(KeyError):
        bundle.action_id(4)
    with pytest.raises(dataclasses.FrozenInstanceError):  # parsed once: a Bundle does not change
        bundle.hop = 2  # type: ignore[misc]
    assert not list(bundle_dir.glob(".manifest-*"))
    umask = os.umask(0)
    os.umask(umask)
    assert (bundle_dir / "manifest.json").stat().st_mode & 0o777 == 0o666 & ~umask  # not mkstemp's 0600


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        (lambda p: p.write_bytes(p.read_bytes()[:100]), "truncated"),
        (lambda p: p.write_bytes(b"\xff" + p.read_bytes()[1:]), "sha256 mismatch"),
        (lambda p: p.unlink(), "missing"),
        (lambda p: p.write_bytes(p.read_bytes() + b"x"), "size changed"),
    ],
)
def test_corruption_named(bundle_dir: Path, damage, expected: str) -> None:
    damage(bundle_dir / "lam_encoder.onnx")
    with pytest.raises(BundleError, match=rf"lam_encoder\.onnx: {expected}") as info:
        load_bundle(bundle_dir)
    assert len(info.value.problems) == 1
    load_bundle(bundle_dir, verify=False)  # structure is still fine


def test_cache_files_not_checked(bundle_dir: Path) -> None:
    (bundle_dir / "cache" / "engine.trt").write_bytes(b"rebuilt on another machine")
    load_bundle(bundle_dir)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ({"format_version": 2}, "format_version 2 is not supported"),
        ({"format": "other"}, "format is 'other'"),
        ({"num_actions": 5}, "ids 0..4"),
        ({"compand": 0.5}, "decoder space: companding needs an even number of MDCT bins"),
        ({"compand": 0.5, "compand_bins": 32, "compand_window": 2}, "decoder space: the companding window"),
        ({"hop": "160"}, "manifest hop must be int, got '160'"),
        ({"frame_rate": True}, "manifest frame_rate must be float, got True"),
        ({"actions": {"0": "a0"}}, "manifest actions must be a JSON list"),
        ({"defaults": {"steps": 8}}, "manifest defaults lack decoder_steps, guidance"),
        ({"graphs": {}}, "graph 'tokenizer_encoder' missing"),
    ],
)
def test_bad_manifest(bundle_dir: Path, edit: dict, message: str) -> None:
    manifest = json.loads((bundle_dir / MANIFEST_NAME).read_text())
    manifest.update(edit)
    (bundle_dir / MANIFEST_NAME).write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match=message):
        load_bundle(bundle_dir)


def test_missing_key_and_not_a_bundle(bundle_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    with pytest.raises(BundleError, match="not a model bundle"):
        load_bundle(tmp_path_factory.mktemp("empty"))
    manifest = json.loads((bundle_dir / MANIFEST_NAME).read_text())
    del manifest["defaults"]["crossfade_ms"], manifest["opset"]
    (bundle_dir / MANIFEST_NAME).write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match="lacks opset"):
        load_bundle(bundle_dir)


def test_bundle_info_cli(bundle_dir: Path, capsys: pytest.CaptureFixture) -> None:
    assert cli_main(["bundle", "info", str(bundle_dir)]) == 0
    out = capsys.readouterr().out
    assert "checksums  OK (5 files)" in out and "a3" in out and "does 2" in out and "(B, 1, N)" in out
    assert cli_main(["bundle", "info", str(bundle_dir), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["verified"] and report["manifest"]["name"] == "unit"
    (bundle_dir / "eval" / "lam.json").write_text('{"score": 2}')
    assert cli_main(["bundle", "info", str(bundle_dir)]) == 1
    assert "eval/lam.json: sha256 mismatch" in capsys.readouterr().out
    assert cli_main(["bundle", "info", str(bundle_dir / "eval")]) == 1
    assert "not a model bundle" in capsys.readouterr().err


def test_bundle_info_names_the_decoder_space(bundle_dir: Path, capsys: pytest.CaptureFixture) -> None:
    manifest = json.loads((bundle_dir / MANIFEST_NAME).read_text())
    manifest.update(compand=0.5, compand_bins=32, compand_window=3)
    (bundle_dir / MANIFEST_NAME).write_text(json.dumps(manifest))
    assert cli_main(["bundle", "info", str(bundle_dir)]) == 0
    assert "companding 0.5 on 32 MDCT bins, gain smoothed over 3 x 3" in capsys.readouterr().out


def test_an_action_or_instrument_resolves_by_id_digit_string_or_name():
    names = ["piano", "bass", "sax"]
    assert [resolve_id(x, names, "instrument") for x in (2, np.int64(1), "0", "sax")] == [2, 1, 0, 2]
    with pytest.raises(KeyError, match=r"unknown instrument 3 \(out of range: ids are 0..2\)"):
        resolve_id(3, names, "instrument")
    with pytest.raises(KeyError, match=r"unknown action 'kazoo' \(known: piano, bass, sax\)"):
        resolve_id("kazoo", names, "action")
    assert resolve_id("7", names, "action", id_limit=2**31) == 7  # a client leaves the range to the server


def test_defaults_refuse_settings_no_sampler_can_run() -> None:
    assert Defaults().check().decoder_sampler == "heun"  # what export writes without flags
    with pytest.raises(ValueError, match="sampler must be one of"):
        Defaults(sampler="ddim").check()
    with pytest.raises(ValueError, match="shift must be a positive number"):
        Defaults(decoder_shift=0.0).check()
