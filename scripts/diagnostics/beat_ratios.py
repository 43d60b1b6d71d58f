"""`eval edit`'s beat_ratio, scored afterwards from the WAVs an earlier `eval edit` wrote (the region and a
second each side per method), so a run made before the score existed can be compared with one made after.

The song's beats are tracked on the whole song file the run read (its `data`), as `eval edit` does; each
method's WAV stands for the song's samples from a second before the region to a second after it, which is
all `edit_scores.on_beat` reads. Prints the geometric mean over clips per method, as `eval edit` averages.

    .venv/bin/python scripts/diagnostics/beat_ratios.py work/exp/r4_real_rand
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from engine import audio as audio_io  # noqa: E402
from training.data.manifest import read_entries  # noqa: E402
from training.evaluation import edit_scores as scores  # noqa: E402
from training.evaluation.edit_report import VIEW_MARGIN_S  # noqa: E402

SR = 16_000


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("run", type=Path, help="an eval edit --out folder (edit.json and clips/NN/*.wav)")
    args = parser.parse_args()
    summary = json.loads((args.run / "edit.json").read_text())
    entries = {}
    for entry in read_entries(Path(summary["data"])):
        name = entry.path.stem if entry.start == 0 else f"{entry.path.stem}@{entry.start:g}s"
        entries[name] = entry
    per_method: dict[str, list[float]] = {}
    others: dict[int, list[float]] = {}
    for i, row in enumerate(summary["per_clip"]):
        entry = entries[row["name"]]
        duration = None if entry.end is None else entry.end - entry.start
        song, _ = audio_io.load(entry.path, sample_rate=SR, mono=True, start=entry.start, duration=duration)
        song = song[0]
        start, end = (int(round(s * SR)) for s in row["region"])
        grid = scores.beat_grid(song, SR)
        lo = start - int(round(VIEW_MARGIN_S * SR))
        for wav in sorted((args.run / "clips" / f"{i:02d}").glob("*.wav")):
            view, _ = audio_io.load(wav, sample_rate=SR, mono=True)
            signal = song.copy()
            n = min(view.shape[1], len(signal) - lo)
            signal[lo : lo + n] = view[0, :n]  # the method's samples where on_beat reads them
            value = scores.beat_ratio(song, signal, SR, start, end, grid)
            per_method.setdefault(wav.stem, []).append(value)
            if wav.stem.startswith("action_"):  # eval edit's edit_other_actions: the actions the region lacks
                action = int(wav.stem.split("_")[1])
                if any(a != action for a in row["inferred_actions"]):
                    others.setdefault(i, []).append(value)
        if i in others:
            per_method.setdefault("edit_other_actions", []).append(scores.geometric_mean(others[i]))
    for method, values in sorted(per_method.items()):
        kept = [v for v in values if np.isfinite(v)]
        mean = scores.geometric_mean(kept)
        print(f"{method:<20} beat_ratio {mean:.3f} ({len(kept)} of {len(values)} clips have a beat grid)")


if __name__ == "__main__":
    main()
