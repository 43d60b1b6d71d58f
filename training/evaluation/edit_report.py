"""What `musegenie eval edit` shows: the printed table and OUT/index.html.

The page has the summary table, then one section per clip with an audio player and a spectrogram per
method (the region plus VIEW_MARGIN_S each side), in the style of the `actions explore` page
(`engine.explore_page`, `engine.spectrogram`). Files sit beside the page: OUT/clips/NN/METHOD.wav|png.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from engine.audio import save_wav
from engine.bundle import Bundle
from engine.explore_page import STYLE, Variant, spectrogram_writer, variant_section
from training.evaluation.edit import METHODS, METRICS, ClipResult

VIEW_MARGIN_S = 1.0  # seconds shown and played either side of the region
DESCRIPTIONS = {
    "original": "the clip, unedited",
    "roundtrip": "the region decoded from its own latents: the tokenizer's ceiling for any edit",
    "edit_inferred": "edited with the actions the LAM reads in the region",
    "edit_second_seed": "the same edit with the next seed",
    "copy": "the segment elsewhere in the file whose surroundings match best, crossfaded in",
    "noise": "noise with the context's average spectrum, crossfaded in",
}


def table(summary: dict[str, Any]) -> str:
    """The methods x metrics table and the action scores, as printed text."""
    lines = [f"{'method':<20}" + "".join(f"{m:>17}" for m in METRICS)]
    for method in METHODS:
        row = summary["methods"][method]
        lines.append(f"{method:<20}" + "".join(f"{_cell(row[m]):>17}" for m in METRICS))
    return "\n".join(lines + notes(summary))


def _cell(value: float | None) -> str:
    """A score as the tables show it; None (nothing to compare, e.g. beat_ratio without a beat grid): n/a."""
    return "n/a" if value is None else f"{value:.3f}"


def notes(summary: dict[str, Any]) -> list[str]:
    """The scores beside the table: the original's seams, action effect and fidelity, ViSQOL."""
    fidelity = summary["action_fidelity"]
    visqol = summary["visqol_roundtrip"]
    versus = summary["edit_vs_copy"]
    return [
        f"edit_inferred against copy, clip by clip: median L1 ratio {versus['median_ratio']:.3f}, "
        f"closer in {versus['closer']:.0%} of clips",
        f"original audio's own seam_flux_ratio at the same edges: {summary['original_seam_flux_ratio']:.3f}",
        f"action effect (L1 between actions / between seeds): {summary['action_effect']:.3f}",
        f"action fidelity: {fidelity['accuracy']:.3f} (chance {fidelity['chance']:.3f})",
        f"ViSQOL of the round trip: {'not scored' if visqol is None else f'{visqol:.3f}'}",
    ]


def _summary_html(summary: dict[str, Any]) -> str:
    esc = html.escape
    head = "".join(f"<th>{esc(m)}</th>" for m in METRICS)
    rows = "".join(
        f"<tr><td>{esc(method)}</td>"
        + "".join(f"<td>{_cell(summary['methods'][method][m])}</td>" for m in METRICS)
        + "</tr>"
        for method in METHODS
    )
    listed = "".join(f"<li>{esc(line)}</li>" for line in notes(summary))
    return f"<table><tr><th>method</th>{head}</tr>{rows}</table><ul>{listed}</ul>"


def _clip_variants(folder: Path, rel: str, result: ClipResult, bundle: Bundle) -> list[Variant]:
    sr = bundle.sample_rate
    start_s, end_s = result.row["region"]
    lo, hi = int(max(0.0, start_s - VIEW_MARGIN_S) * sr), int((end_s + VIEW_MARGIN_S) * sr)
    save_spectrograms = spectrogram_writer()
    names = {f"action_{a.id}": f"action {a.id} · {a.name}" for a in bundle.actions}
    variants = []
    for key, signal in result.signals.items():
        title = names.get(key, key)
        view = signal[lo:hi]  # (n,) region +/- margin
        save_wav(folder / f"{key}.wav", view[None], sr)
        png = None
        if save_spectrograms is not None:
            save_spectrograms(folder / f"{key}.png", [(title, view, sr)])
            png = f"{rel}/{key}.png"
        scores = result.row["scores"].get(key)
        note = DESCRIPTIONS.get(key, "")
        if scores:
            note += " · " + ", ".join(f"{m} {v:.3f}" for m, v in scores.items())
        variants.append(Variant(title, note, f"{rel}/{key}.wav", png))
    return variants


def write_page(out_dir: Path, results: list[ClipResult], summary: dict[str, Any], bundle: Bundle) -> Path:
    """OUT/index.html plus OUT/clips/NN/*.wav|png; returns the page's path."""
    esc = html.escape
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>musegenie eval edit: {esc(summary['bundle'])}</title><style>{STYLE}"
        " table { border-collapse: collapse; } td, th { padding: .2rem .6rem; text-align: right; }</style>",
        "</head><body>",
        f"<h1>Edits of {esc(summary['bundle'])} on {esc(summary['data'])}</h1>",
        f'<p class="meta">{summary["clips"]} clips, {summary["region_seconds"]:g} s regions, '
        f"{summary['context_seconds']:g} s context each side · {esc(summary['command'])}</p>",
        _summary_html(summary),
    ]
    for n, result in enumerate(results):
        rel = f"clips/{n:02d}"
        folder = out_dir / rel
        folder.mkdir(parents=True, exist_ok=True)
        start_s, end_s = result.row["region"]
        parts.append(f"<h2>{esc(result.row['name'])}: region {start_s:.2f}-{end_s:.2f} s</h2>")
        parts.append(
            f'<p class="meta">inferred actions {result.row["inferred_actions"]}; players and spectrograms '
            f"show {VIEW_MARGIN_S:g} s either side of the region</p>"
        )
        parts.extend(variant_section(v, "h3") for v in _clip_variants(folder, rel, result, bundle))
    parts.append("</body></html>")
    page = out_dir / "index.html"
    page.write_text("\n".join(parts) + "\n", encoding="utf-8")
    return page
