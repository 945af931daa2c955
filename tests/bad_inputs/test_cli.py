"""Every bad input, through the ``ptycho`` CLI in this process: exit status 2, one line
``error: …`` naming the problem, no traceback, nothing written, earlier outputs intact.

The earlier outputs are planted in the output directory and ``--overwrite`` is passed, the
strongest test of "intact": even a run allowed to replace them must not touch them when it
refuses its input.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from ptycho_engine.cli import main
from tests.bad_inputs import bundle_cases, config_cases, data_cases, hdf5_cases
from tests.bad_inputs.inputs import write_good_bundle, write_good_data

CASES = data_cases.CASES + hdf5_cases.CASES + config_cases.CASES + bundle_cases.CASES
EARLIER = {
    "train": {"wts.h5.zip": b"earlier bundle", "checkpoints/last.ckpt": b"earlier"},
    "infer": {"reconstruction.npz": b"earlier reconstruction", "phase.png": b"earlier"},
    "convert": {"scan.npz": b"earlier conversion"},
}


def _argv(command: str, path: Path | None, folder: Path, flags: tuple[str, ...] = ()) -> list[str]:
    """Return the arguments of ``command`` (a name in the cases' ``commands``) for ``path``;
    ``flags`` go to the ``data`` commands.
    """
    good = folder / "good"
    # No other settings flags: a flag would override the bad value of a file or variable.
    train = ["train", "--output-dir", str(folder / "out"), "--overwrite", "--quiet"]
    infer = ["infer", "--output-dir", str(folder / "out"), "--overwrite", "--quiet"]
    argvs = {
        "check": lambda: ["data", "check", str(path), *flags],
        "convert": lambda: [
            *("data", "convert", str(path), str(folder / "out" / "scan.npz"), "--overwrite"),
            *flags,
        ],
        "train-data": lambda: [*train, "--train-data-file", str(path)],
        "infer-data": lambda: [
            *infer,
            "--model-path",
            str(write_good_bundle(good)),
            "--test-data-file",
            str(path),
        ],
        "validate": lambda: ["config", "validate", str(path)],
        "train-config": lambda: [
            *train,
            "--config",
            str(path),
            "--train-data-file",
            str(write_good_data(good)),
        ],
        "show": lambda: ["config", "show"],
        "train-env": lambda: [*train, "--train-data-file", str(write_good_data(good))],
        "infer-bundle": lambda: [
            *infer,
            "--model-path",
            str(path),
            "--test-data-file",
            str(write_good_data(good)),
        ],
    }
    return argvs[command]()


def _plant_earlier_outputs(command: str, folder: Path) -> None:
    out = folder / "out"
    out.mkdir()
    for name, data in EARLIER.get(command.split("-")[0], {}).items():
        (out / name).parent.mkdir(exist_ok=True)
        (out / name).write_bytes(data)


def _snapshot(folder: Path) -> dict[str, bytes | None]:
    return {
        str(p.relative_to(folder)): p.read_bytes() if p.is_file() else None
        for p in sorted(folder.rglob("*"))
    }


def run_cli(argv: list[str], capsys) -> tuple[int, str]:
    """Run ``ptycho ARGV`` in this process; return (exit status, stderr)."""
    capsys.readouterr()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # warnings are not errors; this corpus is about errors
        status = main(argv)
    return status, capsys.readouterr().err


@pytest.mark.parametrize(
    ("case", "command"),
    [
        pytest.param(case, command, id=f"{command}:{case.id}")
        for case in CASES
        for command in case.commands
    ],
)
def test_bad_input_is_refused_with_one_line(case, command, tmp_path, capsys, monkeypatch):
    for name, value in case.env:
        monkeypatch.setenv(name, value)
    path = case.write(tmp_path)
    argv = _argv(command, path, tmp_path, case.flags)
    _plant_earlier_outputs(command, tmp_path)
    before = _snapshot(tmp_path)

    status, err = run_cli(argv, capsys)

    assert status == 2, err
    assert err.count("\n") == 1 and err.startswith("error: "), err
    assert case.fragment in err, err
    assert "Traceback" not in err
    assert _snapshot(tmp_path) == before  # nothing written, nothing replaced


@pytest.mark.parametrize("command", ["check", "train-data", "infer-data", "validate", "show"])
def test_the_valid_inputs_are_accepted(command, tmp_path, capsys):
    # The cases are these inputs with one thing broken, so each fails for the reason it names.
    path = (tmp_path / "run.json") if command == "validate" else write_good_data(tmp_path)
    if command == "validate":
        path.write_text('{"training": {"nepochs": 1}}')
    argv = _argv(command, path, tmp_path)
    if command.startswith(("train", "infer")):
        argv += ["--accelerator", "cpu"]
    if command.startswith("train"):
        argv += ["--nepochs", "1", "--n-groups", "8", "--batch-size", "8"]
    status, err = run_cli(argv, capsys)
    assert status == 0, err


@pytest.mark.parametrize(
    ("layout", "command"),
    [(layout, command) for layout in ("nexus",) for command in hdf5_cases.NEXUS_COMMANDS]
    + [("plain", command) for command in hdf5_cases.FLAG_COMMANDS],
)
def test_the_valid_hdf5_inputs_are_accepted(layout, command, tmp_path, capsys):
    # The HDF5 cases break one thing of these files (or of these flags).
    if layout == "nexus":
        path, flags = hdf5_cases.write_nexus(tmp_path / "scan.nxs"), ()
    else:
        path, flags = hdf5_cases.write_plain(tmp_path / "scan.h5"), hdf5_cases.PLAIN_FLAGS
    (tmp_path / "out").mkdir()
    argv = _argv(command, path, tmp_path, flags)
    if command.startswith(("train", "infer")):
        argv += ["--accelerator", "cpu"]
    if command.startswith("train"):
        argv += ["--nepochs", "1", "--n-groups", "8", "--batch-size", "8"]
    status, err = run_cli(argv, capsys)
    assert status == 0, err


@pytest.mark.parametrize(
    "problem", [PermissionError(13, "Permission denied", "/data/out"), MemoryError()]
)
def test_machine_problems_are_one_line_too(problem, monkeypatch, capsys):
    # A full disk or a refused permission is not a bug: one line and status 2, no traceback.
    def refuse(args):
        raise problem

    monkeypatch.setattr("ptycho_engine.cli.data.run_check", refuse)
    status, err = run_cli(["data", "check", "any.npz"], capsys)
    assert status == 2 and err.count("\n") == 1 and err.startswith("error: "), err
    assert "/data/out: Permission denied" in err or "out of memory" in err
