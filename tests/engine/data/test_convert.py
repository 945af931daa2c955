"""Conversion of detector-style files to the canonical form."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ptycho_engine.data.convert import convert_file
from ptycho_engine.data.npz import load_diffraction
from ptycho_engine.errors import DataError


def detector_style(arrays: dict) -> dict:
    """Return the scan as counts, zero frequency at the corner, legacy (N, N, M) layout."""
    counts = np.square(arrays["diff3d"].astype(np.float64))
    corner = np.fft.ifftshift(counts, axes=(-2, -1))
    return {**arrays, "diff3d": np.moveaxis(corner, 0, -1)}


def test_detector_file_becomes_canonical_and_says_what_was_done(tmp_path, write_npz, arrays):
    source = write_npz(detector_style(arrays), "raw.npz")
    report = convert_file(source, tmp_path / "clean.npz", counts=True, dc_corner=True)
    data = load_diffraction(tmp_path / "clean.npz")
    np.testing.assert_allclose(data.diffraction, arrays["diff3d"], rtol=1e-6)
    text = "\n".join(report.steps)
    assert "transposed (N, N, M) (16, 16, 20) -> (M, N, N) (20, 16, 16)" in text
    assert "square root of photon counts" in text
    assert "zero frequency from the corner to the centre" in text
    assert report.destination == tmp_path / "clean.npz"


def test_converted_file_loads_as_the_input_loaded_with_the_flags(tmp_path, write_npz, arrays):
    source = write_npz(detector_style(arrays), "raw.npz")
    convert_file(source, tmp_path / "clean.npz", counts=True, dc_corner=True)
    direct = load_diffraction(source, counts=True, dc_corner=True)
    converted = load_diffraction(tmp_path / "clean.npz")
    np.testing.assert_array_equal(converted.diffraction, direct.diffraction)
    np.testing.assert_array_equal(converted.probe, direct.probe)
    np.testing.assert_array_equal(converted.object, direct.object)


def test_metadata_is_kept_and_pickled_metadata_is_reported(tmp_path, write_npz, arrays):
    arrays["_metadata"] = np.array(json.dumps({"nphotons": 1e6}))
    convert_file(write_npz(arrays, "a.npz"), tmp_path / "a_out.npz")
    assert load_diffraction(tmp_path / "a_out.npz").metadata == {"nphotons": 1e6}
    arrays["_metadata"] = np.array({"nphotons": 1e6}, dtype=object)
    report = convert_file(write_npz(arrays, "b.npz"), tmp_path / "b_out.npz")
    assert any("skipped key '_metadata'" in note for note in report.skipped)


def test_unknown_keys_are_dropped_and_reported(tmp_path, write_npz, arrays):
    arrays["Y"] = np.ones((2, 2))
    report = convert_file(write_npz(arrays), tmp_path / "out.npz")
    assert any("dropped keys not in the data contract: Y" in step for step in report.steps)
    with np.load(tmp_path / "out.npz", allow_pickle=False) as stored:
        assert "Y" not in stored.files


def test_existing_output_is_refused_without_overwrite(tmp_path, npz_path):
    out = tmp_path / "out.npz"
    out.write_bytes(b"precious")
    with pytest.raises(DataError, match="already exists; use --overwrite"):
        convert_file(npz_path, out)
    assert out.read_bytes() == b"precious"
    convert_file(npz_path, out, overwrite=True)
    assert load_diffraction(out).n_positions == 20


def test_in_place_conversion_with_overwrite(write_npz, arrays):
    path = write_npz(detector_style(arrays))
    convert_file(path, path, counts=True, dc_corner=True, overwrite=True)
    np.testing.assert_allclose(load_diffraction(path).diffraction, arrays["diff3d"], rtol=1e-6)


def test_invalid_input_writes_nothing(tmp_path, write_npz, arrays):
    arrays["diff3d"] = -arrays["diff3d"]
    with pytest.raises(DataError, match="negative values"):
        convert_file(write_npz(arrays), tmp_path / "out.npz")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scan.npz"]
