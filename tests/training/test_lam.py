"""Latent action model: masks, shapes, action dependence, instrument conditioning, ONNX export."""

import dataclasses

import numpy as np
import onnxruntime as ort
import pytest
import torch

from training.models.lam import (
    PRESETS,
    LatentActionModel,
    MaskConfig,
    lam_config,
    sample_chunk_mask,
)


def _model(**overrides) -> LatentActionModel:
    torch.manual_seed(0)
    return LatentActionModel(
        lam_config("tiny", latent_dim=6, chunk_frames=3, num_actions=4, **overrides)
    ).eval()


@pytest.mark.parametrize("chunks", [2, 3, 8, 17])
def test_masks_never_cover_everything_nor_nothing(chunks):
    g = torch.Generator().manual_seed(chunks)
    for config in (
        MaskConfig(),
        MaskConfig(segment_prob=0.0, random_min=0.99, random_max=1.0),
        MaskConfig(segment_prob=0.0, random_min=0.0, random_max=0.01),
        MaskConfig(segment_prob=1.0),
    ):
        mask = sample_chunk_mask(2000, chunks, config, g)
        assert mask.shape == (2000, chunks) and mask.dtype == torch.bool
        assert mask.any(1).all() and (~mask).all(1).logical_not().all()
        assert (~mask).any(1).all()


def test_mask_mixes_segments_and_random_chunks():
    g = torch.Generator().manual_seed(0)
    mask = sample_chunk_mask(4000, 8, MaskConfig(segment_prob=1.0), g)
    runs = (mask[:, 1:] & ~mask[:, :-1]).sum(1) + mask[:, 0].long()  # number of masked runs per row
    assert (runs == 1).all()
    mask = sample_chunk_mask(4000, 8, MaskConfig(segment_prob=0.0), g)
    runs = (mask[:, 1:] & ~mask[:, :-1]).sum(1) + mask[:, 0].long()
    assert (runs > 1).float().mean() > 0.3
    rate = mask.float().mean().item()
    assert 0.45 < rate < 0.65  # mean of U(0.3, 0.8)


def test_mask_needs_two_chunks():
    with pytest.raises(ValueError, match="at least 2 chunks"):
        sample_chunk_mask(1, 1, MaskConfig())


def test_shapes_and_chunk_multiple():
    model = _model()
    x = torch.randn(2, 12, 6)
    logits, ids = model.infer_actions(x)
    assert logits.shape == (2, 4, 4) and ids.shape == (2, 4) and ids.dtype == torch.int64
    assert torch.equal(ids, logits.argmax(-1))
    assert torch.equal(model.frame_actions(x), ids.repeat_interleave(3, dim=1))
    out = model(x, torch.tensor([[True, False, False, True]] * 2))
    assert out.reconstruction.shape == (2, 12, 6) and out.actions.codes.shape == (2, 4)
    with pytest.raises(ValueError, match="multiple of chunk_frames"):
        model.infer_actions(torch.randn(1, 10, 6))


def test_masked_frames_are_not_read_by_the_decoder():
    model = _model()
    x = torch.randn(1, 12, 6)
    mask = torch.tensor([[False, True, False, False]])
    actions = model.action_vectors(torch.tensor([[0, 1, 2, 3]]))
    y = x.clone()
    y[:, 3:6] = 100.0  # change only the hidden chunk
    assert torch.allclose(model.reconstruct(x, mask, actions), model.reconstruct(y, mask, actions))


def test_changing_one_chunks_action_changes_that_chunks_prediction():
    model = _model()
    x = torch.randn(1, 12, 6)
    mask = torch.tensor([[False, True, True, False]])
    a = model.reconstruct(x, mask, model.action_vectors(torch.tensor([[0, 0, 0, 0]])))
    b = model.reconstruct(x, mask, model.action_vectors(torch.tensor([[0, 3, 0, 0]])))
    assert (a[:, 3:6] - b[:, 3:6]).abs().max() > 1e-3


def test_instrument_conditioning_is_per_chunk():
    model = _model(num_instruments=2)
    x = torch.randn(1, 12, 6)
    mask = torch.tensor([[False, True, False, False]])
    actions = model.action_vectors(torch.zeros(1, 4, dtype=torch.long))
    off = torch.zeros(1, 12, 2)
    on = off.clone()
    on[:, 4, 0] = 1.0  # one frame of the second chunk: the whole chunk counts as playing
    a, b = model.reconstruct(x, mask, actions, off), model.reconstruct(x, mask, actions, on)
    assert (a - b).abs().max() > 1e-4
    assert torch.allclose(model.reconstruct(x, mask, actions, None), a)
    assert model.infer_actions(x, on)[0].shape == (1, 4, 4)


def test_training_step_reduces_masked_loss():
    torch.manual_seed(0)
    model = LatentActionModel(lam_config("tiny", latent_dim=6, chunk_frames=3, num_actions=4))
    opt = torch.optim.Adam(model.parameters(), 3e-3)
    x = torch.randn(8, 12, 6)
    mask = sample_chunk_mask(8, 4, MaskConfig(), torch.Generator().manual_seed(0))
    losses = []
    for _ in range(40):
        out = model(x, mask)
        frame_mask = mask.repeat_interleave(3, 1)[..., None].float()
        loss = (
            (out.reconstruction - x) ** 2 * frame_mask
        ).sum() / frame_mask.sum() / 6 + out.actions.commitment
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.7 * losses[0]
    assert model.to_code.weight.grad.abs().sum() > 0  # the encoder learns through the straight-through VQ


def test_presets_build():
    for name in PRESETS:
        config = lam_config(name, latent_dim=8, chunk_frames=2)
        assert dataclasses.asdict(config)["num_actions"] == 8
        LatentActionModel(config)
    with pytest.raises(ValueError, match="unknown LAM preset"):
        lam_config("huge")


def test_infer_actions_exports_to_onnx(tmp_path):
    model = _model(num_instruments=2)

    class Wrapper(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, latents, instruments):
            return self.m.infer_actions(latents, instruments)

    x, inst = torch.randn(2, 12, 6), (torch.rand(2, 12, 2) > 0.5).float()
    path = tmp_path / "lam.onnx"
    torch.onnx.export(
        Wrapper(model),
        (x, inst),
        str(path),
        input_names=["latents", "instruments"],
        output_names=["action_logits", "actions"],
        dynamo=False,
        dynamic_axes={
            "latents": {0: "B", 1: "T"},
            "instruments": {0: "B", 1: "T"},
            "action_logits": {0: "B", 1: "K"},
            "actions": {0: "B", 1: "K"},
        },
    )
    session = ort.InferenceSession(str(path))
    x2, inst2 = torch.randn(3, 18, 6), (torch.rand(3, 18, 2) > 0.5).float()
    logits, ids = session.run(None, {"latents": x2.numpy(), "instruments": inst2.numpy()})
    ref_logits, ref_ids = model.infer_actions(x2, inst2)
    np.testing.assert_allclose(logits, ref_logits.detach().numpy(), atol=1e-4)
    assert np.array_equal(ids, ref_ids.numpy())
