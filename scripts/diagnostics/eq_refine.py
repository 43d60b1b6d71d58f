"""Would a per-band EQ of the song's material bring an edit nearer the original? (docs/experiments.md, round six)

For the clips `musegenie eval edit` takes from a manifest, renders the inferred-action edit from the song's
material (closeness 1) and the copy baseline, then gives each a smooth EQ (1, 4 or 16 mel bands, at most
+-6 dB, full or half strength) of the band-level difference between the region's surroundings (--ctx s each
side) and the material's own surroundings, and an oracle EQ from the region itself (which no edit may see).
Prints each clip's log-mel L1 per variant, their means, and each variant's median ratio to the plain copy.

    .venv/bin/python scripts/diagnostics/eq_refine.py --data data/real_music/real_music.jsonl --clips 31 \
        --position random --region-seed 3
"""

import argparse
import sys
from pathlib import Path

import librosa
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from engine.bundle import load_bundle
from engine.pipeline import Pipeline
from engine.request import EditRequest
from engine.runtime import Runtime, RuntimeConfig
from training.data.manifest import read_entries
from training.evaluation import edit_scores as scores
from training.evaluation.edit import EditEvalConfig, load_clips
from training.evaluation.edit_baselines import copy_baseline

p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
p.add_argument("--data", required=True)
p.add_argument("--clips", type=int, default=12)
p.add_argument("--position", default="centre")
p.add_argument("--region-seed", type=int, default=0)
p.add_argument("--ctx", type=float, default=4.0)
args = p.parse_args()
NFFT, HOP = 2048, 512
pipe = Pipeline(Runtime(load_bundle("models/default"), RuntimeConfig(providers="cpu")))
b = pipe.bundle
sr = b.sample_rate
cs = b.defaults.context_seconds
clips, _ = load_clips(
    read_entries(Path(args.data)),
    EditEvalConfig(clips=args.clips, position=args.position, region_seed=args.region_seed),
    sr,
    cs,
)


def banks(n):
    if n == 1:
        f = np.ones((1, NFFT // 2 + 1))
    else:
        f = librosa.filters.mel(sr=sr, n_fft=NFFT, n_mels=n)
        f[0, : np.argmax(f[0] > 0)] = 1.0  # below the first band: the first band's
        last = np.nonzero(f[-1] > 0)[0][-1]
        f[-1, last + 1 :] = 1.0
    return f, f / np.maximum(f.sum(0, keepdims=True), 1e-12)


BANKS = {n: banks(n) for n in (1, 4, 16)}
fb, fbn = BANKS[16]


def bandpow(x):
    if len(x) < NFFT:
        return None
    S = np.abs(librosa.stft(np.asarray(x, np.float32), n_fft=NFFT, hop_length=HOP)) ** 2
    return fb @ S.mean(1) + 1e-12  # (B,)


def eq(x, off):  # off: (B,) natural-log power offsets
    S = librosa.stft(np.asarray(x, np.float32), n_fft=NFFT, hop_length=HOP)
    g = np.exp(0.5 * (fbn.T @ off))  # (F,)
    # bins with no band weight (DC, top) take their neighbours'
    return librosa.istft(S * g[:, None], hop_length=HOP, length=len(x))


def ctxpow(audio, a, e, s, t, C):
    """band power of [a-C,a) and [e,e+C) minus any part inside [s,t)"""
    parts = []
    for lo, hi in ((a - C, a), (e, e + C)):
        lo, hi = max(0, lo), min(len(audio), hi)
        idx = np.arange(lo, hi)
        idx = idx[(idx < s) | (idx >= t)]
        if len(idx) > NFFT:
            parts.append(audio[idx])
    return bandpow(np.concatenate(parts)) if parts else None


rows = []
C = int(args.ctx * sr)
for clip in clips:
    x = clip.audio
    s, t = clip.start, clip.end
    region = (s / sr, t / sr)
    prep = pipe.prepare(x[None], sr, region, cs)
    st = pipe.settings(EditRequest(region, context_seconds=cs, closeness=1.0))
    inf = [c["action"] for c in pipe.infer_actions(x[None], sr, region)]
    r = pipe.render(prep, inf, None, st, 0)
    if r.source.kind != "song":
        continue
    orig = x[s:t]
    ed = r.audio[0, s:t]
    fade = prep.window.fade
    cp, src = copy_baseline(x, sr, s, t, int(round(cs * sr)), fade)
    cpr = cp[s:t]
    l1 = lambda y, orig=orig: scores.logmel_l1(orig, y, sr)  # noqa: E731
    po = bandpow(orig)
    res = {"edit": l1(ed), "copy": l1(cpr)}
    res["edit_oracle"] = l1(eq(ed, np.log(po) - np.log(bandpow(ed))))
    res["copy_oracle"] = l1(eq(cpr, np.log(po) - np.log(bandpow(cpr))))
    reg_ctx = ctxpow(x, s, t, s, t, C)
    # edit: pieces in input seconds
    pieces = r.source.pieces or [(r.source.start, r.source.end)]
    a0, a1 = int(pieces[0][0] * sr), int(pieces[-1][1] * sr)
    src_ctx = ctxpow(x, a0, a1, s, t, C) if abs(a1 - a0 - (t - s)) < sr else None
    sc = ctxpow(x, src, src + (t - s), s, t, C)
    for n in (1, 4, 16):
        fb, fbn = BANKS[n]
        rc = ctxpow(x, s, t, s, t, C)
        ec = ctxpow(x, a0, a1, s, t, C) if src_ctx is not None else None
        cc = ctxpow(x, src, src + (t - s), s, t, C)
        for k in (0.5, 1.0):
            off = None if ec is None or rc is None else np.clip(k * (np.log(rc) - np.log(ec)), -1.4, 1.4)
            res[f"edit_b{n}k{k}"] = l1(eq(ed, off)) if off is not None else res["edit"]
            off = None if cc is None or rc is None else np.clip(k * (np.log(rc) - np.log(cc)), -1.4, 1.4)
            res[f"copy_b{n}k{k}"] = l1(eq(cpr, off)) if off is not None else res["copy"]
    fb, fbn = BANKS[16]
    rows.append(res)
    print(clip.name, " ".join(f"{k} {v:.3f}" for k, v in res.items()), flush=True)
keys = rows[0].keys()
print("MEAN", " ".join(f"{k} {np.mean([r[k] for r in rows]):.3f}" for k in keys))
for k in keys:
    if k.startswith("edit"):
        print(
            f"median {k}/copy {np.median([r[k] / r['copy'] for r in rows]):.3f} closer {np.mean([r[k] < r['copy'] for r in rows]):.0%}"
        )
