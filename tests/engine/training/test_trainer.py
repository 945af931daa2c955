"""Every execution setting reaches Lightning's Trainer, and stray PL_TRAINER_* variables do not."""

from pathlib import Path

import pytest
import torch
from lightning.pytorch.loggers import CSVLogger
from lightning.pytorch.strategies import DDPStrategy, SingleDeviceStrategy

from ptycho_engine.training.trainer import build_trainer
from ptycho_settings import HardwareDescription, PyTorchExecutionConfig, resolve_execution

CPU = HardwareDescription(cuda_device_count=0, cpu_count=2)


def _trainer(tmp_path: Path, *, has_validation: bool = True, **values):
    execution = PyTorchExecutionConfig.from_values({"accelerator": "cpu", **values})
    resolved = resolve_execution(execution, CPU)
    return build_trainer(
        execution, resolved, output_dir=tmp_path, max_epochs=7, has_validation=has_validation
    )


@pytest.fixture(autouse=True)
def _restore_determinism():
    before = torch.are_deterministic_algorithms_enabled()
    yield
    torch.use_deterministic_algorithms(before)


def test_accelerator_devices_and_strategy(tmp_path):
    trainer = _trainer(tmp_path, devices=2, strategy="ddp")
    assert trainer.accelerator.__class__.__name__ == "CPUAccelerator"
    assert trainer.num_devices == 2 and isinstance(trainer.strategy, DDPStrategy)
    assert isinstance(_trainer(tmp_path).strategy, SingleDeviceStrategy)


def test_precision(tmp_path):
    assert _trainer(tmp_path, precision="bf16-mixed").precision == "bf16-mixed"
    assert _trainer(tmp_path).precision == "32-true"


def test_deterministic(tmp_path):
    _trainer(tmp_path, deterministic=True)
    assert torch.are_deterministic_algorithms_enabled()
    _trainer(tmp_path, deterministic=False)
    assert not torch.are_deterministic_algorithms_enabled()


def test_accumulation_and_clipping(tmp_path):
    trainer = _trainer(
        tmp_path, accumulate_grad_batches=4, gradient_clip_val=0.5, gradient_clip_algorithm="value"
    )
    assert trainer.accumulate_grad_batches == 4
    assert (trainer.gradient_clip_val, trainer.gradient_clip_algorithm) == (0.5, "value")


def test_logger(tmp_path):
    trainer = _trainer(tmp_path, logger="csv", experiment_name="exp")
    assert isinstance(trainer.logger, CSVLogger) and trainer.logger.name == "exp"
    assert Path(trainer.logger.save_dir) == tmp_path / "logs"
    assert _trainer(tmp_path, logger="none").logger is None


def test_checkpointing(tmp_path):
    callback = _trainer(
        tmp_path, checkpoint_save_top_k=3, checkpoint_monitor="val_loss", checkpoint_mode="max"
    ).checkpoint_callback
    assert (callback.save_top_k, callback.monitor, callback.mode, callback.save_last) == (
        3,
        "val_loss",
        "max",
        True,
    )
    assert Path(callback.dirpath) == tmp_path / "checkpoints"
    assert _trainer(tmp_path, enable_checkpointing=False).checkpoint_callback is None


def test_monitor_falls_back_to_the_training_loss_without_validation(tmp_path):
    assert _trainer(tmp_path, has_validation=False).checkpoint_callback.monitor == "train_loss"


def test_early_stopping(tmp_path):
    assert _trainer(tmp_path).early_stopping_callback is None
    stopper = _trainer(
        tmp_path, early_stop_patience=5, checkpoint_mode="min"
    ).early_stopping_callback
    assert (stopper.patience, stopper.monitor, stopper.mode) == (5, "val_loss", "min")


def test_progress_bar_and_log_interval(tmp_path):
    trainer = _trainer(tmp_path, enable_progress_bar=False, log_every_n_steps=3)
    assert trainer.progress_bar_callback is None and trainer.log_every_n_steps == 3
    assert _trainer(tmp_path, enable_progress_bar=True).progress_bar_callback is not None


def test_max_epochs_come_from_the_training_settings(tmp_path):
    assert _trainer(tmp_path).max_epochs == 7


def test_stray_lightning_variables_change_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("PL_TRAINER_MAX_EPOCHS", "99")
    monkeypatch.setenv("PL_TRAINER_FAST_DEV_RUN", "1")
    monkeypatch.setenv("PL_TRAINER_PRECISION", "bf16-mixed")
    monkeypatch.setenv("PL_TRAINER_LIMIT_TRAIN_BATCHES", "2")
    trainer = _trainer(tmp_path)
    assert trainer.max_epochs == 7 and not trainer.fast_dev_run
    assert trainer.precision == "32-true" and trainer.limit_train_batches == 1.0
