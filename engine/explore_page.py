"""The `actions explore` page: one self-contained HTML file with an audio player and a spectrogram per action.

The page sits next to the WAV and PNG files it names (relative links), so the folder can be zipped or
served as is; open index.html in any browser to hear what each action does to the same region.
"""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; color: #222; }
h1 { font-size: 1.4rem; } .meta { color: #666; }
section { border-top: 1px solid #ddd; padding: 1rem 0; }
h2 { font-size: 1.1rem; margin: 0 0 .3rem; } .desc { color: #444; margin: 0 0 .5rem; }
img { width: 100%; max-width: 56rem; display: block; margin-top: .5rem; } audio { width: 100%; }
"""


@dataclass(frozen=True)
class Variant:
    title: str  # "original" or "3 · swing"
    description: str  # what the action does (from the bundle), or a note
    wav: str  # path relative to the page
    png: str | None  # spectrogram path relative to the page (None when matplotlib is missing)
    measured: str = ""  # how its region measurably differs from the original's (engine.descriptors)


def render_page(source: str, region: tuple[float, float], variants: list[Variant], notes: str = "") -> str:
    """The HTML text for a list of variants (the first is usually the original)."""
    esc = html.escape
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>musegenie explore: {esc(source)}</title><style>{STYLE}</style></head><body>",
        f"<h1>What each action does to {esc(source)}</h1>",
        f'<p class="meta">region {region[0]:.2f} s to {region[1]:.2f} s{" · " + esc(notes) if notes else ""}</p>',
    ]
    parts.extend(variant_section(v) for v in variants)
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def variant_section(v: Variant, heading: str = "h2") -> str:
    """One variant's HTML: its title, description, an audio player and its spectrogram."""
    esc = html.escape
    parts = ["<section>", f"<{heading}>{esc(v.title)}</{heading}>"]
    if v.description:
        parts.append(f'<p class="desc">{esc(v.description)}</p>')
    if v.measured:
        parts.append(f'<p class="desc"><b>measured:</b> {esc(v.measured)}</p>')
    parts.append(f'<audio controls preload="none" src="{esc(v.wav, quote=True)}"></audio>')
    if v.png:
        parts.append(f'<img src="{esc(v.png, quote=True)}" alt="spectrogram of {esc(v.title, quote=True)}">')
    parts.append("</section>")
    return "\n".join(parts)


def write_page(
    path: str | Path, source: str, region: tuple[float, float], variants: list[Variant], notes: str = ""
) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_page(source, region, variants, notes), encoding="utf-8")
    return path


def spectrogram_writer():
    """engine.spectrogram.save_spectrograms, or None when matplotlib is not installed."""
    try:
        from engine.spectrogram import save_spectrograms
    except ImportError as err:
        log.warning("no spectrograms (%s); the page will only have audio players", err)
        return None
    return save_spectrograms
