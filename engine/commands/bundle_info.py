"""Print a model bundle's manifest (actions, graphs, defaults, parity), its model card's summary, and verify
every file's checksum.

Exit code 0 when every file matches the manifest, 1 when a file is missing, truncated or modified (each
one is named).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from engine.bundle import (
    CARD_NAME,
    TENSORRT_BUILD,
    TENSORRT_DIR,
    Bundle,
    BundleError,
    open_bundle,
    read_manifest,
    verify_files,
)
from engine.errors import CommandError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("bundle", type=Path, help="bundle folder (holds manifest.json)")
    parser.add_argument("--json", action="store_true", help="print the manifest and the check result as JSON")


def _dims(dims: list[int | str]) -> str:
    return "(" + ", ".join(str(d) for d in dims) + ")"


def card_summary(bundle_dir: Path) -> list[str]:
    """The lines of MODEL_CARD.md's "Summary" section ([] when the bundle has no card)."""
    path = bundle_dir / CARD_NAME
    if not path.is_file():
        return []
    lines, inside = [], False
    for line in path.read_text().splitlines():
        if line.startswith("## "):
            if inside:
                break
            inside = line.strip() == "## Summary"
        elif inside and line.strip():
            lines.append(line)
    return lines


def summary(bundle: Bundle) -> str:
    """The human-readable overview `bundle info` prints."""
    d, space = bundle.defaults, bundle.decoder_space
    lines = [
        f"bundle     {bundle.name}  (format v{bundle.format_version}, created {bundle.created})",
        f"path       {bundle.path}",
        f"audio      {bundle.sample_rate} Hz, hop {bundle.hop} -> {bundle.frame_rate:g} frames/s, "
        f"latent dim {bundle.latent_dim}, audio scale {space.scale:g}, pre-emphasis {space.emphasis:g}, "
        f"companding {space.compand:g}"
        + (f" on {space.bins} MDCT bins" if space.compand != 1.0 else "")
        + (f", gain smoothed over {space.window} x {space.window}" if space.window > 1 else ""),
        f"actions    {bundle.num_actions} (one per {bundle.chunk_frames} frames = "
        f"{bundle.chunk_frames / bundle.frame_rate:.2f} s; null action id {bundle.null_action})",
    ]
    lines += [f"  {a.id:>3}  {a.name:<20} {a.description}" for a in bundle.actions]
    lines.append(f"instruments {', '.join(bundle.instruments) or '(none: edits cannot ask who plays)'}")
    if bundle.estimator is not None:
        lines.append(f"estimator  {bundle.estimator} (hears who plays: actions infer, eval edit)")
    lines.append(
        f"defaults   steps {d.steps} {d.sampler}, decoder steps {d.decoder_steps} {d.decoder_sampler} "
        f"(shift {d.decoder_shift:g}), "
        f"guidance {d.guidance:g}, context {d.context_seconds:g} s, crossfade {d.crossfade_ms:g} ms"
    )
    lines.append(f"graphs     (opset {bundle.opset})")
    parity = bundle.parity
    for name, g in bundle.graphs.items():
        size = bundle.files.get(g.file, {}).get("bytes", 0)
        lines.append(f"  {name:<18} {g.file}  {size / 1e6:.2f} MB")
        lines += [f"      in   {k:<12} {_dims(v)}" for k, v in g.inputs.items()]
        lines += [f"      out  {k:<12} {_dims(v)}" for k, v in g.outputs.items()]
        if name in parity:
            p = parity[name]
            lines.append(f"      parity max abs {p['max_abs']:.2e}, max rel {p['max_rel']:.2e}")
    export = bundle.manifest.get("export")
    if export:
        lines.append(
            f"exporter   {export.get('exporter')}, torch {export.get('torch')}, onnx {export.get('onnx')}"
            f"{', fp16' if export.get('fp16') else ''}; parity tolerance {export.get('parity_tolerance')}"
        )
    build = bundle.cache_dir / TENSORRT_DIR / TENSORRT_BUILD
    if build.is_file():
        info = json.loads(build.read_text())
        lines.append(
            f"tensorrt   engines cached ({'fp16' if info.get('fp16') else 'fp32'}, built {info.get('built')})"
        )
    lines.append(f"files      {len(bundle.files)} listed")
    lines.append(f"command    {bundle.command}")
    card = card_summary(bundle.path)
    lines.append(
        f"card       {bundle.path / CARD_NAME}" if card else "card       (none: musegenie bundle card)"
    )
    lines += [f"  {line}" for line in card]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    try:
        manifest = read_manifest(args.bundle)
        bundle = open_bundle(args.bundle if args.bundle.is_dir() else args.bundle.parent, manifest)
    except BundleError as err:
        raise CommandError(str(err)) from err
    problems = verify_files(bundle.path, bundle.files)
    if args.json:
        print(json.dumps({"manifest": manifest, "verified": not problems, "problems": problems}, indent=2))
    else:
        print(summary(bundle))
        if problems:
            print(f"checksums  FAILED ({len(problems)} of {len(bundle.files)} files):")
            print("\n".join(f"  {p}" for p in problems))
        else:
            print(f"checksums  OK ({len(bundle.files)} files)")
    return 1 if problems else 0
