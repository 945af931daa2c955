"""A few bad inputs through a real ``ptycho`` process: what a user's terminal shows.

``test_cli.py`` runs the whole corpus in this process (a process per case would import torch
each time); these prove that the real program, with its console-script entry point and
terminal warnings, also gives exit status 2 and one line without a traceback.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.bad_inputs import bundle_cases, config_cases, data_cases, hdf5_cases
from tests.bad_inputs.inputs import write_good_data

PYTHON_CLI = [sys.executable, "-m", "ptycho_engine.cli"]


def _case(cases, case_id):
    return next(case for case in cases if case.id == case_id)


def _run(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {name: value for name, value in os.environ.items() if not name.startswith("PTYCHO_")}
    return subprocess.run(
        argv,
        capture_output=True,
        text=True,
        timeout=120,
        env={**clean, "OMP_NUM_THREADS": "1", **env},
    )


def _console_script() -> list[str]:
    script = Path(sys.executable).with_name("ptycho")
    found = script if script.exists() else shutil.which("ptycho")
    return [str(found)] if found else PYTHON_CLI


def test_data_check_of_a_text_file(tmp_path):
    case = _case(data_cases.CASES, "text-file")
    result = _run([*PYTHON_CLI, "data", "check", str(case.write(tmp_path))], {})
    _assert_one_line(result, case.fragment)


def test_data_convert_of_a_truncated_and_a_late_failing_hdf5_file(tmp_path):
    # The HDF5 library prints its own error stacks unless h5py silences them: one line only.
    # A NaN found while the output is being written leaves no output (nor a temporary file;
    # tests/engine/data/test_hdf5_convert.py puts it in a later block than the first).
    for case_id in ("h5-truncated", "h5-diffraction-nan-in-last-frame"):
        folder = tmp_path / case_id
        folder.mkdir()
        case = _case(hdf5_cases.CASES, case_id)
        out = folder / "out.npz"
        result = _run([*PYTHON_CLI, "data", "convert", str(case.write(folder)), str(out)], {})
        _assert_one_line(result, case.fragment)
        assert sorted(path.name for path in folder.iterdir()) == ["scan.nxs"]


def test_config_show_with_an_unknown_device(tmp_path):
    case = _case(config_cases.CASES, "device-banana")
    result = _run([*_console_script(), "config", "show"], dict(case.env))
    _assert_one_line(result, case.fragment)


def test_config_validate_with_conflicting_aliases(tmp_path):
    # The real console prints deprecation warnings; a refused spelling must not add one.
    case = _case(config_cases.CASES, "conflicting-aliases")
    result = _run([*_console_script(), "config", "validate", str(case.write(tmp_path))], {})
    _assert_one_line(result, case.fragment)


def test_infer_with_a_tampered_bundle(tmp_path):
    case = _case(bundle_cases.CASES, "tampered-model")
    out = tmp_path / "out"
    result = _run(
        [
            *PYTHON_CLI,
            "infer",
            "--model-path",
            str(case.write(tmp_path)),
            "--test-data-file",
            str(write_good_data(tmp_path / "good")),
            "--output-dir",
            str(out),
        ],
        {},
    )
    _assert_one_line(result, case.fragment)
    assert not out.exists()


def _assert_one_line(result: subprocess.CompletedProcess, fragment: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0], lines
