"""The training order depends on the seed, the epoch and the rank only."""

from __future__ import annotations

import pytest

from ptycho_engine.training import sampling
from ptycho_engine.training.sampling import EpochSampler


def _epoch(sampler: EpochSampler, epoch: int) -> list[int]:
    sampler.set_epoch(epoch)
    return list(sampler)


def test_each_epoch_order_is_a_function_of_seed_and_epoch_only():
    walked = EpochSampler(16, seed=7)
    orders = [_epoch(walked, epoch) for epoch in range(3)]
    assert all(sorted(order) == list(range(16)) for order in orders)
    assert orders[0] != orders[1] != orders[2]
    resumed = EpochSampler(16, seed=7)  # a new process, started at epoch 2
    assert _epoch(resumed, 2) == orders[2]


def test_sequential_sampling_keeps_the_order():
    assert _epoch(EpochSampler(5, seed=7, shuffle=False), 3) == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("n", [16, 13])
def test_ranks_together_take_the_single_process_batches(monkeypatch, n):
    single = _epoch(EpochSampler(n, seed=3), 1)
    shares = []
    for rank in range(2):
        monkeypatch.setattr(sampling, "_world", lambda rank=rank: (rank, 2))
        sampler = EpochSampler(n, seed=3)
        shares.append(_epoch(sampler, 1))
        assert len(sampler) == len(shares[-1]) == -(-n // 2)  # equal counts, padded
    batch = 2  # per process; one process with batch 4 sees the same groups at each step
    for step in range(len(shares[0]) // batch):
        together = sorted(
            shares[0][step * batch : (step + 1) * batch]
            + shares[1][step * batch : (step + 1) * batch]
        )
        padded = (single * 2)[step * 2 * batch : (step + 1) * 2 * batch]
        assert together == sorted(padded)
