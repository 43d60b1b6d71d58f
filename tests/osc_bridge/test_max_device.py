"""The Max for Live device and the Max patch, checked from their structure (no Max or Live here): the
committed files are the builder's output, the .amxd parses chunk by chunk, every object is one Max or Max
for Live ships, every cord fits its objects, every OSC message matches the bridge's table, and the device's
Live API script passes its node tests against a LiveAPI double."""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from osc_bridge import addresses as osc
from osc_bridge import max_device

HERE = Path(__file__).resolve().parent
SCRIPT = max_device.MAX_DIR / max_device.SCRIPT
# Object classes Max 8 / Max for Live ship that these patchers may use; anything else (a typo, a third-party
# external) would load as a broken box.
MAX_CLASSES = {
    "comment", "message", "flonum", "number", "umenu", "textbutton", "slider", "waveform~", "dropfile", "ezdac~",
    "conformpath", "t", "prepend", "buffer~", "loadbang", "counter", "gate", "pack", "zl", "*", "udpsend",
    "udpreceive", "route", "print", "play~", "js",
}  # fmt: skip
LIVE_CLASSES = {"live.numbox", "live.menu", "live.text", "live.thisdevice", "plugin~", "plugout~"}


def chunks(data: bytes) -> list[tuple[str, bytes]]:
    """The .amxd's chunks: 4-byte ASCII tag, little-endian uint32 size, data; nothing may be left over."""
    out, at = [], 0
    while at < len(data):
        tag, (size,) = data[at : at + 4].decode("ascii"), struct.unpack("<I", data[at + 4 : at + 8])
        assert at + 8 + size <= len(data), f"{tag} runs past the end"
        out.append((tag, data[at + 8 : at + 8 + size]))
        at += 8 + size
    return out


def device_patcher() -> dict:
    ptch = dict(chunks(max_device.DEVICE_FILE.read_bytes()))["ptch"]
    assert ptch.endswith(b"\0") and not ptch.startswith(b"mx@c")  # Max's NUL, not frozen
    return json.loads(ptch[:-1].decode("utf-8"))["patcher"]


def patchers() -> dict[str, dict]:
    return {"patch": json.loads(max_device.PATCH_FILE.read_text())["patcher"], "device": device_patcher()}


def graph(patcher: dict) -> tuple[dict, set]:
    boxes = {b["box"]["id"]: b["box"] for b in patcher["boxes"]}
    cords = {(*x["patchline"]["source"], *x["patchline"]["destination"]) for x in patcher["lines"]}
    return boxes, cords


def object_class(box: dict) -> str:
    return box["text"].split()[0] if box["maxclass"] == "newobj" else box["maxclass"]


def test_the_committed_files_are_the_builders_output():
    for path, data in max_device.build().items():
        assert path.read_bytes() == data, f"{path.name} is stale: python -m osc_bridge.max_device"


def test_the_amxd_is_an_unencrypted_audio_effect_with_a_json_patcher():
    tags = chunks(max_device.DEVICE_FILE.read_bytes())
    assert [t for t, _ in tags] == ["ampf", "meta", "ptch"]
    assert tags[0][1] == b"aaaa" and len(tags[1][1]) == 4
    patcher = device_patcher()
    assert patcher["openinpresentation"] == 1 and patcher["boxes"]


@pytest.mark.parametrize("target", ["patch", "device"])
def test_every_object_ships_with_max_and_every_cord_fits(target):
    boxes, cords = graph(patchers()[target])
    allowed = MAX_CLASSES | (LIVE_CLASSES if target == "device" else set())
    assert {object_class(b) for b in boxes.values()} <= allowed
    assert len(boxes) == len(patchers()[target]["boxes"])
    for src, outlet, dst, inlet in cords:
        assert outlet < boxes[src]["numoutlets"] and inlet < boxes[dst]["numinlets"], (
            src,
            outlet,
            dst,
            inlet,
        )


@pytest.mark.parametrize(
    ("target", "cls", "outlet"), [("patch", "textbutton", 1), ("device", "live.text", 0)]
)
def test_a_click_sends_one_request(target, cls, outlet):
    """textbutton's left outlet may bang on press and on release; its middle one sends its text once per
    click. live.text bangs its left outlet once."""
    boxes, cords = graph(patchers()[target])
    buttons = {i for i, b in boxes.items() if b["maxclass"] == cls}
    used = {(s, o) for s, o, _, _ in cords if s in buttons}
    assert used and {o for _, o in used} == {outlet}


def _signature(boxes: dict, cords: set, box_id: str) -> list:
    """Argument types reaching a `prepend` box: what the objects feeding its inlet send (a trailing `...`
    stands for any number of symbols, the instrument picks joined after the pack)."""
    box = boxes[box_id]
    cls, args = object_class(box), box.get("text", "").split()[1:]
    if cls == "prepend":
        fixed = [
            int if re.fullmatch(r"-?\d+", a) else float if re.fullmatch(r"-?\d+\.\d*", a) else str
            for a in args
        ]
        (src,) = {s for s, _, d, i in cords if d == box_id and i == 0}
        return fixed[1:] + _signature(boxes, cords, src)
    if cls == "pack":
        return [{"0": int, "0.": float, "s": str}[a] for a in args]
    if cls == "zl" and args == ["join"]:
        (left,) = {s for s, _, d, i in cords if d == box_id and i == 0}
        return _signature(boxes, cords, left) + [...]
    if cls == "gate":
        return [int]  # the request counter
    if cls == "number" or (
        cls == "live.numbox" and box["saved_attribute_attributes"]["valueof"]["parameter_type"]
    ):
        return [int]  # an int box (live.numbox parameter_type 1)
    if cls in ("flonum", "live.numbox"):
        return [float]
    raise AssertionError(f"unexpected sender {cls} {args}")


def _matches(sig: list, params: tuple[osc.Param, ...]) -> bool:
    sig, at = list(sig), 0
    for p in params:

        def ok(t, kind=p.kind):
            return t is kind or (kind is float and t is int)

        if p.variadic:
            run = 0
            while at < len(sig) and sig[at] is not ... and ok(sig[at]):
                at, run = at + 1, run + 1
            if at < len(sig) and sig[at] is ... and p.kind is str:
                at, run = at + 1, run + 1
            if run == 0 and not (p.optional and at == len(sig)):
                return False
        elif at < len(sig) and sig[at] is not ... and ok(sig[at]):
            at += 1
        else:
            return False
    return at == len(sig)


@pytest.mark.parametrize("target", ["patch", "device"])
def test_every_osc_message_matches_the_bridge_table(target):
    boxes, cords = graph(patchers()[target])
    sent = [i for i, b in boxes.items() if (b.get("text") or "").startswith(f"prepend {osc.PREFIX}/")]
    # The device's script sends /musegenie/prepare itself (for the clip it reads); the patch on a dropped file.
    assert {boxes[i]["text"].split()[1] for i in sent} == {
        osc.EDIT,
        osc.EXPLORE,
        osc.ACTIONS,
        osc.INSTRUMENTS_LIST,
        osc.CLOSENESS,
        osc.SEED,
    } | ({osc.PREPARE} if target == "patch" else set())
    for i in sent:
        address = boxes[i]["text"].split()[1]
        assert _matches(_signature(boxes, cords, i), osc.REQUESTS[address].params), boxes[i]["text"]
    assert all(s != i or d == "send" for i in sent for s, _, d, _ in cords)
    route = next(b["text"].split()[1:] for b in boxes.values() if (b.get("text") or "").startswith("route "))
    assert set(route) <= set(osc.REPLIES)


def test_the_signature_check_refuses_a_wrong_message():
    edit = osc.REQUESTS[osc.EDIT].params
    assert _matches([int, str, float, float, int, ...], edit) and _matches([int, str, int, int, int], edit)
    assert not _matches([int, str, float, float], edit)  # no action
    assert not _matches([int, str, float, float, float], edit)  # a float action
    assert not _matches([int, float, float], osc.REQUESTS[osc.CLOSENESS].params)  # one value too many


def test_the_device_fits_lives_strip_saves_its_state_and_cannot_be_automated_into_an_edit():
    patcher = device_patcher()
    boxes, cords = graph(patcher)
    shown = [b for b in boxes.values() if b.get("presentation")]
    for b in shown:
        x, y, w, h = b["presentation_rect"]
        assert y + h <= max_device.DEVICE_HEIGHT and x + w <= patcher["devicewidth"], b["id"]
    for i, a in enumerate(shown):  # nothing on the strip hides another
        (ax, ay, aw, ah) = a["presentation_rect"]
        for b in shown[i + 1 :]:
            (bx, by, bw, bh) = b["presentation_rect"]
            assert not (ax < bx + bw and bx < ax + aw and ay < by + bh and by < ay + ah), (a["id"], b["id"])
    controls = [b for b in boxes.values() if b["maxclass"].startswith("live.")]
    assert {b["id"] for b in controls} == {"getclip", "start", "end", "menu", "editb", "explb", "refb",
                                           "instmenu", "instclrb", "close", "take"}  # fmt: skip
    assert all(b in shown for b in controls) and all(b["parameter_enable"] == 1 for b in controls)
    assert set(patcher["parameters"]) == {b["id"] for b in controls}  # Live's list of the device's parameters
    invisible = {b["id"]: b["saved_attribute_attributes"]["valueof"]["parameter_invisible"] for b in controls}
    assert set(invisible.values()) <= {1, 2}  # stored only or hidden: nothing Live can automate
    assert all(invisible[i] == 2 for i in ("editb", "explb", "refb", "getclip", "instclrb"))
    assert ("plugin", 0, "plugout", 0) in cords and ("plugin", 1, "plugout", 1) in cords  # track audio passes
    assert {"errmsg", "srcmsg", "status", "prog"} <= {b["id"] for b in shown}  # errors, material, bridge


def test_the_device_script_is_beside_it_and_speaks_the_table():
    boxes, cords = graph(device_patcher())
    js = next(b for b in boxes.values() if object_class(b) == "js")
    assert (max_device.MAX_DIR / js["text"].split()[1]).is_file()
    source = SCRIPT.read_text()
    assert js["numoutlets"] == int(re.search(r"^outlets = (\d+);", source, re.M)[1])
    assert set(re.findall(r'"(/musegenie/\w+)"', source)) <= set(osc.REQUESTS) | set(osc.REPLIES)
    assert {("recv", 0, "live", 0), ("live", 0, "send", 0), ("thisdev", 0, "live", 0)} <= cords
    assert ("live", 7, "tra", 0) in cords  # the menus are asked for once the bridge answers


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_live_api_script_under_node():
    run = subprocess.run(
        ["node", "--test", str(HERE / "musegenie_js.test.js")], capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "# fail 0" in run.stdout and "# pass 14" in run.stdout
