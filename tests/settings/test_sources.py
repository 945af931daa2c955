"""The factories: one named test per precedence rule, provenance, data inference, file checks."""

import json
import warnings
from pathlib import Path

import pytest

from ptycho_settings import SettingsError, create_inference_config, create_training_config
from tests.conftest import write_bundle_settings, write_npz


def _file(tmp_path: Path, content: dict, name: str = "run.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(content))
    return path


def test_default_when_nothing_sets_a_value():
    resolved = create_training_config(environ={})
    assert resolved.config.nepochs == 50
    assert resolved.source("training.nepochs").kind == "default"


def test_file_beats_default(tmp_path):
    resolved = create_training_config(_file(tmp_path, {"training": {"nepochs": 7}}), environ={})
    assert resolved.config.nepochs == 7
    assert resolved.source("training.nepochs").describe() == "run.json: training.nepochs"


def test_env_beats_file(tmp_path):
    path = _file(tmp_path, {"training": {"nepochs": 7}})
    resolved = create_training_config(path, environ={"PTYCHO_NEPOCHS": "9"})
    assert resolved.config.nepochs == 9
    assert resolved.source("training.nepochs").detail == "PTYCHO_NEPOCHS"


def test_flag_beats_env():
    resolved = create_training_config(
        environ={"PTYCHO_NEPOCHS": "9"}, flags={"nepochs": ("11", "--nepochs")}
    )
    assert resolved.config.nepochs == 11
    assert resolved.source("training.nepochs").describe() == "--nepochs"


def test_kwarg_beats_env():
    resolved = create_training_config(environ={"PTYCHO_NEPOCHS": "9"}, overrides={"nepochs": 3})
    assert resolved.config.nepochs == 3
    assert resolved.source("training.nepochs").kind == "explicit"


def test_kwarg_beats_flag():
    resolved = create_training_config(
        environ={}, flags={"nepochs": ("11", "--nepochs")}, overrides={"nepochs": 3}
    )
    assert resolved.config.nepochs == 3


def test_inferred_beats_default(data_file):
    resolved = create_training_config(environ={}, overrides={"train_data_file": data_file})
    assert resolved.config.model.N == 64
    assert resolved.source("model.N").kind == "inferred"
    assert "probeGuess of data.npz" in resolved.source("model.N").describe()


def test_file_beats_inferred_nphotons(tmp_path):
    data = write_npz(tmp_path / "d.npz", metadata={"nphotons": 1e6})
    path = _file(tmp_path, {"training": {"nphotons": 5e5, "train_data_file": str(data)}})
    resolved = create_training_config(path, environ={})
    assert resolved.config.nphotons == 5e5 and resolved.source("training.nphotons").kind == "file"


def test_nphotons_inferred_from_metadata(tmp_path):
    data = write_npz(tmp_path / "d.npz", metadata={"physics_parameters": {"nphotons": 2e6}})
    resolved = create_training_config(environ={}, overrides={"train_data_file": data})
    assert resolved.config.nphotons == 2e6
    assert (
        resolved.source("training.nphotons").describe()
        == "_metadata.physics_parameters.nphotons of d.npz"
    )


def test_nphotons_inferred_from_counts(tmp_path):
    data = write_npz(tmp_path / "d.npz", M=4, metadata={"diffraction_units": "sqrt_counts"})
    import numpy as np

    expected = float(np.mean(np.sum(np.load(data)["diff3d"].astype(float) ** 2, axis=(1, 2))))
    resolved = create_training_config(environ={}, overrides={"train_data_file": data})
    assert resolved.config.nphotons == pytest.approx(expected)


def test_explicit_N_that_contradicts_the_data_is_an_error(data_file):
    with pytest.raises(SettingsError, match=r"model.N=128 \(from --N\) disagrees .* 64×64"):
        create_training_config(
            environ={},
            flags={"N": ("128", "--N"), "train_data_file": (str(data_file), "--train-data-file")},
        )


def test_missing_data_file_is_named_with_its_source(tmp_path):
    with pytest.raises(
        SettingsError, match="training.train_data_file=.*PTYCHO_TRAIN_DATA_FILE.*does not exist"
    ):
        create_training_config(environ={"PTYCHO_TRAIN_DATA_FILE": str(tmp_path / "missing.npz")})


def test_files_are_not_checked_when_asked_not_to(tmp_path):
    resolved = create_training_config(
        environ={}, check_files=False, overrides={"train_data_file": tmp_path / "missing.npz"}
    )
    assert resolved.config.train_data_file.name == "missing.npz"


def test_n_is_inferred_from_a_legacy_n_n_1_probe(tmp_path):
    import numpy as np

    path = tmp_path / "legacy.npz"
    np.savez(
        path,
        diff3d=np.ones((2, 64, 64), np.float32),
        xcoords=np.zeros(2),
        ycoords=np.zeros(2),
        probeGuess=np.ones((64, 64, 1), np.complex64),
    )
    resolved = create_training_config(environ={}, overrides={"train_data_file": path})
    assert resolved.config.model.N == 64


def test_unreadable_data_file(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(SettingsError, match="not a readable NPZ archive"):
        create_training_config(environ={}, overrides={"train_data_file": bad})


def test_object_metadata_is_skipped_without_unpickling(tmp_path):
    import numpy as np

    path = tmp_path / "upstream.npz"
    np.savez(
        path,
        probeGuess=np.ones((64, 64), np.complex64),
        _metadata=np.array({"nphotons": 1e6}, dtype=object),
        allow_pickle=True,
    )
    with pytest.warns(UserWarning, match="unpickling"):
        resolved = create_training_config(environ={}, overrides={"train_data_file": path})
    assert resolved.config.nphotons == 1e9


def test_validation_error_names_field_value_and_source(tmp_path):
    path = _file(tmp_path, {"training": {"batch_size": 12}})
    with pytest.raises(SettingsError) as caught:
        create_training_config(path, environ={})
    message = str(caught.value)
    assert (
        message
        == "training.batch_size=12 (from run.json: training.batch_size): batch_size must be a positive power of two (1, 2, 4, … 64), got 12"
    )


def test_cross_field_error_names_the_sources():
    with pytest.raises(
        SettingsError, match=r"neighbor_count from PTYCHO_NEIGHBOR_COUNT.*gridsize from --gridsize"
    ):
        create_training_config(
            environ={"PTYCHO_NEIGHBOR_COUNT": "2"}, flags={"gridsize": ("2", "--gridsize")}
        )


def test_unknown_kwarg_is_an_error_with_a_suggestion():
    with pytest.raises(SettingsError, match="did you mean `nepochs`"):
        create_training_config(environ={}, overrides={"nepoch": 3})


def test_sectioned_overrides():
    resolved = create_training_config(
        environ={},
        overrides={
            "model": {"N": 128},
            "training": {"nepochs": 2},
            "execution": {"accelerator": "cpu"},
        },
    )
    assert (resolved.config.model.N, resolved.config.nepochs, resolved.execution.accelerator) == (
        128,
        2,
        "cpu",
    )


def test_execution_values_from_every_layer(tmp_path):
    path = _file(tmp_path, {"execution": {"num_workers": 2, "seed": 5}})
    resolved = create_training_config(
        path, environ={"PTYCHO_SEED": "6"}, flags={"logger": ("none", "--logger")}
    )
    assert (resolved.execution.num_workers, resolved.execution.seed, resolved.execution.logger) == (
        2,
        6,
        "none",
    )
    assert resolved.source("execution.num_workers").kind == "file"


def test_provenance_covers_every_field():
    resolved = create_training_config(environ={})
    assert {"model.N", "training.nepochs", "execution.accelerator"} <= set(resolved.provenance)
    from ptycho_settings import ModelConfig, PyTorchExecutionConfig, TrainingConfig

    expected = (
        len(ModelConfig.model_fields)
        + len(TrainingConfig.model_fields)
        - 1
        + len(PyTorchExecutionConfig.model_fields)
    )
    assert len(resolved.provenance) == expected


def test_result_is_frozen():
    resolved = create_training_config(environ={})
    with pytest.raises(AttributeError):
        resolved.config = None
    with pytest.raises(TypeError):
        resolved.provenance["model.N"] = None


def test_deprecated_spelling_in_a_file_warns_and_maps(tmp_path):
    path = _file(tmp_path, {"training": {"max_epochs": 4, "n_images": 32}})
    with pytest.warns(DeprecationWarning):
        resolved = create_training_config(path, environ={})
    assert (resolved.config.nepochs, resolved.config.n_groups) == (4, 32)
    assert resolved.source("training.nepochs").describe() == "run.json: training.max_epochs"


def test_two_spellings_in_one_source_conflict(tmp_path):
    path = _file(tmp_path, {"training": {"nepochs": 4, "epochs": 5}})
    with pytest.raises(SettingsError, match="nepochs is given twice"), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        create_training_config(path, environ={})


def test_inference_factory_checks_the_model_path(tmp_path, data_file):
    with pytest.raises(SettingsError, match="model_path.*no wts.h5.zip"):
        create_inference_config(
            environ={}, overrides={"model_path": tmp_path, "test_data_file": data_file}
        )
    write_bundle_settings(tmp_path, {"N": 64, "gridsize": 2, "object_big": False})
    resolved = create_inference_config(
        environ={}, overrides={"model_path": tmp_path, "test_data_file": data_file}
    )
    assert resolved.config.model.N == 64 and resolved.mode == "inference"
    assert (resolved.config.model.gridsize, resolved.config.model.object_big) == (2, False)
    assert resolved.source("model.gridsize").describe() == f"bundle {tmp_path}"


def test_inference_refuses_model_settings_that_contradict_the_bundle(tmp_path, data_file):
    write_bundle_settings(tmp_path, {"N": 64, "gridsize": 2})
    with pytest.raises(
        SettingsError,
        match=r"model.gridsize=1 \(from --gridsize\) differs from the trained model's gridsize=2",
    ):
        create_inference_config(
            environ={},
            flags={"gridsize": ("1", "--gridsize")},
            overrides={"model_path": tmp_path, "test_data_file": data_file},
        )


def test_inference_bundle_that_is_not_a_zip(tmp_path, data_file):
    (tmp_path / "wts.h5.zip").write_bytes(b"junk")
    with pytest.raises(SettingsError, match="not a readable zip archive"):
        create_inference_config(
            environ={}, overrides={"model_path": tmp_path, "test_data_file": data_file}
        )


def test_inference_ignores_training_only_variables(data_file, tmp_path):
    write_bundle_settings(tmp_path)
    resolved = create_inference_config(
        environ={"PTYCHO_NEPOCHS": "3"},
        overrides={"model_path": tmp_path, "test_data_file": data_file},
    )
    assert resolved.config.n_groups is None


def test_legacy_params_of_the_result_exclude_execution():
    legacy = create_training_config(environ={"PTYCHO_SEED": "3"}).legacy_params()
    assert "seed" not in legacy and "accelerator" not in legacy and legacy["nepochs"] == 50
