"""Settings built the way Ptychodus 1.7 builds them: ``ModelConfig(N=0)``, N set later.

Ptychodus' PtychoPINN reconstructor (``ptychodus/model/ptychopinn/reconstructor.py``) does not
know N when it builds the training settings; its training process then sets
``training_config.model.N = model_size`` and calls ``update_legacy_dict``. The calls below are
its calls, with its defaults.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from pydantic import ValidationError

from ptycho_engine.training import train
from ptycho_settings import (
    ModelConfig,
    PyTorchExecutionConfig,
    TrainingConfig,
    ValueSource,
    create_training_config,
    update_legacy_dict,
)
from tests.engine.simdata import simulated_files


def _as_ptychodus_builds_it(**training) -> TrainingConfig:
    model = ModelConfig(
        N=0, gridsize=1, n_filters_scale=1, model_type="pinn", amp_activation="sigmoid",
        object_big=True, probe_big=True, probe_mask=False, pad_object=True, probe_scale=4.0,
        gaussian_smoothing_sigma=0.0,
    )  # fmt: skip
    values = dict(
        model=model, train_data_file=Path(), test_data_file=None, batch_size=8, nepochs=1,
        mae_weight=0.0, nll_weight=1.0, realspace_mae_weight=0.0, realspace_weight=0.0,
        nphotons=1e6, positions_provided=True, probe_trainable=False,
        intensity_scale_trainable=True, output_dir=Path(),
    )  # fmt: skip
    return TrainingConfig(**{**values, **training})


def test_ptychodus_sets_n_once_and_reads_the_legacy_dict():
    config = _as_ptychodus_builds_it()
    config.model.N = 64  # Ptychodus' training process, once it has read the data
    legacy = {"N": 128, "gridsize": 2}
    update_legacy_dict(legacy, config)
    assert legacy["N"] == 64 and legacy["gridsize"] == 1
    with pytest.raises(ValidationError):
        config.model.N = 128  # resolved: frozen again
    with pytest.raises(ValidationError):
        _as_ptychodus_builds_it().model.N = 65  # only the sizes the engine supports
    with pytest.raises(ValidationError):
        ModelConfig(N=64).N = 128  # nobody else may change N


def test_n_zero_is_taken_from_the_data_by_the_factory():
    train_file, _ = simulated_files()
    resolved = create_training_config(
        overrides={"N": 0, "train_data_file": str(train_file)}, environ={}
    )
    assert resolved.config.model.N == 64
    assert resolved.source("model.N") == ValueSource(
        "inferred", f"probeGuess of {train_file.name} (N=0 given)"
    )


def test_training_with_n_zero_resolves_it_from_the_probe_and_records_it(tmp_path):
    train_file, _ = simulated_files()
    config = _as_ptychodus_builds_it(train_data_file=train_file, output_dir=tmp_path, n_groups=16)
    execution = PyTorchExecutionConfig.from_values(
        {"accelerator": "cpu", "enable_progress_bar": False, "logger": "none"}
    )
    result = train(config, execution)
    with zipfile.ZipFile(result.bundle_path) as bundle:
        settings = json.loads(bundle.read("settings.json"))
        params = json.loads(bundle.read("params.json"))
    assert settings["model"]["N"] == 64 and params["N"] == 64
    assert settings["provenance"]["model.N"]["source"] == "inferred"
    assert "N=0 given" in settings["provenance"]["model.N"]["detail"]
