"""Optimisers and learning-rate schedules of ``TrainingConfig``, in Lightning's format.

Schedules step once per epoch (``interval="epoch"``) and Lightning steps them, because the
module uses automatic optimisation (upstream's manual loop never stepped them).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import torch
from torch import nn

from ptycho_settings import TrainingConfig


def build_optimizer(
    parameters: Iterable[nn.Parameter], training: TrainingConfig
) -> torch.optim.Optimizer:
    """Return the optimiser named by ``training.optimizer`` with its parameters."""
    parameters = [p for p in parameters if p.requires_grad]
    if training.optimizer == "sgd":
        return torch.optim.SGD(
            parameters,
            lr=training.learning_rate,
            momentum=training.momentum,
            weight_decay=training.weight_decay,
        )
    betas = (training.adam_beta1, training.adam_beta2)
    cls = torch.optim.AdamW if training.optimizer == "adamw" else torch.optim.Adam
    return cls(
        parameters, lr=training.learning_rate, betas=betas, weight_decay=training.weight_decay
    )


def build_scheduler(
    optimizer: torch.optim.Optimizer, training: TrainingConfig
) -> dict[str, Any] | None:
    """Return Lightning's scheduler dict for ``training.scheduler``, or None for ``none``."""
    kind = training.scheduler
    if kind == "none":
        return None
    if kind == "exponential":
        scheduler = torch.optim.lr_scheduler.ExponentialLR(
            optimizer, gamma=training.exponential_gamma
        )
    elif kind == "warmup-cosine":
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, warmup_cosine(training))
    else:
        scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer,
            mode="min",
            factor=training.plateau_factor,
            patience=training.plateau_patience,
            threshold=training.plateau_threshold,
            min_lr=training.plateau_min_lr,
        )
        return {"scheduler": scheduler, "interval": "epoch", "monitor": "train_loss"}
    return {"scheduler": scheduler, "interval": "epoch"}


def warmup_cosine(training: TrainingConfig):
    """Return the epoch → factor function: linear warm-up from 0.1, then cosine to ``lr_min_ratio``."""
    warmup, total, floor = training.lr_warmup_epochs, training.nepochs, training.lr_min_ratio

    def factor(epoch: int) -> float:
        if epoch < warmup:
            return 0.1 + 0.9 * epoch / warmup
        progress = min(1.0, (epoch - warmup) / max(1, total - warmup))
        return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))

    return factor
