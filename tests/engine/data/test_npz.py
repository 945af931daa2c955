"""Loading, validation and saving of the NPZ data contract."""

from __future__ import annotations

import dataclasses
import json
import pickle

import numpy as np
import pytest

from ptycho_engine.data import npz
from ptycho_engine.data.npz import (
    check_enough_positions,
    load_diffraction,
    save_diffraction,
    validate_arrays,
)
from ptycho_engine.errors import DataError, EngineError

from .conftest import N


def test_canonical_file_loads_with_canonical_dtypes_and_defaults(npz_path, arrays):
    data = load_diffraction(npz_path)
    m = arrays["xcoords"].size
    assert data.diffraction.dtype == np.float32 and data.diffraction.shape == (m, N, N)
    np.testing.assert_array_equal(data.diffraction, arrays["diff3d"])
    assert data.xcoords.dtype == np.float64 and data.ycoords.dtype == np.float64
    np.testing.assert_array_equal(data.xcoords_start, arrays["xcoords"])
    np.testing.assert_array_equal(data.ycoords_start, arrays["ycoords"])
    assert data.probe.dtype == np.complex64 and data.probe.shape == (1, N, N)
    assert data.object.dtype == np.complex64 and data.object.shape == arrays["objectGuess"].shape
    assert data.scan_index.dtype == np.int64 and not data.scan_index.any()
    assert data.metadata == {} and data.source == npz_path
    assert (data.n_positions, data.N, data.n_modes) == (m, N, 1)
    np.testing.assert_array_equal(data.positions_xy[:, 0], arrays["xcoords"])
    np.testing.assert_array_equal(data.positions_xy[:, 1], arrays["ycoords"])


def test_data_is_frozen(arrays):
    data = validate_arrays(arrays)
    with pytest.raises(dataclasses.FrozenInstanceError):
        data.metadata = {"x": 1}


def test_diffraction_key_is_an_alias_of_diff3d(arrays):
    arrays["diffraction"] = arrays.pop("diff3d")
    assert validate_arrays(arrays).n_positions == arrays["xcoords"].size


def test_identical_diff3d_and_diffraction_are_accepted(arrays):
    arrays["diffraction"] = arrays["diff3d"].copy()
    np.testing.assert_array_equal(validate_arrays(arrays).diffraction, arrays["diff3d"])


def test_differing_diff3d_and_diffraction_are_refused(arrays):
    arrays["diffraction"] = arrays["diff3d"] + 1
    with pytest.raises(DataError, match="both 'diff3d'.*'diffraction'.*differ"):
        validate_arrays(arrays)


def test_legacy_stack_n_n_m_is_transposed(arrays):
    expected = arrays["diff3d"].copy()
    arrays["diff3d"] = np.moveaxis(expected, 0, -1)  # (N, N, M)
    data, steps = npz.canonicalise(arrays)
    np.testing.assert_array_equal(data.diffraction, expected)
    assert any("transposed" in step for step in steps)


def test_stack_matching_no_layout_is_refused_with_the_shape_seen(arrays):
    arrays["diff3d"] = np.ones((N, 7, arrays["xcoords"].size), np.float32)
    with pytest.raises(DataError, match=r"\(16, 7, 20\).*neither \(M, N, N\) nor legacy"):
        validate_arrays(arrays)


def test_counts_are_square_rooted(arrays):
    counts = np.square(arrays["diff3d"])
    arrays["diff3d"] = counts
    data = validate_arrays(arrays, counts=True)
    np.testing.assert_allclose(data.diffraction, np.sqrt(counts), rtol=1e-6)


def test_zero_frequency_at_the_corner_moves_to_the_centre(arrays):
    corner = np.zeros_like(arrays["diff3d"])
    corner[:, 0, 0] = 9.0
    arrays["diff3d"] = corner
    data = validate_arrays(arrays, dc_corner=True)
    assert np.all(data.diffraction[:, N // 2, N // 2] == 9.0)
    assert data.diffraction.sum() == pytest.approx(corner.sum())


def test_probe_modes_are_kept_and_a_trailing_mode_axis_is_read_as_one_mode(arrays):
    probe = arrays["probeGuess"]
    arrays["probeGuess"] = np.stack([probe, 0.5 * probe, 0.1 * probe])
    assert validate_arrays(arrays).probe.shape == (3, N, N)
    arrays["probeGuess"] = probe[..., np.newaxis]  # (N, N, 1)
    np.testing.assert_array_equal(validate_arrays(arrays).probe[0], probe)


def test_metadata_json_string_is_parsed_from_unicode_and_bytes(arrays):
    arrays["_metadata"] = np.array(json.dumps({"nphotons": 1e6}))
    assert validate_arrays(arrays).metadata == {"nphotons": 1e6}
    arrays["_metadata"] = np.array(json.dumps({"nphotons": 5}).encode())
    assert validate_arrays(arrays).metadata == {"nphotons": 5}


def test_pickled_metadata_is_skipped_with_a_warning_and_the_rest_loads(write_npz, arrays):
    arrays["_metadata"] = np.array({"nphotons": 1e6}, dtype=object)
    path = write_npz(arrays)
    with pytest.warns(UserWarning, match="skipped key '_metadata'"):
        data = load_diffraction(path)
    assert data.metadata == {} and data.n_positions == arrays["xcoords"].size


def test_pickled_contract_key_is_refused(write_npz, arrays):
    arrays["probeGuess"] = np.array([arrays["probeGuess"]], dtype=object)
    with pytest.raises(DataError, match="'probeGuess' is a pickled object array"):
        load_diffraction(write_npz(arrays))


def test_unknown_keys_are_named_in_a_warning(write_npz, arrays):
    arrays["Y"] = np.ones((3, 3), np.complex64)
    with pytest.warns(UserWarning, match="not in the data contract: Y"):
        data = load_diffraction(write_npz(arrays))
    assert data.n_positions == arrays["xcoords"].size


def _set(key, value):
    return lambda a: a.__setitem__(key, value(a) if callable(value) else value)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda a: a.pop("xcoords"), r"missing required key\(s\) xcoords; found: diff3d"),
        (lambda a: a.pop("diff3d"), r"missing required key\(s\) diff3d \(or diffraction\)"),
        (_set("diff3d", lambda a: a["diff3d"][0]), r"'diff3d' has shape \(16, 16\); expected \(M,"),
        (_set("diff3d", lambda a: a["diff3d"][:, :, :12]), "frames are 16x12; they must be square"),
        (_set("diff3d", lambda a: a["diff3d"][:0]), "'diff3d' is empty"),
        (_set("diff3d", lambda a: a["diff3d"] * (1 + 0j)), r"'diff3d' is complex \(complex"),
        (_set("diff3d", lambda a: np.where(a["diff3d"] > 1.9, np.nan, a["diff3d"])), "non-finite"),
        (_set("diff3d", lambda a: np.minimum(a["diff3d"], 0) - 3), r"negative values \(min -3\)"),
        (_set("ycoords", lambda a: a["ycoords"][:-1]), "'ycoords' has 19 entries but xcoords has"),
        (_set("xcoords", lambda a: np.r_[np.inf, a["xcoords"][1:]]), "'xcoords' has 1 non-finite"),
        (_set("xcoords", lambda a: a["xcoords"][:, None]), r"'xcoords' has shape \(20, 1\)"),
        (_set("xcoords", np.array([], float)), "'xcoords' is empty"),
        (_set("xcoords", np.array(["a"] * 20)), "'xcoords' has dtype <U1"),
        (_set("probeGuess", lambda a: a["probeGuess"][:8, :8]), "is 8x8 but the diffraction pat"),
        (_set("probeGuess", lambda a: a["probeGuess"][:, :8]), "is 16x8; the probe must be square"),
        (_set("probeGuess", lambda a: a["probeGuess"][0]), r"'probeGuess' has shape \(16,\)"),
        (_set("probeGuess", lambda a: 0 * a["probeGuess"]), "'probeGuess' is zero everywhere"),
        (_set("objectGuess", np.ones((2, 3, 4))), r"shape \(2, 3, 4\); expected \(H, W\)"),
        (_set("objectGuess", np.full((4, 4), np.nan)), "'objectGuess' has 16 non-finite"),
        (_set("xcoords_start", lambda a: a["xcoords"]), "'xcoords_start' is present but 'ycoords_"),
        (_set("ycoords_start", lambda a: a["ycoords"]), "'ycoords_start' is present but 'xcoords_"),
        (_set("scan_index", np.full(20, 0.5)), "'scan_index' holds non-integer values"),
        (_set("scan_index", np.zeros(3, int)), r"'scan_index' has shape \(3,\); expected \(20,\)"),
        (_set("_metadata", np.array("{not json")), "'_metadata' is not valid JSON"),
        (_set("_metadata", np.array("[1, 2]")), "'_metadata' is JSON list; expected a JSON object"),
    ],
)
def test_contract_violation_raises_one_error_naming_source_key_and_value(arrays, change, message):
    change(arrays)
    with pytest.raises(DataError, match=message) as caught:
        validate_arrays(arrays, source="scan.npz")
    assert str(caught.value).startswith("scan.npz: ")


def test_negative_counts_are_refused_as_counts(arrays):
    arrays["diff3d"] = arrays["diff3d"] - 5
    with pytest.raises(DataError, match="counts must be >= 0"):
        validate_arrays(arrays, counts=True)


def test_data_error_is_an_engine_error_and_a_value_error(arrays):
    arrays.pop("probeGuess")
    with pytest.raises(EngineError):
        validate_arrays(arrays)
    with pytest.raises(ValueError):
        validate_arrays(arrays)


NPY_BAD_HEADER = b"\x93NUMPY\x01\x00\x10\x00{'descr': 'zz'}  \n"


def _garbage(path):
    path.write_bytes(b"this is not a zip archive" * 8)


def _truncated(path):
    np.savez(path, a=np.arange(1000.0))
    path.write_bytes(path.read_bytes()[:3000])


def _corrupt_member(path):
    np.savez(path, a=np.arange(1000.0))
    raw = bytearray(path.read_bytes())
    raw[400:440] = bytes(40)  # inside the member's data, so the zip directory still reads
    path.write_bytes(bytes(raw))


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: None, "no such file"),
        (lambda p: p.mkdir(), "is a directory"),
        (lambda p: p.write_bytes(b""), "is empty"),
        (_garbage, "not a readable NPZ archive: it is not a zip archive"),
        (_truncated, "not a readable NPZ archive"),
        (_corrupt_member, "key 'a' is corrupt"),
        (lambda p: p.write_bytes(pickle.dumps({"diff3d": 1})), "it is not a zip archive"),
        (lambda p: p.write_bytes(NPY_BAD_HEADER), "holds a single .npy array"),
        (lambda p: np.save(open(p, "wb"), np.zeros(3)), "holds a single .npy array"),
    ],
)
def test_unreadable_file_raises_data_error_naming_the_file(tmp_path, make, message):
    path = tmp_path / "bad.npz"
    make(path)
    with pytest.raises(DataError, match=message) as caught:
        load_diffraction(path)
    assert str(path) in str(caught.value)
    assert "allow_pickle" not in str(caught.value)  # never advise unpickling


def test_save_then_load_round_trips_every_field(tmp_path, arrays):
    arrays["_metadata"] = np.array(json.dumps({"nphotons": 1e6, "probe": "disk"}))
    arrays["scan_index"] = np.arange(arrays["xcoords"].size) % 2
    data = validate_arrays(arrays)
    path = save_diffraction(tmp_path / "out.npz", data)
    again = load_diffraction(path)
    for name in (
        "diffraction",
        "xcoords",
        "ycoords",
        "xcoords_start",
        "ycoords_start",
        "probe",
        "object",
        "scan_index",
    ):
        np.testing.assert_array_equal(getattr(again, name), getattr(data, name))
    assert again.metadata == data.metadata


def test_saved_file_is_plain_arrays_with_a_single_mode_probe_as_n_by_n(tmp_path, arrays):
    path = save_diffraction(tmp_path / "out.npz", validate_arrays(arrays))
    with np.load(path, allow_pickle=False) as stored:
        assert stored["probeGuess"].shape == (N, N)
        assert stored["diff3d"].dtype == np.float32
        assert json.loads(stored["_metadata"].item()) == {}


def test_save_refuses_to_overwrite_unless_told(tmp_path, arrays):
    path = tmp_path / "out.npz"
    path.write_bytes(b"keep me")
    data = validate_arrays(arrays)
    with pytest.raises(DataError, match="already exists; use --overwrite"):
        save_diffraction(path, data)
    assert path.read_bytes() == b"keep me"
    save_diffraction(path, data, overwrite=True)
    assert load_diffraction(path).n_positions == data.n_positions


def test_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, arrays, monkeypatch):
    path = tmp_path / "out.npz"
    path.write_bytes(b"keep me")

    def fail_half_way(stream, **_arrays):
        stream.write(b"PK partial")
        raise OSError("disk full")

    monkeypatch.setattr(npz.np, "savez", fail_half_way)
    with pytest.raises(DataError, match="cannot write: disk full"):
        save_diffraction(path, validate_arrays(arrays), overwrite=True)
    assert path.read_bytes() == b"keep me"
    assert [p.name for p in tmp_path.iterdir()] == ["out.npz"]


def test_save_refuses_metadata_that_is_not_json(tmp_path, arrays):
    data = dataclasses.replace(validate_arrays(arrays), metadata={"when": object()})
    with pytest.raises(DataError, match="metadata is not JSON-serialisable"):
        save_diffraction(tmp_path / "out.npz", data)
    assert not (tmp_path / "out.npz").exists()


def test_save_into_a_missing_directory_is_refused(tmp_path, arrays):
    with pytest.raises(DataError, match="does not exist"):
        save_diffraction(tmp_path / "nowhere" / "out.npz", validate_arrays(arrays))


def test_enough_positions_for_gridsize(arrays):
    data = validate_arrays(
        {k: v[:3] if k in ("diff3d", "xcoords", "ycoords") else v for k, v in arrays.items()}
    )
    check_enough_positions(data, gridsize=1)
    with pytest.raises(DataError, match="gridsize 2 groups 4 scan positions, but the file has"):
        check_enough_positions(data, gridsize=2)


def test_pickled_unknown_key_is_skipped_with_a_warning(write_npz, arrays):
    arrays["label"] = np.array([{"a": 1}], dtype=object)
    with pytest.warns(UserWarning, match="skipped key 'label'"):
        data = load_diffraction(write_npz(arrays))
    assert data.n_positions == arrays["xcoords"].size


def test_integer_counts_are_accepted(arrays):
    counts = np.round(np.square(arrays["diff3d"])).astype(np.uint16)
    arrays["diff3d"] = counts
    data = validate_arrays(arrays, counts=True)
    assert data.diffraction.dtype == np.float32
    np.testing.assert_allclose(data.diffraction, np.sqrt(counts.astype(np.float64)), rtol=1e-6)
