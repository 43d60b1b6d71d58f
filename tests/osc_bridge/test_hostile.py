"""Hostile input, round two, against the OSC bridge: one bridge per port, no open door on the network,
files only under the allowed folders, bounded replies, deadlines on engine calls, an honest ping."""

from __future__ import annotations

import pytest

from osc_bridge.bridge import OscBridge
from tests.osc_bridge.test_misuse import SlowClient


def test_a_second_bridge_on_a_taken_port_is_refused(tmp_path):
    first = OscBridge(SlowClient(), ("127.0.0.1", 0), 0, tmp_path / "out").start()
    try:
        with pytest.raises(OSError, match="taken"):
            OscBridge(SlowClient(), first.address, 0, tmp_path / "out")
    finally:
        first.stop()
