"""Tests of the generators; the probe they share."""

import torch


def disk_probe(n: int = 64) -> torch.Tensor:
    """The simulator's disk probe (compact support, diameter about N/2), shape (1, N, N)."""
    from ptycho_engine.data.synthetic import synthetic_probe

    return torch.from_numpy(synthetic_probe("disk", n)).to(torch.complex64)[None]
