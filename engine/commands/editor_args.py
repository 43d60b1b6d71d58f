"""What `edit` and `actions ...` share: where the engine is (remote `--engine` or in-process `--bundle`),
the region and sampling flags, and one editor object with the EditorClient methods for both cases.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from engine import audio as audio_io
from engine.bundle import Action, BundleError, load_bundle
from engine.cli_args import add_runtime_arguments
from engine.client import EditorClient, EditorError
from engine.errors import CommandError
from engine.pipeline import Pipeline
from engine.request import EditRequest, EditResult
from engine.runtime import Runtime, RuntimeConfig
from engine.window import EditError

DEFAULT_BUNDLE = Path("models/default")
TOKEN_ENV = "MUSEGENIE_TOKEN"


def default_bundle() -> Path | None:
    """models/default when it exists (relative to the working directory, else to the repository)."""
    for candidate in (DEFAULT_BUNDLE, Path(__file__).resolve().parents[2] / DEFAULT_BUNDLE):
        if (candidate / "manifest.json").is_file():
            return candidate
    return None


def add_engine_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("engine (remote with --engine, in-process with --bundle)")
    where = group.add_mutually_exclusive_group()
    where.add_argument("--engine", metavar="HOST:PORT", help="a running `musegenie serve`")
    where.add_argument(
        "--bundle", type=Path, help="run in this process on a bundle folder (default models/default)"
    )
    add_connection_arguments(group)
    add_runtime_arguments(group)  # used with --bundle


def add_connection_arguments(group: argparse._ArgumentGroup) -> None:
    """How to reach --engine: the options every command that talks to a server shares."""
    group.add_argument("--token", help=f"bearer token for --engine (default ${TOKEN_ENV})")
    group.add_argument("--tls-ca", type=Path, help="CA certificate (PEM) to reach --engine over TLS")
    group.add_argument("--timeout", type=float, help="seconds before giving up on the engine")


def add_region_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", type=Path, help="audio file (any rate, any channel count)")
    parser.add_argument("--start", type=float, required=True, help="region start in seconds")
    parser.add_argument("--end", type=float, required=True, help="region end in seconds")


def add_sampling_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("sampling (unset = the bundle's defaults)")
    group.add_argument("--steps", type=int, help="dynamics sampling steps")
    group.add_argument("--decoder-steps", type=int, help="diffusion decoder steps")
    group.add_argument("--guidance", type=float, help="classifier-free guidance scale (0 ignores actions)")
    group.add_argument("--context-seconds", type=float, help="audio each side of the region the models hear")
    group.add_argument(
        "--closeness",
        type=float,
        help="how close to the song the edit stays, 0..1: 0 generates freely, 1 always renders the song's "
        "own passages with the asked-for actions; between, the song's material is used when it fits the "
        "region's surroundings that well",
    )
    group.add_argument("--seed", type=int, default=0, help="same seed and input give the same output")


def add_instrument_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--instruments",
        help="who should play in the region: comma-separated names or ids from the bundle's vocabulary "
        "(`musegenie bundle info` lists it), e.g. sax,bass,drums; default: whoever plays there now. "
        "Only instrument-conditioned bundles accept it",
    )


def split_list(text: str | None) -> list[str]:
    """Items of a comma-separated flag value, stripped, empty ones dropped."""
    return [item.strip() for item in (text or "").split(",") if item.strip()]


def edit_request(args: argparse.Namespace, actions: Sequence[int | str] = ()) -> EditRequest:
    """The EditRequest the region, sampling and instrument flags describe."""
    instruments = getattr(args, "instruments", None)
    if instruments is not None and not split_list(instruments):
        raise CommandError("--instruments is empty: name at least one instrument, or leave it out")
    return EditRequest(
        region=(args.start, args.end),
        actions=tuple(actions),
        instruments=None if instruments is None else tuple(split_list(instruments)),
        steps=args.steps,
        guidance=args.guidance,
        decoder_steps=args.decoder_steps,
        context_seconds=args.context_seconds,
        closeness=args.closeness,
        seed=args.seed,
    )


class LocalEditor:
    """A Pipeline in this process behind the EditorClient method signatures."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline

    def actions(self) -> list[Action]:
        return self.pipeline.actions

    def edit(
        self, audio: np.ndarray, sample_rate: int, request: EditRequest, on_progress=None, timeout=None
    ) -> EditResult:
        return self.pipeline.edit(audio, sample_rate, request, on_progress)

    def edit_file(self, path: Path, request: EditRequest, output: Path, on_progress=None) -> EditResult:
        """The file edited whole in this process (an engine client sends only what the edit needs)."""
        audio, sr = audio_io.load(path)
        result = self.pipeline.edit(audio, sr, request, on_progress)
        audio_io.save_wav(output, result.audio, sr)
        return result

    def infer_actions(
        self, audio: np.ndarray, sample_rate: int, start: float, end: float, **kw
    ) -> list[dict]:
        return self.pipeline.infer_actions(audio, sample_rate, (start, end))

    def explore(self, audio: np.ndarray, sample_rate: int, request: EditRequest, timeout=None) -> Iterator:
        return self.pipeline.explore(audio, sample_rate, request)


def bundle_path(args: argparse.Namespace) -> Path:
    path = args.bundle or default_bundle()
    if path is None:
        raise CommandError(
            "no engine: pass --engine HOST:PORT or --bundle DIR (models/default does not exist)"
        )
    return path


def engine_client(args: argparse.Namespace) -> EditorClient:
    """A client of `--engine` with the connection options (`add_connection_arguments`)."""
    token = args.token or os.environ.get(TOKEN_ENV)
    return EditorClient(args.engine, token=token, tls_ca=args.tls_ca, timeout=args.timeout)


@contextmanager
def open_editor(args: argparse.Namespace) -> Iterator[EditorClient | LocalEditor]:
    """The editor the flags name; engine errors become CommandError (printed without a traceback)."""
    try:
        if args.engine:
            with engine_client(args) as client:
                yield client
            return
        bundle = load_bundle(bundle_path(args))
        try:
            runtime = Runtime(
                bundle,
                RuntimeConfig(providers=args.providers, intra_op_threads=args.intra_op_threads, warmup=False),
            )
        except ValueError as err:  # a provider that is not installed
            raise CommandError(str(err)) from err
        yield LocalEditor(Pipeline(runtime))
    except EditorError as err:
        raise CommandError(f"engine {args.engine}: {err}") from err
    except (BundleError, EditError) as err:
        raise CommandError(str(err)) from err
