"""The order of the training groups: a function of the seed, the epoch and the process rank only.

Two guarantees rest on it (docs/reliability.md): a run resumed from a checkpoint sees the
batches the uninterrupted run would have seen, and W processes with batch b train on the
same groups at each step as one process with batch W·b.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch.utils.data import Sampler


class EpochSampler(Sampler[int]):
    """Indices in an order drawn from ``seed + epoch`` alone, dealt out to the processes.

    Lightning calls :meth:`set_epoch` before every epoch, also after resuming; a
    ``RandomSampler`` with a generator would instead continue from wherever its generator
    stood. In a run of W processes (``torch.distributed`` initialised) process r takes
    positions r, r + W, r + 2W, … of the epoch's order, which is padded by repeating its
    first indices to a multiple of W so that every process runs the same number of batches
    (as ``DistributedSampler`` does). Batch k of the W processes together is then batch k of
    one process with a W times larger batch.

    Parameters
    ----------
    n : int
        Number of samples.
    seed : int or None
        Base seed; None draws one from torch's global generator (``seed_everything``).
    shuffle : bool
        False keeps ``0 … n-1`` every epoch.
    """

    def __init__(self, n: int, *, seed: int | None, shuffle: bool = True) -> None:
        self.n, self.shuffle, self.epoch = n, shuffle, 0
        self.seed = seed if seed is not None else int(torch.randint(2**62, ()))

    def set_epoch(self, epoch: int) -> None:
        """Choose the order of ``epoch`` (0-based)."""
        self.epoch = epoch

    def __len__(self) -> int:
        rank_count = _world()[1]
        return -(-self.n // rank_count)  # ceil(n / W)

    def __iter__(self) -> Iterator[int]:
        if self.shuffle:
            generator = torch.Generator().manual_seed(self.seed + self.epoch)
            order = torch.randperm(self.n, generator=generator).tolist()
        else:
            order = list(range(self.n))
        rank, rank_count = _world()
        if rank_count > 1:
            total = len(self) * rank_count
            order = (order * (-(-total // self.n)))[:total]  # pad by wrapping around
            order = order[rank::rank_count]
        return iter(order)


def _world() -> tuple[int, int]:
    """(rank, number of processes) of the running torch.distributed job; (0, 1) without one."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1
