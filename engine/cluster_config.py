"""How `musegenie serve --ray` lays the engine out on a Ray cluster (engine.cluster); kept apart from it so
`musegenie serve --help` lists these options on an install without the `cluster` extra."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class ClusterConfig:
    replicas: int = 1  # engine replicas (a fixed count); 0 = autoscale between min and max replicas
    min_replicas: int = 1  # autoscaling: fewest replicas kept running
    max_replicas: int = 4  # autoscaling: most replicas started when edits queue up
    gpus_per_replica: float = 0.0  # GPUs each replica reserves (0.5: two replicas share a GPU); 0 = CPU
    cpus_per_replica: float = 1.0  # CPU cores per replica (a CPU replica runs that many ORT threads)
    max_batch: int = 4  # edits a replica computes at once, their sampling steps batched (1 = unbatched)
    max_wait_ms: float = 5.0  # longest a sampling step waits for other edits' steps to join its batch
    ship_bundle: bool = False  # send the bundle through Ray's object store instead of a path every node has
