"""Build the Lightning ``Trainer`` from resolved execution settings, every knob explicit.

Every ``Trainer`` argument is passed (defaults included), so stray ``PL_TRAINER_*``
environment variables, which Lightning reads for arguments left unset, cannot change a run.
Checkpoints and CSV metrics are written atomically (:mod:`ptycho_engine.training.checkpoint_io`).
"""

from __future__ import annotations

import importlib.util
import inspect
from pathlib import Path
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import Callback, EarlyStopping, ModelCheckpoint, ModelSummary

from ptycho_engine.errors import EngineError
from ptycho_engine.training.checkpoint_io import AtomicCheckpointIO, AtomicCSVLogger
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
        monitor = "train_" + monitor[len("val_") :]  # no validation data: rank by training loss
    # the plain summary, which goes to Lightning's logger (shown with --verbose): Lightning
    # would otherwise print a rich table to stdout whenever `rich` happens to be installed
    all_callbacks = [ModelSummary(max_depth=1), *callbacks]
    if execution.enable_checkpointing:
        all_callbacks.append(
            ModelCheckpoint(
                dirpath=output_dir / "checkpoints",
                filename="epoch={epoch:03d}-" + monitor + "={" + monitor + ":.5g}",
                auto_insert_metric_name=False,
                monitor=monitor,
                mode=execution.checkpoint_mode,
                save_top_k=execution.checkpoint_save_top_k,
                save_last=True,
                # always `last.ckpt`: with the counter, a new run beside an old last.ckpt writes
                # last-v1.ckpt, and --resume would then continue the old run
                enable_version_counter=False,
            )
        )
    if execution.early_stop_patience is not None:
        all_callbacks.append(
            EarlyStopping(
                monitor=monitor,
                mode=execution.checkpoint_mode,
                patience=execution.early_stop_patience,
            )
        )
    arguments = _every_trainer_default()
    arguments.update(resolved.trainer_kwargs)
    arguments.update(
        max_epochs=max_epochs,
        callbacks=all_callbacks,
        default_root_dir=str(output_dir),
        logger=build_logger(execution, output_dir),
        num_sanity_val_steps=0,
        plugins=[AtomicCheckpointIO()],
        # train.py's samplers deal the data out to the processes (ptycho_engine.training.sampling)
        use_distributed_sampler=False,
        # BatchNorm statistics over the global batch, so W processes compute what one does;
        # torch's SyncBatchNorm runs on GPUs only (CPU processes normalise per process)
        sync_batchnorm=resolved.world_size > 1 and resolved.device == "cuda",
    )
    return L.Trainer(**arguments)


def _every_trainer_default() -> dict[str, Any]:
    parameters = inspect.signature(L.Trainer.__init__).parameters
    return {
        name: p.default
        for name, p in parameters.items()
        if name != "self" and p.default is not inspect.Parameter.empty
    }


def build_logger(execution: PyTorchExecutionConfig, output_dir: Path):
    """Return the Lightning logger chosen by ``execution.logger`` (False for ``none``)."""
    root = Path(execution.logger_dir) if execution.logger_dir else output_dir / "logs"
    name = execution.experiment_name
    if execution.logger == "none":
        return False
    if execution.logger == "csv":
        return AtomicCSVLogger(save_dir=str(root), name=name)
    if execution.logger == "tensorboard":
        _require("tensorboard", "tensorboard")
        # its TensorBoard import only for that logger
        from lightning.pytorch.loggers import TensorBoardLogger

        return TensorBoardLogger(save_dir=str(root), name=name)
    _require("mlflow", "mlflow")
    from lightning.pytorch.loggers import MLFlowLogger  # MLflow only for that logger
    from mlflow.exceptions import MlflowException

    uri = execution.mlflow_tracking_uri or (output_dir / "mlruns").resolve().as_uri()
    try:
        return MLFlowLogger(experiment_name=name, tracking_uri=uri)  # opens the store now
    except MlflowException as error:
        # e.g. MLflow 3 refuses its file store (our default) unless MLFLOW_ALLOW_FILE_STORE
        # is set; the engine leaves the process environment to the user
        first = str(error).strip().splitlines()[0]
        raise EngineError(
            f"logger=mlflow: MLflow refused the tracking store {uri} ({first}); set "
            "mlflow_tracking_uri (a server or sqlite:///PATH/mlflow.db), or for a local file "
            "store export MLFLOW_ALLOW_FILE_STORE=true"
        ) from error


def _require(module: str, extra: str) -> None:
    if importlib.util.find_spec(module) is None:
        raise EngineError(
            f"logger={module} needs the optional `{module}` package: "
            f"pip install 'ptychopinn-lightning[{extra}]', or choose logger=csv"
        )
