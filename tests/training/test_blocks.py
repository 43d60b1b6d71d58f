"""Building blocks: exact space/channel shuffles, parameter-free DC-AE shortcuts, identity AdaLN-Zero."""

import pytest
import torch

from training.models.blocks import (
    AdaLNBlock,
    ChannelNorm,
    Downsample,
    TimestepEmbedding,
    Upsample,
    average_channels,
    channel_to_space,
    duplicate_channels,
    space_to_channel,
)


@pytest.mark.parametrize("factor", [1, 2, 4, 8])
def test_space_to_channel_and_back_are_exact_inverses(factor):
    x = torch.randn(2, 3, 16 * factor)
    y = space_to_channel(x, factor)
    assert y.shape == (2, 3 * factor, 16)
    assert torch.equal(channel_to_space(y, factor), x)
    z = torch.randn(2, 3 * factor, 5)
    assert torch.equal(space_to_channel(channel_to_space(z, factor), factor), z)


def test_space_to_channel_layout():
    x = torch.arange(8.0).reshape(1, 1, 8)
    assert space_to_channel(x, 4)[0].tolist() == [[0, 4], [1, 5], [2, 6], [3, 7]]


def test_shortcut_helpers_have_expected_values():
    x = torch.arange(8.0).reshape(1, 4, 2)
    assert average_channels(x, 2)[0].tolist() == [[1.0, 2.0], [5.0, 6.0]]
    assert duplicate_channels(x[:, :2], 4)[0].tolist() == [[0, 1], [0, 1], [2, 3], [2, 3]]


def test_resampling_shortcuts_are_parameter_free_and_carry_the_signal():
    down, up = Downsample(8, 16, 4), Upsample(16, 8, 4)
    for module in (down, up):
        for p in module.conv.parameters():
            torch.nn.init.zeros_(p)
    # With the learned path at zero, what remains is the shortcut; its parameters are the conv's only.
    assert {n for n, _ in down.named_parameters()} == {"conv.weight", "conv.bias"}
    assert {n for n, _ in up.named_parameters()} == {"conv.weight", "conv.bias"}
    x = torch.randn(2, 8, 32)
    y = down(x)
    assert y.shape == (2, 16, 8)
    assert torch.allclose(y, average_channels(space_to_channel(x, 4), 16))
    # Duplicating up-sampling exactly inverts a down-sampling whose groups hold copies.
    z = up(y)
    assert z.shape == (2, 8, 32)
    assert torch.allclose(down(z), y, atol=1e-6)


def test_resampling_rejects_incompatible_widths():
    with pytest.raises(ValueError, match="multiple"):
        Downsample(3, 5, 2)
    with pytest.raises(ValueError, match="multiple"):
        Upsample(5, 3, 2)


def test_fresh_adaln_zero_block_is_identity():
    block = AdaLNBlock(12, 6)
    block.zero_init()
    x, cond = torch.randn(2, 12, 20), torch.randn(2, 6, 20)
    assert torch.equal(block(x, cond), x)
    # Once the modulation learns, conditioning changes the output.
    torch.nn.init.normal_(block.ada.weight)
    assert not torch.allclose(block(x, cond), block(x, cond + 1))


def test_channel_norm_normalises_each_position():
    y = ChannelNorm()(torch.randn(3, 16, 7) * 5 + 2)
    assert torch.allclose(y.mean(1), torch.zeros(3, 7), atol=1e-5)
    assert torch.allclose(y.var(1, unbiased=False), torch.ones(3, 7), atol=1e-3)


def test_timestep_embedding_distinguishes_levels():
    emb = TimestepEmbedding(32)
    out = emb(torch.tensor([0.0, 0.5, 1.0]))
    assert out.shape == (3, 32)
    assert not torch.allclose(out[0], out[2])
