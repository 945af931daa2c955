"""The ``ptycho simulate`` subcommand."""

from __future__ import annotations

import argparse
import subprocess
import sys

import numpy as np
import pytest

from ptycho_engine.cli import simulate as cli_simulate
from ptycho_engine.errors import EngineError


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="ptycho")
    cli_simulate.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["simulate", *argv])
    return args.handler(args)


def test_simulate_writes_train_and_test_files_and_prints_a_summary(tmp_path, capsys):
    out = tmp_path / "sim.npz"
    argv = [
        str(out),
        "--n-positions",
        "120",
        "--nphotons",
        "1e4",
        "--seed",
        "4",
        "--test-fraction",
        "0.25",
    ]
    assert _run(argv) == 0
    printed = capsys.readouterr().out
    assert f"wrote {out}:" in printed and f"wrote {tmp_path / 'sim_test.npz'}:" in printed
    assert "N=64" in printed and "mean photons/frame=" in printed and "overlap=" in printed
    with np.load(out, allow_pickle=False) as train, np.load(tmp_path / "sim_test.npz") as test:
        assert train["diff3d"].shape[1:] == (64, 64)
        assert train["xcoords"].max() < test["xcoords"].min()


def test_unsupported_n_is_an_engine_error(tmp_path):
    with pytest.raises(EngineError, match="use 64, 128 or 256"):
        _run([str(tmp_path / "sim.npz"), "--N", "48"])


def test_existing_output_needs_overwrite(tmp_path):
    out = tmp_path / "sim.npz"
    out.write_bytes(b"")
    with pytest.raises(EngineError, match="--overwrite"):
        _run([str(out), "--n-positions", "4"])
    assert out.read_bytes() == b""


def test_handler_is_registered_with_the_defaults():
    parser = argparse.ArgumentParser()
    cli_simulate.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["simulate", "x.npz"])
    assert args.handler is cli_simulate.run_simulate
    assert (args.N, args.n_positions, args.object, args.probe, args.scan) == (
        64,
        1000,
        "lines",
        "disk",
        "grid-jitter",
    )
    assert (args.nphotons, args.seed, args.test_fraction, args.overwrite) == (1e6, 0, None, False)


def test_importing_the_subcommand_does_not_import_torch_or_numpy():
    code = (
        "import sys, ptycho_engine.cli.simulate; "
        "print('torch' in sys.modules, 'numpy' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["False", "False"]


def test_scan_choices_are_the_simulator_kinds():
    from ptycho_engine.data.synthetic import SCAN_KINDS

    parser = argparse.ArgumentParser()
    cli_simulate.register(parser.add_subparsers(dest="command"))
    for kind in SCAN_KINDS:
        assert parser.parse_args(["simulate", "x.npz", "--scan", kind]).scan == kind
    with pytest.raises(SystemExit):
        parser.parse_args(["simulate", "x.npz", "--scan", "spiral"])


def test_simulate_flags_reach_the_simulator(tmp_path, capsys):
    # a zone-plate probe with two modes, an image object, a requested overlap, row split
    out = tmp_path / "zp.npz"
    argv = [str(out), "--n-positions", "150", "--probe", "zoneplate", "--probe-modes", "2",
            "--object", "image", "--overlap", "0.6", "--nphotons", "1e3",
            "--test-fraction", "0.25", "--split-axis", "y"]  # fmt: skip
    assert _run(argv) == 0
    assert "overlap=60%" in capsys.readouterr().out
    with np.load(out, allow_pickle=False) as train, np.load(tmp_path / "zp_test.npz") as test:
        assert train["probeGuess"].shape == (2, 64, 64)
        assert train["ycoords"].max() < test["ycoords"].min()  # test region below the cut
        counts = np.square(train["diff3d"].astype(np.float64))
        assert abs(counts.sum(axis=(1, 2)).mean() - 1e3) < 100  # photons per pattern


def test_step_and_overlap_are_exclusive_and_options_of_another_probe_refused(tmp_path):
    with pytest.raises(SystemExit):
        _run([str(tmp_path / "a.npz"), "--step", "3", "--overlap", "0.5"])
    with pytest.raises(EngineError, match="zoneplate"):
        _run([str(tmp_path / "b.npz"), "--probe", "disk", "--zoneplate-diameter", "20"])
    assert not (tmp_path / "b.npz").exists()
