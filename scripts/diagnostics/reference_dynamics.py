"""Issue 41's reference-conditioned dynamics, measured before any engine work: does a dynamics model that
also sees the song's best-matching passage inpaint a region nearer the original than the passage itself?

1. Every song of --train and --held-out is encoded as the engine's song index does it (the bundle's
   encoder over the whole song, the LAM's reading of each frame, who plays as the estimator hears it).
2. A dynamics model of the shipped size (`small`) with two more input channels per frame (the reference's
   latent and a flag) learns on 8 s windows of the training songs to inpaint a region of 2-5 s. The
   reference over the region is the passage of the same song whose surroundings match the region's
   (2 s of latents each side, pooled in 0.5 s blocks; the region and anything overlapping it left out),
   as kNN-VC trains on "prematched" features: what it will be given at run time. Dropped in 15% of the
   windows (the flag says so), actions in 10% (for guidance).
3. On held-out clips (eval edit's clips, the region snapped to latent frames and its context to 4.096 s,
   so the window's frames are the song's): the region inpainted with that reference and without it (same
   weights, reference dropped), sampled and decoded as the engine's generated edit is (16 Euler steps,
   guidance 2 against null actions and unknown players, the bundle's decoder), against the reference's own
   audio pasted, eval edit's copy baseline and the tokenizer's round trip; log-mel L1 to the original
   region (eval edit's definition), per clip and median ratios.

    .venv/bin/python scripts/diagnostics/reference_dynamics.py --train data/real_music/real_music.jsonl \\
        --held-out data/real_music/real_music_heldout.jsonl --held-out /usr/share/planetblupi/music \\
        --minutes 12 --out work/exp/refdyn
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from engine import audio as audio_io  # noqa: E402
from engine.bundle import load_bundle  # noqa: E402
from engine.pipeline import Pipeline  # noqa: E402
from engine.runtime import Runtime, RuntimeConfig  # noqa: E402
from training.data.manifest import read_entries  # noqa: E402
from training.evaluation import edit_scores as scores  # noqa: E402
from training.evaluation.edit import EditEvalConfig, load_clips  # noqa: E402
from training.evaluation.edit_baselines import copy_baseline  # noqa: E402
from training.models.dynamics import DynamicsModel, preset, rotary  # noqa: E402

WINDOW = 64  # training window, latent frames (8.2 s)
SIDE = 16  # frames of surroundings each side the retrieval compares (2 s)
POOL = 4  # frames per pooled block of the retrieval's descriptors
REGION = (16, 40)  # training region lengths, frames
REF_DROP, ACTION_DROP = 0.15, 0.1


@dataclass
class Song:
    name: str
    audio: np.ndarray  # (N,) mono at the bundle's rate
    latents: np.ndarray  # (T, D)
    actions: np.ndarray  # (T,) the LAM's reading per frame (the index's first)
    players: np.ndarray  # (T, I) who plays as heard (the dynamics' conditioning)
    left: np.ndarray  # (T, F) pooled descriptor of the SIDE frames before each frame
    right: np.ndarray  # (T, F) pooled descriptor of the SIDE frames from each frame on


def encode_song(pipeline: Pipeline, name: str, audio: np.ndarray) -> Song:
    songs, b = pipeline.songs, pipeline.bundle
    padded = np.zeros(songs.padded_length(audio.shape[0]), np.float32)
    padded[: audio.shape[0]] = audio
    latents = songs._encode(padded)[0]  # (T, D)
    heard = pipeline.hear(padded, latents.shape[0])  # (T, I) | None
    readings = songs._readings(latents, heard)  # (T, R)
    players = pipeline.context_instruments(heard, latents.shape[0])[0]  # (T, I)
    frames = min(latents.shape[0], int(math.ceil(audio.shape[0] / b.hop)))  # drop the padding's frames
    latents, readings, players = latents[:frames], readings[:frames], players[:frames]
    left, right = descriptors(latents)
    return Song(name, audio, latents, readings[:, 0].astype(np.int64), players, left, right)


def descriptors(latents: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(left, right) (T, F): the SIDE frames before / from each frame, pooled in blocks of POOL (zeros where
    they would leave the song; retrieval never uses those)."""
    T, D = latents.shape
    blocks = SIDE // POOL
    padded = np.zeros((T + 2 * SIDE, D), np.float32)
    padded[SIDE : SIDE + T] = latents
    csum = np.concatenate([np.zeros((1, D), np.float32), np.cumsum(padded, axis=0)])  # (T + 2S + 1, D)

    def pooled(first: np.ndarray) -> np.ndarray:  # first: (T,) padded index of each window's first frame
        parts = [(csum[first + (k + 1) * POOL] - csum[first + k * POOL]) / POOL for k in range(blocks)]
        return np.concatenate(parts, axis=1)  # (T, blocks * D)

    t = np.arange(T)
    return pooled(t + SIDE - SIDE), pooled(t + SIDE)


def retrieve(song: Song, a: int, b: int, top: int = 1) -> np.ndarray:
    """Starts of the `top` passages of length b - a whose surroundings match the region [a, b)'s best,
    clear of the region (an edit never gets the original back by lookup)."""
    length, T = b - a, song.latents.shape[0]
    o = np.arange(SIDE, T - length - SIDE + 1)  # (O,)
    o = o[(o + length <= a) | (o >= b)]
    if len(o) == 0:
        return o
    cost = ((song.left[o] - song.left[a]) ** 2).mean(1) + (
        (song.right[o + length] - song.right[b]) ** 2
    ).mean(1)
    return o[np.argsort(cost, kind="stable")[:top]]


class ReferenceDynamics(DynamicsModel):
    """The shipped dynamics model with a reference latent and its flag as two more inputs per frame."""

    def __init__(self, config) -> None:
        super().__init__(config)
        self.ref_embedder = nn.Linear(config.latent_dim + 1, config.width)
        nn.init.xavier_uniform_(self.ref_embedder.weight)
        nn.init.zeros_(self.ref_embedder.bias)

    def forward(self, noisy, t, context, mask, actions, instruments, reference, has_ref):  # type: ignore[override]
        m = mask.to(noisy.dtype).unsqueeze(-1)  # (B, T, 1)
        x = torch.cat([torch.where(m > 0, noisy, context), m], dim=-1)  # (B, T, D + 1)
        r = torch.cat([reference * has_ref.unsqueeze(-1), has_ref.unsqueeze(-1)], dim=-1)  # (B, T, D + 1)
        c = self.t_embedder(t).unsqueeze(1) + self.action_embedder(actions)  # (B, T, W)
        c = c + self.instrument_embedder(instruments.to(x.dtype))
        h = self.x_embedder(x) + self.ref_embedder(r)  # (B, T, W)
        cos, sin = rotary(h.shape[1], self.config.width // self.config.heads, h.device, self.config.rope_base)
        for block in self.blocks:
            h = block(h, c, cos, sin)
        return self.final_layer(h, c)  # (B, T, D)


def training_batch(songs: list[Song], rng: np.random.Generator, batch: int, null_action: int) -> dict:
    out = {k: [] for k in ("latents", "mask", "actions", "players", "reference", "has_ref")}
    while len(out["latents"]) < batch:
        song = songs[rng.integers(len(songs))]
        T = song.latents.shape[0]
        if WINDOW + 2 * SIDE + REGION[1] > T:
            continue
        w0 = int(rng.integers(0, T - WINDOW + 1))
        length = int(rng.integers(REGION[0], REGION[1] + 1))
        lo = 2 if rng.random() < 0.2 else 8  # a share of regions near the window's edge
        r0 = int(rng.integers(lo, WINDOW - length - lo + 1))
        a, b = w0 + r0, w0 + r0 + length
        if a < SIDE or b + SIDE > T:
            continue
        found = retrieve(song, a, b, top=5)
        if len(found) == 0:
            continue
        o = int(found[0] if rng.random() < 0.7 else found[rng.integers(len(found))])
        mask = np.zeros(WINDOW, np.float32)
        mask[r0 : r0 + length] = 1
        reference = np.zeros((WINDOW, song.latents.shape[1]), np.float32)
        reference[r0 : r0 + length] = song.latents[o : o + length]
        has_ref = mask * float(rng.random() >= REF_DROP)
        actions, players = song.actions[w0 : w0 + WINDOW].copy(), song.players[w0 : w0 + WINDOW].copy()
        if rng.random() < ACTION_DROP:
            actions[:], players[:] = null_action, 0.0
        for key, value in (
            ("latents", song.latents[w0 : w0 + WINDOW]),
            ("mask", mask),
            ("actions", actions),
            ("players", players),
            ("reference", reference),
            ("has_ref", has_ref),
        ):
            out[key].append(value)
    return {k: torch.from_numpy(np.stack(v)) for k, v in out.items()}


def train(
    songs: list[Song], pipeline: Pipeline, minutes: float, max_steps: int, out: Path, seed: int
) -> nn.Module:
    b = pipeline.bundle
    config = preset(
        "small", latent_dim=b.latent_dim, num_actions=b.num_actions, num_instruments=b.num_instruments
    )
    model = ReferenceDynamics(config)
    ema = ReferenceDynamics(config)
    ema.load_state_dict(model.state_dict())
    ema.requires_grad_(False)
    checkpoint = out / "reference_dynamics.pt"
    if checkpoint.exists():
        ema.load_state_dict(torch.load(checkpoint)["ema"])
        print(f"loaded {checkpoint}", flush=True)
        return ema.eval()
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=5e-4, weight_decay=0.0)
    began, step, losses = time.monotonic(), 0, []
    while step < max_steps and time.monotonic() - began < minutes * 60:
        batch = training_batch(songs, rng, 32, model.null_action)
        for g in opt.param_groups:
            g["lr"] = 5e-4 * min(1.0, (step + 1) / 200)
        x0 = batch["latents"]
        t = torch.sigmoid(torch.randn(x0.shape[0]))
        noise = torch.randn_like(x0)
        noisy = (1 - t[:, None, None]) * x0 + t[:, None, None] * noise
        v = model(
            noisy,
            t,
            x0,
            batch["mask"],
            batch["actions"],
            batch["players"],
            batch["reference"],
            batch["has_ref"],
        )
        err = (v - (noise - x0)).pow(2).mean(-1)
        loss = (err * batch["mask"]).sum() / batch["mask"].sum()
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        with torch.no_grad():
            for pe, pm in zip(ema.parameters(), model.parameters(), strict=True):
                pe.mul_(0.999).add_(pm, alpha=0.001)
        losses.append(loss.item())
        step += 1
        if step % 250 == 0:
            print(
                f"step {step} loss {np.mean(losses[-250:]):.4f} ({time.monotonic() - began:.0f} s)",
                flush=True,
            )
    torch.save({"ema": ema.state_dict(), "steps": step}, checkpoint)
    print(f"trained {step} steps in {time.monotonic() - began:.0f} s", flush=True)
    return ema.eval()


@torch.no_grad()
def mean_guess(model: nn.Module, p, reference: np.ndarray | None, players: np.ndarray) -> np.ndarray:
    """The model's estimate of the region's mean (1, T, D): its x0 prediction from pure noise (t = 1), the
    conditional model alone (no guidance), averaged over 4 noise draws."""
    w = p.window
    ctx = torch.from_numpy(p.latents)
    T = ctx.shape[1]
    mask = torch.zeros(4, T)
    mask[:, w.frame_start : w.frame_end] = 1
    ref, has = torch.zeros_like(ctx), torch.zeros(1, T)
    if reference is not None:
        ref[:, w.frame_start : w.frame_end] = torch.from_numpy(reference)
        has[:, w.frame_start : w.frame_end] = 1
    noise = torch.randn((4,) + tuple(ctx.shape[1:]), generator=torch.Generator().manual_seed(0))
    v = model(
        noise,
        torch.ones(4),
        ctx.repeat(4, 1, 1),
        mask,
        torch.from_numpy(p.context_actions.astype(np.int64)).repeat(4, 1),
        torch.from_numpy(players[None].astype(np.float32)).repeat(4, 1, 1),
        ref.repeat(4, 1, 1),
        has.repeat(4, 1),
    )
    return (noise - v).mean(0, keepdim=True).numpy()


@torch.no_grad()
def inpaint(
    model: nn.Module,
    p,
    reference: np.ndarray | None,
    players: np.ndarray,
    steps: int,
    guidance: float,
    seed: int,
) -> np.ndarray:
    """The window's latents (1, T, D) with the region sampled (Euler, guidance against null actions and
    unknown players), the engine's generated edit with this model."""
    w = p.window
    ctx = torch.from_numpy(p.latents)  # (1, T, D)
    T = ctx.shape[1]
    mask = torch.zeros(1, T)
    mask[:, w.frame_start : w.frame_end] = 1
    actions = torch.from_numpy(
        p.context_actions.astype(np.int64)
    )  # (1, T) the LAM's reading, the region's own
    ref = torch.zeros_like(ctx)
    has = torch.zeros(1, T)
    if reference is not None:
        ref[:, w.frame_start : w.frame_end] = torch.from_numpy(reference)
        has[:, w.frame_start : w.frame_end] = 1
    pl = torch.from_numpy(players[None].astype(np.float32))
    rows = dict(
        context=ctx.repeat(2, 1, 1),
        mask=mask.repeat(2, 1),
        actions=torch.cat([actions, torch.full_like(actions, model.null_action)]),
        instruments=torch.cat([pl, torch.zeros_like(pl)]),
        reference=ref.repeat(2, 1, 1),
        has_ref=has.repeat(2, 1),
    )
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(ctx.shape, generator=g)
    levels = torch.linspace(1.0, 0.0, steps + 1)
    for i in range(steps):
        t = levels[i].repeat(2)
        v = model(
            x.repeat(2, 1, 1),
            t,
            rows["context"],
            rows["mask"],
            rows["actions"],
            rows["instruments"],
            rows["reference"],
            rows["has_ref"],
        )
        v = v[1:] + guidance * (v[:1] - v[1:])
        x = x + (levels[i + 1] - levels[i]) * v
    return torch.where(mask[..., None] > 0, x, ctx).numpy().astype(np.float32)


def evaluate(
    model: nn.Module, pipeline: Pipeline, data: str, clips_n: int, seed: int, top: int
) -> list[dict]:
    b = pipeline.bundle
    sr, hop = b.sample_rate, b.hop
    clips, skipped = load_clips(read_entries(Path(data)), EditEvalConfig(clips=clips_n), sr, 4.0)
    for line in skipped:
        print("  skipped", line)
    rows = []
    context_s = 32 * hop / sr  # 4.096 s: the window starts on a frame of the song
    fade = int(round(b.defaults.crossfade_ms * sr / 1000))
    for clip in clips:
        song = encode_song(pipeline, clip.name, clip.audio)
        a = int(round(clip.start / hop))
        n = int(round((clip.end - clip.start) / hop))
        start, end = a * hop, (a + n) * hop
        p = pipeline.prepare(clip.audio[None], sr, (start / sr, end / sr), context_s)
        w = p.window
        first = w.window_start // hop  # the window's frame 0 in the song
        fa, fb = first + w.frame_start, first + w.frame_end  # the region's frames in the song
        o = int(retrieve(song, fa, fb)[0])
        reference = song.latents[o : o + (fb - fa)]
        players = song.players[first : first + p.latents.shape[1]]
        if players.shape[0] < p.latents.shape[1]:
            players = np.pad(players, ((0, p.latents.shape[1] - players.shape[0]), (0, 0)))
        original = clip.audio[start:end]
        row = {"clip": clip.name, "region_s": [start / sr, end / sr], "reference_s": o * hop / sr}

        def l1(signal: np.ndarray, original=original, start=start, end=end) -> float:
            return scores.logmel_l1(original, signal[start:end], sr)

        guesses = {}
        for name, ref in (("mean_with_reference", reference), ("mean_without", None)):
            guesses[name] = mean_guess(model, p, ref, players)[0, w.frame_start : w.frame_end]
            row[f"{name}_latent_mse"] = float(
                ((guesses[name] - p.latents[0, w.frame_start : w.frame_end]) ** 2).mean()
            )
        for name, ref in (("with_reference", reference), ("without", None)):
            latents = inpaint(model, p, ref, players, b.defaults.steps, b.defaults.guidance, seed)
            guesses[name] = latents[0, w.frame_start : w.frame_end]
            rng = np.random.default_rng(seed)
            out = pipeline.generator._place(
                p, *pipeline.generator._decode(p, latents, b.defaults.decoder_steps, rng, lambda: None)
            )
            row[name] = l1(out[0])
            row[f"{name}_latent_mse"] = float(
                (
                    (latents[0, w.frame_start : w.frame_end] - p.latents[0, w.frame_start : w.frame_end]) ** 2
                ).mean()
            )
        row["reference_latent_mse"] = float(
            ((reference - p.latents[0, w.frame_start : w.frame_end]) ** 2).mean()
        )
        pasted = clip.audio.copy()
        src = o * hop
        pasted[start:end] = clip.audio[src : src + (end - start)]
        row["reference_pasted"] = l1(pasted)
        # the model's guess as a guide: of the `top` passages the surroundings rank first, the one nearest it
        candidates = retrieve(song, fa, fb, top=top)
        for name, guess in guesses.items():
            near = [((song.latents[c : c + (fb - fa)] - guess) ** 2).mean() for c in candidates]
            chosen = int(candidates[int(np.argmin(near))]) * hop
            guided = clip.audio.copy()
            guided[start:end] = clip.audio[chosen : chosen + (end - start)]
            row[f"guided_{name}"] = l1(guided)
        best = []
        for c in candidates:  # an oracle that hears the region, which no edit may: the room the guide has
            pasted_c = clip.audio.copy()
            pasted_c[start:end] = clip.audio[int(c) * hop : int(c) * hop + (end - start)]
            best.append(l1(pasted_c))
        row["best_of_top"] = float(min(best))
        row["copy"] = l1(copy_baseline(clip.audio, sr, start, end, int(4.0 * sr), fade)[0])
        row["roundtrip"] = l1(pipeline.roundtrip(p, b.defaults.decoder_steps, seed)[0])
        rows.append(row)
        print(
            "  " + json.dumps({k: (round(v, 3) if isinstance(v, float) else v) for k, v in row.items()}),
            flush=True,
        )
    return rows


def summary(rows: list[dict]) -> str:
    keys = (
        "roundtrip",
        "with_reference",
        "without",
        "reference_pasted",
        "guided_with_reference",
        "guided_without",
        "guided_mean_with_reference",
        "guided_mean_without",
        "best_of_top",
        "copy",
    )
    mean = {k: float(np.mean([r[k] for r in rows])) for k in keys}
    copy = np.array([r["copy"] for r in rows])
    pasted = np.array([r["reference_pasted"] for r in rows])
    parts = [f"{k} {mean[k]:.3f}" for k in keys]
    ref = np.array([r["with_reference"] for r in rows])
    parts.append(
        f"with_reference / copy median {np.median(ref / copy):.2f} (closer {np.mean(ref < copy):.0%})"
    )
    parts.append(
        f"with_reference / pasted median {np.median(ref / pasted):.2f} (closer {np.mean(ref < pasted):.0%})"
    )
    parts.append(
        "latent MSE: with "
        + f"{np.mean([r['with_reference_latent_mse'] for r in rows]):.3f}, without "
        + f"{np.mean([r['without_latent_mse'] for r in rows]):.3f}, the reference itself "
        + f"{np.mean([r['reference_latent_mse'] for r in rows]):.3f}, the mean guess with / without "
        + f"{np.mean([r['mean_with_reference_latent_mse'] for r in rows]):.3f} / "
        + f"{np.mean([r['mean_without_latent_mse'] for r in rows]):.3f}"
    )
    return "; ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--bundle", default="models/default")
    parser.add_argument("--train", required=True, help="manifest of the songs to learn from")
    parser.add_argument("--held-out", action="append", required=True, help="manifests or folders to score")
    parser.add_argument("--clips", type=int, default=12, help="clips per held-out set (eval edit's, centre)")
    parser.add_argument("--minutes", type=float, default=12.0, help="training time budget")
    parser.add_argument("--max-steps", type=int, default=20000)
    parser.add_argument("--out", type=Path, required=True, help="folder for the checkpoint and results")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--top", type=int, default=10, help="passages the model's guess chooses among (guided rows)"
    )
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(2)
    bundle = load_bundle(args.bundle)
    pipeline = Pipeline(Runtime(bundle, RuntimeConfig(providers="cpu")))
    songs = []
    began = time.monotonic()
    for entry in read_entries(Path(args.train)):
        audio, _ = audio_io.load(entry.path, sample_rate=bundle.sample_rate, mono=True)
        songs.append(encode_song(pipeline, entry.path.stem, audio[0]))
    frames = sum(s.latents.shape[0] for s in songs)
    print(
        f"{len(songs)} training songs, {frames} frames ({frames / bundle.frame_rate / 60:.0f} min), "
        f"encoded in {time.monotonic() - began:.0f} s; latent std {np.std(np.concatenate([s.latents for s in songs])):.3f}",
        flush=True,
    )
    model = train(songs, pipeline, args.minutes, args.max_steps, args.out, args.seed)
    results = {}
    for data in args.held_out:
        print(data, flush=True)
        rows = evaluate(model, pipeline, data, args.clips, args.seed, args.top)
        results[data] = rows
        print("  " + summary(rows), flush=True)
    (args.out / "results.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
