"""Export: every tiny preset to ONNX, onnx.checker, onnxruntime parity, the bundle, corruption, Triton, CLI."""

from __future__ import annotations

import argparse
import json
import shutil
from dataclasses import asdict
from pathlib import Path

import numpy as np
import onnx
import onnx.numpy_helper
import onnxruntime as ort
import pytest
import torch

from engine.bundle import GRAPH_NAMES, REQUIRED_KEYS, BundleError, load_bundle
from engine.cli import main as cli_main
from engine.errors import CommandError
from export.bundle_update import eval_file
from export.bundle_writer import check_compatible, export_bundle, load_actions
from export.command import _eval_files
from export.onnx_export import ExportError, export_graph
from export.parity import ParityError, check_parity, session
from export.tensorrt import TensorRTConfig, build_engines, profiles, unavailable_reason
from export.triton import write_repository
from export.wrappers import build_wrappers
from tests.conftest import TINY_ACTIONS, TinyModels, build_tiny_models


def test_bundle_manifest_and_graphs(tiny_bundle: Path, tiny_models: TinyModels) -> None:
    bundle = load_bundle(tiny_bundle)
    manifest = bundle.manifest
    assert set(REQUIRED_KEYS) <= set(manifest)
    tok = tiny_models.tokenizer
    assert (bundle.sample_rate, bundle.hop, bundle.latent_dim) == (16000, tok.hop, tok.latent_dim)
    assert bundle.frame_rate == 16000 / tok.hop and bundle.audio_scale == tok.config.audio_scale
    assert (
        bundle.decoder_space.compand == tok.config.compand
        and bundle.decoder_space.bins == tok.config.companding_bins
        and bundle.decoder_space.window == tok.config.compand_window
    )
    assert bundle.chunk_frames == tiny_models.lam.config.chunk_frames and bundle.num_actions == 4
    assert [(a.name, a.description) for a in bundle.actions] == [
        (a["name"], a["description"]) for a in TINY_ACTIONS
    ]
    assert bundle.instruments == [] and bundle.opset == 18
    assert manifest["configs"]["tokenizer"] == json.loads(json.dumps(asdict(tok.config)))
    assert json.loads((tiny_bundle / "eval" / "lam_actions.json").read_text())["actions"] == TINY_ACTIONS
    assert set(bundle.graphs) == set(GRAPH_NAMES) == set(bundle.parity)
    for name, graph in bundle.graphs.items():
        onnx.checker.check_model(str(bundle.graph_path(name)), full_check=True)
        sess = ort.InferenceSession(str(bundle.graph_path(name)), providers=["CPUExecutionProvider"])
        assert {i.name: i.shape for i in sess.get_inputs()} == graph.inputs
        assert {o.name: o.shape for o in sess.get_outputs()} == graph.outputs
        assert bundle.parity[name]["max_rel"] < 1e-3
    types = {i.name: i.type for i in ort.InferenceSession(str(bundle.graph_path("dynamics"))).get_inputs()}
    assert types["actions"] == "tensor(int64)" and types["mask"] == "tensor(float)"
    assert bundle.graphs["lam_encoder"].outputs == {"action_logits": ["B", "K", 4], "actions": ["B", "K"]}
    # training-only parts stay behind: the LAM graph holds no decoder weights
    lam = tiny_models.lam
    graph_weights = sum(
        onnx.numpy_helper.to_array(i).size
        for i in onnx.load(str(bundle.graph_path("lam_encoder"))).graph.initializer
    )
    decoder = sum(
        p.numel() for k, p in lam.named_parameters() if k.startswith(("dec_", "mask_token", "action_proj"))
    )
    assert graph_weights < sum(p.numel() for p in lam.parameters()) - decoder + 256


def test_parity_on_new_shapes_and_wrong_model(tiny_bundle: Path, tiny_models: TinyModels) -> None:
    """Fresh batch sizes/lengths pass; the same graphs against different weights fail loudly."""
    bundle = load_bundle(tiny_bundle)
    wrappers = build_wrappers(tiny_models.tokenizer, tiny_models.lam, tiny_models.dynamics)
    for name, wrapper in wrappers.items():
        result = check_parity(wrapper, bundle.graph_path(name), cases=[(4, 3), (1, 7)], seed=99)
        assert result.max_rel < 1e-3 and result.cases[0][0] == 4
    other = build_tiny_models(seed=5)
    wrong = build_wrappers(other.tokenizer, other.lam, other.dynamics)["dynamics"]
    with pytest.raises(ParityError, match=r"dynamics: onnxruntime disagrees.*velocity: abs"):
        check_parity(wrong, bundle.graph_path("dynamics"), cases=[(1, 4)])


@pytest.mark.slow
def test_instrument_presets_export_with_parity(tmp_path: Path) -> None:
    """LAM and dynamics with instrument conditioning grow an `instruments` input and still match torch."""
    models = build_tiny_models(seed=3, num_instruments=3)
    wrappers = build_wrappers(models.tokenizer, models.lam, models.dynamics)
    for name in ("lam_encoder", "dynamics"):
        path = export_graph(wrappers[name], tmp_path / f"{name}.onnx")
        assert "instruments" in [i.name for i in session(path).get_inputs()]
        assert check_parity(wrappers[name], path, cases=[(2, 2)]).max_rel < 1e-3


def test_patched_lam_and_dynamics_export_with_parity(tmp_path: Path) -> None:
    """A higher-rate bundle's LAM (2 frames per token) and dynamics (4 per token) keep a dynamic time axis of
    whole chunks and tokens (odd numbers of them, none the tracing example's), and onnxruntime matches torch;
    a dynamics patch that does not divide the LAM's chunks is refused."""
    from training.models import dynamics, lam

    torch.manual_seed(5)
    models = build_tiny_models(seed=5)
    lam_model = lam.LatentActionModel(
        lam.lam_config("tiny", latent_dim=8, chunk_frames=4, num_actions=4, patch=2)
    ).eval()
    dyn = dynamics.DynamicsModel(dynamics.preset("tiny", latent_dim=8, num_actions=4, patch=4)).eval()
    with torch.no_grad():
        for p in [*lam_model.parameters(), *dyn.parameters()]:
            p.add_(0.05 * torch.randn(p.shape))
    wrappers = build_wrappers(models.tokenizer, lam_model, dyn)
    assert wrappers["dynamics"].time_multiple == 4
    for name, cases in (("lam_encoder", [(1, 2), (2, 5)]), ("dynamics", [(1, 1), (2, 5), (1, 8)])):
        path = export_graph(wrappers[name], tmp_path / f"{name}.onnx")
        assert check_parity(wrappers[name], path, cases=cases).max_rel < 1e-3
    check_compatible(models.tokenizer, lam_model, dyn)
    eight = dynamics.DynamicsModel(dynamics.preset("tiny", latent_dim=8, num_actions=4, patch=8))
    with pytest.raises(ValueError, match="patch 8 does not divide"):
        check_compatible(models.tokenizer, lam_model, eight)


def test_latent_mel_encoder_exports_with_parity(tmp_path: Path, tiny_models: TinyModels) -> None:
    """The log-mel shortcut (two-stage DFT, magnitude, mel matmul, log) runs in onnxruntime as in torch, and so
    does the encoder's companding on an MDCT finer than the patch (compand_bins) with a smooth gain (its
    fixed point unrolled into the graph)."""
    from training.models.tokenizer import build

    tokenizer = build("tiny", latent_mel=True, compand_bins=32, compand_window=3).eval()
    tokenizer.load_state_dict(tiny_models.tokenizer.state_dict())
    wrapper = build_wrappers(tokenizer, tiny_models.lam, tiny_models.dynamics)["tokenizer_encoder"]
    path = export_graph(wrapper, tmp_path / "tokenizer_encoder.onnx")
    assert check_parity(wrapper, path, cases=[(1, 3), (2, 5)]).max_rel < 1e-3


def test_fp16_graph(tmp_path: Path, tiny_models: TinyModels) -> None:
    wrapper = build_wrappers(tiny_models.tokenizer, tiny_models.lam, tiny_models.dynamics)[
        "tokenizer_encoder"
    ]
    path = export_graph(wrapper, tmp_path / "enc16.onnx", fp16=True)
    model = onnx.load(str(path))
    assert model.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT  # float32 I/O kept
    assert any(init.data_type == onnx.TensorProto.FLOAT16 for init in model.graph.initializer)
    result = check_parity(wrapper, path, cases=[(2, 3)], fp16=True)
    assert 0 < result.max_rel < result.tolerance


def test_opset_below_dynamo_minimum_is_refused(tiny_models: TinyModels, tmp_path: Path) -> None:
    wrapper = build_wrappers(tiny_models.tokenizer, tiny_models.lam, tiny_models.dynamics)["lam_encoder"]
    with pytest.raises(ExportError, match="opset 13 is not supported"):
        export_graph(wrapper, tmp_path / "x.onnx", opset=13)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2]), r"dynamics\.onnx: truncated"),
        (lambda p: p.write_bytes(p.read_bytes()[:-9] + b"tampered!"), r"dynamics\.onnx: sha256 mismatch"),
        (lambda p: p.unlink(), r"dynamics\.onnx: missing"),
    ],
)
def test_corruption_detected_and_named(tiny_bundle: Path, tmp_path: Path, damage, message, capsys) -> None:
    copy = shutil.copytree(tiny_bundle, tmp_path / "bundle")
    damage(copy / "dynamics.onnx")
    with pytest.raises(BundleError, match=message):
        load_bundle(copy)
    assert cli_main(["bundle", "info", str(copy)]) == 1
    out = capsys.readouterr().out
    assert "checksums  FAILED (1 of" in out and "dynamics.onnx" in out.split("FAILED")[1]


def test_bundle_info_round_trip(tiny_bundle: Path, capsys: pytest.CaptureFixture) -> None:
    assert cli_main(["bundle", "info", str(tiny_bundle)]) == 0
    out = capsys.readouterr().out
    texts = ("tiny-test", "louder", "the drums drop out", "action_logits (B, K, 4)", "checksums  OK")
    for text in (*texts, "decoder steps 4 heun"):
        assert text in out
    assert cli_main(["bundle", "info", str(tiny_bundle), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["verified"] and report["manifest"] == load_bundle(tiny_bundle).manifest


def test_triton_repository(tiny_bundle: Path, tmp_path: Path) -> None:
    bundle = load_bundle(tiny_bundle)
    repo = write_repository(bundle, tmp_path / "triton")
    for name in GRAPH_NAMES:
        assert (repo / name / "1" / "model.onnx").read_bytes() == bundle.graph_path(name).read_bytes()
    text = (repo / "dynamics" / "config.pbtxt").read_text()
    assert 'name: "dynamics"' in text and 'backend: "onnxruntime"' in text and "max_batch_size: 8" in text
    assert "dynamic_batching" in text and "kind: KIND_GPU" in text
    assert 'name: "actions"\n    data_type: TYPE_INT64\n    dims: [ -1 ]' in text
    assert 'name: "t"\n    data_type: TYPE_FP32\n    dims: [ 1 ]\n    reshape: { shape: [ ] }' in text
    enc = (repo / "tokenizer_encoder" / "config.pbtxt").read_text()
    assert 'name: "audio"\n    data_type: TYPE_FP32\n    dims: [ 1, -1 ]' in enc


def test_tensorrt_absent_is_a_message_not_a_crash(
    tiny_bundle: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bundle = load_bundle(tiny_bundle)
    shapes = profiles(bundle, TensorRTConfig(max_batch=4, max_seconds=1.0))
    assert shapes["tokenizer_encoder"]["min"] == f"audio:1x1x{bundle.chunk_samples}"
    assert shapes["lam_encoder"]["max"] == f"latents:4x500x{bundle.latent_dim}"  # 1 s = 500 frames at hop 32
    if unavailable_reason() is None:
        pytest.skip("TensorRT is installed here: the build path is exercised on GPU machines")
    assert build_engines(bundle) is False
    assert "no TensorRT execution provider" in caplog.text
    assert not (bundle.cache_dir / "tensorrt").exists()


def test_actions_json_and_model_checks(tmp_path: Path, tiny_models: TinyModels) -> None:
    path = tmp_path / "actions.json"
    path.write_text(json.dumps([{"index": 1, "name": "up", "description": "rises"}]))
    assert load_actions(path, 3) == [
        {"id": 0, "name": "action_0", "description": ""},
        {"id": 1, "name": "up", "description": "rises"},
        {"id": 2, "name": "action_2", "description": ""},
    ]
    path.write_text(json.dumps([{"id": 5, "name": "x"}]))
    with pytest.raises(ValueError, match="action id 5 outside"):
        load_actions(path, 3)
    other = build_tiny_models(num_instruments=2)
    with pytest.raises(ValueError, match="dynamics num_instruments 2 != lam num_instruments 0"):
        check_compatible(tiny_models.tokenizer, tiny_models.lam, other.dynamics)
    (tmp_path / "exists").mkdir()
    with pytest.raises(FileExistsError):
        export_bundle(tiny_models.tokenizer, tiny_models.lam, tiny_models.dynamics, tmp_path / "exists")
    with pytest.raises(ExportError, match="tokenizer_encoder"):  # a failed export leaves nothing behind
        export_bundle(tiny_models.tokenizer, tiny_models.lam, tiny_models.dynamics, tmp_path / "b", opset=13)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["actions.json", "exists"]


def _save_run(
    run_dir: Path, kind: str, model: torch.nn.Module, recipe: str = "", init_from: str = ""
) -> None:
    from training.loop.checkpoint import save

    optimizer = torch.optim.SGD(model.parameters(), lr=0.0)
    extra = {"recipe": {"name": recipe, "sets": [], "values": {"train": {"max_steps": 1}}}} if recipe else {}
    train_config = {"init_from": init_from} if init_from else {}
    state = {"kind": kind, "model_config": asdict(model.config), "train_config": train_config, "extra": extra}
    save(run_dir, 1, model, model, optimizer, state, [{}], keep=1)


@pytest.mark.slow
def test_export_command_from_run_dirs(
    tmp_path: Path, tiny_models: TinyModels, tiny_actions_json: Path
) -> None:
    runs = {}
    _save_run(tmp_path / "tokenizer_base", "tokenizer", tiny_models.tokenizer, recipe="base")
    for kind in ("tokenizer", "lam", "dynamics"):
        runs[kind] = tmp_path / kind
        source = str(tmp_path / "tokenizer_base") if kind == "tokenizer" else ""
        _save_run(runs[kind], kind, getattr(tiny_models, kind), recipe=f"{kind}-r", init_from=source)
    (runs["lam"] / "eval").mkdir()
    shutil.copyfile(tiny_actions_json, runs["lam"] / "eval" / "actions.json")
    out = tmp_path / "bundle"
    args = ["export", *[f"--{k}={v}" for k, v in runs.items()], "--out", str(out), "--name", "cli"]
    args += ["--triton", str(tmp_path / "triton"), "--default-steps", "7", "--tensorrt"]
    assert cli_main([*args, "--default-decoder-shift", "0.6", "--note", "Only a test."]) == 0
    bundle = load_bundle(out)
    stages = bundle.manifest["training"]["runs"]
    assert [s["recipe"] for s in stages["tokenizer"]] == ["base", "tokenizer-r"]  # followed --init-from
    assert [s["recipe"] for s in stages["lam"]] == ["lam-r"] and stages["lam"][0]["steps"] == 1
    card = (out / "MODEL_CARD.md").read_text()
    assert "`tokenizer-r`" in card and "- Only a test." in card.split("## Limits")[1]
    assert bundle.name == "cli" and bundle.defaults.steps == 7 and bundle.actions[3].name == "drop"
    assert bundle.defaults.decoder_shift == 0.6
    assert (out / "eval" / "lam_actions.json").is_file() and (
        tmp_path / "triton" / "dynamics" / "config.pbtxt"
    ).is_file()
    assert bundle.command.startswith("musegenie export") and "--default-steps 7" in bundle.command
    enc = session(bundle.graph_path("tokenizer_encoder"))
    audio = np.random.default_rng(0).standard_normal((1, 1, 8 * bundle.hop)).astype(np.float32)
    expected = tiny_models.tokenizer.encode(torch.from_numpy(audio)).detach().numpy()
    np.testing.assert_allclose(enc.run(None, {"audio": audio})[0], expected, atol=1e-4)
    assert cli_main(args) == 1  # exists, no --force
    assert cli_main([*args[:2], f"--lam={runs['tokenizer']}", *args[3:], "--force"]) == 1  # wrong kind
    assert cli_main([*args, "--force", "--default-decoder-sampler", "rk4"]) == 1  # refused before loading
    assert cli_main([*args, "--force", "--default-decoder-shift", "0"]) == 1


def test_eval_files_never_overwrite_each_other(tmp_path: Path) -> None:
    runs = {kind: tmp_path / kind for kind in ("tokenizer", "lam", "dynamics")}
    for kind, run in runs.items():
        (run / "eval").mkdir(parents=True)
        (run / "eval" / "metrics.json").write_text(json.dumps({"kind": kind}))
    lam_actions = runs["lam"] / "eval" / "actions.json"
    lam_actions.write_text("[]")
    tok_metrics = runs["tokenizer"] / "eval" / "metrics.json"

    def files(*specs: str) -> dict[str, Path]:
        args = argparse.Namespace(**runs, actions_json=lam_actions, eval=[eval_file(s) for s in specs])
        return _eval_files(args)

    found = files(f"tok={tok_metrics}", str(runs["lam"] / "eval" / "metrics.json"))
    assert found["tok"] == tok_metrics and found["tokenizer_metrics"] == tok_metrics
    assert found["lam_actions"] == lam_actions and found["metrics"] == runs["lam"] / "eval" / "metrics.json"
    # The same file under the name it already has is fine; a different file under a taken name is refused.
    assert files(f"lam_metrics={runs['lam'] / 'eval' / 'metrics.json'}")["lam_metrics"].exists()
    with pytest.raises(CommandError, match="would both be eval/metrics.json"):
        files(str(tok_metrics), str(runs["dynamics"] / "eval" / "metrics.json"))
    with pytest.raises(argparse.ArgumentTypeError, match="no such file"):
        files(f"x={tmp_path / 'missing.json'}")
