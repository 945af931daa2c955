"""The CLI configured by the environment alone, as in a container (docs/containers.md).

``ptycho`` runs in a subprocess whose only inputs are ``PTYCHO_*`` variables (and, for the
mounted-file case, a JSON file named by ``PTYCHO_CONFIG_FILE``).
The tests check that the values came from the environment (the provenance says ``env``) and
that the outputs landed where the variables said.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.engine.simdata import simulated_files


def ptycho_command() -> list[str]:
    """Return the installed console script (the container's ENTRYPOINT), else ``python -m``."""
    script = Path(sys.executable).with_name("ptycho")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "ptycho_engine.cli"]


def run_ptycho(args: list[str], variables: dict[str, str], cwd: Path):
    environ = {name: value for name, value in os.environ.items() if not name.startswith("PTYCHO_")}
    environ.update(variables)
    return subprocess.run(
        [*ptycho_command(), *args],
        env=environ,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def variables(tmp_path_factory) -> dict[str, str]:
    train_file, _ = simulated_files()
    outputs = tmp_path_factory.mktemp("outputs")
    return {
        "PTYCHO_DEVICE": "cpu",
        "PTYCHO_TRAIN_DATA_FILE": str(train_file),
        "PTYCHO_OUTPUT_DIR": str(outputs / "run"),
        "PTYCHO_LOGGER_DIR": str(outputs / "logs"),
        "PTYCHO_EXPERIMENT_NAME": "from_env",
        "PTYCHO_NEPOCHS": "1",
        "PTYCHO_N_GROUPS": "16",
        "PTYCHO_BATCH_SIZE": "8",
        "PTYCHO_N_FILTERS_SCALE": "1",
        "PTYCHO_ENABLE_PROGRESS_BAR": "false",
        "PTYCHO_SEED": "7",
    }


def show(variables, tmp_path, *extra) -> dict:
    done = run_ptycho(["config", "show", "--json", *extra], variables, tmp_path)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_config_show_reports_every_variable_as_from_the_environment(variables, tmp_path):
    shown = show(variables, tmp_path)
    assert shown["execution"]["accelerator"] == {"value": "cpu", "source": "env"}
    assert shown["training"]["nepochs"] == {"value": 1, "source": "env"}
    output_dir = {"value": variables["PTYCHO_OUTPUT_DIR"], "source": "env"}
    assert shown["training"]["output_dir"] == output_dir
    assert shown["execution"]["seed"] == {"value": 7, "source": "env"}
    assert shown["model"]["N"]["source"] == "inferred"  # from the probe of the data file


def test_variables_beat_the_mounted_json_file(variables, tmp_path):
    config = tmp_path / "run.json"
    config.write_text(
        json.dumps(
            {"training": {"nepochs": 50, "learning_rate": 5e-4}, "execution": {"logger": "csv"}}
        )
    )
    shown = show({**variables, "PTYCHO_CONFIG_FILE": str(config)}, tmp_path)
    assert shown["training"]["nepochs"] == {"value": 1, "source": "env"}
    assert shown["training"]["learning_rate"] == {"value": 5e-4, "source": "file"}


def test_unknown_variable_is_refused_before_anything_runs(variables, tmp_path):
    done = run_ptycho(["train"], {**variables, "PTYCHO_NEPOCH": "3"}, tmp_path)
    assert done.returncode == 2
    assert "PTYCHO_NEPOCH " in done.stderr and "PTYCHO_NEPOCHS" in done.stderr
    assert not Path(variables["PTYCHO_OUTPUT_DIR"], "wts.h5.zip").exists()


@pytest.fixture(scope="module")
def trained(variables, tmp_path_factory) -> tuple[subprocess.CompletedProcess, Path]:
    """``ptycho train`` with no flag: every value is a variable. Returns (process, its cwd)."""
    cwd = tmp_path_factory.mktemp("cwd")
    return run_ptycho(["train"], variables, cwd), cwd


def test_train_configured_by_the_environment_alone(variables, trained):
    done, cwd = trained
    assert done.returncode == 0, done.stderr
    output_dir = Path(variables["PTYCHO_OUTPUT_DIR"])
    bundle = output_dir / "wts.h5.zip"
    assert bundle.is_file() and (output_dir / "checkpoints" / "last.ckpt").is_file()
    assert list(Path(variables["PTYCHO_LOGGER_DIR"], "from_env").rglob("metrics.csv"))
    assert not any(cwd.iterdir())  # nothing written to the working directory
    with zipfile.ZipFile(bundle) as archive:
        settings = json.loads(archive.read("settings.json"))
    provenance = settings["provenance"]
    for path in (
        "training.nepochs",
        "training.n_groups",
        "execution.accelerator",
        "execution.seed",
    ):
        assert provenance[path]["source"] == "env", path
    assert settings["training"]["nepochs"] == 1 and settings["execution"]["seed"] == 7


def test_infer_configured_by_the_environment_alone(variables, trained, tmp_path):
    assert trained[0].returncode == 0, trained[0].stderr
    _, test_file = simulated_files()
    recon = tmp_path / "recon"
    done = run_ptycho(
        ["infer"],
        {
            "PTYCHO_DEVICE": "cpu",
            "PTYCHO_ENABLE_PROGRESS_BAR": "false",
            "PTYCHO_MODEL_PATH": variables["PTYCHO_OUTPUT_DIR"],
            "PTYCHO_TEST_DATA_FILE": str(test_file),
            "PTYCHO_OUTPUT_DIR": str(recon),
        },
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert (recon / "reconstruction.npz").is_file() and (recon / "metrics.json").is_file()
