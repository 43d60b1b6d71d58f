"""Encode a collection into the latent cache (`musegenie tokenize`): the input of the LAM and dynamics model.

Every entry of a folder, corpus.jsonl or filter manifest is loaded as 16 kHz mono, cut into fixed-length
segments (the last one zero-padded), encoded in batches across entries with the tokenizer's EMA weights,
and written as one `NAME.npz` plus an index line (`training.latents`). Annotated entries (the synthetic
corpus, or a manifest's annotation column) also get per-frame instrument multi-hot and event onsets.
Resumable: entries already in the index are skipped. `shard=(i, n)` takes every n-th entry from the i-th,
so n processes (or machines sharing a folder) split the work and write into one cache.
Letters: B batch, N samples, T frames, D latent channels.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from engine import audio as audio_io
from engine.published_file import remove_stale_temporaries
from training.data import annotations
from training.data.manifest import Entry, read_entries
from training.latents import read_index, write_entry
from training.loop import checkpoint

log = logging.getLogger(__name__)


@dataclass
class TokenizeConfig:
    batch_size: int = 8  # segments encoded per forward pass
    segment_seconds: float = 30.0  # audio per encoder call (rounded down to whole frames); bounds memory
    device: str = "auto"  # auto (cuda if available), cpu or cuda[:N]


def tokenizer_sha(run_dir: str | Path) -> str:
    """sha256 of the tokenizer checkpoint's EMA weights: what the latent cache was encoded with."""
    digest = hashlib.sha256()
    with open(checkpoint.resolve(Path(run_dir)) / "ema.safetensors", "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def entry_names(entries: list[Entry]) -> list[str]:
    """Stable, unique, file-safe names: the file stem, plus the span start for spans, plus a path hash on clashes."""
    bases = []
    for e in entries:
        base = (
            e.path.stem if e.start == 0 and e.end is None else f"{e.path.stem}_{round(e.start * 1000):08d}ms"
        )
        bases.append("".join(c if c.isalnum() or c in "-_." else "_" for c in base))
    counts = Counter(bases)
    return [
        f"{b}_{hashlib.sha1(str(e.path.resolve()).encode()).hexdigest()[:8]}" if counts[b] > 1 else b
        for b, e in zip(bases, entries, strict=True)
    ]


def parse_shard(text: str) -> tuple[int, int]:
    """'I/N' -> (I, N) with 0 <= I < N."""
    try:
        index, count = (int(x) for x in text.split("/"))
    except ValueError as err:
        raise ValueError(f"--shard must look like I/N (e.g. 0/4), got {text!r}") from err
    if not 0 <= index < count:
        raise ValueError(f"--shard {text}: need 0 <= I < N")
    return index, count


def _device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


@torch.no_grad()
def tokenize(
    tokenizer_run: str | Path,
    data: str | Path,
    out_dir: str | Path,
    config: TokenizeConfig | None = None,
    shard: tuple[int, int] = (0, 1),
) -> dict[str, int]:
    """Encode this shard's entries not yet in `out_dir`'s index; returns counts (written, skipped, empty)."""
    config = config or TokenizeConfig()
    out_dir = Path(out_dir)
    device = _device(config.device)
    model, _ = checkpoint.load_model(Path(tokenizer_run), ema=True, device=device)
    sha = tokenizer_sha(tokenizer_run)
    hop, sample_rate = model.hop, model.config.sample_rate
    frame_rate = sample_rate / hop
    existing = read_index(out_dir)
    other = {r["tokenizer_sha"] for r in existing} - {sha}
    if other:
        raise ValueError(
            f"{out_dir} holds latents of another tokenizer ({other.pop()[:12]}...); use a new --out"
        )
    done = {r["name"] for r in existing}
    entries = read_entries(data)
    names = entry_names(entries)
    mine = [(n, e) for i, (n, e) in enumerate(zip(names, entries, strict=True)) if i % shard[1] == shard[0]]
    todo = [(n, e) for n, e in mine if n not in done]
    log.info(
        "tokenize: %d entries in shard %d/%d, %d already cached, %d to encode at %.3f frames/s",
        len(mine),
        *shard,
        len(mine) - len(todo),
        len(todo),
        frame_rate,
    )
    segment = max(1, int(config.segment_seconds * frame_rate)) * hop  # samples per encoder call
    counts = {"written": 0, "skipped": len(mine) - len(todo), "empty": 0}
    pending: list[tuple[int, int, np.ndarray]] = []  # (entry index in todo, segment index, audio (N,))
    results: dict[int, list[np.ndarray | None]] = {}
    meta: dict[int, int] = {}  # entry index -> frames

    def flush() -> None:
        batch = torch.from_numpy(np.stack([p[2] for p in pending]))[:, None].to(device)  # (B, 1, N)
        latents = model.encode(batch).float().cpu().numpy()  # (B, T, D)
        for (i, s, _), lat in zip(pending, latents, strict=True):
            results[i][s] = lat
        pending.clear()
        for i in [i for i, segs in results.items() if all(x is not None for x in segs)]:
            _write(i, np.concatenate(results.pop(i))[: meta[i]])

    def _write(i: int, latents: np.ndarray) -> None:
        name, entry = todo[i]
        instruments = events = None
        if entry.annotations is not None:
            ann = annotations.load(entry.annotations)
            if set(ann["instruments"]) >= set(annotations.INSTRUMENTS):
                instruments = annotations.activity_frames(ann, frame_rate, len(latents), start=entry.start)
            else:  # e.g. a real song's guitar stem: the others are unknown, not absent, so all are unknown
                log.info(
                    "%s: annotates only %s: its instruments are unknown", name, ", ".join(ann["instruments"])
                )
            events = annotations.event_frames(ann, frame_rate, len(latents), start=entry.start)
        write_entry(
            out_dir,
            name,
            latents,
            source=str(entry.path.resolve()),
            start=entry.start,
            frame_rate=frame_rate,
            tokenizer_sha=sha,
            instruments=instruments,
            events=events,
        )
        counts["written"] += 1
        bar.update(1)

    out_dir.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(out_dir)  # half-written shards of a run that was killed
    with tqdm(total=len(todo), desc="tokenize", unit="file", dynamic_ncols=True) as bar:
        for i, (_, entry) in enumerate(todo):
            duration = None if entry.end is None else entry.end - entry.start
            audio, _ = audio_io.load(
                entry.path, sample_rate=sample_rate, mono=True, start=entry.start, duration=duration
            )
            frames = audio.shape[1] // hop
            if frames == 0:
                log.warning("%s: shorter than one latent frame (%d samples), skipped", entry.path, hop)
                counts["empty"] += 1
                bar.update(1)
                continue
            signal = audio[0, : frames * hop]  # (N,)
            starts = range(0, len(signal), segment)
            results[i], meta[i] = [None] * len(starts), frames
            for s, at in enumerate(starts):
                piece = signal[at : at + segment]
                pending.append((i, s, np.pad(piece, (0, segment - len(piece)))))
                if len(pending) == config.batch_size:
                    flush()
        if pending:
            flush()
    log.info(
        "tokenize: wrote %d entries to %s (%d skipped, %d empty)",
        counts["written"],
        out_dir,
        counts["skipped"],
        counts["empty"],
    )
    return counts
