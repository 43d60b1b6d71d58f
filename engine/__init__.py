"""musegenie engine: audio I/O, bundle loading, onnxruntime edit pipeline, gRPC server. Never imports torch.

onnxruntime (1.2x and later) opens a telemetry database under ~/.cache/Microsoft when it is imported; the
engine and the OSC bridge promise to write only where they are told, so telemetry is off in every process
that imports the engine (set before onnxruntime is first imported; ORT_DISABLE_TELEMETRY=0 opts back in).
"""

import os

os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
