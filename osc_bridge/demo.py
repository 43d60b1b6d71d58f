"""`make demo`: serve the bundled model, drive it over OSC exactly as the Max patch does, show the result.

Starts the gRPC engine and the OSC bridge on loopback (free ports), then, as a Max patch would, asks for
the actions, infers the actions of the example's region, edits the region with another action and waits
for the file. Writes before/after WAVs and a before/after spectrogram picture, and says where they are.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

from engine.audio import load
from engine.bundle import BundleError, load_bundle
from engine.commands.editor_args import default_bundle
from engine.server import ServerConfig, start_server
from engine.spectrogram import save_spectrograms
from osc_bridge import addresses as osc
from osc_bridge.osc_client import loopback_rig

EXAMPLE = (
    Path(__file__).resolve().parents[1] / "models" / "examples" / "jazz_example.wav"
)  # a held-out synth piece


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m osc_bridge.demo", description=__doc__)
    parser.add_argument("--bundle", type=Path, help="model bundle (default models/default)")
    parser.add_argument(
        "--example", type=Path, help="audio to edit (default: the bundle's examples/example.wav)"
    )
    parser.add_argument("--start", type=float, default=6.0, help="region start in seconds")
    parser.add_argument("--end", type=float, default=10.0, help="region end in seconds")
    parser.add_argument(
        "--action", type=int, help="action id (default: one the region does not already carry)"
    )
    parser.add_argument("--out", type=Path, default=Path("demo-out"), help="where the results go")
    return parser.parse_args(argv)


def step(text: str) -> None:
    print(f"\n== {text}", flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    bundle_dir = args.bundle or default_bundle()
    if bundle_dir is None:
        print(
            "no bundle: models/default is missing; pass --bundle DIR or run `make default-model`",
            file=sys.stderr,
        )
        return 1
    try:
        bundle = load_bundle(bundle_dir)
    except BundleError as err:
        print(f"the bundle is not usable: {err}", file=sys.stderr)
        return 1
    example = (args.example or EXAMPLE).resolve()
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)

    step(f"starting the engine on {bundle.name} (onnxruntime, CPU or GPU) and the OSC bridge on loopback")
    began = time.monotonic()
    server = start_server(bundle_dir, ServerConfig(port=0))
    try:
        with loopback_rig(server.target, out / "bridge") as (bridge, max_patch):
            print(
                f"engine {server.target} ready in {time.monotonic() - began:.1f} s; OSC bridge {bridge.address[0]}:{bridge.address[1]}"
            )
            step("/musegenie/actions: the learnt actions")
            actions = [args_ for address, args_ in max_patch.call(osc.ACTIONS) if address == osc.ACTION]
            for action_id, name, description in actions:
                print(f"  {action_id}  {name:<24} {description}")

            step(f"/musegenie/infer: what the region {args.start:g}-{args.end:g} s of {example.name} carries")
            address, inferred = max_patch.call(osc.INFER, str(example), args.start, args.end)[-1]
            if address == osc.ERROR:
                raise RuntimeError(f"infer failed: {inferred}")
            shown = " ".join(map(str, inferred[:32])) + (" ..." if len(inferred) > 32 else "")
            print(f"  one action per chunk: {shown}")
            choice = (
                args.action
                if args.action is not None
                else next((a for a, *_ in actions if a not in inferred), actions[0][0])
            )

            step(f"/musegenie/edit: re-imagine the region with action {choice} ({actions[choice][1]})")
            began = time.monotonic()
            request_id = max_patch.send(osc.EDIT, str(example), args.start, args.end, choice)
            for address, reply in max_patch.replies(request_id, timeout=600):
                if address == osc.PROGRESS:
                    bar = "#" * int(30 * reply[0])
                    print(f"\r  [{bar:<30}] {100 * reply[0]:5.1f} %", end="", flush=True)
                elif address == osc.ERROR:
                    raise RuntimeError(f"edit failed: {reply}")
                else:
                    result, material = Path(reply[0]), reply[1] if len(reply) > 1 else "generated"
            print(f"\n  done in {time.monotonic() - began:.1f} s -> {result} (material: {material})")

            before, after = out / "before.wav", out / "after.wav"
            shutil.copyfile(example, before)
            shutil.copyfile(result, after)
            (audio_before, sr), (audio_after, _) = load(before), load(after)
            picture = save_spectrograms(
                out / "before_after.png",
                [(f"before: {example.name}", audio_before, sr),
                 (f"after: {args.start:g}-{args.end:g} s edited with action {choice} ({actions[choice][1]}; {material})", audio_after, sr)],
                title="musegenie edit (region re-imagined, everything else untouched)",
            )  # fmt: skip
    finally:
        server.stop(1)

    step("where everything is")
    print(f"  before:      {before}\n  after:       {after}\n  picture:     {picture}")
    print(
        "  Max/MSP:     `make serve`, then open osc_bridge/max/musegenie.maxpat (udpsend 9000 / udpreceive 9001)"
    )
    print(
        "  Ableton:     `make serve`, then drop osc_bridge/max/musegenie.amxd on a track (osc_bridge/max/ABLETON.md)"
    )
    print(f"  by hand:     .venv/bin/musegenie edit {before} --start 6 --end 10 --action 2 -o mine.wav")
    return 0


if __name__ == "__main__":
    sys.exit(main())
