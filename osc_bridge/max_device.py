"""The Max patch (`max/musegenie.maxpat`) and the Max for Live device (`max/musegenie.amxd`), built from one
description.

Both share every object that speaks OSC (request packs, the reply router, progress, errors, the material
line, closeness, the take, A/B audition); they differ only where Max and Live differ: the patch takes a
dropped file and plain UI objects, the device takes the clip in Live's Clip View through `musegenie.js`
(the Live API part) and `live.*` controls, so its state saves with the Live set and nothing in it can be
automated into firing an edit. The committed files are this module's output; a test rebuilds them and compares bytes.

    python -m osc_bridge.max_device        # rewrites both files in osc_bridge/max/
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

from osc_bridge import addresses as osc

MAX_DIR = Path(__file__).resolve().parent / "max"
PATCH_FILE, DEVICE_FILE, SCRIPT = MAX_DIR / "musegenie.maxpat", MAX_DIR / "musegenie.amxd", "musegenie.js"
SEND, RECEIVE = "udpsend 127.0.0.1 9000", "udpreceive 9001"
DEVICE_HEIGHT = 169.0  # Live's device strip is 169 px high; presentation mode must fit it
ROUTED = (osc.ACTION, osc.PROGRESS, osc.DONE, osc.ERROR, osc.VARIANT, osc.PONG, osc.INSTRUMENT)

# (inlets, outlets, outlet types) of the UI classes used; objects typed into a box are counted in `ports`.
UI_PORTS: dict[str, tuple[int, int, list[str] | None]] = {
    "comment": (1, 0, None),
    "message": (2, 1, [""]),
    "flonum": (1, 2, ["", ""]),
    "number": (1, 2, ["", "bang"]),
    "umenu": (1, 3, ["", "", ""]),
    "textbutton": (1, 3, ["", "", ""]),
    "slider": (1, 1, [""]),
    "waveform~": (5, 6, [""] * 6),
    "dropfile": (1, 2, ["", ""]),
    "ezdac~": (2, 0, None),
    "live.numbox": (1, 2, ["", "float"]),
    "live.menu": (1, 3, ["", "", "float"]),
    "live.text": (1, 2, ["", ""]),
}
JS_OUTLETS = 8  # musegenie.js: osc, path, start, end, action menu, instrument menu, status, refresh


def ports(maxclass: str, text: str | None) -> tuple[int, int, list[str] | None]:
    """Inlets and outlets of a box: Max stores them in the file and checks patch cords against them."""
    if maxclass != "newobj":
        return UI_PORTS[maxclass]
    word, args = text.split()[0], text.split()[1:]
    fixed = {
        "conformpath": (1, 2),
        "prepend": (1, 1),
        "buffer~": (1, 2),
        "loadbang": (1, 1),
        "counter": (5, 4),
        "udpsend": (1, 0),
        "udpreceive": (1, 1),
        "zl": (2, 2),
        "*": (2, 1),
        "print": (1, 0),
        "live.thisdevice": (1, 3),
        "js": (1, JS_OUTLETS),
    }
    if word in fixed:
        ins, outs = fixed[word]
    elif word in ("t", "trigger"):
        ins, outs = 1, len(args)
    elif word == "gate":
        ins, outs = 2, int(args[0])
    elif word == "pack":
        ins, outs = len(args), 1
    elif word == "route":
        ins, outs = 1, len(args) + 1
    elif word == "play~":
        return 2, 3, ["signal", "signal", "bang"]
    elif word == "plugin~":
        return 2, 2, ["signal", "signal"]
    elif word == "plugout~":
        return 2, 0, None
    else:
        raise KeyError(f"no port count for {word!r}")
    return ins, outs, ([""] * outs or None)


def _control(target: str, kind: str, name: str, **spec) -> tuple[str, str | None, dict]:
    """A UI control: the patch's plain object or the device's live.* one (a Live parameter, stored with the
    set; buttons are hidden from Live so automation cannot press them, values are 'stored only')."""
    if target == "patch":
        cls = {"number": "flonum", "integer": "number", "menu": "umenu", "button": "textbutton"}[kind]
        attrs = {"items": []} if kind == "menu" else {}
        attrs.update({k: spec[k] for k in ("minimum", "maximum") if k in spec})
        return cls, spec.get("text"), attrs
    valueof: dict = {"parameter_longname": name, "parameter_shortname": name[:8]}
    if kind in ("number", "integer"):
        # parameter_type 0 (float) or 1 (int); unitstyle 1 shows a float, 0 an int.
        whole = kind == "integer"
        cls, valueof["parameter_type"] = "live.numbox", int(whole)
        # Region bounds up to an hour into a file (only the region's window travels; songs up to --max-song-minutes).
        valueof.update(parameter_mmin=spec.get("minimum", 0.0), parameter_mmax=spec.get("maximum", 3600.0))
        valueof.update(parameter_initial_enable=1, parameter_initial=[spec.get("initial", 0.0)])
        valueof.update(parameter_invisible=1, parameter_unitstyle=0 if whole else 1)
        extra = {}
    elif kind == "menu":
        cls = "live.menu"
        valueof.update(parameter_type=2, parameter_enum=["-"], parameter_invisible=1)
        extra = {}
    else:
        cls = "live.text"
        valueof.update(parameter_type=2, parameter_enum=["val1", "val2"], parameter_invisible=2)
        extra = {"mode": 0, "text": spec["text"], "texton": spec["text"]}
    attrs = {"parameter_enable": 1, "varname": name, "saved_attribute_attributes": {"valueof": valueof}}
    return cls, None, {**attrs, **extra}


def describe(target: str) -> tuple[list[dict], list[tuple[str, int, str, int]]]:
    """Boxes and cords of the patch ("patch") or the device ("device")."""
    dev = target == "device"
    # `---` makes a buffer name local to one device instance, so two devices in a set do not share audio.
    buf_in, buf_out = ("---mg_in", "---mg_out") if dev else ("mg_in", "mg_out")
    boxes: list[dict] = []

    def box(id_, cls, text, rect, present=None, /, **attrs):
        ins, outs, types = ports(cls, text)
        b = {"id": id_, "maxclass": cls, "numinlets": ins, "numoutlets": outs, "patching_rect": list(rect)}
        if types:
            b["outlettype"] = types
        if text is not None:
            b["text"] = text
        if dev and present is not None:
            b.update(presentation=1, presentation_rect=list(present))
        boxes.append({"box": {**b, **attrs}})

    def control(id_, kind, name, rect, present, **spec):
        cls, text, attrs = _control(target, kind, name, **spec)
        box(id_, cls, text, rect, present, **attrs)

    def label(id_, text, rect, present=None, short=None):
        """A comment; on the device, whose strip is narrow, `short` replaces its text."""
        box(id_, "comment", short if dev and short else text, rect, present)

    if dev:
        label(
            "title",
            "musegenie: the clip in Clip View, its loop brace as the region",
            (20, 10, 760, 20),
            (4, 2, 300, 18),
        )
        box("thisdev", "newobj", "live.thisdevice", (330, 10, 100, 22))
        box("live", "newobj", f"js {SCRIPT}", (20, 40, 300, 22), saved_object_attributes={"filename": SCRIPT})
        control("getclip", "button", "Get clip", (20, 70, 80, 20), (4, 22, 60, 16), text="Get clip")
        box("status", "message", "", (110, 70, 300, 22), (68, 22, 260, 16))
        box("desc", "newobj", "prepend describe", (160, 300, 110, 22))
        box("plugin", "newobj", "plugin~", (800, 660, 60, 22))
        box("plugout", "newobj", "plugout~", (800, 720, 60, 22))
    else:
        label(
            "title",
            "musegenie: drop a file (the engine indexes it at once), set the region, pick an action, Edit. "
            "Start the bridge first: make serve (OSC in 9000, replies 9001).",
            (20, 10, 760, 20),
        )
        box("drop", "dropfile", None, (20, 40, 300, 60))
        label("dropc", "drop an audio file here", (30, 60, 280, 20))
    box("conf", "newobj", "conformpath slash boot", (20, 110, 150, 22))
    box("tpath", "newobj", "t s s s", (20, 140, 60, 22))
    box("repin", "newobj", "prepend replace", (200, 180, 100, 22))
    box("bufin", "newobj", f"buffer~ {buf_in}", (200, 210, 110, 22))
    box("wavin", "waveform~", None, (330, 40, 420, 80), (334, 2, 200, 60), buffername=buf_in)
    label("startc", "start (s)", (20, 250, 60, 20), (4, 42, 50, 18))
    control("start", "number", "Start", (20, 270, 60, 22), (4, 60, 56, 16), minimum=0.0)
    label("endc", "end (s)", (90, 250, 60, 20), (64, 42, 50, 18))
    control("end", "number", "End", (90, 270, 60, 22), (64, 60, 56, 16), minimum=0.0)
    label("menuc", "action", (160, 250, 120, 20), (124, 42, 100, 18))
    control("menu", "menu", "Action", (160, 270, 160, 22), (124, 60, 100, 16))
    control("editb", "button", "Edit", (20, 310, 80, 24), (4, 82, 56, 18), text="Edit")
    control("explb", "button", "Explore", (110, 310, 80, 24), (64, 82, 56, 18), text="Explore")
    control("refb", "button", "Refresh", (200, 310, 120, 24), (124, 82, 100, 18), text="Refresh actions")
    if not dev:
        box("lb", "newobj", "loadbang", (330, 310, 60, 22))
    box("cnt", "newobj", "counter 1 100000", (20, 350, 80, 22))
    box("gate", "newobj", "gate 4" if dev else "gate 5", (20, 410, 60, 22))
    for i, id_ in enumerate(("sel_e", "sel_x", "sel_a", "sel_i")):
        box(id_, "message", str(i + 1), (110 + 40 * i, 380, 30, 22))
    box("tre", "newobj", "t b b b", (250, 350, 50, 22))
    box("trx", "newobj", "t b b", (310, 350, 50, 22))
    box("tra", "newobj", "t b b b b b b" if not dev else "t b b b b", (370, 350, 100, 22))
    box("pke", "newobj", "pack 0 s 0. 0. 0", (20, 450, 140, 22))
    box("pkx", "newobj", "pack 0 s 0. 0.", (180, 450, 120, 22))
    box("join", "newobj", "zl join", (20, 480, 80, 22))
    box("pre", "newobj", f"prepend {osc.EDIT}", (20, 505, 140, 22))
    box("prx", "newobj", f"prepend {osc.EXPLORE}", (180, 480, 150, 22))
    box("pra", "newobj", f"prepend {osc.ACTIONS}", (340, 480, 150, 22))
    box("pri", "newobj", f"prepend {osc.INSTRUMENTS_LIST}", (500, 480, 170, 22))
    box("send", "newobj", SEND, (20, 520, 160, 22))
    box("recv", "newobj", RECEIVE, (420, 520, 110, 22))
    box("route", "newobj", "route " + " ".join(ROUTED), (420, 550, 560, 22))
    box("slP", "newobj", "zl slice 1", (530, 590, 70, 22))
    box("mulP", "newobj", "* 100.", (530, 620, 50, 22))
    box(
        "prog",
        "slider",
        None,
        (530, 650, 140, 20),
        (4, 104, 220, 10),
        orientation=1,
        size=101.0,
        ignoreclick=1,
    )
    label("progc", "progress", (530, 672, 140, 20))
    box("slD", "newobj", "zl slice 1", (640, 590, 70, 22))
    box("slV", "newobj", "zl slice 2", (860, 590, 70, 22))
    box("slD2", "newobj", "zl slice 1", (640, 650, 70, 22))
    box("repout", "newobj", "prepend replace", (640, 620, 100, 22))
    box("bufout", "newobj", f"buffer~ {buf_out}", (640, 700, 110, 22))
    box("wavout", "waveform~", None, (330, 130, 420, 80), (334, 64, 200, 60), buffername=buf_out)
    box("errset", "newobj", "prepend set", (760, 590, 80, 22))
    box("errmsg", "message", "", (760, 620, 220, 22), (4, 124, 326, 16))
    box("srcset", "newobj", "prepend set", (760, 650, 80, 22))
    box("srcmsg", "message", "", (760, 680, 220, 22), (4, 144, 326, 16))
    label("srcc", "where the edit's material came from; how it is heard", (760, 705, 220, 20))
    box("print", "newobj", "print musegenie", (960, 590, 110, 22))
    label("abc", "A/B: play the original or the edit", (20, 560, 300, 20))
    if dev:  # the strip labels each audition button beside its waveform
        label("before", "before", (230, 560, 60, 20), (538, 2, 60, 18))
        label("after", "after", (300, 560, 60, 20), (538, 64, 60, 18))
    box("playA", "message", "start", (20, 580, 70, 22), (538, 20, 60, 18))
    box("playB", "message", "start", (100, 580, 70, 22), (538, 82, 60, 18))
    box("stopm", "message", "stop", (180, 580, 40, 22), (538, 126, 60, 18))
    box("pA", "newobj", f"play~ {buf_in} 2", (20, 620, 80, 22))
    box("pB", "newobj", f"play~ {buf_out} 2", (110, 620, 80, 22))
    if not dev:
        box("dac", "ezdac~", None, (20, 660, 45, 45))
    label(
        "instc",
        "who plays (pick to add; none = as it is)",
        (330, 250, 260, 20),
        (230, 42, 100, 18),
        "who plays",
    )
    control("instmenu", "menu", "Instrument", (330, 270, 140, 22), (230, 60, 100, 16))
    box("instsel", "message", "", (480, 270, 160, 22), (230, 82, 70, 18))
    control("instclrb", "button", "Clear", (650, 270, 60, 22), (302, 82, 28, 18), text="Clear")
    box("instclrt", "newobj", "t b b", (650, 300, 50, 22))
    box("instset", "message", "set", (650, 330, 30, 22))
    box("instzlc", "message", "zlclear", (690, 330, 50, 22))
    box("instapp", "newobj", "prepend append", (330, 300, 100, 22))
    label(
        "closec",
        "closeness: 0 generates .. 1 the song's own material",
        (760, 250, 300, 20),
        (230, 104, 70, 18),
        "closeness",
    )
    control(
        "close",
        "number",
        "Closeness",
        (760, 270, 60, 22),
        (302, 104, 28, 16),
        minimum=0.0,
        maximum=1.0,
        initial=1.0,  # the shipped bundle's default; a saved set restores the user's value instead
    )
    box("prc", "newobj", f"prepend {osc.CLOSENESS} 0", (760, 300, 190, 22))
    label(
        "takec",
        "take: another number, another take of the same edit",
        (760, 330, 300, 20),
        (334, 128, 36, 18),
        "take",
    )
    control(
        "take", "integer", "Take", (760, 350, 60, 22), (372, 128, 40, 16), minimum=0, maximum=9999, initial=0
    )
    box("prt", "newobj", f"prepend {osc.SEED} 0", (760, 380, 160, 22))
    if not dev:
        # A dropped file is indexed at once (/musegenie/prepare) while the user sets the region; the device's
        # script sends the same request for the clip it reads.
        box("tprep", "newobj", "t b s", (180, 110, 40, 22))
        box("trp", "newobj", "t b b", (490, 350, 50, 22))
        box("sel_p", "message", "5", (270, 380, 30, 22))
        box("pkp", "newobj", "pack 0 s", (680, 450, 70, 22))
        box("prp", "newobj", f"prepend {osc.PREPARE}", (680, 480, 160, 22))
        box("clr", "message", "clear", (440, 380, 40, 22))
        box("clri", "message", "clear", (490, 380, 40, 22))
        box("slA", "newobj", "zl slice 2", (420, 590, 70, 22))
        box("slA2", "newobj", "zl slice 1", (420, 620, 70, 22))
        box("appA", "newobj", "prepend append", (420, 650, 100, 22))
        box("slI", "newobj", "zl slice 2", (1000, 590, 70, 22))
        box("appI", "newobj", "prepend append", (1000, 620, 100, 22))
    return boxes, _cords(dev)


def _cords(dev: bool) -> list[tuple[str, int, str, int]]:
    """Patch cords as (source, outlet, destination, inlet)."""
    out = ROUTED.index
    # A click: textbutton's middle outlet sends its text once (its left one may bang on press and on release,
    # which would send two requests); live.text bangs its left outlet once.
    click = 0 if dev else 1
    shared = [
        ("conf", 0, "tpath", 0),
        ("tpath", 2, "repin", 0),
        ("repin", 0, "bufin", 0),
        ("tpath", 1, "pke", 1),
        ("tpath", 0, "pkx", 1),
        ("start", 0, "pke", 2),
        ("start", 0, "pkx", 2),
        ("end", 0, "pke", 3),
        ("end", 0, "pkx", 3),
        ("menu", 0, "pke", 4),
        ("editb", click, "tre", 0),
        ("tre", 1, "sel_e", 0),
        ("tre", 0, "cnt", 0),
        ("tre", 2, "instsel", 0),
        ("explb", click, "trx", 0),
        ("trx", 1, "sel_x", 0),
        ("trx", 0, "cnt", 0),
        ("refb", click, "tra", 0),
        ("sel_e", 0, "gate", 0),
        ("sel_x", 0, "gate", 0),
        ("sel_a", 0, "gate", 0),
        ("sel_i", 0, "gate", 0),
        ("cnt", 0, "gate", 1),
        ("gate", 0, "pke", 0),
        ("gate", 1, "pkx", 0),
        ("gate", 2, "pra", 0),
        ("gate", 3, "pri", 0),
        ("pke", 0, "join", 0),
        ("join", 0, "pre", 0),
        ("pkx", 0, "prx", 0),
        ("pre", 0, "send", 0),
        ("prx", 0, "send", 0),
        ("pra", 0, "send", 0),
        ("pri", 0, "send", 0),
        ("recv", 0, "route", 0),
        ("recv", 0, "print", 0),
        ("route", out(osc.PROGRESS), "slP", 0),
        ("slP", 1, "mulP", 0),
        ("mulP", 0, "prog", 0),
        ("route", out(osc.DONE), "slD", 0),
        ("route", out(osc.ERROR), "errset", 0),
        ("errset", 0, "errmsg", 0),
        ("route", out(osc.VARIANT), "slV", 0),
        ("slD", 1, "slD2", 0),
        ("slV", 1, "slD2", 0),
        # done/variant: the path goes on to buffer~ for audition, the material's source to the display.
        ("slD2", 0, "repout", 0),
        ("repout", 0, "bufout", 0),
        ("slD2", 1, "srcset", 0),
        ("srcset", 0, "srcmsg", 0),
        ("playA", 0, "pA", 0),
        ("playB", 0, "pB", 0),
        ("stopm", 0, "pA", 0),
        ("stopm", 0, "pB", 0),
        ("instmenu", 1, "instapp", 0),
        ("instapp", 0, "instsel", 0),
        ("instclrb", click, "instclrt", 0),
        ("instclrt", 1, "instset", 0),
        ("instclrt", 0, "instzlc", 0),
        ("instset", 0, "instsel", 0),
        ("instzlc", 0, "join", 1),
        ("instsel", 0, "join", 1),
        ("close", 0, "prc", 0),
        ("prc", 0, "send", 0),
        ("take", 0, "prt", 0),
        ("prt", 0, "send", 0),
        ("tra", 0, "cnt", 0),
        ("tra", 1, "sel_i", 0),
        ("tra", 2, "cnt", 0),
        ("tra", 3, "sel_a", 0),
    ]
    if not dev:
        return shared + [
            ("drop", 0, "conf", 0),
            ("conf", 0, "tprep", 0),
            ("tprep", 1, "pkp", 1),
            ("tprep", 0, "trp", 0),
            ("trp", 1, "sel_p", 0),
            ("sel_p", 0, "gate", 0),
            ("trp", 0, "cnt", 0),
            ("gate", 4, "pkp", 0),
            ("pkp", 0, "prp", 0),
            ("prp", 0, "send", 0),
            ("lb", 0, "tra", 0),
            ("tra", 4, "clri", 0),
            ("tra", 5, "clr", 0),
            ("clr", 0, "menu", 0),
            ("clri", 0, "instmenu", 0),
            ("route", out(osc.ACTION), "slA", 0),
            ("slA", 1, "slA2", 0),
            ("slA2", 0, "appA", 0),
            ("appA", 0, "menu", 0),
            ("route", out(osc.INSTRUMENT), "slI", 0),
            ("slI", 1, "appI", 0),
            ("appI", 0, "instmenu", 0),
            ("pA", 0, "dac", 0),
            ("pA", 1, "dac", 1),
            ("pB", 0, "dac", 0),
            ("pB", 1, "dac", 1),
        ]
    # The device: Live is ready only when live.thisdevice bangs; the script then reads the clip and pings,
    # asks for the menus (outlet 7) each time the bridge becomes ready and fills the live.menus (they take a
    # whole item list, not `append`). The track's own audio passes through untouched.
    return shared + [
        ("thisdev", 0, "live", 0),
        ("live", 7, "tra", 0),
        ("menu", 0, "desc", 0),
        ("desc", 0, "live", 0),
        ("getclip", 0, "live", 0),
        ("recv", 0, "live", 0),
        ("live", 0, "send", 0),
        ("live", 1, "conf", 0),
        ("live", 2, "start", 0),
        ("live", 3, "end", 0),
        ("live", 4, "menu", 0),
        ("live", 5, "instmenu", 0),
        ("live", 6, "status", 0),
        ("plugin", 0, "plugout", 0),
        ("plugin", 1, "plugout", 1),
        ("pA", 0, "plugout", 0),
        ("pA", 1, "plugout", 1),
        ("pB", 0, "plugout", 0),
        ("pB", 1, "plugout", 1),
    ]


def patcher(target: str) -> dict:
    """The patcher dict Max reads: {"patcher": {...}}."""
    boxes, cords = describe(target)
    doc = {
        "fileversion": 1,
        "appversion": {"major": 8, "minor": 6, "revision": 0, "architecture": "x64", "modernui": 1},
        "classnamespace": "box",
        "rect": [80.0, 80.0, 1100.0, 760.0],
        "openinpresentation": 0,
        "devicewidth": 0.0,
        "default_fontsize": 12.0,
        "default_fontname": "Arial",
        "gridonopen": 1,
        "gridsize": [15.0, 15.0],
        "description": "",
        "boxes": boxes,
        "lines": [{"patchline": {"source": [s, o], "destination": [d, i]}} for s, o, d, i in cords],
    }
    if target == "device":
        # The keys Max writes for a device: it opens on its strip, and its Live parameters by box id.
        params = {
            b["box"]["id"]: [v["parameter_longname"], v["parameter_shortname"], 0]
            for b in boxes
            if (v := b["box"].get("saved_attribute_attributes", {}).get("valueof"))
        }
        doc.update(openinpresentation=1, devicewidth=602.0, default_fontsize=10.0, parameters=params)
        doc.update(openrect=[0.0, 0.0, 0.0, DEVICE_HEIGHT])
        doc["description"] = "musegenie: edit the clip in Clip View through the musegenie OSC bridge"
    return {"patcher": doc}


def to_json(doc: dict) -> bytes:
    return (json.dumps(doc, indent="\t", sort_keys=True) + "\n").encode()


def amxd(device_type: bytes = b"aaaa") -> bytes:
    """The .amxd container Live reads: chunks of a 4-byte tag, a little-endian uint32 size and the data;
    `ampf` holds the device type (aaaa: audio effect), `meta` four zero bytes, `ptch` the patcher JSON with
    the terminating NUL that Max writes. Not frozen: musegenie.js must sit beside the device."""
    ptch = to_json(patcher("device")) + b"\0"
    return b"".join(
        tag + struct.pack("<I", len(data)) + data
        for tag, data in ((b"ampf", device_type), (b"meta", b"\0" * 4), (b"ptch", ptch))
    )


def build() -> dict[Path, bytes]:
    return {PATCH_FILE: to_json(patcher("patch")), DEVICE_FILE: amxd()}


def main() -> None:
    for path, data in build().items():
        path.write_bytes(data)
        print(f"wrote {path} ({len(data)} bytes)")


if __name__ == "__main__":
    main()
