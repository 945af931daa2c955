"""``ptycho data check`` and ``ptycho data convert`` through their argparse front end."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import numpy as np
import pytest

from ptycho_engine.cli import data as cli_data
from ptycho_engine.data.npz import load_diffraction
from ptycho_engine.errors import DataError, EngineError

N = 16


def scan_arrays(m: int = 12) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    x = 10.0 + 3.0 * (np.arange(m) % 4)
    y = 10.0 + 3.0 * (np.arange(m) // 4)
    axis = np.arange(N) - N // 2
    probe = np.exp(-(axis[None, :] ** 2 + axis[:, None] ** 2) / 18.0).astype(np.complex64)
    return {
        "diff3d": rng.uniform(0, 1, (m, N, N)).astype(np.float32),
        "xcoords": x,
        "ycoords": y,
        "probeGuess": probe,
        "_metadata": np.array(json.dumps({"nphotons": 1e5})),
    }


@pytest.fixture
def scan(tmp_path):
    path = tmp_path / "scan.npz"
    np.savez(path, **scan_arrays())
    return path


def run(argv: list[str]) -> int:
    """Parse as ``ptycho`` does and call the handler."""
    parser = argparse.ArgumentParser(prog="ptycho")
    cli_data.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.handler(args)


def test_check_prints_a_readable_summary(scan, capsys):
    assert run(["data", "check", str(scan)]) == 0
    out = capsys.readouterr().out
    assert "frames (M):        12" in out
    assert "pattern size (N):  16" in out
    assert "probe modes:       1" in out
    assert "nphotons (metadata): 1e+05" in out
    assert "mean step:         3.00 px" in out
    assert "linear overlap:" in out and "objectGuess:       none" in out


def test_check_json_is_machine_readable(scan, capsys):
    assert run(["data", "check", str(scan), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["n_positions"] == 12 and summary["N"] == 16
    assert summary["mean_step_px"] == pytest.approx(3.0)


def test_check_reports_loader_warnings(tmp_path, capsys):
    arrays = scan_arrays()
    arrays["_metadata"] = np.array({"nphotons": 1}, dtype=object)
    path = tmp_path / "upstream.npz"
    np.savez(path, **arrays)
    assert run(["data", "check", str(path)]) == 0
    assert "warning:" in capsys.readouterr().out


def test_check_of_invalid_data_raises_one_line_data_error(tmp_path):
    arrays = scan_arrays()
    arrays["probeGuess"] = arrays["probeGuess"][:8, :8]
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(DataError, match=r"bad.npz: 'probeGuess' is 8x8") as caught:
        run(["data", "check", str(path)])
    assert isinstance(caught.value, EngineError) and "\n" not in str(caught.value)


def test_check_of_a_missing_file_raises_data_error(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        run(["data", "check", str(tmp_path / "nope.npz")])


def test_convert_writes_canonical_output_and_prints_the_steps(tmp_path, capsys):
    arrays = scan_arrays()
    amplitude = arrays["diff3d"]
    counts = np.fft.ifftshift(amplitude.astype(np.float64) ** 2, axes=(-2, -1))
    raw = tmp_path / "raw.npz"
    np.savez(raw, **{**arrays, "diff3d": np.moveaxis(counts, 0, -1)})
    out = tmp_path / "clean.npz"
    assert run(["data", "convert", str(raw), str(out), "--counts", "--dc-corner"]) == 0
    printed = capsys.readouterr().out
    assert "transposed (N, N, M)" in printed
    assert "square root of photon counts" in printed
    assert "zero frequency from the corner to the centre" in printed
    assert f"wrote {out}: 12 frames of 16x16" in printed
    np.testing.assert_allclose(load_diffraction(out).diffraction, amplitude, rtol=1e-6)


def test_convert_refuses_an_existing_output_unless_overwrite(scan, tmp_path):
    out = tmp_path / "out.npz"
    out.write_bytes(b"old")
    with pytest.raises(DataError, match="already exists; use --overwrite"):
        run(["data", "convert", str(scan), str(out)])
    assert out.read_bytes() == b"old"
    assert run(["data", "convert", str(scan), str(out), "--overwrite"]) == 0
    assert load_diffraction(out).n_positions == 12


def test_data_needs_an_action():
    with pytest.raises(SystemExit) as caught:
        run(["data"])
    assert caught.value.code == 2


def test_importing_the_data_cli_stays_light():
    code = (
        "import sys, ptycho_engine.cli.data; "
        "heavy = [m for m in ('torch', 'numpy', 'scipy') if m in sys.modules]; "
        "print(heavy); sys.exit(1 if heavy else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_ptycho_main_exits_0_on_valid_data_and_2_with_one_error_line(scan, tmp_path, capsys):
    from ptycho_engine.cli import main

    assert main(["data", "check", str(scan)]) == 0
    capsys.readouterr()
    assert main(["data", "check", str(tmp_path / "missing.npz")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "missing.npz: no such file" in err
    assert err.count("\n") == 1
