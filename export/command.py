"""Export trained tokenizer, LAM and dynamics runs (EMA weights) to one versioned ONNX model bundle.

Writes BUNDLE_DIR/manifest.json, the four ONNX graphs, the evaluation JSONs (eval/) and MODEL_CARD.md
(from those JSONs and the runs' recipes: export/model_card.py, training/record.py), after checking
every graph against torch in onnxruntime. Action names and descriptions come from a LAM evaluation's
actions.json (--actions-json, else RUN/eval/actions.json of the LAM run); JSON files in each run's eval/
folder and every --eval file are copied into the bundle as eval/<name>.json (two different files may not
share a name). With --describe-data, the exported bundle's actions are then named from the audio their
edits produce (`musegenie actions describe --record`, the same path), whatever the LAM evaluation called
them. Optionally builds TensorRT engines and writes an NVIDIA Triton model repository.
"""

from __future__ import annotations

import argparse
import logging
import shlex
import shutil
import sys
import tempfile
from pathlib import Path

from engine.bundle import Defaults, load_bundle
from engine.cli_args import add_dataclass_arguments, dataclass_from_args
from engine.errors import CommandError
from export.bundle_update import add_eval_option, update
from export.bundle_writer import export_bundle
from export.onnx_export import DEFAULT_OPSET, MIN_OPSET, ExportError
from export.parity import ParityError
from export.tensorrt import TensorRTConfig, build_engines
from export.triton import TritonConfig, write_repository
from training.evaluation.describe import DescribeConfig

log = logging.getLogger(__name__)

KINDS = ("tokenizer", "lam", "dynamics")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--tokenizer", type=Path, required=True, help="tokenizer run dir (or checkpoint folder)"
    )
    parser.add_argument("--lam", type=Path, required=True, help="latent action model run dir")
    parser.add_argument("--dynamics", type=Path, required=True, help="dynamics model run dir")
    parser.add_argument("--out", type=Path, required=True, help="bundle folder to write")
    parser.add_argument("--name", help="bundle name (default: the --out folder's name)")
    parser.add_argument("--opset", type=int, default=DEFAULT_OPSET, help=f"ONNX opset (>= {MIN_OPSET})")
    parser.add_argument("--fp16", action="store_true", help="fp16 weights/compute (float32 I/O), for GPUs")
    parser.add_argument("--actions-json", type=Path, help="LAM eval actions.json (names, descriptions)")
    add_eval_option(parser, "more eval JSON files to include")
    parser.add_argument(
        "--instrument-estimator",
        type=Path,
        help="`musegenie train instruments` output (.npz) to ship in the bundle: the engine then hears who "
        "plays (actions infer, eval edit) and fills an instrument-conditioned model's context",
    )
    parser.add_argument(
        "--data-note",
        default="",
        help="what the training data is and under which licence (the model card's Training section)",
    )
    parser.add_argument(
        "--note", action="append", default=[], help="a known limit of the model for its card (repeatable)"
    )
    parser.add_argument(
        "--describe-data",
        type=Path,
        nargs="+",
        default=[],
        help="audio to name the actions on (as `musegenie actions describe --data`; held-out music is best)",
    )
    parser.add_argument("--force", action="store_true", help="replace an existing bundle folder")
    parser.add_argument("--raw-weights", action="store_true", help="export the raw weights instead of EMA")
    parser.add_argument(
        "--tensorrt", action="store_true", help="also build TensorRT fp16 engines (if installed)"
    )
    parser.add_argument(
        "--triton", type=Path, metavar="REPO_DIR", help="also write a Triton model repository"
    )
    add_dataclass_arguments(parser, Defaults, prefix="default", title="sampling defaults the bundle carries")
    add_dataclass_arguments(
        parser, DescribeConfig, prefix="describe", title="naming the actions (with --describe-data)"
    )
    add_dataclass_arguments(parser, TensorRTConfig, prefix="trt", title="TensorRT engines (with --tensorrt)")
    add_dataclass_arguments(
        parser, TritonConfig, prefix="triton", skip=("fp16",), title="Triton (with --triton)"
    )


def command_line(args: argparse.Namespace) -> str:
    """The command as typed when run from the console script, else rebuilt from the parsed options."""
    if sys.argv[1:2] == ["export"]:
        return shlex.join(["musegenie", *sys.argv[1:]])
    words = ["musegenie", "export"]
    for key, value in sorted(vars(args).items()):
        if value is None or value is False or value == "" or key == "verbose":
            continue
        flag = "--" + key.replace("_", "-")
        if value is True:
            words.append(flag)
        elif isinstance(value, (list, tuple)):
            if value:  # --eval's parsed (NAME, FILE) pairs go back to NAME=FILE
                words += [flag, *("=".join(map(str, v)) if isinstance(v, tuple) else str(v) for v in value)]
        else:
            words += [flag, str(value)]
    return shlex.join(words)


def _eval_files(args: argparse.Namespace) -> dict[str, Path]:
    """{name: path} of eval JSONs: the --actions-json folder's and each RUN/eval/'s *.json as <kind>_<stem>,
    then --eval files as NAME (or <stem>). Two different files under one name is an error, not an overwrite."""
    found: dict[str, Path] = {}

    def add(name: str, path: Path) -> None:
        if name in found and found[name].resolve() != path.resolve():
            raise CommandError(
                f"{found[name]} and {path} would both be eval/{name}.json; name one: --eval OTHER_NAME={path}"
            )
        found[name] = path

    if args.actions_json is not None:  # a LAM eval folder: actions.json beside metrics.json
        for path in sorted(args.actions_json.parent.glob("*.json")):
            add(f"lam_{path.stem}", path)
    for kind in KINDS:
        run_dir: Path = getattr(args, kind)
        for path in sorted((run_dir / "eval").glob("*.json")):
            add(f"{kind}_{path.stem}", path)
    for name, path in args.eval:
        add(name, path)
    return found


def run(args: argparse.Namespace) -> int:
    from training.loop.checkpoint import load_model, load_run
    from training.record import run_record, training_record

    if args.out.exists() and not args.force:
        raise CommandError(f"{args.out} exists; pass --force to replace it")
    try:
        defaults = dataclass_from_args(Defaults, args, prefix="default").check()
    except ValueError as err:
        raise CommandError(f"bundle defaults: {err}") from err
    models = {}
    for kind in KINDS:
        run_dir: Path = getattr(args, kind)
        try:
            found = load_run(run_dir).kind
            if found != kind:
                raise CommandError(f"--{kind} {run_dir} holds a {found} model")
            models[kind], _ = load_model(run_dir, ema=not args.raw_weights)
        except (FileNotFoundError, ValueError) as err:
            raise CommandError(f"--{kind} {run_dir}: {err}") from err
    actions_json = args.actions_json or args.lam / "eval" / "actions.json"
    if args.actions_json and not args.actions_json.is_file():
        raise CommandError(f"--actions-json {args.actions_json}: no such file")
    if not actions_json.is_file():
        log.warning(
            "no actions.json (pass --actions-json): actions are named action_0.. without descriptions"
        )
        actions_json = None
    data = load_run(args.tokenizer).extra.get("data")
    runs = {kind: run_record(getattr(args, kind)) for kind in KINDS}
    try:
        bundle_dir = export_bundle(
            models["tokenizer"],
            models["lam"],
            models["dynamics"],
            args.out,
            name=args.name,
            opset=args.opset,
            fp16=args.fp16,
            defaults=defaults,
            actions_json=actions_json,
            evals=_eval_files(args),
            command=command_line(args),
            training=training_record(runs, data, args.data_note, args.note),
            overwrite=args.force,
            instrument_estimator=args.instrument_estimator,
        )
    except (ExportError, ParityError, ValueError) as err:
        raise CommandError(str(err)) from err
    if args.describe_data:
        _describe(args, bundle_dir)
    bundle = load_bundle(bundle_dir)
    print(f"bundle {bundle.path}: {bundle.num_actions} actions, opset {bundle.opset}")
    for graph, p in bundle.parity.items():
        print(f"  parity {graph:<18} max abs {p['max_abs']:.2e}  max rel {p['max_rel']:.2e}")
    if args.tensorrt:
        build_engines(bundle, dataclass_from_args(TensorRTConfig, args, prefix="trt"))
    if args.triton:
        triton = dataclass_from_args(TritonConfig, args, prefix="triton", fp16=args.trt_fp16)
        repo = write_repository(bundle, args.triton, triton)
        print(f"triton model repository: {repo}")
    return 0


def _describe(args: argparse.Namespace, bundle_dir: Path) -> None:
    """Name the new bundle's actions from their edits of --describe-data (actions describe --record)."""
    from engine.pipeline import Pipeline
    from engine.runtime import Runtime, RuntimeConfig
    from training.commands.actions_describe import describe_command, summary_lines
    from training.data.manifest import read_entries
    from training.evaluation.describe import DescribeError, describe, write

    config = dataclass_from_args(DescribeConfig, args, prefix="describe")
    pipeline = Pipeline(Runtime(load_bundle(bundle_dir), RuntimeConfig(warmup=False)))
    out = Path(tempfile.mkdtemp(prefix="musegenie-describe-"))  # outside the bundle: it is checksummed
    meta = {
        "bundle": str(bundle_dir),
        "data": [str(p) for p in args.describe_data],
        "command": describe_command(bundle_dir, args.describe_data, out, config),
    }
    try:
        summary = describe(pipeline, [read_entries(p) for p in args.describe_data], config, meta)
    except DescribeError as err:
        raise CommandError(f"--describe-data: {err}") from err
    try:
        update(bundle_dir, {}, names=write(summary, out))
    finally:
        shutil.rmtree(out, ignore_errors=True)
    print("\n".join(summary_lines(summary)))
