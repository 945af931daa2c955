"""Settings of the iterative solver: ``ReconstructionConfig`` and the ``refine_*`` fields."""

import pytest
from pydantic import ValidationError

from ptycho_settings import (
    InferenceConfig,
    ReconstructionConfig,
    SettingsError,
    create_inference_config,
    create_reconstruction_config,
)
from tests.conftest import write_npz


def test_defaults_and_the_flat_start():
    config = ReconstructionConfig(data_file="scan.npz")
    assert (config.iterations, config.refine_lr, config.refine_batch_size, config.refine_probe) == (
        50,
        0.01,
        None,  # the method's own: 256 for pie, 64 for adam
        False,
    )
    assert config.refine_method == "pie"
    assert (config.refine_tolerance, config.refine_patience) == (0.01, 2)
    assert config.init == "flat" and config.nphotons is None
    assert (
        str(ReconstructionConfig(data_file="scan.npz", init="run/reconstruction.npz").init)
        == "run/reconstruction.npz"
    )


@pytest.mark.parametrize(
    "field, value",
    [
        ("iterations", 0),
        ("refine_lr", 0.0),
        ("refine_lr", 2.0),
        ("refine_batch_size", 0),
        ("refine_method", "sgd"),
        ("refine_tolerance", -0.1),
        ("refine_tolerance", 1.0),
        ("refine_patience", 0),
        ("nphotons", -1.0),
    ],
)
def test_out_of_range_values_are_refused(field, value):
    with pytest.raises(ValidationError, match=field):
        ReconstructionConfig(data_file="scan.npz", **{field: value})


def test_inference_refinement_is_off_unless_asked():
    config = InferenceConfig(model_path="m", test_data_file="t.npz")
    assert config.refine_iterations == 0
    with pytest.raises(ValidationError, match="refine_iterations"):
        InferenceConfig(model_path="m", test_data_file="t.npz", refine_iterations=-1)


def test_sources_and_their_precedence(tmp_path, env):
    data = write_npz(tmp_path / "scan.npz", N=64, metadata={"nphotons": 1e5})
    config_file = tmp_path / "run.toml"
    config_file.write_text(
        "[reconstruction]\niterations = 7\nrefine_batch_size = 8\n[training]\nnepochs = 3\n"
    )  # another mode's section is ignored
    env(PTYCHO_ITERATIONS="9", PTYCHO_REFINE_LR="0.05")
    resolved = create_reconstruction_config(
        config_file,
        flags={"data_file": (str(data), "--data-file"), "refine_lr": ("0.03", "--refine-lr")},
    )
    config = resolved.config
    assert (config.iterations, config.refine_lr, config.refine_batch_size) == (9, 0.03, 8)
    assert resolved.source("reconstruction.iterations").kind == "env"
    assert resolved.source("reconstruction.refine_lr").kind == "cli"
    assert resolved.source("reconstruction.refine_batch_size").kind == "file"
    assert config.model.N == 64 and config.nphotons == 1e5
    assert resolved.source("reconstruction.nphotons").kind == "inferred"


def test_a_missing_initial_object_names_the_setting(tmp_path):
    data = write_npz(tmp_path / "scan.npz")
    with pytest.raises(SettingsError, match=r"reconstruction.init=.*gone.npz.*does not exist"):
        create_reconstruction_config(overrides={"data_file": data, "init": tmp_path / "gone.npz"})


def test_refine_settings_are_shared_by_infer(tmp_path, env):
    from tests.conftest import write_bundle_settings

    data = write_npz(tmp_path / "scan.npz")
    bundle = write_bundle_settings(tmp_path / "model")
    env(
        PTYCHO_REFINE_LR="0.05",
        PTYCHO_REFINE_ITERATIONS="4",
        PTYCHO_REFINE_METHOD="adam",
        PTYCHO_REFINE_TOLERANCE="0",
    )
    config = create_inference_config(
        overrides={"model_path": bundle, "test_data_file": data}
    ).config
    assert (config.refine_iterations, config.refine_lr) == (4, 0.05)
    assert (config.refine_method, config.refine_tolerance) == ("adam", 0.0)


def test_the_method_and_the_stopping_rule_come_from_flags(tmp_path):
    data = write_npz(tmp_path / "scan.npz", N=64)
    resolved = create_reconstruction_config(
        flags={
            "data_file": (str(data), "--data-file"),
            "refine_method": ("adam", "--refine-method"),
            "refine_tolerance": ("0.001", "--refine-tolerance"),
            "refine_patience": ("3", "--refine-patience"),
        },
    )
    config = resolved.config
    assert (config.refine_method, config.refine_tolerance, config.refine_patience) == (
        "adam",
        0.001,
        3,
    )
    assert resolved.source("reconstruction.refine_method").kind == "cli"


def test_reconstruction_only_variables_do_not_disturb_training(tmp_path, env):
    from ptycho_settings import create_training_config

    data = write_npz(tmp_path / "scan.npz")
    env(PTYCHO_ITERATIONS="9", PTYCHO_INIT="flat")
    config = create_training_config(overrides={"train_data_file": data}).config
    assert not hasattr(config, "iterations")
