"""The one `musegenie` entry point.

Every sub-command lives in its own module with `add_arguments(parser)` and `run(args) -> int | None`; the
table below names them. A module is imported only when its command runs, so `musegenie serve` on an
engine-only install never touches torch, and `musegenie --help` answers instantly.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from engine.audio import AudioError
from engine.cli_args import HelpFormatter
from engine.errors import CommandError

# (words) -> (module, one-line summary), in the order a user runs them: make and clean the data, train the
# tokenizer, encode the latents, train the LAM and the dynamics on them, evaluate, export, judge the edit
# through the bundle, then serve and edit. Groups are the distinct first words of multi-word commands.
COMMANDS: dict[tuple[str, ...], tuple[str, str]] = {
    ("synth",): ("training.commands.synth", "render the synthetic jazz corpus (audio + annotations)"),
    ("data", "real-music"): (
        "training.commands.data_real_music",
        "manifests of the free-licensed real music in Debian packages",
    ),
    ("data", "label"): ("training.commands.data_label", "listen to clips and label their recording quality"),
    ("data", "train-filter"): ("training.commands.data_train_filter", "train the ExtraTrees quality filter"),
    ("data", "filter"): (
        "training.commands.data_filter",
        "score a collection and write a manifest of good audio",
    ),
    ("data", "merge"): (
        "training.commands.data_merge",
        "merge corpora, real-music listings and filter manifests into one training manifest",
    ),
    ("train", "tokenizer"): ("training.commands.train_tokenizer", "train the diffusion audio tokenizer"),
    ("tokenize",): ("training.commands.tokenize", "encode a collection into latent shards for LAM/dynamics"),
    ("train", "lam"): ("training.commands.train_lam", "train the latent action model on cached latents"),
    ("train", "dynamics"): (
        "training.commands.train_dynamics",
        "train the action-conditioned inpainting model",
    ),
    ("train", "instruments"): (
        "training.commands.train_instruments",
        "train the instrument-activity estimator (who plays, per second)",
    ),
    ("eval", "tokenizer"): (
        "training.commands.eval_tokenizer",
        "reconstruction metrics vs a Griffin-Lim baseline",
    ),
    ("eval", "lam"): ("training.commands.eval_lam", "controllability, codebook use and action descriptions"),
    ("eval", "dynamics"): (
        "training.commands.eval_dynamics",
        "inpainting quality with inferred/random/no actions",
    ),
    ("export",): ("export.command", "export trained models to a versioned ONNX bundle"),
    ("eval", "edit"): (
        "training.commands.eval_edit",
        "the edit as heard, through the engine, vs round-trip, copy and noise baselines",
    ),
    ("bundle", "info"): ("engine.commands.bundle_info", "print a bundle's manifest and verify its checksums"),
    ("bundle", "update"): (
        "export.bundle_update",
        "add an evaluation, action names or an instrument estimator to a bundle (checksums, card rewritten)",
    ),
    ("bundle", "card"): (
        "export.bundle_card",
        "rewrite a bundle's model card from its manifest and evaluations",
    ),
    ("serve",): ("engine.commands.serve", "run the gRPC edit server on a model bundle"),
    ("osc-bridge",): ("osc_bridge.command", "bridge OSC from Max/Ableton to the gRPC engine"),
    ("edit",): ("engine.commands.edit", "re-imagine a region of an audio file with chosen actions"),
    ("prepare",): ("engine.commands.prepare", "have a running engine index a song before its first edit"),
    ("actions", "list"): ("engine.commands.actions_list", "list the bundle's actions and their descriptions"),
    ("actions", "infer"): ("engine.commands.actions_infer", "infer which actions a region of audio carries"),
    ("actions", "explore"): (
        "engine.commands.actions_explore",
        "render a region once per action (HTML page)",
    ),
    ("actions", "describe"): (
        "training.commands.actions_describe",
        "name the actions from what their edits measurably do (loudness, notes, who plays, ...)",
    ),
}

GROUPS = {
    "data": "training data: list real music, label clips, train the quality filter, filter, merge collections",
    "train": "train a model (tokenizer, lam, dynamics, instruments)",
    "eval": "evaluate a trained model (tokenizer, lam, dynamics) or the edit through a bundle",
    "bundle": "inspect a model bundle, add evaluations or an instrument estimator, rewrite its card",
    "actions": "work with the learned actions of a bundle",
}


TRAIN_EXTRA_HINT = "this command needs the training extras: pip install -c constraints.txt -e '.[train]'"


def _overview(prefix: tuple[str, ...] = ()) -> str:
    lines = ["usage: musegenie COMMAND [options]   (musegenie COMMAND --help for its options)", ""]
    if prefix:
        lines[0] = f"usage: musegenie {' '.join(prefix)} COMMAND [options]"
    lines.append("commands:")
    for words, (_, summary) in COMMANDS.items():
        if words[: len(prefix)] == prefix:
            lines.append(f"  {' '.join(words):<22} {summary}")
    return "\n".join(lines)


def find_command(argv: Sequence[str]) -> tuple[tuple[str, ...], list[str]] | None:
    """The longest command named at the start of argv, and the arguments after it."""
    for n in (2, 1):
        words = tuple(argv[:n])
        if words in COMMANDS:
            return words, list(argv[n:])
    return None


def build_parser(words: tuple[str, ...]) -> tuple[argparse.ArgumentParser, object]:
    """Import the command's module and build its parser (raises ImportError if an extra is missing)."""
    module_name, summary = COMMANDS[words]
    module = importlib.import_module(module_name)
    parser = argparse.ArgumentParser(
        prog="musegenie " + " ".join(words),
        description=(module.__doc__ or summary).strip(),
        formatter_class=HelpFormatter,
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    module.add_arguments(parser)
    return parser, module


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(_overview() + "\n\ngroups:\n" + "\n".join(f"  {g:<22} {h}" for g, h in GROUPS.items()))
        return 0
    if argv[0] == "--version":
        from importlib.metadata import version

        print(version("musegenie"))
        return 0
    found = find_command(argv)
    if found is None:
        if argv[0] in GROUPS and (len(argv) == 1 or argv[1] in ("-h", "--help")):
            print(_overview((argv[0],)))
            return 0
        print(f"musegenie: unknown command {' '.join(argv[:2])!r}\n\n{_overview()}", file=sys.stderr)
        return 2
    words, rest = found
    try:
        parser, module = build_parser(words)
    except ModuleNotFoundError as err:
        if err.name and err.name.split(".")[0] in ("torch", "sklearn", "librosa", "matplotlib", "onnx"):
            print(f"musegenie {' '.join(words)}: {TRAIN_EXTRA_HINT} (missing {err.name})", file=sys.stderr)
            return 2
        raise
    args = parser.parse_args(rest)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    try:
        return int(module.run(args) or 0)
    except (CommandError, AudioError) as err:
        print(f"musegenie {' '.join(words)}: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
