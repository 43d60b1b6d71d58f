"""Render a region once per action and write an HTML page to listen and look (spectrograms) side by side.

    musegenie actions explore song.wav --start 8 --end 12 -o explore/   # then open explore/index.html

The same seed is used for every action, so the differences between the variants are the actions'. Beside
each player the page says how the rendering's region measurably differs from the original's (loudness,
brightness, notes, who plays: engine.descriptors) and whether the action's name held there, against the
other renderings as `actions describe` and `eval edit` judge it.
"""

from __future__ import annotations

import argparse
import re
from dataclasses import replace
from pathlib import Path

import numpy as np

from engine import audio as audio_io
from engine.commands.editor_args import (
    add_engine_arguments,
    add_instrument_argument,
    add_region_arguments,
    add_sampling_arguments,
    edit_request,
    open_editor,
    split_list,
)
from engine.descriptors import catalogue, change_text, holds, measure
from engine.explore_page import Variant, spectrogram_writer, write_page
from engine.instruments import SAMPLE_RATE, InstrumentEstimator

VIEW_MARGIN_S = 1.0  # seconds shown either side of the region in the spectrograms


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_region_arguments(parser)
    parser.add_argument(
        "-o", "--output", type=Path, required=True, help="folder for index.html, WAVs and PNGs"
    )
    parser.add_argument("--actions", help="comma-separated actions to render (default: every action)")
    add_instrument_argument(parser)
    add_sampling_arguments(parser)
    add_engine_arguments(parser)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "_", text).strip("_") or "action"


def run(args: argparse.Namespace) -> int:
    audio, sr = audio_io.load(args.input)
    out = args.output
    out.mkdir(parents=True, exist_ok=True)
    request = edit_request(args, split_list(args.actions))
    lo = int(max(0.0, args.start - VIEW_MARGIN_S) * sr)
    hi = int(min(audio.shape[1] / sr, args.end + VIEW_MARGIN_S) * sr)
    save_spectrograms = spectrogram_writer()

    def keep(name: str, signal: np.ndarray, title: str, description: str) -> Variant:
        audio_io.save_wav(out / f"{name}.wav", signal, sr)
        png = None
        if save_spectrograms is not None:
            view = audio_io.to_mono(signal[:, lo:hi])[0]  # (N,) region +/- margin
            save_spectrograms(out / f"{name}.png", [(title, view, sr)])
            png = f"{name}.png"
        return Variant(title, description, f"{name}.wav", png)

    variants = [keep("original", audio, "original", "the input, unedited")]
    rendered = []
    with open_editor(args) as editor:
        estimator = _estimator(editor)
        for action, edited, source in editor.explore(audio, sr, request):
            name = f"action_{action.id:02d}_{_slug(action.name)}"
            about = f"{action.description} · material: {source.text}"
            variants.append(keep(name, edited, f"{action.id} · {action.name}", about))
            rendered.append((action, edited))
            print(f"rendered {action.id} {action.name} ({source.text})")
    notes = f"seed {args.seed}; spectrograms show {VIEW_MARGIN_S:g} s either side of the region"
    measured, missing = _measured(audio, sr, (args.start, args.end), rendered, estimator)
    variants = [variants[0]] + [replace(v, measured=m) for v, m in zip(variants[1:], measured, strict=True)]
    if missing:
        notes += "; not measured: " + "; ".join(missing)
    page = write_page(out / "index.html", args.input.name, (args.start, args.end), variants, notes)
    print(f"wrote {page} ({len(variants) - 1} actions)")
    return 0


def _estimator(editor) -> InstrumentEstimator | None:
    """The bundle's instrument estimator when the editor runs in this process (a remote engine keeps its own)."""
    pipeline = getattr(editor, "pipeline", None)
    return None if pipeline is None else pipeline.estimator


def _measured(
    audio: np.ndarray, sr: int, region: tuple[float, float], rendered: list, estimator
) -> tuple[list[str], list[str]]:
    """Per rendering, how its region differs from the original's and whether its action's name held; and
    what could not be measured."""
    lo, hi = int(region[0] * sr), int(region[1] * sr)

    def mono(signal: np.ndarray) -> np.ndarray:  # (N,) the region, mono at the descriptors' rate
        return audio_io.resample(audio_io.to_mono(signal[:, lo:hi]), sr, SAMPLE_RATE)[0]

    result = measure([mono(audio), *(mono(edited) for _, edited in rendered)], SAMPLE_RATE, estimator)
    descriptors = catalogue(estimator.names if estimator is not None else ())
    original, values = (
        result.values[0],
        {a.id: v for (a, _), v in zip(rendered, result.values[1:], strict=True)},
    )
    lines = []
    for action, _ in rendered:
        claims = tuple(action.claims) if hasattr(action, "claims") else ()
        text = change_text(original, values[action.id], descriptors, [k for k, _ in claims])
        if claims and len(values) > 1 and all(k in values[action.id] for k, _ in claims):
            verdict = "held" if holds(values, action.id, claims) else "did not hold"
            text += f" · its name {verdict} here against the other renderings"
        lines.append(f"against the original: {text}")
    return lines, [f"{k} ({why})" for k, why in result.missing.items()]
