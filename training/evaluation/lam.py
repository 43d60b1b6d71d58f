"""Evaluation of a latent action model: controllability, codebook use, and what the actions mean.

- Controllability as in Genie (https://arxiv.org/abs/2402.15391, delta-PSNR): masked chunks are decoded once
  with the actions the encoder infers and once with uniformly random actions; the PSNR difference says how
  much the actions carry that the context does not. Measured in latent space (peak = the data range of the
  masked targets) and, given the tokenizer, on log-mel spectrograms of the decoded audio against the
  decoded original latents (same noise), so tokenizer error cancels.
- Codebook: per-action usage and perplexity (exp of the usage entropy; A means uniform use).
- On annotated latents: normalised mutual information of per-chunk actions with the chunk's ground-truth
  event type ("none" when no onset falls in it) and with its instrumentation, an actions x event-types
  contingency table, and per action a short name and description of what it co-occurs with.

Letters: B batch, T frames, D latent channels, K chunks, A actions, E event types, I instruments.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.metrics import normalized_mutual_info_score

from training.data.annotations import EVENT_TYPES, INSTRUMENTS
from training.metrics import log_mel
from training.models.lam import LatentActionModel, MaskConfig, sample_chunk_mask

log = logging.getLogger(__name__)

NONE = "none"
MEL_HOP = 256  # samples between log-mel frames


def psnr(squared_error: float, count: int, peak: float) -> float:
    """10 log10(peak^2 / MSE) from a sum of squared errors over `count` values."""
    mse = max(squared_error / max(count, 1), 1e-12)
    return float(10.0 * np.log10(peak**2 / mse))


@torch.no_grad()
def controllability(
    model: LatentActionModel,
    batches: Iterable[dict[str, torch.Tensor]],
    mask_config: MaskConfig,
    seed: int = 0,
) -> dict[str, Any]:
    """Latent-space PSNR of masked chunks with inferred vs random actions over `batches` of windows.

    Returns psnr_inferred, psnr_random, delta_psnr (dB), perplexity, usage (per action), and the arrays
    codes (N,), masks (N,) of every chunk seen, for the caller's statistics.
    """
    was_training = model.training
    model.eval()
    generator = torch.Generator().manual_seed(seed)
    k, a = model.config.chunk_frames, model.config.num_actions
    sq_inf = sq_rand = 0.0
    count = 0
    lo, hi = np.inf, -np.inf
    codes, masks = [], []
    for batch in batches:
        latents = batch["latents"]  # (B, T, D)
        instruments = batch.get("instruments") if model.config.num_instruments > 0 else None
        b, t, d = latents.shape
        mask = sample_chunk_mask(b, t // k, mask_config, generator).to(latents.device)  # (B, K)
        _, ids = model.infer_actions(latents, instruments)  # (B, K)
        random_ids = torch.randint(0, a, ids.shape, generator=generator).to(latents.device)  # (B, K)
        frame_mask = mask.repeat_interleave(k, dim=1)  # (B, T)
        target = latents[frame_mask]  # (M, D)
        for chosen, acc in ((ids, "inf"), (random_ids, "rand")):
            recon = model.reconstruct(latents, mask, model.action_vectors(chosen), instruments)  # (B, T, D)
            err = float(((recon[frame_mask] - target) ** 2).sum())
            if acc == "inf":
                sq_inf += err
            else:
                sq_rand += err
        count += target.numel()
        lo, hi = min(lo, float(target.min())), max(hi, float(target.max()))
        codes.append(ids.reshape(-1).cpu().numpy())
        masks.append(mask.reshape(-1).cpu().numpy())
    model.train(was_training)
    codes_all = np.concatenate(codes) if codes else np.zeros(0, np.int64)
    peak = hi - lo if count else 1.0
    usage = np.bincount(codes_all, minlength=a) / max(len(codes_all), 1)
    p_inf, p_rand = psnr(sq_inf, count, peak), psnr(sq_rand, count, peak)
    return {
        "psnr_inferred": p_inf,
        "psnr_random": p_rand,
        "delta_psnr": p_inf - p_rand,
        "perplexity": perplexity(usage),
        "usage": usage.tolist(),
        "codes": codes_all,
        "masks": np.concatenate(masks) if masks else np.zeros(0, bool),
        "peak": peak,
    }


def perplexity(usage: np.ndarray) -> float:
    """exp(entropy) of a usage distribution: 1 = one action, A = uniform."""
    p = usage[usage > 0]
    return float(np.exp(-(p * np.log(p)).sum())) if p.size else 0.0


@dataclass
class ChunkLabels:
    """Ground truth per chunk, aligned with the action ids of the same chunks."""

    actions: np.ndarray  # (N,) int action ids
    event: list[str]  # (N,) the chunk's first event type, or "none"
    events: np.ndarray  # (N, E) bool: event types with an onset in the chunk
    instruments: np.ndarray  # (N, I) bool: instruments playing in the chunk
    entered: np.ndarray  # (N, I) bool: playing here but not in the previous chunk of the window
    exited: np.ndarray  # (N, I) bool: playing in the previous chunk but not here
    change: (
        np.ndarray
    )  # (N,) distance of the chunk's mean latent from the previous chunk's (nan at a window start)


def chunk_labels(
    actions: np.ndarray, latents: np.ndarray, instruments: np.ndarray, events: np.ndarray, k: int
) -> ChunkLabels:
    """Per-chunk labels from windows: actions (W, K), latents (W, T, D), instruments (W, T, I), events (W, T, E)."""
    w, t, _ = latents.shape
    kk = t // k
    ev = events.reshape(w, kk, k, -1)  # (W, K, k, E)
    inst = instruments.reshape(w, kk, k, -1).max(axis=2) > 0  # (W, K, I)
    prev = np.concatenate([inst[:, :1], inst[:, :-1]], axis=1)  # (W, K, I); the first chunk has no change
    means = latents.reshape(w, kk, k, -1).mean(axis=2)  # (W, K, D)
    change = np.full((w, kk), np.nan)
    change[:, 1:] = np.linalg.norm(means[:, 1:] - means[:, :-1], axis=-1)
    first = []
    for onsets in ev.reshape(w * kk, k, -1):  # (k, E) per chunk
        frames, types = np.nonzero(onsets)
        first.append(EVENT_TYPES[types[np.argmin(frames * len(EVENT_TYPES) + types)]] if types.size else NONE)
    return ChunkLabels(
        actions=actions.reshape(-1),
        event=first,
        events=ev.max(axis=2).reshape(w * kk, -1) > 0,
        instruments=inst.reshape(w * kk, -1),
        entered=(inst & ~prev).reshape(w * kk, -1),
        exited=(prev & ~inst).reshape(w * kk, -1),
        change=change.reshape(-1),
    )


def alignment(labels: ChunkLabels, num_actions: int) -> dict[str, Any]:
    """NMI of actions with events and instrumentation, and the actions x (event types + none) contingency."""
    columns = [*EVENT_TYPES, NONE]
    table = np.zeros((num_actions, len(columns)), np.int64)
    for action, event in zip(labels.actions, labels.event, strict=True):
        table[action, columns.index(event)] += 1
    with_event = np.array([e != NONE for e in labels.event])
    instr_sets = [
        "+".join(n for n, on in zip(INSTRUMENTS, row, strict=True) if on) for row in labels.instruments
    ]
    result = {
        "nmi_event": float(normalized_mutual_info_score(labels.event, labels.actions)),
        "nmi_event_vs_none": float(normalized_mutual_info_score(with_event, labels.actions)),
        "nmi_instrumentation": float(normalized_mutual_info_score(instr_sets, labels.actions)),
        "event_chunk_share": float(with_event.mean()) if len(with_event) else 0.0,
        "contingency": {"rows": list(range(num_actions)), "columns": columns, "counts": table.tolist()},
    }
    if with_event.sum() > 1:
        events_only = [e for e in labels.event if e != NONE]
        result["nmi_event_given_event"] = float(
            normalized_mutual_info_score(events_only, labels.actions[with_event])
        )
    return result


def _lifts(flags: np.ndarray, chosen: np.ndarray) -> np.ndarray:
    """P(flag | action) / P(flag) per column of flags (N, F); 0 where the flag never occurs."""
    base = flags.mean(axis=0)  # (F,)
    within = flags[chosen].mean(axis=0) if chosen.any() else np.zeros_like(base)  # (F,)
    return np.where(base > 0, within / np.maximum(base, 1e-12), 0.0)


def describe_actions(
    labels: ChunkLabels,
    num_actions: int,
    annotated: bool,
    min_lift: float = 1.5,
    min_rate: float = 0.1,
    min_shift: float = 0.2,
) -> list[dict[str, Any]]:
    """Per action `{"id", "name", "description"}` from what it co-occurs with in the data (unique names).

    The name is the action's most telling trait: an event or instrument entry/exit seen at least `min_lift`
    times as often as overall (in at least `min_rate` of its chunks); else the instruments playing at least
    `min_shift` more (or less) often than overall; else how much the music moves from the previous chunk.
    """
    out = []
    total = max(len(labels.actions), 1)
    finite = np.isfinite(labels.change)
    mean_change = float(labels.change[finite].mean()) if finite.any() else float("nan")
    features = (
        [e for e in EVENT_TYPES] + [f"{n} enters" for n in INSTRUMENTS] + [f"{n} exits" for n in INSTRUMENTS]
    )
    flags = np.concatenate([labels.events, labels.entered, labels.exited], axis=1)  # (N, F)
    for action in range(num_actions):
        chosen = labels.actions == action
        if not chosen.any():
            out.append(
                {
                    "id": action,
                    "name": f"unused {action}",
                    "description": "never inferred on the evaluation data",
                }
            )
            continue
        moved = labels.change[chosen & finite]
        ratio = float(moved.mean()) / mean_change if moved.size and mean_change > 0 else 1.0
        motion = "steady" if ratio < 0.85 else "big change" if ratio > 1.15 else "moderate change"
        parts = [
            f"{100 * chosen.sum() / total:.0f}% of chunks",
            f"{motion} from the previous chunk ({ratio:.2f}x the mean)",
        ]
        name = motion
        if annotated:
            rate = flags[chosen].mean(axis=0)  # (F,)
            lift = _lifts(flags, chosen)  # (F,)
            salient = [
                j
                for j in np.argsort(-rate * np.log(np.maximum(lift, 1e-9)))
                if lift[j] >= min_lift and rate[j] >= min_rate
            ]
            shift = labels.instruments[chosen].mean(axis=0) - labels.instruments.mean(axis=0)  # (I,)
            more = [INSTRUMENTS[j] for j in np.argsort(-shift) if shift[j] >= min_shift][:2]
            less = [INSTRUMENTS[j] for j in np.argsort(shift) if shift[j] <= -min_shift][:2]
            no_event = float((~labels.events[chosen].any(axis=1)).mean())
            if salient:
                parts.insert(
                    0,
                    "onsets: "
                    + ", ".join(f"{features[j]} {lift[j]:.1f}x ({100 * rate[j]:.0f}%)" for j in salient[:3]),
                )
            if more or less:
                parts.insert(
                    1 if salient else 0,
                    ", ".join(
                        [f"{n} plays more ({100 * shift[INSTRUMENTS.index(n)]:+.0f}%)" for n in more]
                        + [f"{n} plays less ({100 * shift[INSTRUMENTS.index(n)]:+.0f}%)" for n in less]
                    ),
                )
            parts.append(f"{100 * no_event:.0f}% without an event")
            if salient:
                name = features[salient[0]]
            elif more or less:
                name = ", ".join(["+".join(more)] * bool(more) + ["no " + "+".join(less)] * bool(less))
        out.append({"id": action, "name": name, "description": "; ".join(parts)})
    counts = Counter(a["name"] for a in out)
    seen: Counter[str] = Counter()
    for a in out:
        if counts[a["name"]] > 1:
            seen[a["name"]] += 1
            a["name"] = f"{a['name']} {seen[a['name']]}"
    return out


def plot_contingency(contingency: dict[str, Any], path: Path) -> None:
    """Save the actions x event types table as a heat map: counts printed, colour = log2 lift over chance.

    Lift = observed count / the count expected if actions and events were independent, so a red cell is
    an event the action co-occurs with more often than chance and a blue one less often; rare and common
    event types read on the same scale.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    counts = np.asarray(contingency["counts"], dtype=float)  # (A, E + 1)
    expected = counts.sum(axis=1, keepdims=True) * counts.sum(axis=0, keepdims=True) / max(counts.sum(), 1)
    lift = np.log2((counts + 0.5) / (expected + 0.5))  # smoothed so empty cells stay finite
    fig, ax = plt.subplots(figsize=(1.5 + 0.8 * counts.shape[1], 1.2 + 0.5 * counts.shape[0]))
    image = ax.imshow(lift, cmap="RdBu_r", aspect="auto", vmin=-1.5, vmax=1.5)
    fig.colorbar(image, ax=ax, label="log2 lift over chance")
    ax.set_xticks(range(counts.shape[1]), contingency["columns"], rotation=45, ha="right")
    ax.set_yticks(range(counts.shape[0]), [f"action {r}" for r in contingency["rows"]])
    for (i, j), value in np.ndenumerate(counts):
        ax.text(j, i, f"{int(value)}", ha="center", va="center", fontsize=7)
    ax.set_title("chunks per action and event type")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


@torch.no_grad()
def mel_controllability(
    model: LatentActionModel,
    tokenizer: torch.nn.Module,
    latents: torch.Tensor,
    instruments: torch.Tensor | None,
    mask_config: MaskConfig,
    steps: int = 8,
    seed: int = 0,
) -> dict[str, float]:
    """Log-mel PSNR of masked chunks decoded through the tokenizer: inferred vs random actions.

    Visible frames keep their original latents; the reference is the tokenizer's decode of the original
    latents with the same noise, so the difference isolates what the actions change.
    """
    generator = torch.Generator().manual_seed(seed)
    k, a = model.config.chunk_frames, model.config.num_actions
    b, t, _ = latents.shape
    mask = sample_chunk_mask(b, t // k, mask_config, generator)  # (B, K)
    _, ids = model.infer_actions(latents, instruments)
    random_ids = torch.randint(0, a, ids.shape, generator=generator)
    frame_mask = mask.repeat_interleave(k, dim=1)[..., None]  # (B, T, 1)
    noise = torch.randn(b, 1, t * tokenizer.hop, generator=generator)  # (B, 1, N)
    mels = {}
    for name, chosen in (("reference", None), ("inferred", ids), ("random", random_ids)):
        lat = latents
        if chosen is not None:
            recon = model.reconstruct(latents, mask, model.action_vectors(chosen), instruments)  # (B, T, D)
            lat = torch.where(frame_mask, recon, latents)
        audio = tokenizer.decode(lat, steps=steps, noise=noise.clone())[:, 0].numpy()  # (B, N)
        mels[name] = np.stack(
            [log_mel(clip, tokenizer.config.sample_rate, hop=MEL_HOP) for clip in audio]
        )  # (B, M, F)
    f = mels["reference"].shape[-1]
    latent_frame = np.minimum(
        np.arange(f) * MEL_HOP // tokenizer.hop, t - 1
    )  # (F,) mel frame -> latent frame
    selected = frame_mask[:, :, 0].numpy()[:, latent_frame]  # (B, F)
    ref = np.transpose(mels["reference"], (0, 2, 1))[selected]  # (S, M)
    peak = float(ref.max() - ref.min())
    out = {}
    for name in ("inferred", "random"):
        err = np.transpose(mels[name], (0, 2, 1))[selected] - ref
        out[f"mel_psnr_{name}"] = psnr(float((err**2).sum()), err.size, peak)
    out["mel_delta_psnr"] = out["mel_psnr_inferred"] - out["mel_psnr_random"]
    return out
