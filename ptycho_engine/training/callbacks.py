"""Training callbacks: loss history for the curve, and a stop on a non-finite loss."""

from __future__ import annotations

import os
from typing import Any

import lightning as L
import torch

from ptycho_engine.errors import EngineError


class LossHistory(L.Callback):
    """Record every epoch-level logged loss (``train_loss``, ``val_loss``, parts) on rank 0.

    The history is part of the checkpoint, so a resumed run's curve covers every epoch.
    """

    def __init__(self) -> None:
        self.history: dict[str, list[float]] = {}

    def on_train_epoch_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        """Record the epoch's logged training and validation losses."""
        for name, value in trainer.callback_metrics.items():
            if name.startswith(("train_", "val_")) and value.numel() == 1:
                self.history.setdefault(name, []).append(float(value))

    def state_dict(self) -> dict[str, Any]:
        """The history so far, saved in checkpoints so that a resumed run's curve is whole."""
        return {"history": {name: list(values) for name, values in self.history.items()}}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore the history of a checkpoint."""
        self.history = {name: list(values) for name, values in state_dict["history"].items()}


class NonFiniteLossError(EngineError):
    """Training produced a NaN or infinite loss."""


class StopOnNonFiniteLoss(L.Callback):
    """Stop at the first non-finite training loss, naming the epoch and batch where it appeared.

    Reading a loss on the host waits for the device to finish its queue, so the losses are
    only kept (a reference each, no device work) and looked at together every
    ``check_every_n_steps`` batches, at every epoch end and before every checkpoint is
    written: one stack, one test and one synchronisation per look. A checkpoint therefore
    never holds a diverged model, and no bundle is written from one; the last good
    checkpoint stays. In multi-process runs every rank looks at the same batches and the
    ranks agree on the first bad one.

    Parameters
    ----------
    check_every_n_steps : int
        Batches between looks.
    """

    def __init__(self, check_every_n_steps: int = 10) -> None:
        if check_every_n_steps < 1:
            raise ValueError("check_every_n_steps must be ≥ 1")
        self.check_every_n_steps = check_every_n_steps
        self._pending: list[tuple[int, int, torch.Tensor]] = []  # (epoch, batch, loss)

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx) -> None:
        """Keep the step's loss on the device; look at the pending ones every few steps."""
        loss = outputs["loss"] if isinstance(outputs, dict) else outputs
        if loss is None:
            return
        self._pending.append((trainer.current_epoch, batch_idx, loss.detach()))
        if len(self._pending) >= self.check_every_n_steps:
            self._look(trainer)

    def on_train_epoch_end(self, trainer, module) -> None:
        """Look at the losses still pending at the end of an epoch."""
        self._look(trainer)

    def on_save_checkpoint(self, trainer, module, checkpoint) -> None:
        """Look at the pending losses before a checkpoint is written."""
        self._look(trainer)  # before the file is written: never save a diverged model

    def _look(self, trainer) -> None:
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        losses = torch.stack([loss.reshape(()).float() for _, _, loss in pending])  # (k,)
        positions = torch.arange(len(pending), device=losses.device)
        first = torch.where(torch.isfinite(losses), len(pending), positions).min()
        if trainer.world_size > 1:  # every rank raises, at the earliest bad batch of any
            first = trainer.strategy.reduce(first, reduce_op="min")
        index = int(first)  # the one host synchronisation
        if index < len(pending):
            epoch, batch, _ = pending[index]
            raise NonFiniteLossError(_message(trainer, epoch, batch))


def _message(trainer, epoch: int, batch: int) -> str:
    checkpoint = getattr(trainer.checkpoint_callback, "last_model_path", "") or ""
    # last_model_path is set before a save starts; the look above stopped that save
    kept = (
        f"last good checkpoint: {checkpoint}"
        if checkpoint and os.path.isfile(checkpoint)
        else "no checkpoint had been written yet"
    )
    return (
        f"the training loss became non-finite in epoch {epoch + 1}/{trainer.max_epochs}, "
        f"batch {batch + 1}/{trainer.num_training_batches}; training stopped and no bundle "
        f"was written; {kept}; lower learning_rate or check the data, then train again"
    )
