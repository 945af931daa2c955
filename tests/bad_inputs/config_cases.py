"""Bad config files and bad ``PTYCHO_*`` environments.

Config files go through ``ptycho config validate`` and ``ptycho train --config``; environments
through ``ptycho config show`` and ``ptycho train``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.bad_inputs.inputs import Case

FILE_COMMANDS = ("validate", "train-config")
ENV_COMMANDS = ("show", "train-env")


def _text(text: str | bytes, name: str = "run.json") -> Callable:
    def write(folder: Path) -> Path:
        path = folder / name
        (path.write_bytes if isinstance(text, bytes) else path.write_text)(text)
        return path

    return write


def _json(settings) -> Callable:
    return _text(json.dumps(settings))


def _nothing(folder: Path) -> None:
    return None


def _env(case_id: str, fragment: str, **variables: str) -> Case:
    return Case(case_id, fragment, _nothing, ENV_COMMANDS, tuple(variables.items()))


CONFIG_CASES = [
    Case(
        "json-trailing-comma",
        "not valid JSON",
        _text('{"training": {"nepochs": 3,}}'),
        FILE_COMMANDS,
    ),
    Case(
        "toml-unclosed-table",
        "not valid TOML",
        _text("[training\nnepochs = 3\n", "run.toml"),
        FILE_COMMANDS,
    ),
    Case("json-deeply-nested", "run.json", _text("[" * 100_000 + "]" * 100_000), FILE_COMMANDS),
    Case(
        "toml-deeply-nested",
        "run.toml",
        _text("a = " + "[" * 100_000 + "]" * 100_000, "run.toml"),
        FILE_COMMANDS,
    ),
    Case("json-top-level-list", "top level must be an object", _json([1, 2]), FILE_COMMANDS),
    Case("binary-file", "not a text file", _text(b"\xff\xfe\x00\x01" * 8), FILE_COMMANDS),
    Case("empty-file", "run.json", _text(""), FILE_COMMANDS),
    Case(
        "unknown-key-in-section",
        "`Nn` is not a setting in section `model`; did you mean `N`?",
        _json({"model": {"Nn": 64}}),
        FILE_COMMANDS,
    ),
    Case(
        "unknown-flat-key",
        "`learning_rat` is not a setting",
        _json({"learning_rat": 0.1}),
        FILE_COMMANDS,
    ),
    Case(
        "key-in-wrong-section",
        "`nepochs` belongs in section `training`",
        _json({"model": {"nepochs": 3}}),
        FILE_COMMANDS,
    ),
    Case(
        "wrong-type-text",
        "training.nepochs='ten'",
        _json({"training": {"nepochs": "ten"}}),
        FILE_COMMANDS,
    ),
    Case(
        "wrong-type-list",
        "model.gridsize=[2, 2]",
        _json({"model": {"gridsize": [2, 2]}}),
        FILE_COMMANDS,
    ),
    Case("wrong-type-section", "`model` must be a section", _json({"model": 64}), FILE_COMMANDS),
    Case(
        "out-of-range-zero-epochs",
        "training.nepochs=0",
        _json({"training": {"nepochs": 0}}),
        FILE_COMMANDS,
    ),
    Case(
        "out-of-range-negative-rate",
        "training.learning_rate=-1",
        _json({"training": {"learning_rate": -1}}),
        FILE_COMMANDS,
    ),
    Case(
        "out-of-range-nan-rate",
        "training.learning_rate=nan",
        _text('{"training": {"learning_rate": NaN}}'),
        FILE_COMMANDS,
    ),
    Case("patch-size-not-allowed", "model.N=100", _json({"model": {"N": 100}}), FILE_COMMANDS),
    Case(
        "conflicting-aliases",
        "epochs",
        _json({"training": {"nepochs": 5, "epochs": 7}}),
        FILE_COMMANDS,
    ),
    Case(
        "bad-accelerator-in-file",
        "execution.accelerator='banana'",
        _json({"execution": {"accelerator": "banana"}}),
        FILE_COMMANDS,
    ),
    Case(
        "upstream-layout",
        "ptycho config migrate",
        _json({"model_config": {"N": 64}}),
        FILE_COMMANDS,
    ),
    Case("missing-file", "does not exist", lambda folder: folder / "absent.json", FILE_COMMANDS),
]

ENV_CASES = [
    _env("device-banana", "PTYCHO_DEVICE", PTYCHO_DEVICE="banana"),
    _env("strategy-banana", "PTYCHO_STRATEGY", PTYCHO_STRATEGY="banana"),
    _env(
        "unknown-variable",
        "PTYCHO_NEPOCH is not a setting of ptycho; did you mean PTYCHO_NEPOCHS?",
        PTYCHO_NEPOCH="5",
    ),
    _env("unknown-variable-no-hint", "PTYCHO_WIBBLE is not a setting", PTYCHO_WIBBLE="1"),
    _env(
        "deprecated-spelling",
        "not read from the environment; use PTYCHO_NEPOCHS",
        PTYCHO_EPOCHS="5",
    ),
    _env("epochs-not-a-number", "PTYCHO_NEPOCHS", PTYCHO_NEPOCHS="abc"),
    _env("negative-seed", "PTYCHO_SEED", PTYCHO_SEED="-1"),
    _env("devices-not-a-number", "PTYCHO_DEVICES", PTYCHO_DEVICES="zero"),
    _env(
        "deterministic-maybe",
        "deterministic must be true, false or 'warn'",
        PTYCHO_DETERMINISTIC="maybe",
    ),
    _env("precision-unknown", "PTYCHO_PRECISION", PTYCHO_PRECISION="7"),
    _env("logger-unknown", "PTYCHO_LOGGER", PTYCHO_LOGGER="wandb"),
    _env("patch-size-not-allowed", "PTYCHO_N", PTYCHO_N="100"),
    _env("one-field-two-values", "set twice", PTYCHO_DEVICE="cpu", PTYCHO_ACCELERATOR="gpu"),
]

CASES = CONFIG_CASES + ENV_CASES
