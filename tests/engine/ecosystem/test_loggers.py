"""Loggers: csv by default; tensorboard and mlflow when their optional extras are installed.

Each test trains a tiny model (N = 64, 16 groups, 2 epochs, CPU) through the Python API and
checks the files the logger wrote. The tensorboard and mlflow tests are skipped, with the
reason, where ``pip install ".[tensorboard]"`` / ``".[mlflow]"`` was not run.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ptycho_settings import create_training_config
from tests.engine.simdata import simulated_files

EPOCHS = 2


def train_with(output_dir: Path, **execution):
    from ptycho_engine.training import train

    train_file, _ = simulated_files()
    resolved = create_training_config(
        environ={},
        overrides={
            "train_data_file": train_file,
            "output_dir": output_dir,
            "nepochs": EPOCHS,
            "n_groups": 16,
            "batch_size": 8,
            "n_filters_scale": 1,
            "accelerator": "cpu",
            "enable_progress_bar": False,
            **execution,
        },
    )
    return train(resolved.config, resolved.execution, provenance=resolved.provenance)


def test_csv_is_the_default_logger(tmp_path):
    result = train_with(tmp_path)
    assert result.metrics_path is not None
    assert result.metrics_path.parent.parent.name == "ptychopinn"  # the default experiment
    header, *rows = result.metrics_path.read_text().splitlines()
    assert "train_loss" in header.split(",") and rows


def test_logger_none_writes_no_logs(tmp_path):
    result = train_with(tmp_path, logger="none")
    assert result.metrics_path is None and not (tmp_path / "logs").exists()
    assert result.bundle_path.is_file()


def test_tensorboard_logger_writes_an_event_file(tmp_path):
    pytest.importorskip("tensorboard", reason="optional extra: pip install '.[tensorboard]'")
    train_with(tmp_path, logger="tensorboard", experiment_name="tb_run")
    events = list((tmp_path / "logs" / "tb_run").rglob("events.out.tfevents.*"))
    assert events and events[0].stat().st_size > 0
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    accumulator = EventAccumulator(str(events[0].parent))
    accumulator.Reload()
    assert "train_loss" in accumulator.Tags()["scalars"]
    assert len(accumulator.Scalars("train_loss")) == EPOCHS


def test_mlflow_logger_writes_a_run_with_metrics(tmp_path, monkeypatch):
    pytest.importorskip("mlflow", reason="optional extra: pip install '.[mlflow]'")
    # MLflow 3 refuses its file store (the engine's default `<output_dir>/mlruns`) unless this
    # variable is set; docs/workflows.md tells users the same.
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    train_with(tmp_path, logger="mlflow", experiment_name="mlflow_run")
    store = tmp_path / "mlruns"  # the default: a local file store in the output directory
    history = [path for path in store.rglob("metrics/train_loss") if path.is_file()]
    assert history, f"no train_loss metric under {store}"
    assert len(history[0].read_text().splitlines()) == EPOCHS
    assert list(store.rglob("meta.yaml"))


def test_a_store_mlflow_refuses_is_one_clear_error(tmp_path, monkeypatch):
    mlflow = pytest.importorskip("mlflow", reason="optional extra: pip install '.[mlflow]'")
    if int(mlflow.__version__.split(".")[0]) < 3:
        pytest.skip("MLflow before 3 accepts its file store")
    from ptycho_engine.errors import EngineError
    from ptycho_engine.training.trainer import build_logger
    from ptycho_settings import PyTorchExecutionConfig

    monkeypatch.delenv("MLFLOW_ALLOW_FILE_STORE", raising=False)
    execution = PyTorchExecutionConfig.from_values({"logger": "mlflow"})
    with pytest.raises(EngineError, match="MLFLOW_ALLOW_FILE_STORE=true"):
        build_logger(execution, tmp_path)
