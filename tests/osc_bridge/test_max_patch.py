"""The Max/MSP example patch is valid patcher JSON and speaks only addresses the bridge knows."""

from __future__ import annotations

import json
import re
from pathlib import Path

from osc_bridge import addresses as osc

PATCH = Path(__file__).resolve().parents[2] / "osc_bridge" / "max" / "musegenie.maxpat"


def load_patch() -> dict:
    return json.loads(PATCH.read_text())["patcher"]


def test_patch_structure_is_consistent():
    patcher = load_patch()
    boxes = {b["box"]["id"]: b["box"] for b in patcher["boxes"]}
    assert len(boxes) == len(patcher["boxes"])
    for line in patcher["lines"]:
        (src, outlet), (dst, inlet) = line["patchline"]["source"], line["patchline"]["destination"]
        assert outlet < boxes[src]["numoutlets"], line
        assert inlet < boxes[dst]["numinlets"], line


def test_patch_addresses_exist_in_the_bridge_table():
    texts = " ".join(b["box"].get("text", "") for b in load_patch()["boxes"])
    used = set(re.findall(r"/musegenie/\w+", texts))
    assert {osc.EDIT, osc.EXPLORE, osc.ACTIONS, osc.ACTION, osc.PROGRESS, osc.DONE, osc.ERROR} <= used
    assert used <= set(osc.REQUESTS) | set(osc.REPLIES)


def test_patch_talks_to_the_default_ports():
    texts = [b["box"].get("text", "") for b in load_patch()["boxes"]]
    assert "udpsend 127.0.0.1 9000" in texts and "udpreceive 9001" in texts
