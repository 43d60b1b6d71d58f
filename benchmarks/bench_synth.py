"""Speed of the synthetic corpus: seconds of audio rendered per second of CPU time, per core.

Usage: .venv/bin/python benchmarks/bench_synth.py [--seconds 30] [--pieces 8] [--repeats 3]

Each repeat renders `pieces` pieces in one process (the note caches warm up as in a real corpus run) and
times them with process CPU time (other users of a shared machine do not skew it) and wall time. Prints
a table with the median repeat: clean pieces, damaged pieces, the whole write path (WAV + JSON + MIDI), and
pieces played by the soundfont renderer when FluidSynth and a soundfont are installed (its CPU time counts
the fluidsynth child processes too).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np

from training.data.synth import render_piece, soundfont, write_corpus


def _clean(pieces: int, seconds: int, repeat: int) -> float:
    for i in range(pieces):
        render_piece(np.random.SeedSequence(repeat, spawn_key=(i,)), seconds)
    return pieces * seconds


def _damaged(pieces: int, seconds: int, repeat: int) -> float:
    for i in range(pieces):
        render_piece(np.random.SeedSequence(repeat, spawn_key=(i,)), seconds, degrade=True)
    return pieces * seconds


def _soundfont(pieces: int, seconds: int, repeat: int) -> float:
    for i in range(pieces):
        render_piece(np.random.SeedSequence(repeat, spawn_key=(i,)), seconds, renderer="soundfont")
    return pieces * seconds


def _cpu() -> float:
    """CPU seconds of this process and its finished children (the fluidsynth renders)."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def _written(pieces: int, seconds: int, repeat: int) -> float:
    with tempfile.TemporaryDirectory() as out:
        entries = write_corpus(
            out, pieces * seconds / 60, repeat, piece_seconds=(seconds, seconds), progress=False
        )
    return sum(e["duration"] for e in entries)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=30, help="length of each piece")
    parser.add_argument("--pieces", type=int, default=8, help="pieces per repeat")
    parser.add_argument("--repeats", type=int, default=3, help="repeats; the table shows the median")
    args = parser.parse_args()
    print(
        f"{'case':<27} {'audio s':>8} {'cpu s':>7} {'wall s':>7} {'x real time/core (cpu)':>23} {'(wall)':>7}"
    )
    cases = [
        ("clean pieces", _clean),
        ("damaged pieces", _damaged),
        ("write_corpus (wav+json+mid)", _written),
    ]
    try:
        soundfont.choose_renderer("soundfont")
        cases.append(("soundfont pieces", _soundfont))
    except soundfont.SoundfontMissing as err:
        print(f"(no soundfont renderer: {err})")
    for name, case in cases:
        rows = []
        for repeat in range(args.repeats):
            cpu0, wall0 = _cpu(), time.perf_counter()
            audio = case(args.pieces, args.seconds, repeat)
            rows.append((audio, _cpu() - cpu0, time.perf_counter() - wall0))
        audio, cpu, wall = sorted(rows, key=lambda r: r[0] / r[1])[len(rows) // 2]  # the median repeat
        print(f"{name:<27} {audio:>8.0f} {cpu:>7.2f} {wall:>7.2f} {audio / cpu:>23.0f} {audio / wall:>7.0f}")


if __name__ == "__main__":
    main()
