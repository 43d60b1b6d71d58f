"""A song's beats, so the song-aware plan can keep its material on the song's beat grid.

An onset envelope from the log-mel the song index already has (positive frame-to-frame change, averaged
over bands), a tempo from its autocorrelation weighted toward 120 BPM, and Ellis's dynamic-programming
beat tracker (Ellis 2007, https://doi.org/10.1080/09298210701653344), the algorithm of librosa's
`beat_track`, here in numpy: librosa's compiles numba code when it is imported, about 7 s per process on
these machines, twice a whole first edit.

Letters: M mel bands, F feature frames, B beats.
"""

from __future__ import annotations

import numpy as np

MIN_BPM, MAX_BPM = 30.0, 320.0  # tempi considered (librosa's range)
AC_SECONDS = 8.0  # window of the tempo's autocorrelation
START_BPM = 120.0  # prior centre of the tempo (log-normal, one octave wide), as librosa's
TIGHTNESS = 100.0  # how strictly beat spacing keeps to the tempo (librosa's default)
# Songs whose onsets fall on their tracked beats less than this (mean envelope at the beats over the mean
# everywhere) have no grid worth keeping: ambient pads, speech. Held-out real songs: 1.9-7.1.
MIN_SALIENCE = 1.5


def onset_envelope(mel_db: np.ndarray) -> np.ndarray:
    """(F,) onset strength per frame of a (M, F) log-mel in dB: the mean positive change from the frame
    before (frame 0: 0), normalised to unit standard deviation."""
    rise = np.maximum(np.diff(mel_db, axis=1), 0.0).mean(axis=0)  # (F - 1,)
    env = np.concatenate([[0.0], rise]).astype(np.float64)  # (F,)
    return env / max(float(env.std()), 1e-9)


def tempo_period(env: np.ndarray, frame_rate: float) -> float:
    """Beat period in frames, as librosa's tempo estimate: the autocorrelation of 8 s windows of the
    envelope (each over its own peak), averaged, its log weighted by a log-normal prior one octave wide
    around START_BPM; the best lag between MIN_BPM and MAX_BPM."""
    size = max(4, int(round(AC_SECONDS * frame_rate)))
    n = len(env)
    hop = max(1, size // 4)
    starts = range(0, max(1, n - size + 1), hop)
    window = np.hanning(size)
    total = np.zeros(size)
    for a in starts:
        x = env[a : a + size]
        x = np.pad(x, (0, size - len(x))) * window
        spectrum = np.fft.rfft(x, 2 * size)
        ac = np.fft.irfft(spectrum * np.conj(spectrum))[:size]
        total += ac / max(float(np.abs(ac).max()), 1e-12)
    total /= len(starts)
    lags = np.arange(1, size)
    bpm = 60.0 * frame_rate / lags
    ok = (bpm >= MIN_BPM) & (bpm <= MAX_BPM)
    if not ok.any():
        return 60.0 * frame_rate / START_BPM
    prior = -0.5 * np.log2(bpm / START_BPM) ** 2
    value = np.log1p(1e6 * np.maximum(total[1:], 0.0)) + prior
    return float(lags[ok][int(np.argmax(value[ok]))])


def track(env: np.ndarray, period: float) -> np.ndarray:
    """(B,) beat frames: the chain of onsets, spaced about `period` apart, of the highest total strength
    (each step's spacing off the period costs TIGHTNESS * log(spacing / period)^2)."""
    n = len(env)
    local = np.convolve(env, np.exp(-0.5 * (np.arange(-period, period + 1) * 32.0 / period) ** 2), "same")
    score = local.copy()
    back = np.full(n, -1)
    near = max(1, int(round(period / 2)))  # the previous beat is between half a period and two back
    lags = np.arange(-max(int(round(2 * period)), near), -near + 1)  # (L,) all < 0
    penalty = -TIGHTNESS * np.log(-lags / period) ** 2  # (L,)
    block = max(1, -int(lags[-1]))  # frames whose previous beats all lie before the block: done at once
    for t0 in range(0, n, block):
        t = np.arange(t0, min(n, t0 + block))  # (T,)
        prev = t[:, None] + lags[None]  # (T, L)
        candidates = np.where(prev >= 0, score[np.maximum(prev, 0)] + penalty[None], -np.inf)  # (T, L)
        best = np.argmax(candidates, axis=1)  # (T,)
        value = candidates[np.arange(len(t)), best]
        linked = value > 0
        score[t[linked]] = local[t[linked]] + value[linked]
        back[t[linked]] = prev[np.arange(len(t)), best][linked]
    # the last beat: the best-scoring frame among the final period's local maxima of the score
    tail = max(0, n - int(round(period)))
    last = tail + int(np.argmax(score[tail:])) if n else 0
    beats = [last]
    while back[beats[-1]] >= 0:
        beats.append(int(back[beats[-1]]))
    return np.array(beats[::-1], np.int64)


def song_beats(mel_db: np.ndarray, hop: int, sample_rate: int) -> np.ndarray:
    """(B,) the song's beats in samples (float64) from its (M, F) log-mel at `hop` samples per frame;
    empty when the onsets barely follow them (below MIN_SALIENCE): no grid to keep."""
    frame_rate = sample_rate / hop
    if mel_db.shape[1] < 4 or mel_db.shape[1] < 4 * 60.0 * frame_rate / MAX_BPM:  # not four beats long
        return np.zeros(0)
    env = onset_envelope(mel_db)
    period = tempo_period(env, frame_rate)
    if period < 1 or 4 * period > len(env):  # no four beats of this tempo fit
        return np.zeros(0)
    beats = track(env, period)
    if len(beats) < 4 or salience(env, beats) < MIN_SALIENCE:
        return np.zeros(0)
    return beats.astype(np.float64) * hop


def strength_at(env: np.ndarray, beats: np.ndarray) -> float:
    """Mean envelope at the beat frames, each the best of its frame and its two neighbours (a beat
    tracked a frame off still counts)."""
    near = np.clip(beats[:, None] + np.arange(-1, 2)[None], 0, len(env) - 1)  # (B, 3)
    return float(env[near].max(axis=1).mean())


def salience(env: np.ndarray, beats: np.ndarray) -> float:
    """The envelope's strength at the beats (`strength_at`) over its mean."""
    if len(beats) == 0:
        return float("nan")
    return strength_at(env, beats) / max(float(env.mean()), 1e-9)


def phase(beats: np.ndarray, samples: np.ndarray | float) -> np.ndarray:
    """Position in beats (fractional beat index) of each sample, extrapolated past the first and last
    beat at the median spacing; beats: (B,) samples, at least 2."""
    samples = np.asarray(samples, np.float64)
    period = float(np.median(np.diff(beats)))
    index = np.interp(samples, beats, np.arange(len(beats), dtype=np.float64))
    before, after = samples < beats[0], samples > beats[-1]
    index = np.where(before, (samples - beats[0]) / period, index)
    return np.where(after, len(beats) - 1 + (samples - beats[-1]) / period, index)


def phase_mismatch(beats: np.ndarray, sources: np.ndarray, target: float) -> np.ndarray:
    """(P,) how far off the beat grid material starting at each of `sources` would land at `target`
    (samples): 0 on the same fraction of a beat, 1 half a beat off; zeros without beats."""
    sources = np.asarray(sources)
    if len(beats) < 2:
        return np.zeros(len(sources))
    off = phase(beats, sources) - phase(beats, float(target))
    return 2.0 * np.abs(off - np.round(off))
