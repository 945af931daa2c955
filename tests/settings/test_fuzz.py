"""Fuzzing: arbitrary dicts, variables and files give SettingsError (or pydantic's), never another exception."""

import json
import string
import warnings

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from ptycho_settings import (
    ModelConfig,
    PyTorchExecutionConfig,
    SettingsError,
    TrainingConfig,
    create_training_config,
    from_legacy_params,
)
from ptycho_settings.fields import field_section

FIELDS = sorted(field_section("any")) + [
    "n_images",
    "K",
    "grid_size",
    "mode",
    "device",
    "nll",
    "epochs",
]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 300),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.sampled_from(["64", "auto", "cpu", "ddp", "true", "none", "Default", "silu"]),
)
values = st.one_of(
    scalars,
    st.lists(scalars, max_size=3),
    st.dictionaries(st.text(max_size=4), scalars, max_size=2),
)
keys = st.one_of(
    st.sampled_from(FIELDS), st.text(string.ascii_letters + "_.", min_size=1, max_size=12)
)
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.dictionaries(keys, values, max_size=6))
def test_flat_overrides_raise_only_settings_errors(overrides):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            create_training_config(environ={}, overrides=overrides, check_files=False)
        except SettingsError:
            pass


@FUZZ
@given(
    st.dictionaries(
        st.sampled_from(["model", "training", "execution", "inference", "data_config", "x"]),
        st.dictionaries(keys, values, max_size=4),
        max_size=3,
    )
)
def test_config_files_raise_only_settings_errors(tmp_path_factory, sections):
    path = tmp_path_factory.mktemp("fuzz") / "run.json"
    path.write_text(json.dumps(sections, default=str))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            create_training_config(path, environ={}, check_files=False)
        except SettingsError:
            pass


@FUZZ
@given(
    st.dictionaries(
        st.one_of(
            st.sampled_from(["PTYCHO_" + f.upper() for f in FIELDS] + ["PTYCHO_DEVICE"]),
            st.text(string.ascii_uppercase + "_", max_size=10).map("PTYCHO_".__add__),
        ),
        st.text(max_size=10),
        max_size=4,
    )
)
def test_environment_raises_only_settings_errors(environ):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            create_training_config(environ=environ, check_files=False)
        except SettingsError:
            pass


@FUZZ
@given(st.dictionaries(keys, values, max_size=6))
def test_direct_construction_raises_only_validation_errors(data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for build in (
            lambda d: ModelConfig(**d),
            lambda d: TrainingConfig(**d),
            PyTorchExecutionConfig.from_values,
        ):
            try:
                build(data)
            except ValidationError:
                pass


@FUZZ
@given(st.dictionaries(keys, values, max_size=6))
def test_legacy_dicts_raise_only_settings_errors(data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            from_legacy_params(data)
        except SettingsError:
            pass
