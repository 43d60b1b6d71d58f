"""musegenie engine: audio I/O, bundle loading, onnxruntime edit pipeline, gRPC server. Never imports torch."""
