"""Prediction copies of a network with each BatchNorm folded into the convolution before it.

In ``eval()`` a BatchNorm is a fixed per-channel affine map, ``y = γ·(x − μ)/√(σ² + ε) + β``,
so the convolution before it can absorb it: weights scaled by ``γ/√(σ² + ε)`` per output
channel, bias ``(b − μ)·γ/√(σ² + ε) + β``. The outputs are the same up to float rounding, and
a pass over every hidden feature map disappears: on 2 CPU cores the generator at N = 64
predicts about 10 % faster (the BatchNorm at full resolution alone took longer than the
convolution before it).

The copy is for prediction only: training needs the BatchNorms (batch statistics, running
means), and bundles store the weights unfolded.
"""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

__all__ = ["fold_batch_norms"]


@torch.no_grad()
def fold_batch_norms(module: nn.Module) -> nn.Module:
    """A copy of ``module`` in ``eval()`` mode in which every ``Conv2d`` directly followed by a
    ``BatchNorm2d`` (or ``SyncBatchNorm``) inside an ``nn.Sequential`` is one convolution (the BatchNorm becomes an
    ``nn.Identity``, so layer indices, and thus weight names, keep their meaning).

    ``module`` itself is left untouched. BatchNorms elsewhere, or after anything but a
    convolution, stay as they are.
    """
    folded = copy.deepcopy(module).eval()
    for sequence in folded.modules():
        if not isinstance(sequence, nn.Sequential):
            continue
        for index in range(len(sequence) - 1):
            conv, norm = sequence[index], sequence[index + 1]
            # SyncBatchNorm too (multi-GPU training converts them): in eval() it is the same map
            if (
                isinstance(conv, nn.Conv2d)
                and isinstance(norm, (nn.BatchNorm2d, nn.SyncBatchNorm))
                and norm.track_running_stats
            ):
                fused = fuse_conv_bn_eval(conv, norm)
                # keep the memory layout the network chose (channels-last for oneDNN)
                channels_last = conv.weight.is_contiguous(memory_format=torch.channels_last)
                layout = torch.channels_last if channels_last else torch.contiguous_format
                fused.weight.data = fused.weight.data.contiguous(memory_format=layout)
                sequence[index], sequence[index + 1] = fused, nn.Identity()
    return folded
