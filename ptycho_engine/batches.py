"""What the training loop iterates: each group's tensors by name, with its patterns' estimates.

The generator's per-pattern object estimate (:class:`~ptycho_engine.network.estimate.PatternEstimate`)
is a fixed function of the pattern and of the probe the network was built with, so training
computes it once per distinct pattern instead of at every step: on 2 CPU cores at gridsize 2
its 20 PIE steps were about a fifth of a training step. A batch is a dict:

- ``diffraction`` (B, C, N, N) float32, the normalised amplitudes;
- ``offsets`` (B, C, 2) float32;
- ``truth`` (B, C, N, N) complex64, when the real-space loss or supervised training needs it;
- ``estimate`` (B, C, N, N) complex64, the estimate of each pattern at the stored amplitude
  scale, when cached (``PinnModule`` multiplies it by the input scale ``e^{-δ}``, which is exact
  because the estimate is homogeneous of degree one in the amplitudes).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from ptycho_engine.data.dataset import GroupedScan

ESTIMATE_CACHE_BYTES = 2**30
"""Largest table of cached estimates (complex64, one N × N image per distinct pattern); larger
scans compute the estimates at every step instead."""

_CHUNK = 256  # patterns per estimate call while filling the table: bounds the FFT work space


class GroupBatches(Dataset):
    """The groups of a scan as named tensors; ``estimates`` from :func:`estimate_table`."""

    def __init__(self, scan: GroupedScan, estimates: tuple[Tensor, Tensor] | None = None) -> None:
        self.scan = scan
        self.table, self.rows = estimates if estimates is not None else (None, None)

    def __len__(self) -> int:
        return self.scan.n_groups

    def __getitem__(self, index: int) -> dict[str, Tensor]:
        item = {"diffraction": self.scan.diffraction[index], "offsets": self.scan.offsets[index]}
        if self.scan.truth is not None:
            item["truth"] = self.scan.truth[index]
        if self.table is not None:
            item["estimate"] = self.table[self.rows[index]]  # (C, N, N)
        return item


@torch.no_grad()
def estimate_table(estimator, scan: GroupedScan, budget_bytes: int = ESTIMATE_CACHE_BYTES,
                   device: str | torch.device = "cpu") -> tuple[Tensor, Tensor] | None:
    """Estimate each distinct pattern of ``scan`` once (training; and inference, where the
    covering groups of gridsize > 1 hold some patterns twice).

    Parameters
    ----------
    estimator : callable or None
        Amplitudes (K, 1, N, N) → complex estimates (K, 1, N, N), the generator's
        ``estimate``; None (a generator without one) gives None.
    scan : GroupedScan
    budget_bytes : int
        Above this table size, return None (estimate at every step).
    device : str or torch.device
        Where the estimates are computed and the table is kept (the estimator's device).

    Returns
    -------
    (table, rows) or None
        ``table`` complex64 (K, N, N) for the K distinct patterns, on ``device``; ``rows``
        int64 (B, C), on the CPU: the row of each group channel's pattern.
    """
    if estimator is None:
        return None
    b, c, n, _ = scan.diffraction.shape
    distinct, first, inverse = np.unique(scan.indices.reshape(-1), return_index=True, return_inverse=True)
    if len(distinct) * n * n * 8 > budget_bytes:
        return None
    patterns = scan.diffraction.reshape(b * c, n, n)[torch.from_numpy(first)]  # (K, N, N)
    table = torch.cat([estimator(chunk[:, None].to(device))[:, 0] for chunk in patterns.split(_CHUNK)])
    return table.to(torch.complex64), torch.from_numpy(inverse.reshape(b, c)).long()
