"""Patches: LAM and dynamics models that group P latent frames into one transformer token (a higher-rate
tokenizer at the transformer cost of a lower-rate one), on tiny CPU configs."""

from __future__ import annotations

import pytest
import torch

from training.models.dynamics import DynamicsModel, preset
from training.models.lam import LatentActionModel, lam_config

D, A = 16, 4


def _patched(patch: int) -> DynamicsModel:
    torch.manual_seed(0)
    model = DynamicsModel(preset("tiny", latent_dim=D, num_actions=A, patch=patch)).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0.0, 0.2)
    return model


@pytest.mark.parametrize("frames", [24, 10, 3])
def test_dynamics_patches_group_frames_into_tokens_and_keep_every_frame(frames: int) -> None:
    """P = 4 frames per token: any length (padded, cropped back), per-frame output, and the mask is per frame."""
    model = _patched(4)
    assert model.x_embedder.in_features == 4 * (D + 1) and model.final_layer.linear.out_features == 4 * D
    g = torch.Generator().manual_seed(frames)
    noisy, context = torch.randn(1, frames, D, generator=g), torch.randn(1, frames, D, generator=g)
    mask = torch.zeros(1, frames)
    mask[0, 1] = 1.0
    actions = torch.zeros(1, frames, dtype=torch.long)
    v = model(noisy, torch.full((1,), 0.5), context, mask, actions)
    assert v.shape == (1, frames, D) and torch.isfinite(v).all()
    second = mask.clone()
    second[0, 2] = 1.0  # one more frame of the same token generated: that token's prediction changes
    assert (
        model(noisy, torch.full((1,), 0.5), context, second, actions)[0, :4] - v[0, :4]
    ).abs().max() > 1e-4
    mixed = (
        noisy * 0 + context
    ).clone()  # per frame, the model reads noisy where generated, context elsewhere
    mixed[0, 1] = noisy[0, 1]
    assert torch.allclose(model(mixed, torch.full((1,), 0.5), context, mask, actions), v)


def test_dynamics_patch_keeps_the_token_count_and_refuses_nonsense() -> None:
    """A 4x-rate window costs the patched transformer what the plain one costs at 1x: same token count."""
    seen = []
    model = _patched(4)
    model.blocks[0].register_forward_hook(lambda _m, args, _out: seen.append(args[0].shape[1]))
    model(
        torch.randn(1, 64, D),
        torch.rand(1),
        torch.randn(1, 64, D),
        torch.ones(1, 64),
        torch.zeros(1, 64, dtype=torch.long),
    )
    assert seen == [16]
    with pytest.raises(ValueError, match="patch"):
        DynamicsModel(preset("tiny", latent_dim=D, num_actions=A, patch=0))


def test_lam_patches_keep_chunks_and_actions_per_chunk() -> None:
    """P = 2 frames per token with k = 4: actions stay one per chunk, the decoder predicts every frame, hidden
    chunks are still not read, and a patch that does not divide k is refused."""
    torch.manual_seed(0)
    model = LatentActionModel(lam_config("tiny", latent_dim=6, chunk_frames=4, num_actions=4, patch=2)).eval()
    assert model.enc_in.in_features == 12 and model.dec_out.out_features == 12
    x = torch.randn(2, 16, 6)
    logits, ids = model.infer_actions(x)
    assert logits.shape == (2, 4, 4) and model.frame_actions(x).shape == (2, 16)
    mask = torch.tensor([[False, True, False, False]] * 2)
    out = model(x, mask)
    assert out.reconstruction.shape == (2, 16, 6)
    y = x.clone()
    y[:, 4:8] = 100.0  # only the hidden chunk
    actions = model.action_vectors(ids)
    assert torch.allclose(model.reconstruct(x, mask, actions), model.reconstruct(y, mask, actions))
    z = x.clone()
    z[:, 9] = 100.0  # one frame of a visible chunk: its token's two frames are predicted differently
    assert (
        model.reconstruct(z, mask, actions)[:, 8:10] - model.reconstruct(x, mask, actions)[:, 8:10]
    ).abs().max() > 1e-3
    with pytest.raises(ValueError, match="divisor"):
        LatentActionModel(lam_config("tiny", latent_dim=6, chunk_frames=4, patch=3))
