"""The bridge tests reuse the engine's onnxruntime pipeline on the session's tiny bundle: one engine per
module and a fresh bridge (with a Max stand-in) per test."""

import pytest

from engine.server import ServerConfig, start_server
from osc_bridge.osc_client import loopback_rig
from tests.engine.conftest import tiny_pipeline  # noqa: F401 (a fixture, used by name)


@pytest.fixture(scope="module")
def engine(tiny_pipeline):  # noqa: F811 (pytest passes the fixture imported above)
    server = start_server(config=ServerConfig(port=0, max_queue=16), pipeline=tiny_pipeline)
    yield server
    server.stop(0)


@pytest.fixture
def rig(engine, tmp_path):
    """(bridge, Max stand-in, out_dir) with the bridge replying to the stand-in's port."""
    with loopback_rig(engine.target, tmp_path / "out") as (bridge, max_patch):
        yield bridge, max_patch, tmp_path / "out"
