"""Training callbacks: loss history for the curve, and a stop on a non-finite loss."""

from __future__ import annotations

import math

import lightning as L

from ptycho_engine.errors import EngineError


class LossHistory(L.Callback):
    """Record every epoch-level logged loss (``train_loss``, ``val_loss``, parts) on rank 0."""

    def __init__(self) -> None:
        self.history: dict[str, list[float]] = {}

    def on_train_epoch_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        for name, value in trainer.callback_metrics.items():
            if name.startswith(("train_", "val_")) and value.numel() == 1:
                self.history.setdefault(name, []).append(float(value))


class NonFiniteLossError(EngineError):
    """Training produced a NaN or infinite loss."""


class StopOnNonFiniteLoss(L.Callback):
    """Stop at the first non-finite training loss, naming the epoch and batch.

    The last checkpoint written before it is kept (checkpoints are saved at epoch ends).
    """

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx) -> None:
        loss = outputs["loss"] if isinstance(outputs, dict) else outputs
        if loss is not None and not math.isfinite(float(loss)):
            raise NonFiniteLossError(
                f"the training loss became {float(loss)} at epoch {trainer.current_epoch}, batch "
                f"{batch_idx}; lower learning_rate or check the data (last good checkpoint kept in "
                f"{trainer.default_root_dir}/checkpoints)"
            )
