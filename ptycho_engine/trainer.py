"""Build the Lightning ``Trainer`` from resolved execution settings, every knob explicit.

Every ``Trainer`` argument is passed (defaults included), so stray ``PL_TRAINER_*``
environment variables, which Lightning reads for arguments left unset, cannot change a run.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import Callback, EarlyStopping, ModelCheckpoint

from ptycho_engine.errors import EngineError
from ptycho_settings import PyTorchExecutionConfig, ResolvedExecution


def build_trainer(
    execution: PyTorchExecutionConfig,
    resolved: ResolvedExecution,
    *,
    output_dir: Path,
    max_epochs: int,
    has_validation: bool,
    callbacks: list[Callback] = (),
) -> L.Trainer:
    """Return a Trainer configured only from the settings passed in."""
    monitor = execution.checkpoint_monitor
    if monitor.startswith("val_") and not has_validation:
        monitor = "train_" + monitor[len("val_"):]  # no validation data: rank by training loss
    all_callbacks = list(callbacks)
    if execution.enable_checkpointing:
        all_callbacks.append(ModelCheckpoint(
            dirpath=output_dir / "checkpoints", filename="epoch={epoch:03d}-" + monitor + "={" + monitor + ":.5g}",
            auto_insert_metric_name=False, monitor=monitor, mode=execution.checkpoint_mode,
            save_top_k=execution.checkpoint_save_top_k, save_last=True,
        ))
    if execution.early_stop_patience is not None:
        all_callbacks.append(EarlyStopping(monitor=monitor, mode=execution.checkpoint_mode,
                                           patience=execution.early_stop_patience))
    arguments = _every_trainer_default()
    arguments.update(resolved.trainer_kwargs)
    arguments.update(
        max_epochs=max_epochs, callbacks=all_callbacks, default_root_dir=str(output_dir),
        logger=build_logger(execution, output_dir), num_sanity_val_steps=0,
    )
    return L.Trainer(**arguments)


def _every_trainer_default() -> dict[str, Any]:
    parameters = inspect.signature(L.Trainer.__init__).parameters
    return {name: p.default for name, p in parameters.items()
            if name != "self" and p.default is not inspect.Parameter.empty}


def build_logger(execution: PyTorchExecutionConfig, output_dir: Path):
    """Return the Lightning logger chosen by ``execution.logger`` (False for ``none``)."""
    root = Path(execution.logger_dir) if execution.logger_dir else output_dir / "logs"
    name = execution.experiment_name
    if execution.logger == "none":
        return False
    if execution.logger == "csv":
        from lightning.pytorch.loggers import CSVLogger

        return CSVLogger(save_dir=str(root), name=name)
    if execution.logger == "tensorboard":
        _require("tensorboard", "tensorboard")
        from lightning.pytorch.loggers import TensorBoardLogger

        return TensorBoardLogger(save_dir=str(root), name=name)
    _require("mlflow", "mlflow")
    from lightning.pytorch.loggers import MLFlowLogger

    uri = execution.mlflow_tracking_uri or (output_dir / "mlruns").resolve().as_uri()
    return MLFlowLogger(experiment_name=name, tracking_uri=uri)


def _require(module: str, extra: str) -> None:
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise EngineError(
            f"logger={module} needs the optional `{module}` package: "
            f"pip install 'ptychopinn-lightning[{extra}]', or choose logger=csv"
        )
