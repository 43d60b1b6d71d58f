"""Thin inference wrappers: the four graphs of a bundle, each with flat named tensor inputs and outputs.

Each wrapper exposes one inference signature of a trained model (docs/interfaces.md, "Model bundle") and
declares its tensors (names, dims, dtypes) so export, parity, the manifest, TensorRT profiles and the
Triton configs all read one definition. Sampling loops stay outside: the decoder and dynamics graphs are
one velocity evaluation, so steps and guidance remain runtime choices. Only the parameters an inference
signature touches end up in a graph (the LAM decoder, the VQ's EMA statistics and so on are left behind).

Letters in dims: B batch, N audio samples (a multiple of hop), T latent frames, K action chunks, D latent
channels, A actions, I instruments. A str dim is a dynamic axis, an int a fixed size.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class TensorSpec:
    name: str  # graph input/output name (the contract's)
    dims: tuple[int | str, ...]  # str = dynamic axis letter, int = fixed size
    dtype: str  # numpy dtype name: "float32" or "int64"


def _frozen(model: nn.Module) -> nn.Module:
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


class GraphWrapper(nn.Module):
    """Common surface of the four wrappers (what export, parity and the manifest need)."""

    graph_name: str = ""
    time_multiple: int = 1  # the time axis of example inputs must be a multiple of this many frames

    def inputs(self) -> list[TensorSpec]:
        raise NotImplementedError

    def outputs(self) -> list[TensorSpec]:
        raise NotImplementedError

    def derived_axes(self) -> dict[str, tuple[str, int]]:
        """Dynamic axes that are a fixed multiple of another (`{"N": ("T", hop)}`: N = hop * T)."""
        return {}

    def example_inputs(self, batch: int, frames: int, generator: torch.Generator) -> dict[str, torch.Tensor]:
        raise NotImplementedError


def _noise(shape: tuple[int, ...], generator: torch.Generator) -> torch.Tensor:
    return torch.randn(shape, generator=generator)


class TokenizerEncoder(GraphWrapper):
    """audio (B,1,N) -> latents (B,T,D), T = N // hop."""

    graph_name = "tokenizer_encoder"

    def __init__(self, tokenizer: nn.Module) -> None:
        super().__init__()
        self.tokenizer = _frozen(tokenizer)
        self.hop = int(tokenizer.hop)
        self.latent_dim = int(tokenizer.latent_dim)

    def inputs(self) -> list[TensorSpec]:
        return [TensorSpec("audio", ("B", 1, "N"), "float32")]

    def outputs(self) -> list[TensorSpec]:
        return [TensorSpec("latents", ("B", "T", self.latent_dim), "float32")]

    def derived_axes(self) -> dict[str, tuple[str, int]]:
        return {"N": ("T", self.hop)}

    def example_inputs(self, batch: int, frames: int, generator: torch.Generator) -> dict[str, torch.Tensor]:
        return {"audio": 0.3 * _noise((batch, 1, frames * self.hop), generator)}  # (B, 1, N)

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        return self.tokenizer.encode(audio)  # (B, T, D)


class TokenizerDecoderStep(GraphWrapper):
    """One decoder velocity: noisy (B,1,N) scaled audio, t (B,), latents (B,T,D) -> velocity (B,1,N)."""

    graph_name = "tokenizer_decoder"

    def __init__(self, tokenizer: nn.Module) -> None:
        super().__init__()
        self.tokenizer = _frozen(tokenizer)
        self.hop = int(tokenizer.hop)
        self.latent_dim = int(tokenizer.latent_dim)

    def inputs(self) -> list[TensorSpec]:
        return [
            TensorSpec("noisy", ("B", 1, "N"), "float32"),
            TensorSpec("t", ("B",), "float32"),
            TensorSpec("latents", ("B", "T", self.latent_dim), "float32"),
        ]

    def outputs(self) -> list[TensorSpec]:
        return [TensorSpec("velocity", ("B", 1, "N"), "float32")]

    def derived_axes(self) -> dict[str, tuple[str, int]]:
        return {"N": ("T", self.hop)}

    def example_inputs(self, batch: int, frames: int, generator: torch.Generator) -> dict[str, torch.Tensor]:
        return {
            "noisy": _noise((batch, 1, frames * self.hop), generator),  # (B, 1, N)
            "t": torch.rand((batch,), generator=generator),  # (B,)
            "latents": _noise((batch, frames, self.latent_dim), generator),  # (B, T, D)
        }

    def forward(self, noisy: torch.Tensor, t: torch.Tensor, latents: torch.Tensor) -> torch.Tensor:
        return self.tokenizer.velocity(noisy, t, latents)  # (B, 1, N)


class LAMEncoder(GraphWrapper):
    """latents (B,T,D) [+ instruments (B,T,I)] -> action_logits (B,K,A), actions (B,K) int64."""

    graph_name = "lam_encoder"

    def __init__(self, lam: nn.Module, latent_dim: int) -> None:
        super().__init__()
        self.lam = _frozen(lam)
        self.latent_dim = int(latent_dim)
        self.num_actions = int(lam.config.num_actions)
        self.num_instruments = int(getattr(lam.config, "num_instruments", 0) or 0)
        self.time_multiple = int(lam.config.chunk_frames)

    def inputs(self) -> list[TensorSpec]:
        specs = [TensorSpec("latents", ("B", "T", self.latent_dim), "float32")]
        if self.num_instruments:
            specs.append(TensorSpec("instruments", ("B", "T", self.num_instruments), "float32"))
        return specs

    def outputs(self) -> list[TensorSpec]:
        return [
            TensorSpec("action_logits", ("B", "K", self.num_actions), "float32"),
            TensorSpec("actions", ("B", "K"), "int64"),
        ]

    def derived_axes(self) -> dict[str, tuple[str, int]]:
        return {"T": ("K", self.time_multiple)}

    def example_inputs(self, batch: int, frames: int, generator: torch.Generator) -> dict[str, torch.Tensor]:
        example = {"latents": _noise((batch, frames, self.latent_dim), generator)}  # (B, T, D)
        if self.num_instruments:
            shape = (batch, frames, self.num_instruments)
            example["instruments"] = torch.randint(0, 2, shape, generator=generator).float()  # (B, T, I)
        return example

    def forward(
        self, latents: torch.Tensor, instruments: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        logits, ids = self.lam.infer_actions(latents, instruments)  # (B, K, A), (B, K)
        return logits, ids.long()


class DynamicsStep(GraphWrapper):
    """One dynamics velocity: noisy, t, context, mask (1 = generate), actions [+ instruments] -> velocity.

    `mask` is float32 0/1 on the wire (what every runtime feeds easily); `actions` is int64 in [0, A] with
    A the null action, so classifier-free guidance is a second call with all actions = A. A model with P
    frames per token (`patch`) takes T a multiple of P; the engine's windows are whole LAM chunks, which are.
    """

    graph_name = "dynamics"

    def __init__(
        self, dynamics: nn.Module, latent_dim: int, num_actions: int, num_instruments: int = 0
    ) -> None:
        super().__init__()
        self.dynamics = _frozen(dynamics)
        self.latent_dim = int(latent_dim)
        self.num_actions = int(num_actions)
        self.num_instruments = int(num_instruments)
        # A model with P frames per token takes windows of whole tokens (the engine sends whole LAM chunks).
        self.time_multiple = int(getattr(dynamics.config, "patch", 1))

    def inputs(self) -> list[TensorSpec]:
        d = self.latent_dim
        specs = [
            TensorSpec("noisy", ("B", "T", d), "float32"),
            TensorSpec("t", ("B",), "float32"),
            TensorSpec("context", ("B", "T", d), "float32"),
            TensorSpec("mask", ("B", "T"), "float32"),
            TensorSpec("actions", ("B", "T"), "int64"),
        ]
        if self.num_instruments:
            specs.append(TensorSpec("instruments", ("B", "T", self.num_instruments), "float32"))
        return specs

    def outputs(self) -> list[TensorSpec]:
        return [TensorSpec("velocity", ("B", "T", self.latent_dim), "float32")]

    def derived_axes(self) -> dict[str, tuple[str, int]]:
        return {"T": ("tokens", self.time_multiple)} if self.time_multiple > 1 else {}

    def example_inputs(self, batch: int, frames: int, generator: torch.Generator) -> dict[str, torch.Tensor]:
        d = self.latent_dim
        example = {
            "noisy": _noise((batch, frames, d), generator),  # (B, T, D)
            "t": torch.rand((batch,), generator=generator),  # (B,)
            "context": _noise((batch, frames, d), generator),  # (B, T, D)
            "mask": torch.randint(0, 2, (batch, frames), generator=generator).float(),  # (B, T)
            "actions": torch.randint(0, self.num_actions + 1, (batch, frames), generator=generator),  # (B, T)
        }
        if self.num_instruments:
            shape = (batch, frames, self.num_instruments)
            example["instruments"] = torch.randint(0, 2, shape, generator=generator).float()  # (B, T, I)
        return example

    def forward(
        self,
        noisy: torch.Tensor,
        t: torch.Tensor,
        context: torch.Tensor,
        mask: torch.Tensor,
        actions: torch.Tensor,
        instruments: torch.Tensor | None = None,
    ) -> torch.Tensor:
        return self.dynamics(noisy, t, context, mask, actions, instruments)  # (B, T, D)


def build_wrappers(tokenizer: nn.Module, lam: nn.Module, dynamics: nn.Module) -> dict[str, GraphWrapper]:
    """The four graphs of a bundle, keyed by graph name, in the order the manifest lists them."""
    d = int(tokenizer.latent_dim)
    lam_encoder = LAMEncoder(lam, d)
    dynamics_step = DynamicsStep(dynamics, d, lam_encoder.num_actions, lam_encoder.num_instruments)
    wrappers = (TokenizerEncoder(tokenizer), TokenizerDecoderStep(tokenizer), lam_encoder, dynamics_step)
    return {w.graph_name: w for w in wrappers}
