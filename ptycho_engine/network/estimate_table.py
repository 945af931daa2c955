"""Each distinct pattern's estimate, computed once for a grouped scan (training and inference).

The generator's per-pattern object estimate (:class:`~ptycho_engine.network.estimate.PatternEstimate`)
is a fixed function of the pattern and of the probe the network was built with, so training
computes it once per distinct pattern instead of at every step (on 2 CPU cores at gridsize 2
its 20 PIE steps were about a fifth of a training step), and inference once per pattern where
the covering groups of gridsize > 1 share patterns.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from ptycho_engine.data.dataset import GroupedScan
from ptycho_engine.network.registry import pattern_estimate

ESTIMATE_CACHE_BYTES = 2**30
"""Largest table of cached estimates (complex64, one N × N image per distinct pattern); larger
scans compute the estimates at every step instead."""

ESTIMATE_CHUNK = {"cpu": 64, "other": 4096}
"""Patterns per estimate call while filling the table, by device type. It bounds the work
space; on a CPU the FFTs of the PIE steps run faster on batches that stay in cache, while
GPUs want large batches."""


@dataclass(frozen=True, eq=False)
class EstimateTable:
    """Each distinct pattern's estimate once, and the row of each group channel's pattern."""

    values: Tensor
    """complex64 (K, N, N): the estimates of the K distinct patterns."""
    rows: Tensor
    """int64 (B, C), on the CPU: the row of ``values`` holding each group channel's pattern."""

    def for_groups(self, index: int | slice) -> Tensor:
        """The estimates (C, N, N) of group ``index``, or (b, C, N, N) of a slice of groups,
        on the device of ``values``.
        """
        return self.values[self.rows[index].to(self.values.device)]


@torch.no_grad()
def estimate_table(
    generator,
    scan: GroupedScan,
    budget_bytes: int = ESTIMATE_CACHE_BYTES,
    device: str | torch.device = "cpu",
) -> EstimateTable | None:
    """Estimate each distinct pattern of ``scan`` once (training; and inference, where the
    covering groups of gridsize > 1 hold some patterns twice).

    Parameters
    ----------
    generator : nn.Module or None
        A generator of the registry (``ptycho_engine.network``); its estimate module
        (:func:`~ptycho_engine.network.pattern_estimate`) maps amplitudes (K, 1, N, N) to
        complex estimates (K, 1, N, N). A generator without one (or None) gives None.
    scan : GroupedScan
    budget_bytes : int
        Above this table size, return None (estimate at every step).
    device : str or torch.device
        Where the estimates are computed and the table is kept (the generator's device).
    """
    estimator = pattern_estimate(generator)
    if estimator is None:
        return None
    b, c, n, _ = scan.diffraction.shape
    distinct, first, inverse = np.unique(
        scan.indices.reshape(-1), return_index=True, return_inverse=True
    )
    if len(distinct) * n * n * 8 > budget_bytes:
        return None
    patterns = scan.diffraction.reshape(b * c, n, n)[torch.from_numpy(first)]  # (K, N, N)
    chunk_size = ESTIMATE_CHUNK.get(torch.device(device).type, ESTIMATE_CHUNK["other"])
    values = torch.cat(
        [estimator(chunk[:, None].to(device))[:, 0] for chunk in patterns.split(chunk_size)]
    )
    return EstimateTable(values.to(torch.complex64), torch.from_numpy(inverse.reshape(b, c)).long())
