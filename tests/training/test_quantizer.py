"""Vector quantiser: straight-through gradient, EMA codebook, dead-code reset, statistics."""

import torch
import torch.nn.functional as F

from training.models.quantizer import VectorQuantizer


def test_forward_picks_nearest_code_and_passes_gradient_straight_through():
    torch.manual_seed(0)
    vq = VectorQuantizer(num_codes=4, dim=3).eval()
    z = torch.randn(5, 7, 3, requires_grad=True)
    out = vq(z)
    expected = (F.normalize(z, dim=-1) @ vq.codebook.t()).argmax(-1)
    assert torch.equal(out.codes, expected)
    assert torch.allclose(out.quantized, vq.codebook[out.codes], atol=1e-6)
    weights = torch.randn(5, 7, 3)
    (out.quantized * weights).sum().backward()
    # straight-through: d quantized / d normalize(z) is the identity, so the gradient equals that of normalize(z)
    z2 = z.detach().clone().requires_grad_(True)
    (F.normalize(z2, dim=-1) * weights).sum().backward()
    assert torch.allclose(z.grad, z2.grad, atol=1e-6)
    assert z.grad.abs().sum() > 0


def test_commitment_loss_and_statistics():
    vq = VectorQuantizer(num_codes=4, dim=3, commitment=0.5).eval()
    z = vq.codebook[torch.tensor([0, 1, 2, 3, 0, 1, 2, 3])].clone()  # exactly on the codes, uniform use
    out = vq(z)
    assert out.commitment.item() < 1e-10
    assert abs(out.perplexity.item() - 4.0) < 1e-4
    assert out.usage.item() == 1.0
    out = vq(z[:1].expand(8, 3) + 0.1)
    assert out.commitment.item() > 0
    assert abs(out.perplexity.item() - 1.0) < 1e-4
    assert out.usage.item() == 0.25


def test_eval_mode_leaves_codebook_alone_and_training_moves_it_toward_data():
    torch.manual_seed(1)
    vq = VectorQuantizer(num_codes=2, dim=4, decay=0.5)
    before = vq.codebook.clone()
    vq.eval()(torch.randn(16, 4))
    assert torch.equal(vq.codebook, before)
    target = F.normalize(torch.tensor([1.0, 2.0, 3.0, 4.0]), dim=0)
    vq.train()
    for _ in range(30):
        vq(target + 0.01 * torch.randn(64, 4))
    used = vq(target[None]).codes.item()
    assert torch.allclose(vq.codebook[used], target, atol=0.02)


def test_dead_code_reset_revives_unused_codes():
    torch.manual_seed(2)
    vq = VectorQuantizer(num_codes=8, dim=4, decay=0.9, dead_fraction=0.1)
    with torch.no_grad():  # every code but 0 points away from the data, so only code 0 wins at first
        vq.codebook.copy_(
            F.normalize(
                torch.tensor([[1.0, 0, 0, 0]] + [[-1.0, -0.1 * i, -0.5, -0.5] for i in range(7)]), dim=-1
            )
        )
        vq.ema_sum.copy_(vq.codebook)
        vq.initialized.fill_(True)  # keep these codes (no init from the first batch)
    data = F.normalize(
        torch.randn(512, 4).abs(), dim=-1
    )  # positive orthant: nearest is always code 0 at start
    assert vq.eval()(data).usage.item() == 1 / 8
    vq.train()
    for _ in range(60):
        vq(data[torch.randint(0, 512, (128,))])
    out = vq.eval()(data)
    assert out.usage.item() == 1.0
    assert out.perplexity.item() > 4.0


def test_first_training_batch_initialises_distinct_codes():
    torch.manual_seed(3)
    vq = VectorQuantizer(num_codes=4, dim=3)
    centres = F.normalize(torch.tensor([[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0], [-1.0, -1.0, -1.0]]), dim=-1)
    data = centres.repeat(16, 1) + 0.01 * torch.randn(64, 3)
    out = vq(data)
    assert bool(vq.initialized) and out.usage.item() == 1.0
    assert abs(out.perplexity.item() - 4.0) < 1e-3


def test_entropy_penalty_prefers_spread_confident_assignments():
    vq = VectorQuantizer(num_codes=4, dim=3, entropy_weight=1.0, temperature=0.05).eval()
    spread = vq.codebook[torch.arange(4).repeat(4)]  # each vector on a different code, evenly
    collapsed = vq.codebook[torch.zeros(16, dtype=torch.long)]
    assert vq(spread).entropy.item() < vq(collapsed).entropy.item() - 1.0
    z = collapsed.clone().requires_grad_(True)
    vq(z + 0.1 * torch.randn(16, 3)).penalty.backward()
    assert z.grad.abs().sum() > 0
    assert VectorQuantizer(4, 3).eval()(spread).entropy.item() == 0.0
