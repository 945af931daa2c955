"""``PinnModule``: the LightningModule of PtychoPINN; it composes generator, physics and losses
(:class:`ptycho_engine.pinn.Pinn`) and adds only what Lightning needs.

Automatic optimisation, so schedulers, gradient clipping and accumulation are Lightning's own.
The weights carry the names of :class:`~ptycho_engine.pinn.Pinn`, which inference loads without
importing Lightning.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import lightning as L
from torch import Tensor

from ptycho_engine.pinn import Pinn
from ptycho_engine.training.optim import build_optimizer, build_scheduler
from ptycho_settings import ModelConfig, TrainingConfig


class PinnModule(Pinn, L.LightningModule):
    """:class:`~ptycho_engine.pinn.Pinn` trained by Lightning; the settings are stored as
    hyper-parameters so that checkpoints reload alone. Parameters as for ``Pinn``.
    """

    def __init__(
        self,
        model: ModelConfig,
        training: TrainingConfig,
        probe: Tensor,
        photon_scale: float,
    ) -> None:
        super().__init__(model, training, probe, photon_scale)
        self.save_hyperparameters(
            {
                "model": self.model_config.model_dump(mode="json"),
                "training": self.training_config.model_dump(mode="json"),
                "photon_scale": float(photon_scale),
            },
            ignore=["probe"],
        )

    def training_step(self, batch: Mapping[str, Tensor], batch_idx: int) -> Tensor:
        """Return the batch's total loss and log its parts."""
        losses = self.compute_losses(batch)
        self._log_losses("train", losses, batch["diffraction"].shape[0])
        return losses["loss"]

    def validation_step(self, batch: Mapping[str, Tensor], batch_idx: int) -> None:
        """Log the validation batch's losses."""
        losses = self.compute_losses(batch)
        self._log_losses("val", losses, batch["diffraction"].shape[0])

    def _log_losses(self, stage: str, losses: dict[str, Tensor], batch_size: int) -> None:
        for name, value in losses.items():
            label = f"{stage}_loss" if name == "loss" else f"{stage}_{name}"
            self.log(
                label,
                value,
                on_step=False,
                on_epoch=True,
                prog_bar=name == "loss",
                batch_size=batch_size,
                sync_dist=True,
            )

    def configure_optimizers(self) -> Any:
        """The optimiser and learning-rate schedule of the training settings."""
        optimizer = build_optimizer(self.parameters(), self.training_config)
        scheduler = build_scheduler(optimizer, self.training_config)
        return (
            optimizer if scheduler is None else {"optimizer": optimizer, "lr_scheduler": scheduler}
        )
