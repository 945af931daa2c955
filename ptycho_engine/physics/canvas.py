"""Stitching: every predicted patch placed at its own scan position on one object canvas.

Batched on the device; memory is bounded by the canvas plus one batch of patches. Patches
are weighted by the probe intensity so that poorly illuminated patch edges, which the data
barely constrain, count little (see ``ptycho_engine.conventions`` for positions).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from ptycho_engine.physics.shift import place_patches

RELATIVE_WEIGHT_FLOOR = 1e-3
"""Canvas pixels whose summed weight is below this fraction of the maximum are left at 0."""


def canvas_frame(positions_xy: np.ndarray, n: int) -> tuple[tuple[float, float], tuple[int, int]]:
    """Return ``origin`` (x, y) of canvas pixel [0, 0] and the canvas shape (H, W).

    The canvas covers every patch (position ± N/2) with one spare pixel for the bilinear
    placement of sub-pixel positions; the origin is integral so the canvas is a plain crop of
    the input frame.
    """
    x, y = positions_xy[..., 0], positions_xy[..., 1]
    x0 = math.floor(float(x.min())) - n // 2 - 1
    y0 = math.floor(float(y.min())) - n // 2 - 1
    width = math.ceil(float(x.max())) - x0 + n // 2 + 2
    height = math.ceil(float(y.max())) - y0 + n // 2 + 2
    return (float(x0), float(y0)), (height, width)


class Stitcher:
    """Accumulate weighted patches on a canvas, batch by batch, then normalise once.

    Parameters
    ----------
    shape : (H, W)
        Canvas shape from :func:`canvas_frame`.
    origin : (x, y)
        Input-frame coordinates of canvas pixel [0, 0].
    weight : real Tensor of shape (N, N)
        Per-pixel weight of every patch (e.g. normalised ``|probe|**2``).
    """

    def __init__(self, shape: tuple[int, int], origin: tuple[float, float], weight: Tensor) -> None:
        device = weight.device
        # float64 on the host: absolute positions of a large scan (1e6 px) keep their
        # sub-pixel part only until the origin is subtracted (float32 resolves 0.06 px there)
        self.origin = torch.tensor(origin, dtype=torch.float64)
        self.weight = weight.float()
        self.values = torch.zeros(shape, dtype=torch.complex64, device=device)  # (H, W)
        self.weights = torch.zeros(shape, dtype=torch.float32, device=device)  # (H, W)

    def add(self, patches: Tensor, positions_xy: Tensor) -> None:
        """Place patches (..., N, N) at positions (..., 2) given in the input frame (float64
        positions keep their precision: the origin is subtracted before the float32 step).
        """
        n = patches.shape[-1]
        absolute = positions_xy.detach().reshape(-1, 2).to("cpu", torch.float64)
        local = (absolute - self.origin).to(self.values.device, torch.float32)
        values, weights = place_patches(
            patches.reshape(-1, n, n).to(torch.complex64),
            local,
            tuple(self.values.shape),
            weight=self.weight,
        )
        self.values += values
        self.weights += weights

    def result(self) -> tuple[Tensor, Tensor]:
        """Return the weighted-average object (H, W) and the summed weights (H, W)."""
        floor = RELATIVE_WEIGHT_FLOOR * float(self.weights.max()) if self.weights.numel() else 0.0
        covered = self.weights > floor
        safe = torch.where(covered, self.weights, torch.ones_like(self.weights))
        return torch.where(covered, self.values / safe, torch.zeros_like(self.values)), self.weights
