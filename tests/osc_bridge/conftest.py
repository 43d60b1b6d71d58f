"""The bridge tests reuse the engine's onnxruntime pipeline on the session's tiny bundle."""

from tests.engine.conftest import tiny_pipeline  # noqa: F401 (a fixture, used by name)
