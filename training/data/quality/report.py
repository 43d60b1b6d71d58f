"""What a filter run produced: a summary table and a picture (probability histogram, a few song curves)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from training.data.quality.filtering import FilterRun


def summary_table(entries: list[dict[str, Any]], run: FilterRun | None = None) -> str:
    """A plain-text table over all manifest entries (and this run's throughput and errors)."""
    passed = [e for e in entries if e["passed"]]
    failed = [e for e in entries if not e["passed"]]
    salvaged = [e for e in failed if e["spans"]]
    hours = sum(e["duration"] for e in entries) / 3600
    kept = sum(e["duration"] for e in passed) / 3600
    span_hours = sum(end - start for e in salvaged for start, end in e["spans"]) / 3600
    share = 100 * len(passed) / len(entries) if entries else 0.0
    rows = [
        ("songs in manifest", f"{len(entries)}", f"{hours:.2f} h"),
        ("passed", f"{len(passed)} ({share:.1f} %)", f"{kept:.2f} h"),
        ("failed", f"{len(failed)}", f"{hours - kept:.2f} h"),
        ("failed, good spans kept", f"{len(salvaged)}", f"{span_hours:.2f} h"),
    ]
    if entries:
        means = np.array([e["mean_prob"] for e in entries])
        rows.append(
            (
                "mean p(good) p10/p50/p90",
                " / ".join(f"{q:.2f}" for q in np.quantile(means, [0.1, 0.5, 0.9])),
                "",
            )
        )
    if run is not None:
        rows += [
            ("this run: scored", f"{run.scored}", f"{run.audio_seconds / 3600:.2f} h"),
            ("this run: already done", f"{run.resumed}", ""),
            ("this run: unreadable", f"{len(run.errors)}", ""),
            ("this run: speed", f"{run.realtime_factor:.0f}x real time", f"{run.wall_seconds:.1f} s"),
        ]
    width = max(len(r[0]) for r in rows)
    return "\n".join(f"{name:<{width}}  {count:>20}  {extra:>10}" for name, count, extra in rows)


def save_filter_picture(
    entries: list[dict[str, Any]], path: Path, threshold: float, curves: int = 6, segment_seconds: float = 5.0
) -> Path:
    """Histogram of song and segment probabilities, and p(good) along a few songs spread over the range."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(12, 4.2), layout="constrained")
    hist, lines = fig.subplots(1, 2)
    bins = np.linspace(0, 1, 41)
    segment_probs = [p for e in entries for p in e["segment_probs"]]
    if segment_probs:
        hist.hist(segment_probs, bins=bins, density=True, alpha=0.35, color="grey", label="segments, raw")
    for passed, colour in ((True, "tab:green"), (False, "tab:red")):
        means = [e["mean_prob"] for e in entries if e["passed"] == passed]
        if not means:
            continue
        hist.hist(
            means,
            bins=bins,
            density=True,
            alpha=0.6,
            color=colour,
            label=f"songs {'passed' if passed else 'failed'}",
        )
    hist.axvline(threshold, color="k", linestyle="--", label=f"threshold {threshold:g}")
    hist.set(xlabel="p(good)", ylabel="density", title=f"{len(entries)} songs")
    hist.legend(fontsize=8)
    ordered = sorted(entries, key=lambda e: e["mean_prob"])
    picks = (
        [
            ordered[i]
            for i in np.unique(np.linspace(0, len(ordered) - 1, min(curves, len(ordered))).astype(int))
        ]
        if ordered
        else []
    )
    for entry in picks:
        n = len(entry["smoothed_probs"])
        starts = np.minimum(np.arange(n) * segment_seconds, max(entry["duration"] - segment_seconds, 0.0))
        times = starts + min(segment_seconds, entry["duration"]) / 2  # (n,) segment centres
        (line,) = lines.plot(
            times, entry["smoothed_probs"], label=f"{Path(entry['path']).name} ({entry['mean_prob']:.2f})"
        )
        lines.plot(times, entry["segment_probs"], ":", color=line.get_color(), alpha=0.6)
        for start, end in entry["spans"] if not entry["passed"] else []:
            lines.axvspan(start, end, color=line.get_color(), alpha=0.08)
    lines.axhline(threshold, color="k", linestyle="--")
    lines.set(
        xlabel="time (s)", ylabel="p(good)", ylim=(-0.02, 1.02), title="songs: smoothed (solid), raw (dotted)"
    )
    if picks:
        lines.legend(fontsize=7)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    return path
