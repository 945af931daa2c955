"""What the training loop iterates: each group's tensors by name, with its patterns' estimates.

A batch is a dict:

- ``diffraction`` (B, C, N, N) float32, the normalised amplitudes;
- ``offsets`` (B, C, 2) float32;
- ``truth`` (B, C, N, N) complex64, when the real-space loss or supervised training needs it;
- ``estimate`` (B, C, N, N) complex64, the estimate of each pattern at the stored amplitude
  scale, when cached (:mod:`ptycho_engine.network.estimate_table`; ``PinnModule`` multiplies it
  by the input scale ``e^{-δ}``, which is exact because the estimate is homogeneous of degree
  one in the amplitudes).
"""

from __future__ import annotations

from torch import Tensor
from torch.utils.data import Dataset

from ptycho_engine.data.dataset import GroupedScan
from ptycho_engine.network.estimate_table import EstimateTable


class GroupBatches(Dataset):
    """The groups of a scan as named tensors; ``estimates`` from :func:`estimate_table`."""

    def __init__(self, scan: GroupedScan, estimates: EstimateTable | None = None) -> None:
        self.scan, self.estimates = scan, estimates

    def __len__(self) -> int:
        return self.scan.n_groups

    def __getitem__(self, index: int) -> dict[str, Tensor]:
        item = {"diffraction": self.scan.diffraction[index], "offsets": self.scan.offsets[index]}
        if self.scan.truth is not None:
            item["truth"] = self.scan.truth[index]
        if self.estimates is not None:
            item["estimate"] = self.estimates.for_groups(index)  # (C, N, N)
        return item
