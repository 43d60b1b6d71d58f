"""The MDCT patchify: orthogonal (so the flow and its loss are unchanged), exact round trip, frequency bands."""

import math

import pytest
import torch

from training.models.mdct import MDCT


def _analysis_matrix(transform, n: int) -> torch.Tensor:
    """(N, N): column j is the analysis of the j-th unit impulse, flattened."""
    return torch.stack([transform.analysis(e[None, None]).flatten() for e in torch.eye(n)], dim=1)


@pytest.mark.parametrize("hop", [2, 8, 32])
def test_analysis_is_orthogonal_and_synthesis_is_its_inverse(hop):
    mdct = MDCT(hop)
    a = _analysis_matrix(mdct, 6 * hop)
    assert torch.allclose(a @ a.T, torch.eye(6 * hop), atol=1e-5)
    x = torch.randn(3, 1, 10 * hop)
    coefficients = mdct.analysis(x)
    assert coefficients.shape == (3, hop, 10)
    assert torch.allclose(mdct.synthesis(coefficients), x, atol=1e-5)
    assert torch.allclose(coefficients.pow(2).sum(), x.pow(2).sum(), rtol=1e-4)  # energy (and L2 loss) kept


def test_channels_are_frequency_bands():
    hop, rate = 32, 16_000
    mdct = MDCT(hop)
    for k in (1, 7, 20):
        tone = torch.sin(2 * math.pi * (k + 0.5) * rate / (2 * hop) * torch.arange(64 * hop) / rate)
        energy = mdct.analysis(tone[None, None]).pow(2).sum(-1)[0]  # (P,)
        assert int(energy.argmax()) == k
        assert float(energy[k - 1 : k + 2].sum() / energy.sum()) > 0.9


def test_odd_hop_is_refused():
    with pytest.raises(ValueError, match="even"):
        MDCT(5)
