"""A DistributedSampler that can start part-way into an epoch, so a resumed run sees the same batches."""

from __future__ import annotations

from collections.abc import Iterator

from torch.utils.data import Dataset, DistributedSampler


class ResumableSampler(DistributedSampler):
    """Shuffled indices from (seed, epoch), split across ranks, skipping the first `skip` of this epoch.

    The order depends only on (seed, epoch, rank, world size): `set_epoch(e)` then `skip_to(n)` reproduces
    the rest of epoch e exactly as an uninterrupted run would have drawn it.
    """

    def __init__(
        self, dataset: Dataset, rank: int = 0, world_size: int = 1, seed: int = 0, shuffle: bool = True
    ) -> None:
        super().__init__(
            dataset, num_replicas=world_size, rank=rank, shuffle=shuffle, seed=seed, drop_last=True
        )
        self.skip = 0

    def skip_to(self, skip: int) -> None:
        """Start the next iteration at this rank's `skip`-th index of the current epoch."""
        self.skip = skip

    def __iter__(self) -> Iterator[int]:
        indices = list(super().__iter__())
        return iter(indices[self.skip :])

    def __len__(self) -> int:
        return self.num_samples - self.skip
