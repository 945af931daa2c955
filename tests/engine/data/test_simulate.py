"""The simulator: contract of the arrays, dose, reproducibility, split and files."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from ptycho_engine.data.npz import load_diffraction
from ptycho_engine.data.simulate import held_out_path, simulate, simulate_to_files, split_by_x
from ptycho_engine.errors import DataError, EngineError
from ptycho_engine.physics.farfield import diffraction_intensity
from ptycho_engine.physics.shift import extract_patches

SMALL = dict(n=16, n_positions=40, nphotons=1e4)
WIDE = dict(SMALL, n_positions=100, step_px=3.5)  # wide enough to split


def test_arrays_follow_the_data_contract(tiny_dataset):
    m = 100
    expected = {
        "diff3d": ((m, 16, 16), np.float32),
        "xcoords": ((m,), np.float64),
        "ycoords": ((m,), np.float64),
        "probeGuess": ((16, 16), np.complex64),
        "scan_index": ((m,), np.int64),
    }
    for key, (shape, dtype) in expected.items():
        assert tiny_dataset[key].shape == shape and tiny_dataset[key].dtype == dtype, key
    assert tiny_dataset["objectGuess"].dtype == np.complex64
    assert not tiny_dataset["scan_index"].any()
    metadata = json.loads(str(tiny_dataset["_metadata"]))
    assert metadata["generator"] == "ptycho simulate" and metadata["seed"] == 3
    assert metadata["nphotons"] == 1e5 and metadata["scan"] == "grid-jitter"


def test_object_has_the_documented_amplitude_and_phase_range(tiny_dataset):
    obj = tiny_dataset["objectGuess"]
    assert 0.49 < np.abs(obj).min() and np.abs(obj).max() < 1.01
    assert -1.01 < np.angle(obj).min() and np.angle(obj).max() < 1.01
    assert np.abs(obj).std() > 0.05 and np.angle(obj).std() > 0.1  # structured, not flat


def test_positions_stay_half_a_patch_plus_one_from_the_edges(tiny_dataset):
    height, width = tiny_dataset["objectGuess"].shape
    x, y = tiny_dataset["xcoords"], tiny_dataset["ycoords"]
    assert x.min() >= 9 and y.min() >= 9
    assert x.max() <= width - 1 - 9 and y.max() <= height - 1 - 9


def test_mean_total_counts_per_pattern_is_nphotons(tiny_dataset):
    counts = tiny_dataset["diff3d"].astype(np.float64) ** 2
    assert counts.sum(axis=(1, 2)).mean() == pytest.approx(1e5, rel=0.02)
    np.testing.assert_allclose(counts, np.round(counts), atol=1e-3)  # sqrt of whole counts


def test_stored_probe_and_object_reproduce_the_expected_counts(tiny_dataset):
    xy = torch.from_numpy(np.stack([tiny_dataset["xcoords"], tiny_dataset["ycoords"]], axis=1))
    patches = extract_patches(torch.from_numpy(tiny_dataset["objectGuess"]), xy, 16)
    probe = torch.from_numpy(tiny_dataset["probeGuess"])[None]
    expected = diffraction_intensity(patches[:, None], probe)[:, 0].double().numpy()
    counts = tiny_dataset["diff3d"].astype(np.float64) ** 2
    assert counts.sum() == pytest.approx(expected.sum(), rel=0.01)
    # per pixel, counts scatter around the expectation with Poisson variance
    z = (counts - expected) / np.sqrt(expected + 1)
    assert abs(z.mean()) < 0.05 and 0.8 < z.std() < 1.2


def test_same_seed_same_arrays_and_different_seed_different():
    first, again = simulate(**SMALL, seed=7), simulate(**SMALL, seed=7)
    other = simulate(**SMALL, seed=8)
    for key in first:
        np.testing.assert_array_equal(first[key], again[key])
    assert not np.array_equal(first["diff3d"], other["diff3d"])
    assert not np.array_equal(first["objectGuess"], other["objectGuess"])


@pytest.mark.parametrize("scan", ["grid-jitter", "random", "fermat"])
@pytest.mark.parametrize("object_source,probe_source", [("lines", "disk"), ("grf", "gaussian")])
def test_every_kind_simulates_an_overlapping_scan(scan, object_source, probe_source):
    data = simulate(**SMALL, scan=scan, object_source=object_source, probe_source=probe_source)
    metadata = json.loads(str(data["_metadata"]))
    xy = np.stack([data["xcoords"], data["ycoords"]], axis=1)
    distance = np.linalg.norm(xy[:, None] - xy[None], axis=-1) + np.eye(len(xy)) * 1e9
    assert np.median(distance.min(axis=1)) < metadata["probe_diameter_px"] / 2  # real overlap
    assert metadata["overlap"] > 0.5 and metadata["step_px"] > 0


def test_split_is_spatially_disjoint_and_keeps_the_frame(tiny_dataset):
    train, test, dropped = split_by_x(tiny_dataset, 0.3)
    n = 16
    train_columns = np.floor(train["xcoords"]).astype(int) + n // 2  # last column each reads
    test_columns = np.floor(test["xcoords"]).astype(int) - n // 2  # first column each reads
    assert train_columns.max() < test_columns.min()
    assert len(train["xcoords"]) + len(test["xcoords"]) + dropped == 100
    kept_train, kept_test = len(train["xcoords"]), len(test["xcoords"])
    assert kept_test / (kept_train + kept_test) == pytest.approx(0.3, abs=0.1)
    for part in (train, test):
        np.testing.assert_array_equal(part["objectGuess"], tiny_dataset["objectGuess"])
        assert len(part["diff3d"]) == len(part["xcoords"]) == len(part["ycoords"])
    assert json.loads(str(test["_metadata"]))["split"] == "test"


def test_split_fraction_outside_zero_one_is_refused(tiny_dataset):
    with pytest.raises(EngineError, match="between 0 and 1"):
        split_by_x(tiny_dataset, 1.0)


def test_files_load_without_pickle_and_match(tmp_path):
    out = tmp_path / "sim.npz"
    summary = simulate_to_files(out, test_fraction=0.25, seed=2, **WIDE)
    assert summary["files"] == [str(out), str(held_out_path(out))]
    assert held_out_path(out).name == "sim_test.npz"
    for path, frames in zip(summary["files"], summary["frames"], strict=True):
        with np.load(path, allow_pickle=False) as loaded:
            assert loaded["_metadata"].dtype.kind == "U" and loaded["_metadata"].ndim == 0
            assert json.loads(str(loaded["_metadata"]))["nphotons"] == 1e4
            assert len(loaded["xcoords"]) == frames
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sim.npz", "sim_test.npz"]  # no temp
    assert summary["mean_photons"] == pytest.approx(1e4, rel=0.03)


def test_existing_output_is_refused_unless_overwrite(tmp_path):
    out = tmp_path / "sim.npz"
    out.write_bytes(b"not an npz")
    with pytest.raises(EngineError, match="--overwrite"):
        simulate_to_files(out, **SMALL)
    assert out.read_bytes() == b"not an npz"
    simulate_to_files(out, overwrite=True, **SMALL)
    assert load_diffraction(out).n_positions == 40


def test_object_and_probe_from_files(tmp_path, tiny_dataset):
    np.savez(tmp_path / "obj.npz", objectGuess=tiny_dataset["objectGuess"])
    np.save(tmp_path / "probe.npy", tiny_dataset["probeGuess"])
    data = simulate(
        **SMALL, object_source=str(tmp_path / "obj.npz"), probe_source=str(tmp_path / "probe.npy")
    )
    np.testing.assert_array_equal(data["objectGuess"], tiny_dataset["objectGuess"])
    assert json.loads(str(data["_metadata"]))["object"].endswith("obj.npz")


def test_missing_file_and_wrong_probe_size_are_data_errors(tmp_path):
    with pytest.raises(DataError, match="neither a kind"):
        simulate(**SMALL, object_source=str(tmp_path / "nothing.npz"))
    np.savez(tmp_path / "probe.npz", probeGuess=np.ones((8, 8), np.complex64))
    with pytest.raises(DataError, match="N=16"):
        simulate(**SMALL, probe_source=str(tmp_path / "probe.npz"))


def test_object_too_small_for_the_scan_is_refused():
    with pytest.raises(EngineError, match="cannot hold the scan"):
        simulate(**SMALL, object_size_px=24)


def test_odd_or_tiny_n_is_refused():
    for n in (15, 6):
        with pytest.raises(EngineError, match=f"N={n}"):
            simulate(n=n, n_positions=4)
