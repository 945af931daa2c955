"""``ptycho config …`` through the real entry point: output, sources, errors, exit status."""

import json
import subprocess
import sys

import pytest

from ptycho_engine.cli import main
from tests.conftest import write_bundle_settings


def run(capsys, *args):
    status = main(list(args))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_show_json_gives_value_and_source(capsys, env):
    env(PTYCHO_STRATEGY="ddp")
    status, out, _ = run(
        capsys, "config", "show", "--json", "--nepochs", "3", "--object-big", "false"
    )
    shown = json.loads(out)
    assert status == 0 and set(shown) == {"model", "training", "execution"}
    assert shown["training"]["nepochs"] == {"value": 3, "source": "cli"}
    assert shown["model"]["object_big"] == {"value": False, "source": "cli"}
    assert shown["execution"]["strategy"] == {"value": "ddp", "source": "env"}
    assert shown["model"]["N"] == {"value": 64, "source": "default"}


def test_show_inference_mode(capsys, tmp_path, data_file):
    write_bundle_settings(tmp_path)
    status, out, _ = run(
        capsys,
        "config",
        "show",
        "--mode",
        "inference",
        "--json",
        "--model_path",
        str(tmp_path),
        "--test-data-file",
        str(data_file),
    )
    shown = json.loads(out)
    assert status == 0 and "inference" in shown and shown["model"]["N"]["source"] == "inferred"


def test_show_table_names_sources(capsys, tmp_path):
    config = tmp_path / "run.toml"
    config.write_text("[training]\nbatch_size = 32\n")
    status, out, _ = run(capsys, "config", "show", "--config", str(config))
    line = next(line for line in out.splitlines() if line.startswith("training.batch_size"))
    assert status == 0 and "32" in line and "run.toml: training.batch_size" in line


def test_underscore_spelling_of_a_flag(capsys):
    status, out, _ = run(capsys, "config", "show", "--json", "--n_groups", "64")
    assert json.loads(out)["training"]["n_groups"]["value"] == 64


def test_deprecated_flag_warns_and_maps(capsys):
    with pytest.warns(DeprecationWarning) as record:
        status, out, err = run(
            capsys, "config", "show", "--json", "--max_epochs", "4", "--device", "cuda"
        )
    assert {str(w.message) for w in record} == {
        "`max_epochs` is deprecated; use `nepochs`",
        "`device` is deprecated; use `accelerator`",
    }
    shown = json.loads(out)
    assert (
        shown["training"]["nepochs"]["value"] == 4
        and shown["execution"]["accelerator"]["value"] == "gpu"
    )


def test_deprecation_reaches_the_terminal():
    result = subprocess.run(
        [sys.executable, "-m", "ptycho_engine.cli", "config", "show", "--max_epochs", "4"],
        capture_output=True,
        text=True,
    )
    assert (
        result.returncode == 0
        and "warning: `max_epochs` is deprecated; use `nepochs`" in result.stderr
    )


def test_bad_value_is_one_line_and_exit_two(capsys):
    status, out, err = run(capsys, "config", "show", "--batch-size", "12")
    assert status == 2 and out == ""
    assert err.strip().splitlines() == [
        "error: training.batch_size='12' (from --batch-size): batch_size must be a positive power of two (1, 2, 4, … 64), got 12"
    ]


def test_bad_environment_variable_exit_two(capsys, env):
    env(PTYCHO_DEVIC="cpu")
    status, _, err = run(capsys, "config", "show")
    assert status == 2 and "PTYCHO_DEVIC is not a setting" in err and "PTYCHO_DEVICE" in err


def test_legacy_prints_the_flat_dict(capsys):
    status, out, _ = run(
        capsys, "config", "legacy", "--object-big", "false", "--accelerator", "cpu"
    )
    legacy = json.loads(out)
    assert status == 0 and legacy["object.big"] is False and "accelerator" not in legacy


def test_validate(capsys, tmp_path):
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"training": {"nepochs": 2}}))
    assert run(capsys, "config", "validate", str(good))[0] == 0
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"model": {"N": 100}}))
    status, _, err = run(capsys, "config", "validate", str(bad))
    assert status == 2 and "model.N=100 (from bad.json: model.N)" in err


def test_schema(capsys):
    status, out, _ = run(capsys, "config", "schema", "--mode", "inference")
    schema = json.loads(out)
    assert status == 0 and set(schema["properties"]) == {"model", "inference", "execution"}
    assert "model_path" in schema["properties"]["inference"]["properties"]
    assert schema["properties"]["model"]["properties"]["N"]["description"].startswith(
        "Diffraction-pattern"
    )


def test_migrate_writes_a_canonical_file_and_lists_the_rest(capsys, tmp_path):
    old = tmp_path / "old.json"
    old.write_text(
        json.dumps(
            {
                "data_config": {"N": 128, "grid_size": [2, 2], "n_subsample": 7},
                "training_config": {"epochs": 3},
            }
        )
    )
    new = tmp_path / "new.json"
    status, out, _ = run(capsys, "config", "migrate", str(old), "-o", str(new))
    assert status == 0 and "not mapped: data_config.n_subsample" in out
    assert json.loads(new.read_text()) == {
        "model": {"N": 128, "gridsize": 2},
        "training": {"nepochs": 3},
    }
    status, _, err = run(capsys, "config", "migrate", str(old), "-o", str(new))
    assert status == 2 and "--overwrite" in err


def test_migrate_refuses_a_non_square_grid_and_writes_nothing(capsys, tmp_path):
    old = tmp_path / "old.json"
    old.write_text(json.dumps({"data_config": {"grid_size": [2, 3]}}))
    new = tmp_path / "new.json"
    status, _, err = run(capsys, "config", "migrate", str(old), "-o", str(new))
    assert status == 2 and "square" in err and not new.exists()


@pytest.mark.parametrize("command", [["config", "show"], ["config", "schema"]])
def test_config_commands_never_import_torch(command):
    code = (
        f"import sys; from ptycho_engine.cli import main; main({command!r}); "
        "assert 'torch' not in sys.modules and 'lightning' not in sys.modules"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_console_script_exit_status(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "ptycho_engine.cli", "config", "show", "--N", "100"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1 and "64, 128 or 256" in result.stderr
