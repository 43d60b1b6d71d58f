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
    assert {osc.INSTRUMENTS_LIST, osc.INSTRUMENT} <= used
    assert used <= set(osc.REQUESTS) | set(osc.REPLIES)


def test_patch_talks_to_the_default_ports():
    texts = [b["box"].get("text", "") for b in load_patch()["boxes"]]
    assert "udpsend 127.0.0.1 9000" in texts and "udpreceive 9001" in texts


def test_edit_appends_the_chosen_instruments_after_the_action():
    """The Edit message is the pack's [id path start end action] joined with the instrument selector's
    list, which the instrument replies fill."""
    patcher = load_patch()
    boxes = {b["box"]["id"]: b["box"] for b in patcher["boxes"]}
    edges = {
        (tuple(x["patchline"]["source"]), tuple(x["patchline"]["destination"])) for x in patcher["lines"]
    }

    def feeds(src: str, dst: str, inlet: int = 0) -> bool:
        return any(s[0] == src and d == (dst, inlet) for s, d in edges)

    join = next(i for i, b in boxes.items() if b.get("text") == "zl join")
    edit = next(i for i, b in boxes.items() if b.get("text") == f"prepend {osc.EDIT}")
    selector = next(i for i, b in boxes.items() if b["maxclass"] == "umenu" and feeds(i, "instapp"))
    assert feeds("pke", join, 0) and feeds(join, edit, 0) and not feeds("pke", edit, 0)
    assert feeds("instsel", join, 1) and feeds("instapp", "instsel", 0) and selector == "instmenu"
    route = next(b for b in boxes.values() if b.get("text", "").startswith("route "))
    outlet = route["text"].split()[1:].index(osc.INSTRUMENT)
    assert any(s == (route["id"], outlet) for s, _ in edges)


def test_the_closeness_dial_and_the_material_line():
    """A 0..1 number box sends /musegenie/closeness; the done and variant replies' last argument (where the
    material came from) is shown, and only the path goes on to buffer~."""
    patcher = load_patch()
    boxes = {b["box"]["id"]: b["box"] for b in patcher["boxes"]}
    edges = {
        (tuple(x["patchline"]["source"]), tuple(x["patchline"]["destination"])) for x in patcher["lines"]
    }
    dial = next(i for i, b in boxes.items() if b["maxclass"] == "flonum" and b.get("maximum") == 1.0)
    closeness = next(i for i, b in boxes.items() if b.get("text", "").startswith(f"prepend {osc.CLOSENESS} "))
    assert ((dial, 0), (closeness, 0)) in edges and ((closeness, 0), ("send", 0)) in edges
    assert osc.CLOSENESS in osc.REQUESTS
    path_only = [s for (s, d) in edges if d == ("repout", 0)]
    assert len(path_only) == 1 and boxes[path_only[0][0]]["text"] == "zl slice 1" and path_only[0][1] == 0
    shown = [d for (s, d) in edges if s == (path_only[0][0], 1)]
    assert shown and boxes[shown[0][0]]["text"] == "prepend set"


def test_a_dropped_file_is_prepared_at_once():
    """A drop's path is sent as /musegenie/prepare [counter id, path], the gate switched to its fifth outlet
    before the counter bangs (a trigger fires right to left): the engine indexes the song while the user sets
    the region and picks an action."""
    patcher = load_patch()
    boxes = {b["box"]["id"]: b["box"] for b in patcher["boxes"]}
    edges = {
        (tuple(x["patchline"]["source"]), tuple(x["patchline"]["destination"])) for x in patcher["lines"]
    }
    prepare = next(i for i, b in boxes.items() if b.get("text") == f"prepend {osc.PREPARE}")
    (pack,) = [s for s, d in edges if d == (prepare, 0)]
    assert boxes[pack[0]]["text"] == "pack 0 s" and ((prepare, 0), ("send", 0)) in edges
    (path_in,) = [s for s, d in edges if d == (pack[0], 1)]
    (gate_out,) = [s for s, d in edges if d == (pack[0], 0)]
    assert boxes[gate_out[0]]["text"] == "gate 5" and gate_out[1] == 4
    trigger = boxes[path_in[0]]
    assert trigger["text"] == "t b s" and path_in[1] == 1 and (("conf", 0), (trigger["id"], 0)) in edges
    (bang,) = [d for s, d in edges if s == (trigger["id"], 0)]
    order = boxes[bang[0]]
    assert order["text"] == "t b b"
    (select,) = [d[0] for s, d in edges if s == (order["id"], 1)]
    assert boxes[select]["text"] == "5" and ((select, 0), (gate_out[0], 0)) in edges
    assert ((order["id"], 0), ("cnt", 0)) in edges
    assert osc.REQUESTS[osc.PREPARE].params == (osc.ID, osc.IN_PATH)
