"""How often an edit's own report of how it is heard (`Source.heard`) equals a reading of the file returned.

For the clips `musegenie eval edit` takes from a manifest (centre regions), edits the file as a user has it
(its own rate and channels, not eval edit's mono model-rate copy) with every action, closeness 1, and reads
the returned region as `eval edit` reads an edit (`Pipeline.infer_actions`). Prints, per --data, the chunks
the requests change, by how many chunks in all the report's count of those heard as asked differs from that
reading's, the edits whose counts are the same, and how many edits were made of the song's material. At the model rate
the two are equal by construction (tests/engine/test_song.py); at other rates a song-aware edit's report is
its check's reading of the index's mono model-rate audio.

    .venv/bin/python scripts/diagnostics/report_agree.py --data data/real_music/real_music_heldout.jsonl \\
        --data /usr/share/planetblupi/music --clips 6
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import heldout  # noqa: E402

from engine import audio as audio_io  # noqa: E402
from engine import song_edit  # noqa: E402
from engine.request import EditRequest  # noqa: E402
from engine.window import spread_actions  # noqa: E402
from training.data.manifest import read_entries  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    heldout.add_options(parser, clips=6, repeat=True, regions=False)
    args = parser.parse_args()
    pipeline = heldout.engine(args.bundle)
    b, sr = pipeline.bundle, pipeline.bundle.sample_rate
    context_s = b.defaults.context_seconds
    for data in args.data:
        paths = {e.path.stem: e.path for e in read_entries(Path(data)) if e.start == 0}
        clips = heldout.clips_of(pipeline, args, data)
        chunks = off = edits = same = song = 0
        for clip in clips:
            if clip.name not in paths:
                continue  # a clip cut from inside a file: its own rate's copy is not at hand
            audio, rate = audio_io.load(paths[clip.name])  # (C, N) as a user has it
            region = (clip.start / sr, clip.end / sr)
            shown = [c["action"] for c in pipeline.infer_actions(audio, rate, region)]
            for action in range(b.num_actions):
                result = pipeline.edit(audio, rate, EditRequest(region, (action,), context_seconds=context_s))
                heard = result.source.heard
                if heard is None:
                    continue  # nothing the request changes
                frames = len(result.frame_actions)
                wanted = spread_actions([action], frames)
                asked = song_edit.asked_chunks(
                    wanted, wanted != spread_actions(shown, frames), b.chunk_frames
                )
                read = np.array([c["action"] for c in pipeline.infer_actions(result.audio, rate, region)])
                mine = asked[: len(read)] >= 0
                hits = int((read[mine] == asked[: len(read)][mine]).sum())
                chunks += heard.chunks
                off += abs(hits - heard.as_asked)
                edits += 1
                same += hits == heard.as_asked
                song += result.source.kind == "song"
        print(
            f"{data}: {len(clips)} clips, {edits} edits that change an action ({song} of the song's material); "
            f"the report's count of chunks heard as asked is off the returned file's reading by {off} of "
            f"{chunks} changed chunks in all, and the same in {same} of {edits} edits"
        )


if __name__ == "__main__":
    main()
