"""The model card: BUNDLE/MODEL_CARD.md, written from the bundle's manifest (its `training` record: data,
recipes, budgets, notes) and its evaluation JSONs (eval/*.json), so every figure on it has one home.

`musegenie export` writes it; `musegenie bundle card BUNDLE` rewrites it for an existing bundle (after a new
`eval/*.json`, or for a bundle exported before cards); `training/record.py` builds the training record. The
card is derived from checksummed files, so it is not checksummed itself. Its "Summary" section is what `musegenie bundle info` prints.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from engine.bundle import CARD_NAME, read_manifest
from export.card_actions import actions_section

KINDS = ("tokenizer", "lam", "dynamics")
# What every bundle is for and where it stops; the data-specific limits come from the training record's notes.
INTENDED_USE = (
    "Re-imagining a selected region (a few seconds) of a music recording with one of the learnt actions, "
    "from a DAW (Max/MSP, Ableton) or the command line; exploring what each action does. Research and "
    "demonstration of the pipeline, not production audio."
)
LIMITS = (
    "Audio is modelled at the bundle's sample rate in mono: an edited region comes back resampled to the "
    "input's rate and channels, with no content above half the model rate.",
    "The actions were learnt without labels from the training data; their names say what their edits "
    "measurably did on the clips they were named on (see Actions, with how often each name held), not "
    "promises about other music.",
    "The models know only the music they were trained on (see Training); other styles, instruments and "
    "recording conditions are out of distribution.",
)


def _num(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]


def load_evals(bundle_dir: Path) -> dict[str, Any]:
    """{stem: parsed JSON} of the bundle's eval/*.json."""
    return {p.stem: json.loads(p.read_text()) for p in sorted((bundle_dir / "eval").glob("*.json"))}


def _edit_section(edit: Mapping[str, Any] | None) -> tuple[list[str], str]:
    """The edit's table (or the sentence that it was not measured) and its summary line."""
    if edit is None:
        text = "The edit itself has not been measured for this bundle (no eval/edit.json)."
        return [text], text
    methods = edit["methods"]
    metrics = sorted({m for values in methods.values() for m in values})
    rows = [[name, *(_num(values.get(m)) for m in metrics)] for name, values in methods.items()]
    fidelity = edit.get("action_fidelity") or {}
    versus = edit.get("edit_vs_copy")  # absent in edit.json written before it existed
    against_copy = (
        [
            f"Clip by clip, the edit's log-mel L1 over the copy's has median {_num(versus.get('median_ratio'))}; "
            f"the edit is closer in {_num(100 * versus['closer'], 0)}% of clips.",
            "",
        ]
        if versus and versus.get("closer") is not None
        else []
    )
    lines = [
        f"{edit.get('clips', '?')} clips of `{edit.get('data', '?')}`, a {_num(edit.get('region_seconds'), 1)} s "
        f"region each (`{edit.get('command', '')}`):",
        "",
        *_table(["method", *metrics], rows),
        "",
        *against_copy,
        f"Action effect {_num(edit.get('action_effect'))}; the LAM recovers the requested action "
        f"{_num(fidelity.get('accuracy'))} of the time (chance {_num(fidelity.get('chance'))}); ViSQOL of the "
        f"tokenizer round trip {_num(edit.get('visqol_roundtrip'), 2)}.",
        *_instrument_fidelity_lines(edit.get("instrument_fidelity")),
    ]
    summary = f"Edit ({edit.get('clips', '?')} clips): "
    distance = {
        name: methods.get(name, {}).get("logmel_l1") for name in ("edit_inferred", "copy", "roundtrip")
    }
    if all(v is not None for v in distance.values()):
        summary += (
            f"log-mel L1 to the original {_num(distance['edit_inferred'])} with the region's own actions, against "
            f"{_num(distance['copy'])} for a copy of the best-matching segment and {_num(distance['roundtrip'])} "
            "for the tokenizer's round trip (the ceiling); "
        )
    summary += (
        f"action effect {_num(edit.get('action_effect'))}, "
        f"requested action recovered {_num(fidelity.get('accuracy'))} (chance {_num(fidelity.get('chance'))})."
    )
    return lines, summary


def _instrument_fidelity_lines(fidelity: Mapping[str, Any] | None) -> list[str]:
    """Who plays in edits that ask for it (eval edit's `instrument_fidelity`), per instrument."""
    if not fidelity or not fidelity.get("available"):
        return []
    add, remove = fidelity["add"], fidelity["remove"]
    rows = [
        [
            name,
            f"{_num(s.get('added'))} ({s.get('added_requests', 0)})",
            f"{_num(s.get('removed'))} ({s.get('removed_requests', 0)})",
            _num(s.get("precision")),
            _num(s.get("recall")),
        ]
        for name, s in fidelity["per_instrument"].items()
    ]
    return [
        "",
        f"Asking who plays (the estimator's reading of the edited region, {fidelity['clips']} clips): an instrument "
        f"asked for that the context lacks is heard in {_num(add['success'])} of {add['requests']} edits "
        f"({_num(add['success_unasked'])} without the request); one asked away is gone in {_num(remove['success'])} "
        f"of {remove['requests']} ({_num(remove['success_unasked'])} without); the whole set heard is the set asked "
        f"in {_num(fidelity['exact'])}.{_made_of(fidelity.get('from_song'))}{_asking_cost(fidelity.get('quality'))}",
        "",
        *_table(
            ["instrument", "heard when added (edits)", "gone when removed (edits)", "precision", "recall"],
            rows,
        ),
    ]


def _made_of(share: float | None) -> str:
    """A sentence on where the requests' material came from (absent from older edit.json files)."""
    return (
        ""
        if share is None
        else f" Made of the song's material: {_num(share)} of the requests (else generated)."
    )


def _asking_cost(quality: Mapping[str, Any] | None) -> str:
    """A sentence on what asking costs the sound (absent from edit.json files older than the scores)."""
    if not quality or quality.get("unasked", {}).get("logmel_l1") is None:
        return ""
    parts = [
        f"{kind} {_num(quality[kind]['logmel_l1'])} ({_num(quality[kind]['flatness_ratio'])}x as flat)"
        for kind in ("keep", "add", "remove")
        if quality.get(kind, {}).get("logmel_l1") is not None
    ]
    unasked = quality["unasked"]
    return (
        f" Log-mel L1 of the region to the original: {', '.join(parts)}; the same edits without a request "
        f"{_num(unasked['logmel_l1'])} ({_num(unasked['flatness_ratio'])}x)."
    )


def _instruments_section(
    metrics: Mapping[str, Any] | None, manifest: Mapping[str, Any]
) -> tuple[list[str], str]:
    """The instrument estimator's held-out scores (eval/instruments.json from `train instruments`)."""
    if not manifest.get("instrument_estimator"):
        return ["No instrument estimator: `actions infer` cannot say who plays."], ""
    if metrics is None:
        return [
            "The bundle has an instrument estimator; its scores are not recorded (no eval/instruments.json)."
        ], ""
    rows = [
        [
            name,
            _num(metrics["accuracy"][name]),
            _num(metrics["precision"][name]),
            _num(metrics["recall"][name]),
        ]
        for name in metrics["names"]
    ]
    vocabulary = manifest.get("instruments") or []
    conditioned = (
        f"The LAM and dynamics are conditioned on {', '.join(vocabulary)}: an edit can ask who plays."
        if vocabulary
        else "The LAM and dynamics are not instrument-conditioned: the estimator only reports who plays "
        "(`actions infer`, `eval edit`); an edit cannot ask for instruments."
    )
    lines = [
        f"Per second, on {metrics['test_seconds']} held-out seconds (`{metrics.get('command', '')}`):",
        "",
        *_table(["instrument", "accuracy", "precision", "recall"], rows),
        "",
        f"Mean per-second accuracy {_num(metrics['mean_accuracy'])}; the whole set of players exactly right in "
        f"{_num(metrics['exact_set'])} of the seconds. {conditioned}",
    ]
    summary = f"Who plays: the instrument estimator is right {_num(metrics['mean_accuracy'])} of the time per instrument and second."
    return lines, summary


def _tokenizer_section(metrics: Mapping[str, Any] | None) -> tuple[list[str], str]:
    if metrics is None:
        return ["Not measured (no eval/tokenizer_metrics.json)."], ""
    mean, config = metrics["mean"], metrics.get("config", {})
    names = {
        "log_mel_l1": "log-mel L1 (lower is better)",
        "mr_stft": "MR-STFT (lower)",
        "si_sdr": "SI-SDR dB (higher)",
    }
    rows = [
        [label, _num(mean["tokenizer"].get(k)), _num(mean["griffin_lim"].get(k))]
        for k, label in names.items()
    ]
    lines = [
        f"Reconstruction of {config.get('clips', '?')} {metrics.get('split', '')} clips of "
        f"{config.get('seconds', '?')} s at {_num(metrics.get('floats_per_second'), 0)} floats/s, against "
        f"Griffin-Lim from a log-mel of the same size; decoder {config.get('steps', '?')} "
        f"{config.get('method', '')} steps, time shift {config.get('shift', 1)} (checkpoint step "
        f"{metrics.get('step', '?')}).",
        "",
        *_table(["measure", "tokenizer", "Griffin-Lim"], rows),
    ]
    t, g = mean["tokenizer"]["log_mel_l1"], mean["griffin_lim"]["log_mel_l1"]
    return (
        lines,
        f"Tokenizer: held-out log-mel L1 {_num(t)} against Griffin-Lim's {_num(g)} at the same rate.",
    )


def _lam_section(metrics: Mapping[str, Any] | None) -> tuple[list[str], str]:
    if metrics is None:
        return ["Not measured (no eval/lam_metrics.json)."], ""
    rows = [
        [
            "perplexity (codes in use)",
            f"{_num(metrics.get('perplexity'), 2)} of {metrics.get('num_actions')}",
        ],
        ["delta-PSNR, latents (inferred - random actions)", f"{_num(metrics.get('delta_psnr'), 2)} dB"],
        ["delta-PSNR, log-mel", f"{_num(metrics.get('mel_delta_psnr'), 2)} dB"],
        ["NMI with instrumentation", _num(metrics.get("nmi_instrumentation"), 2)],
        ["NMI with annotated events", _num(metrics.get("nmi_event"), 3)],
    ]
    lines = [
        f"{metrics.get('held_out_windows', '?')} held-out windows, one action per "
        f"{_num(metrics.get('chunk_seconds'), 2)} s chunk:",
        "",
        *_table(["measure", "value"], rows),
    ]
    summary = (
        f"Actions: {metrics.get('num_actions')} (perplexity {_num(metrics.get('perplexity'), 2)}); reconstructing "
        f"masked chunks with the inferred actions beats random ones by {_num(metrics.get('delta_psnr'), 2)} dB."
    )
    return lines, summary


def _dynamics_section(metrics: Mapping[str, Any] | None) -> tuple[list[str], str]:
    if metrics is None:
        return ["Not measured (no eval/dynamics.json)."], ""
    rows = [
        [
            which,
            _num(metrics.get(f"log_mel_{which}")),
            _num(metrics.get(f"latent_mse_{which}")),
            _num(metrics.get(f"seam_ratio_{which}"), 2),
        ]
        for which in ("inferred", "null", "random")
    ]
    lines = [
        f"{metrics.get('regions', '?')} held-out regions of {_num(metrics.get('region_seconds'), 2)} s, "
        "inpainted with the actions the LAM infers from the truth, the null action and random actions; log-mel "
        "L1 between decoded generated and decoded true latents (lower is better), seam flux relative to natural:",
        "",
        *_table(["actions", "log-mel L1", "latent MSE", "seam ratio"], rows),
        "",
        f"Controllability (random minus inferred log-mel L1): {_num(metrics.get('controllability_log_mel'), 2)}.",
    ]
    summary = (
        f"Dynamics: the inferred actions bring a generated region {_num(metrics.get('controllability_log_mel'), 2)} "
        "log-mel L1 nearer the truth than random ones."
    )
    return lines, summary


def _training_section(manifest: Mapping[str, Any]) -> list[str]:
    record = manifest.get("training")
    configs = manifest.get("configs", {})
    if not record:
        return ["Not recorded (this bundle was exported without a training record)."]
    lines = [f"Data: {record.get('data') or 'not recorded'}.", ""]
    if record.get("data_note"):
        lines += [record["data_note"], ""]
    if record.get("sources"):
        lines += ["Every source of the training audio and its licence (from the data manifest):", ""]
        lines += _table(
            ["source", "licence", "files", "minutes"],
            [[s["source"], s["licence"], s["files"], s["minutes"]] for s in record["sources"]],
        )
        lines.append("")
    rows = []
    for kind in KINDS:
        for number, stage in enumerate(record.get("runs", {}).get(kind, []), start=1):
            train = stage.get("values", {}).get("train", {})
            task = stage.get("values", {}).get("task", {})
            steps = (
                stage["steps"]
                if stage.get("steps") is not None
                else f"{train.get('max_steps', '?')} (budget)"
            )
            rows.append(
                [
                    kind if number == 1 else "",
                    f"`{stage.get('recipe', '?')}`" + "".join(f" `{s}`" for s in stage.get("sets", [])),
                    task.get("preset", ""),
                    steps,
                    train.get("batch_size", ""),
                    train.get("lr", ""),
                ]
            )
    lines += _table(["model", "recipe (training/recipes/)", "preset", "steps", "batch", "peak lr"], rows)
    lines += ["", "Architectures (the manifest's `configs`):", ""]
    for kind in KINDS:
        config = configs.get(kind, {})
        lines.append(f"- {kind}: " + ", ".join(f"{k} {v}" for k, v in config.items()))
    return lines


def render_card(manifest: Mapping[str, Any], evals: Mapping[str, Any]) -> str:
    """MODEL_CARD.md's text for a bundle's manifest and its {stem: eval JSON}."""
    edit, edit_line = _edit_section(evals.get("edit"))
    # further held-out sets, recorded as eval/edit_NAME.json (e.g. real songs beside synthetic pieces)
    more = [
        (name[len("edit_") :], *_edit_section(evals[name]))
        for name in sorted(evals)
        if name.startswith("edit_")
    ]
    for _, lines, _ in more:
        edit += ["", *lines]
    more_lines = [line.replace("Edit (", f"Edit, {name} (", 1) for name, _, line in more]
    tokenizer, tokenizer_line = _tokenizer_section(evals.get("tokenizer_metrics"))
    lam, lam_line = _lam_section(evals.get("lam_metrics"))
    actions, actions_line = actions_section(manifest, evals)
    dynamics, dynamics_line = _dynamics_section(evals.get("dynamics"))
    players, players_line = _instruments_section(evals.get("instruments"), manifest)
    record = manifest.get("training") or {}
    notes = list(record.get("notes", []))
    rate, frames = manifest["sample_rate"], manifest["frame_rate"]
    summary = [
        f"Bundle `{manifest['name']}`: a diffusion tokenizer ({rate} Hz mono -> {frames:g} latent frames/s x "
        f"{manifest['latent_dim']}), a latent action model with {manifest['num_actions']} actions learnt "
        "without labels, and an action-conditioned dynamics model that re-imagines a region of latents.",
        *(
            line
            for line in (
                edit_line,
                *more_lines,
                actions_line,
                tokenizer_line,
                lam_line,
                dynamics_line,
                players_line,
            )
            if line
        ),
        *notes,
    ]
    lines = [
        f"# Model card: `{manifest['name']}`",
        "",
        "Written by `musegenie export` (or `musegenie bundle card BUNDLE`) from `manifest.json` and "
        "`eval/*.json`; every figure below is read from those files.",
        "",
        "## Summary",
        "",
        *(f"- {line}" for line in summary),
        "",
        "## The edit",
        "",
        *edit,
        "",
        "## Actions",
        "",
        *actions,
        "",
        "## Tokenizer",
        "",
        *tokenizer,
        "",
        "## Latent action model",
        "",
        *lam,
        "",
        "## Dynamics",
        "",
        *dynamics,
        "",
        "## Who plays (instrument estimator)",
        "",
        *players,
        "",
        "## Training",
        "",
        *_training_section(manifest),
        "",
        "## Intended use",
        "",
        INTENDED_USE,
        "",
        "## Limits",
        "",
        *(f"- {line}" for line in (*notes, *LIMITS)),
        "",
    ]
    return "\n".join(lines)


def write_card(bundle_dir: str | Path) -> Path:
    """(Re)write BUNDLE/MODEL_CARD.md from the bundle's manifest and eval JSONs; returns its path."""
    bundle_dir = Path(bundle_dir)
    path = bundle_dir / CARD_NAME
    path.write_text(render_card(read_manifest(bundle_dir), load_evals(bundle_dir)))
    return path
