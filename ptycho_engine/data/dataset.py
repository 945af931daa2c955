"""Grouped, normalised tensors for training and inference, built from a validated scan.

Grouping follows ``ptycho_engine.data.grouping``; offsets and scaling follow
``ptycho_engine.conventions``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from ptycho_engine.data.grouping import (
    covering_groups,
    group_offsets,
    group_positions,
    subsample_positions,
)
from ptycho_engine.data.npz import DiffractionData, check_enough_positions
from ptycho_engine.errors import DataError
from ptycho_engine.physics.scaling import input_normalisation
from ptycho_engine.physics.shift import extract_patches


@dataclass(frozen=True, eq=False)
class GroupedScan:
    """Groups of a scan, ready for the network.

    Attributes
    ----------
    diffraction : float32 Tensor of shape (B, C, N, N)
        Measured amplitudes times ``input_scale`` (mean pattern energy (N/2)²).
    offsets : float32 Tensor of shape (B, C, 2)
        ``[x, y]`` position − group centre of each channel.
    positions : float64 ndarray of shape (B, C, 2)
        ``[x, y]`` scan position of each channel, in object pixels.
    indices : int64 ndarray of shape (B, C)
        Index of each channel's pattern in the scan.
    input_scale : float
        The factor α applied to the amplitudes.
    truth : complex64 Tensor of shape (B, C, N, N), (B, 1, N, N) or None
        Ground-truth object patches at the positions, when asked for and available; with
        ``truth_at_centre`` one patch per group, at the group centre.
    """

    diffraction: Tensor
    offsets: Tensor
    positions: np.ndarray
    indices: np.ndarray
    input_scale: float
    truth: Tensor | None = None

    @property
    def n_groups(self) -> int:
        """Number of groups B."""
        return int(self.diffraction.shape[0])


def group_scan(
    data: DiffractionData,
    *,
    gridsize: int,
    neighbor_count: int,
    n_groups: int | None,
    n_subsample: int | None = None,
    seed: int | None = None,
    sequential: bool = False,
    enable_oversampling: bool = False,
    neighbor_pool_size: int | None = None,
    input_scale: float | None = None,
    with_truth: bool = False,
    truth_at_centre: bool = False,
    cover: bool = False,
) -> GroupedScan:
    """Subsample, group and normalise a scan.

    Parameters
    ----------
    data : DiffractionData
        A validated scan.
    gridsize, neighbor_count, n_groups, n_subsample, seed, sequential,
    enable_oversampling, neighbor_pool_size
        The sampling settings (see ``ptycho_settings.TrainingConfig``).
    input_scale : float, optional
        α to apply; by default computed from the patterns taking part.
    with_truth : bool
        Cut ground-truth patches from ``data.object`` (needed by real-space losses).
    truth_at_centre : bool
        Cut one truth patch per group, at the group centre, instead of one per channel: the
        patch a generator without ``object_big`` predicts (its one patch per group is centred
        there), so the real-space and supervised losses compare like with like.
    cover : bool
        Without ``n_groups``: as few groups as hold every position at least once
        (:func:`~ptycho_engine.data.grouping.covering_groups`), instead of one per position.
    """
    check_enough_positions(data, gridsize=gridsize)
    kept = subsample_positions(data.n_positions, n_subsample, seed)  # (M',)
    all_xy = data.positions_xy  # (M, 2); a property that stacks x and y on every call
    if cover and n_groups is None:
        local = covering_groups(
            all_xy[kept], gridsize=gridsize, neighbor_count=neighbor_count, seed=seed
        )  # (B, C) into kept
    else:
        local = group_positions(
            all_xy[kept],
            gridsize=gridsize,
            neighbor_count=neighbor_count,
            n_groups=n_groups,
            seed=seed,
            sequential=sequential,
            enable_oversampling=enable_oversampling,
            neighbor_pool_size=neighbor_pool_size,
        )  # (B, C) into kept
    indices = kept[local]  # (B, C) into the scan
    centres, offsets = group_offsets(all_xy, indices)  # (B, 2), (B, C, 2)
    if input_scale is None:
        input_scale = input_normalisation(data.diffraction[np.unique(indices)])
    patterns = torch.from_numpy(data.diffraction[indices]) * input_scale  # (B, C, N, N)
    truth = None
    if with_truth:
        at = centres[:, None] if truth_at_centre else all_xy[indices]  # (B, 1 or C, 2)
        truth = _truth_patches(data, at)
    return GroupedScan(
        diffraction=patterns.float(),
        offsets=torch.from_numpy(offsets).float(),
        positions=all_xy[indices],
        indices=indices,
        input_scale=float(input_scale),
        truth=truth,
    )


def _truth_patches(data: DiffractionData, positions_xy: np.ndarray) -> Tensor:
    if data.object is None:
        raise DataError(
            f"{data.source}: the real-space loss and supervised training need the ground truth "
            "`objectGuess`, which this file does not have"
        )
    obj = torch.from_numpy(data.object)
    positions = torch.from_numpy(np.ascontiguousarray(positions_xy))  # (B, C or 1, 2)
    return extract_patches(obj, positions.to(torch.float32), data.N).to(torch.complex64)
