"""OSC message validation against the one address table."""

from __future__ import annotations

import pytest

from osc_bridge import addresses as osc
from osc_bridge.parsing import BadMessage, parse


def test_edit_with_several_actions():
    request, rid, values = parse(osc.EDIT, [7, "/tmp/a.wav", 1, 2.5, 3, 4.0])
    assert request.address == osc.EDIT and rid == 7
    assert values == {
        "in_path": "/tmp/a.wav",
        "start_s": 1.0,
        "end_s": 2.5,
        "action": [3, 4],
        "instrument": [],
    }


def test_edit_with_instruments_after_the_actions():
    _, _, values = parse(osc.EDIT, [7, "/tmp/a.wav", 1, 2.5, 3, 1, "sax", "bass"])
    assert values["action"] == [3, 1] and values["instrument"] == ["sax", "bass"]
    _, _, values = parse(osc.EXPLORE, [8, "/tmp/a.wav", 1, 2.5, "drums"])
    assert values["instrument"] == ["drums"]
    _, _, values = parse(osc.INSTRUMENTS_LIST, [9])
    assert values == {}


@pytest.mark.parametrize(
    ("address", "args", "rid", "match"),
    [
        ("/musegenie/nope", [1], 1, "unknown address"),
        (osc.PING, [], -1, "request id"),
        (osc.PING, ["x"], -1, "request id"),
        (osc.PING, [1, 2], 1, "expects"),
        (osc.EDIT, [3, "/tmp/a.wav", 1.0, 2.0], 3, "expects"),
        (osc.EDIT, [3, "/tmp/a.wav", "one", 2.0, 1], 3, "start_s must be float"),
        (osc.EDIT, [3, "/tmp/a.wav", 1.0, 2.0, 1.5], 3, "action must be int"),
        (osc.EDIT, [3, "/tmp/a.wav", 1.0, 2.0, "sax"], 3, "action must be int"),
        (osc.EDIT, [3, "/tmp/a.wav", 1.0, 2.0, 1, "sax", 2], 3, "unexpected int 2"),
        (osc.EXPLORE, [3, "/tmp/a.wav", 1.0, 2.0, 1], 3, "unexpected int 1"),
        (osc.INFER, [4, 5, 1.0, 2.0], 4, "in_path must be str"),
        (osc.INFER, [4, "/a.wav", float("nan"), 2.0], 4, "NaN"),
    ],
)
def test_bad_messages_name_the_problem_and_keep_the_id(address, args, rid, match):
    with pytest.raises(BadMessage, match=match) as err:
        parse(address, args)
    assert err.value.request_id == rid


def test_every_request_and_reply_is_under_the_prefix():
    for address in list(osc.REQUESTS) + list(osc.REPLIES):
        assert address.startswith(osc.PREFIX + "/")
