"""Diffusion audio tokenizer: DiTo for 1-D audio with DC-AE shortcuts.

Papers: DiTo, diffusion tokenizers (https://arxiv.org/abs/2501.18593); DC-AE, deep compression
autoencoders (https://arxiv.org/abs/2410.10733); DiT / AdaLN-Zero (https://arxiv.org/abs/2212.09748).

Shape letters: B batch, N audio samples (16 kHz mono), T latent frames (N // hop), D latent channels,
C channels at a scale, L positions at a scale, E conditioning width.

- Patchify: the MDCT (`training/models/mdct.py`), an orthogonal lapped transform with `patch` bins per
  frame, so the first scale's channels are frequency bands and the flow and its L2 loss are unchanged.
- Encoder: MDCT of the waveform, residual stages, each downsample carrying the DC-AE averaging shortcut,
  and a final downsample to D channels (also with the shortcut); the latents are layer-normalised without
  affine parameters (DiTo), so they live on a fixed scale. With `latent_mel`, D log-mels at the latent rate
  are added just before that norm (parameter-free, like DC-AE's shortcuts): trained on a CPU budget the
  encoder otherwise keeps too little of the envelope (held-out log-mel 0.815 -> 0.777 for the `small` base run).
  Trained, the learned features grow to ~10x the shortcut's size; `latent_mel_weight` scales the shortcut up.
- Decoder: a flow-matching denoiser of the MDCT-patchified waveform. The latents go through a small
  conditioning pyramid (DC-AE upsampling to every scale); at each scale the features are added to the
  hidden state and, with the timestep embedding, drive every AdaLN-Zero block. The U-Net keeps *one* skip
  per scale (the last down-path block before each downsample) and feeds it to every up-path block of that
  scale. Upsampling is channel-to-space with the duplicating shortcut. The output conv reads the
  un-normalised residual stream, so the estimate can follow the local loudness. In x0 mode (the default)
  the estimate is gated by a per-band, per-position gain computed from the latents alone: the latents
  say which bands sound, and noise the network fails to remove cannot leak into bands they call silent.
- Decoder space (`engine/decoder_space.py`): `to_diffusion(audio)` pre-emphasises (music's spectrum falls
  ~25 dB from bass to 4 kHz; without it the L2 loss is all bass), multiplies by `audio_scale` (music at
  ~0.5 RMS against unit noise) and compands every MDCT coefficient to sign(c) |c|^compand. The log-mel
  ear hears a band 60 dB down; a linear L2 loss does not, so a linear decoder fills quiet passages and
  bands with a hiss floor and loses the envelope there. Companded, that band is 30 dB down (compand 0.5),
  the loss and the noise weigh it, and expanding |y|^(1 / compand) sinks the residual noise further.
  With `compand_window` > 1 the gain is smoothed over a bins x frames neighbourhood, so an estimate right
  in level but wrong in detail expands to less spectral damage. The encoder of a companding model reads
  the same space.

The model knows nothing of its loss; `training/diffusion.py` holds the path, loss and time sampling, and
`engine/sampling.py` the one sampler.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from engine import decoder_space
from engine.emphasis import deemphasis_kernel
from engine.sampling import sample
from training.models.blocks import (
    AdaLNBlock,
    Downsample,
    ResBlock,
    TimestepEmbedding,
    Upsample,
)
from training.models.mdct import MDCT
from training.models.spectrum import LogMel, LogSpectrum


def pad_to_multiple(audio: torch.Tensor, multiple: int) -> torch.Tensor:
    """Zero-pad (B, 1, N) on the right so N is a multiple of `multiple` (trim the decode back to N)."""
    pad = (-audio.shape[-1]) % multiple
    return F.pad(audio, (0, pad)) if pad else audio


@dataclass
class TokenizerConfig:
    sample_rate: int = 16_000  # audio rate the model works at (mono)
    patch: int = 32  # MDCT bins per frame = positions' channels at the first scale (large = cheap decoder)
    factors: tuple[int, ...] = (4, 4, 4)  # downsampling after each stage; hop = patch * prod(factors)
    widths: tuple[int, ...] = (64, 128, 256)  # channels of each stage (one per factor)
    depths: tuple[int, ...] = (1, 1, 1)  # residual blocks per stage, encoder and decoder alike
    latent_dim: int = 64  # D, channels per latent frame
    cond_dim: int = 64  # E, width of the timestep + latent conditioning
    kernel: int = 5  # conv kernel of the residual blocks
    expansion: int = 1  # hidden channels = width * expansion inside a block
    emphasis: float = 0.9  # pre-emphasis a of the decoder's space, y[n] = x[n] - a x[n-1] (0 = off)
    audio_scale: float = 12.0  # multiplier after pre-emphasis: music's ~0.045 RMS there -> ~0.5 vs unit noise
    compand: float = 1.0  # power on the MDCT coefficients of the decoder's space (1 = linear; presets 0.5)
    compand_bins: int = 0  # MDCT bins per frame the companding works on (0 = the patch); divides the hop
    compand_window: int = 1  # bins x frames the companding gain is smoothed over (1 = per coefficient)
    prediction: str = (
        "sample"  # decoder output: "sample" (x0, gated; v = (x_t - x0) / max(t, min_t)) or "velocity"
    )
    min_t: float = 0.05  # with prediction="sample", the level below which the division is clamped
    spectrum: bool = False  # encoder also reads a log-magnitude STFT at its second scale
    fine_gate: bool = False  # x0 mode: a second band gain on the second scale's finer MDCT
    latent_mel: bool = False  # latents start from a fixed latent_dim-mel log spectrum at the latent rate
    latent_mel_weight: float = 1.0  # the log-mel's weight against the learned features before the norm

    def __post_init__(self) -> None:
        self.factors, self.widths, self.depths = tuple(self.factors), tuple(self.widths), tuple(self.depths)
        if not len(self.factors) == len(self.widths) == len(self.depths):
            raise ValueError("factors, widths and depths need one entry per stage")
        if self.prediction not in ("velocity", "sample"):
            raise ValueError(f"prediction must be 'velocity' or 'sample', got {self.prediction!r}")
        if self.companding_bins < 2 or self.companding_bins % 2 or self.hop % self.companding_bins:
            raise ValueError(
                f"compand_bins must be even and divide the hop ({self.hop}), got {self.companding_bins}"
            )
        if self.latent_mel_weight <= 0:
            raise ValueError(f"latent_mel_weight must be > 0, got {self.latent_mel_weight}")
        space = (self.emphasis, self.audio_scale, self.compand, self.companding_bins, self.compand_window)
        decoder_space.DecoderSpace(*space)  # refuses a space the engine could not run (ValueError)
        if self.fine_gate and self.prediction != "sample":
            raise ValueError(
                "fine_gate gates the clean estimate: it needs prediction='sample' (or --no-fine-gate)"
            )

    @property
    def hop(self) -> int:
        return self.patch * math.prod(self.factors)

    @property
    def companding_bins(self) -> int:
        return self.compand_bins or self.patch

    @property
    def second_hop(self) -> int:
        """Samples per position at the second scale: the spectrum view's hop and the fine gate's bins."""
        return self.patch * self.factors[0]


class Encoder(nn.Module):
    """Scaled waveform (B, 1, N) -> normalised latents (B, D, T); with `spectrum`, the raw audio's log
    magnitudes join at the second scale (added through a 1x1 conv, like the decoder's conditioning)."""

    def __init__(self, cfg: TokenizerConfig) -> None:
        super().__init__()
        self.patchify = MDCT(cfg.patch)
        self.latent_dim = cfg.latent_dim
        self.stem = nn.Conv1d(cfg.patch, cfg.widths[0], cfg.kernel, padding=cfg.kernel // 2)
        self.stages = nn.ModuleList(
            nn.Sequential(*[ResBlock(w, cfg.kernel, cfg.expansion) for _ in range(d)])
            for w, d in zip(cfg.widths, cfg.depths, strict=True)
        )
        outs = (*cfg.widths[1:], cfg.latent_dim)
        self.downs = nn.ModuleList(
            Downsample(w, o, f) for w, o, f in zip(cfg.widths, outs, cfg.factors, strict=True)
        )
        self.spectrum = self.spectrum_in = None
        if cfg.spectrum:
            self.spectrum = LogSpectrum(cfg.second_hop, 4 * cfg.second_hop)
            self.spectrum_in = nn.Conv1d(self.spectrum.bins, outs[0], 1)
        # Parameter-free shortcut (like DC-AE's): the log-mel envelope added before the norm, so the latents
        # hold it from the first step instead of the convs having to learn it from the diffusion loss alone.
        self.latent_mel = (
            LogMel(cfg.hop, 2 * cfg.hop, cfg.latent_dim, cfg.sample_rate) if cfg.latent_mel else None
        )
        self.mel_weight = cfg.latent_mel_weight

    def forward(self, x: torch.Tensor, audio: torch.Tensor) -> torch.Tensor:
        """x: the scaled waveform (B, 1, N) the stem reads; audio: the raw one (B, 1, N) for the spectrum
        view and the log-mel shortcut."""
        h = self.stem(self.patchify.analysis(x))  # (B, C0, N/patch)
        for s, (stage, down) in enumerate(zip(self.stages, self.downs, strict=True)):
            h = down(stage(h))  # (B, C_next, L/f)
            if s == 0 and self.spectrum is not None:
                # log|X| spans ~-11.5 (floor) .. 0: centre and scale it to about unit size.
                h = h + self.spectrum_in((self.spectrum(audio) + 6.0) / 3.0)  # (B, C1, N/hop_1)
        if self.latent_mel is not None:
            # log-mel ~ -9 +/- 1.3 on music: about unit size, times the weight (the learned features grow to
            # ~10x unit size in training and would otherwise drown the envelope)
            h = h + self.mel_weight * (self.latent_mel(audio) + 9.0) / 1.5
        return F.layer_norm(h.transpose(1, 2), (self.latent_dim,)).transpose(1, 2)  # (B, D, T)


class Decoder(nn.Module):
    """Velocity, or gated x0 estimate, of the decoder-space waveform given the noisy one (B, 1, N), level t
    (B,) and latents (B, D, T)."""

    def __init__(self, cfg: TokenizerConfig) -> None:
        super().__init__()
        self.patchify = MDCT(cfg.patch)
        widths, e, k, x = cfg.widths, cfg.cond_dim, cfg.kernel, cfg.expansion
        scales = len(widths)
        self.time = TimestepEmbedding(e)
        # Conditioning pyramid: latents at frame rate, then DC-AE upsampling to each scale (phase-aware).
        self.latent_in = nn.Conv1d(cfg.latent_dim, e, 3, padding=1)
        self.latent_block = ResBlock(e, 3)
        self.cond_ups = nn.ModuleList(Upsample(e, e, f) for f in cfg.factors)
        # U-Net: scales 0..S-1 at the stage widths, the middle at latent rate with the last width.
        self.stem = nn.Conv1d(cfg.patch, widths[0], k, padding=k // 2)
        self.down_add = nn.ModuleList(nn.Conv1d(e, w, 1) for w in widths)
        self.down_blocks = nn.ModuleList(
            nn.ModuleList(AdaLNBlock(w, e, k, x) for _ in range(d))
            for w, d in zip(widths, cfg.depths, strict=True)
        )
        outs = (*widths[1:], widths[-1])
        self.downs = nn.ModuleList(
            Downsample(w, o, f) for w, o, f in zip(widths, outs, cfg.factors, strict=True)
        )
        self.mid_add = nn.Conv1d(e, widths[-1], 1)
        self.mid_blocks = nn.ModuleList(AdaLNBlock(widths[-1], e, k, x) for _ in range(cfg.depths[-1]))
        self.ups = nn.ModuleList(Upsample(o, w, f) for w, o, f in zip(widths, outs, cfg.factors, strict=True))
        self.up_add = nn.ModuleList(nn.Conv1d(e, w, 1) for w in widths)
        self.skip_projs = nn.ModuleList(
            nn.ModuleList(nn.Conv1d(w, w, 1) for _ in range(d))
            for w, d in zip(widths, cfg.depths, strict=True)
        )
        self.up_blocks = nn.ModuleList(
            nn.ModuleList(AdaLNBlock(w, e, k, x) for _ in range(d))
            for w, d in zip(widths, cfg.depths, strict=True)
        )
        self.out = nn.Conv1d(widths[0], cfg.patch, k, padding=k // 2)
        # x0 mode: the clean estimate is the output times a per-band, per-position gain read from the
        # latents alone, so bands the latents call silent come out silent however much noise the input holds.
        self.envelope = nn.Conv1d(e, cfg.patch, 3, padding=1) if cfg.prediction == "sample" else None
        # The first scale's bins are sr / 2P wide (250 Hz for P = 32): too coarse to keep the gaps between a
        # chord's harmonics quiet. The fine gate repeats the gain on an MDCT with the second scale's hop
        # (f0 times the bins), read from that scale's conditioning.
        self.fine = self.fine_envelope = None
        if cfg.fine_gate:
            self.fine = MDCT(cfg.second_hop)
            self.fine_envelope = nn.Conv1d(e, cfg.second_hop, 3, padding=1)
        self.scales = scales

    def forward(self, noisy: torch.Tensor, t: torch.Tensor, latents: torch.Tensor) -> torch.Tensor:
        temb = self.time(t)[:, :, None]  # (B, E, 1)
        z = self.latent_block(self.latent_in(latents))  # (B, E, T)
        conds = [z]
        for up in reversed(self.cond_ups):
            conds.insert(0, up(conds[0]))  # (B, E, L_s), finest first
        h = self.stem(self.patchify.analysis(noisy))  # (B, C0, N/patch)
        skips = []
        for s in range(self.scales):
            h = h + self.down_add[s](conds[s])  # (B, C_s, L_s)
            for block in self.down_blocks[s]:
                h = block(h, conds[s] + temb)  # (B, C_s, L_s)
            skips.append(h)
            h = self.downs[s](h)  # (B, C_s+1, L_s / f_s)
        h = h + self.mid_add(conds[-1])  # (B, C_last, T)
        for block in self.mid_blocks:
            h = block(h, conds[-1] + temb)  # (B, C_last, T)
        for s in reversed(range(self.scales)):
            h = self.ups[s](h) + self.up_add[s](conds[s])  # (B, C_s, L_s)
            for proj, block in zip(self.skip_projs[s], self.up_blocks[s], strict=True):
                h = block(h + proj(skips[s]), conds[s] + temb)  # (B, C_s, L_s)
        out = self.out(h)  # (B, P, L0): no final norm, so amplitude survives
        if self.envelope is not None:
            out = out * torch.exp(self.envelope(conds[0]).clamp(-12.0, 4.0))  # gain e^-12 .. e^4
        y = self.patchify.synthesis(out)  # (B, 1, N)
        if self.fine is not None:
            gain = torch.exp(self.fine_envelope(conds[1]).clamp(-12.0, 4.0))  # (B, P f0, L_1)
            y = self.fine.synthesis(self.fine.analysis(y) * gain)  # (B, 1, N)
        return y


class Tokenizer(nn.Module):
    """Audio (B, 1, N) <-> latents (B, T, D); `velocity` is the denoiser the sampler integrates."""

    def __init__(self, config: TokenizerConfig) -> None:
        super().__init__()
        self.config = config
        self.encoder = Encoder(config)
        self.decoder = Decoder(config)
        self.mdct = MDCT(config.companding_bins)
        kernel = torch.from_numpy(deemphasis_kernel(config.emphasis).copy())  # (K,) a^k
        self.register_buffer("deemphasis_kernel", kernel.flip(0)[None, None], persistent=False)  # (1, 1, K)
        self.initialize_weights()

    @property
    def hop(self) -> int:
        return self.config.hop

    @property
    def latent_dim(self) -> int:
        return self.config.latent_dim

    @property
    def frame_rate(self) -> float:
        return self.config.sample_rate / self.config.hop

    def initialize_weights(self) -> None:
        """Xavier convs/linears with zero bias; AdaLN-Zero modulation and the decoder output start at zero."""
        for module in self.modules():
            if isinstance(module, (nn.Conv1d, nn.Linear)):
                nn.init.xavier_uniform_(
                    module.weight.flatten(1) if module.weight.dim() > 2 else module.weight
                )
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
        for module in self.modules():
            if isinstance(module, AdaLNBlock):
                module.zero_init()
        nn.init.normal_(self.decoder.time.mlp[0].weight, std=0.02)
        nn.init.normal_(self.decoder.time.mlp[2].weight, std=0.02)
        nn.init.zeros_(self.decoder.out.weight)
        nn.init.zeros_(self.decoder.out.bias)
        # Unit gains and no spectrum at the start, so these parts can also be added to a trained model.
        for added in (self.decoder.envelope, self.decoder.fine_envelope, self.encoder.spectrum_in):
            if added is not None:
                nn.init.zeros_(added.weight)
                nn.init.zeros_(added.bias)

    def to_diffusion(self, audio: torch.Tensor) -> torch.Tensor:
        """Audio (B, 1, N) -> the decoder's space: pre-emphasised, times audio_scale, MDCT coefficients
        companded (engine.decoder_space: sign(c) |c|^compand, or the smooth gain's fixed point)."""
        cfg = self.config
        shifted = F.pad(audio[..., :-1], (1, 0))  # (B, 1, N): x[n-1], zero before the start
        emphasised = (audio - cfg.emphasis * shifted) * cfg.audio_scale
        if cfg.compand == 1.0:
            return emphasised
        c = self.mdct.analysis(emphasised)  # (B, P, L)
        if cfg.compand_window == 1:
            return self.mdct.synthesis(c.sign() * c.abs().pow(cfg.compand))  # (B, 1, N)
        power, magnitude = 1.0 / cfg.compand - 1.0, c.abs()
        gain = (self._box(magnitude) + decoder_space.FLOOR).pow(power / (power + 1.0))  # |y| ~ |c|^compand
        for _ in range(decoder_space.ROUNDS):
            new = self._gain(magnitude / gain)
            gain = (gain * new * new * new).sqrt().sqrt()  # the numpy twin's damping
        return self.mdct.synthesis(c / gain)  # (B, 1, N)

    def from_diffusion(self, decoded: torch.Tensor) -> torch.Tensor:
        """Inverse of `to_diffusion`: expand, divide by audio_scale, de-emphasise with the shared FIR kernel."""
        emphasised = decoded
        if self.config.compand != 1.0:
            y = self.mdct.analysis(decoded)  # (B, P, L)
            emphasised = self.mdct.synthesis(y * self._gain(y.abs()))
        kernel = self.deemphasis_kernel.to(emphasised.dtype)
        padded = F.pad(emphasised / self.config.audio_scale, (kernel.shape[-1] - 1, 0))  # causal
        return F.conv1d(padded, kernel)  # (B, 1, N)

    def _gain(self, magnitude: torch.Tensor) -> torch.Tensor:
        """The expansion's gain on MDCT magnitudes |y| (B, P, L): (box(|y|) + floor)^(1 / compand - 1)."""
        power = 1.0 / self.config.compand - 1.0
        if self.config.compand_window == 1:
            return magnitude.pow(power)
        level = self._box(magnitude) + decoder_space.FLOOR
        return level if power == 1.0 else level.pow(power)

    def _box(self, x: torch.Tensor) -> torch.Tensor:
        """Mean of (B, P, L) over compand_window bins x frames, edges repeated."""
        w = self.config.compand_window
        padded = F.pad(x[:, None], (w // 2,) * 4, mode="replicate")[:, 0]  # (B, P + w - 1, L + w - 1)
        p, n = x.shape[-2:]
        rows = sum(padded[:, i : i + p] for i in range(w))  # shifted sums: 5x faster than avg_pool2d on CPU
        return sum(rows[..., j : j + n] for j in range(w)) / (w * w)  # (B, P, L)

    def encode(self, audio: torch.Tensor, space: torch.Tensor | None = None) -> torch.Tensor:
        """audio (B, 1, N) with N % hop == 0 -> layer-normalised latents (B, T, D), T = N // hop.

        A companding model's encoder reads the decoder's space (quiet detail at a usable scale; `space` is
        `to_diffusion(audio)` when the caller has it already); linear models read the scaled waveform."""
        if self.config.compand == 1.0:
            x = audio * self.config.audio_scale
        else:
            x = self.to_diffusion(audio) if space is None else space
        return self.encoder(x, audio).transpose(1, 2)  # (B, T, D)

    def velocity(self, noisy: torch.Tensor, t: torch.Tensor, latents: torch.Tensor) -> torch.Tensor:
        """noisy (B, 1, N) decoder-space audio at level t (B,), latents (B, T, D) -> velocity (B, 1, N).

        With `prediction="sample"` the network predicts the clean decoder-space x0 and the velocity follows
        from the path (x-prediction with a velocity loss, as in "Back to Basics", arXiv 2511.13720): near
        silence x0 = 0 is trivial to output, where predicting v means amplifying the noise by 1 / t.
        """
        out = self.decoder(noisy, t, latents.transpose(1, 2))  # (B, 1, N)
        if self.config.prediction == "sample":
            return (noisy - out) / t.clamp(min=self.config.min_t)[:, None, None]  # (B, 1, N)
        return out

    def forward(self, noisy: torch.Tensor, t: torch.Tensor, latents: torch.Tensor) -> torch.Tensor:
        return self.velocity(noisy, t, latents)

    @torch.no_grad()
    def decode(
        self,
        latents: torch.Tensor,
        steps: int = 16,
        method: str = "euler",
        noise: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
        shift: float = 1.0,
    ) -> torch.Tensor:
        """latents (B, T, D) -> audio (B, 1, T * hop) by sampling the decoder from noise at t=1 (`shift`:
        the time shift of the levels, engine.sampling.timesteps)."""
        b, frames, _ = latents.shape
        if noise is None:
            noise = torch.randn(b, 1, frames * self.hop, generator=generator, device=latents.device)

        def velocity_fn(x: torch.Tensor, t: float) -> torch.Tensor:
            return self.velocity(x, torch.full((b,), t, device=x.device), latents)

        return self.from_diffusion(sample(velocity_fn, noise, steps, method, shift=shift))  # (B, 1, N)

    def encode_any(self, audio: torch.Tensor) -> torch.Tensor:
        """Latents for any length (B, 1, N): pads to the hop; T = ceil(N / hop)."""
        return self.encode(pad_to_multiple(audio, self.hop))

    def reconstruct(
        self, audio: torch.Tensor, steps: int = 16, method: str = "euler", **kwargs
    ) -> torch.Tensor:
        """Encode then decode any-length audio (B, 1, N), trimmed back to N samples."""
        with torch.no_grad():
            latents = self.encode_any(audio)
        return self.decode(latents, steps, method, **kwargs)[..., : audio.shape[-1]]


PRESETS: dict[str, TokenizerConfig] = {
    # Unit tests: hop 32, runs in milliseconds.
    "tiny": TokenizerConfig(
        patch=8,
        factors=(2, 2),
        widths=(16, 32),
        depths=(1, 1),
        latent_dim=8,
        cond_dim=16,
        compand=0.5,
        spectrum=True,
        fine_gate=True,
    ),
    # 16 kHz -> 50 frames/s x 128 (hop 320).
    "low": TokenizerConfig(
        patch=20,
        factors=(4, 4),
        widths=(128, 256),
        depths=(2, 2),
        latent_dim=128,
        cond_dim=128,
        compand=0.5,
        spectrum=True,
        fine_gate=True,
    ),
    # 16 kHz -> 7.8 frames/s x 64 (hop 2048).
    "high": TokenizerConfig(
        patch=32,
        factors=(4, 4, 4),
        widths=(128, 256, 512),
        depths=(2, 2, 2),
        latent_dim=64,
        cond_dim=128,
        compand=0.5,
        spectrum=True,
        fine_gate=True,
    ),
    # The shipped model's preset (its recipes, training/recipes/tokenizer/shipped-*, weight the log-mel
    # shortcut and move the companding): `high`'s rate sized to train on a 2-core CPU. 64 MDCT bins
    # (125 Hz) and a 256-bin fine gate (31 Hz); the spectrum view and the fine gate took a trained model from
    # held-out log-mel 0.815 to 0.74 in 4000 fine-tuning steps, the log-mel shortcut its base run from 0.815
    # to 0.777 (docs/tokenizer.md).
    "small": TokenizerConfig(
        patch=64,
        factors=(4, 4, 2),
        widths=(96, 192, 384),
        depths=(1, 1, 1),
        latent_dim=64,
        cond_dim=96,
        compand=0.5,
        spectrum=True,
        fine_gate=True,
        latent_mel=True,
    ),
}


def build(preset: str, **overrides) -> Tokenizer:
    """A fresh tokenizer from a named preset, with optional config field overrides."""
    if preset not in PRESETS:
        raise KeyError(f"unknown tokenizer preset {preset!r}; choose one of {sorted(PRESETS)}")
    fields = {**PRESETS[preset].__dict__, **overrides}
    return Tokenizer(TokenizerConfig(**fields))
