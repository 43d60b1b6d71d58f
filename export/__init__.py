"""musegenie export: torch checkpoints -> a versioned ONNX model bundle (TensorRT/Triton where present)."""
