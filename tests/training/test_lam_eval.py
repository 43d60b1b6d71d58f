"""LAM evaluation pieces: per-chunk labels, NMI/contingency, action descriptions, delta-PSNR."""

import numpy as np
import torch

from training.data.annotations import EVENT_TYPES, INSTRUMENTS
from training.evaluation.lam import alignment, chunk_labels, controllability, describe_actions, psnr
from training.models.lam import LatentActionModel, MaskConfig, lam_config

DRUMS, ENTER = INSTRUMENTS.index("drums"), EVENT_TYPES.index("enter")


def _windows(n_windows=20, k=4, chunks=4):
    """Windows where chunk 2 always has drums entering (an 'enter' onset) and a latent jump."""
    t = k * chunks
    latents = np.zeros((n_windows, t, 3), np.float32)
    latents[:, 2 * k :] = 5.0
    instruments = np.zeros((n_windows, t, len(INSTRUMENTS)), np.float32)
    instruments[:, 2 * k :, DRUMS] = 1
    events = np.zeros((n_windows, t, len(EVENT_TYPES)), np.float32)
    events[:, 2 * k + 1, ENTER] = 1
    actions = np.tile(np.array([1, 1, 0, 1]), (n_windows, 1))  # action 0 exactly on the event chunk
    return actions, latents, instruments, events, k


def test_chunk_labels_and_alignment():
    labels = chunk_labels(*_windows())
    assert labels.event[:4] == ["none", "none", "enter", "none"]
    assert labels.entered[2, DRUMS] and not labels.entered[3, DRUMS] and not labels.entered[0].any()
    assert np.isnan(labels.change[0]) and labels.change[2] > labels.change[1]
    result = alignment(labels, 3)
    assert abs(result["nmi_event"] - 1.0) < 1e-6  # actions 0/1 determine event/none exactly
    assert abs(result["event_chunk_share"] - 0.25) < 1e-9
    counts = np.array(result["contingency"]["counts"])
    assert counts.shape == (3, len(EVENT_TYPES) + 1) and counts[0, ENTER] == 20 and counts[1, -1] == 60
    assert counts.sum() == 80


def test_descriptions_name_actions_by_what_they_co_occur_with():
    labels = chunk_labels(*_windows())
    actions = describe_actions(labels, 3, annotated=True)
    assert [a["id"] for a in actions] == [0, 1, 2]
    assert actions[0]["name"] in ("enter", "drums enters") and "4.0x" in actions[0]["description"]
    assert actions[2]["name"] == "unused 2"
    assert len({a["name"] for a in actions}) == 3
    plain = describe_actions(labels, 3, annotated=False)
    assert plain[0]["name"] == "big change" and "of chunks" in plain[1]["description"]


def test_delta_psnr_is_zero_when_actions_are_ignored_and_psnr_formula():
    assert abs(psnr(4.0, 4, 2.0) - 10 * np.log10(4.0)) < 1e-9
    torch.manual_seed(0)
    model = LatentActionModel(lam_config("tiny", latent_dim=3, chunk_frames=4, num_actions=4)).eval()
    with torch.no_grad():
        model.action_proj.weight.zero_()  # the decoder cannot see the actions
    batch = {"latents": torch.randn(6, 16, 3), "instruments": torch.zeros(6, 16, 0)}
    result = controllability(model, [batch], MaskConfig(), seed=0)
    assert abs(result["delta_psnr"]) < 1e-6 and len(result["codes"]) == 24
    assert 1.0 <= result["perplexity"] <= 4.0
