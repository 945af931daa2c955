"""Scans for the regime benchmarks: one object split in two regions, many objects, one probe."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ptycho_engine.data.regimes import scan_seeds, simulate_scans, simulate_split
from ptycho_engine.data.simulate import held_out_path, simulate, simulate_to_files
from ptycho_engine.errors import EngineError

SCAN = dict(n=16, n_positions=100, nphotons=1e4, overlap=0.6)


def test_split_by_rows_gives_disjoint_top_and_bottom_regions():
    """Train patches read only rows above the cut, test patches only rows at or below it."""
    train, test, dropped = simulate_split(**SCAN, test_fraction=0.3, split_axis="y", seed=5)
    n = 16
    last_train_row = np.floor(train["ycoords"]).astype(int) + n // 2
    first_test_row = np.floor(test["ycoords"]).astype(int) - n // 2
    assert last_train_row.max() < first_test_row.min()
    assert len(train["xcoords"]) + len(test["xcoords"]) + dropped == 100 and dropped > 0
    train_xy = set(zip(train["xcoords"], train["ycoords"], strict=True))
    assert not train_xy & set(zip(test["xcoords"], test["ycoords"], strict=True))
    share = len(test["xcoords"]) / (len(train["xcoords"]) + len(test["xcoords"]))
    assert share == pytest.approx(0.3, abs=0.12)
    whole = simulate(**SCAN, seed=5)  # the same object and probe, the same frame
    for part in (train, test):
        np.testing.assert_array_equal(part["objectGuess"], whole["objectGuess"])
        np.testing.assert_array_equal(part["probeGuess"], whole["probeGuess"])
    metadata = json.loads(str(test["_metadata"]))
    assert metadata["split"] == "test" and metadata["split_axis"] == "y"
    assert "split_y_cut_px" in metadata


def test_split_by_columns_keeps_the_left_right_behaviour():
    """split_axis="x" trains left and tests right."""
    train, test, _ = simulate_split(**SCAN, test_fraction=0.3, split_axis="x", seed=5)
    assert (np.floor(train["xcoords"]) + 8).max() < (np.floor(test["xcoords"]) - 8).min()


def test_files_can_be_split_by_rows(tmp_path):
    """simulate_to_files(split_axis="y") writes a bottom-rows test file."""
    out = tmp_path / "sim.npz"
    summary = simulate_to_files(out, test_fraction=0.3, split_axis="y", seed=5, **SCAN)
    with np.load(out) as train, np.load(held_out_path(out)) as test:
        assert train["ycoords"].max() < test["ycoords"].min()
    assert summary["overlap"] == pytest.approx(0.6, abs=0.01)


def test_bad_split_requests_are_refused():
    """A fraction outside (0, 1) or an unknown axis are errors."""
    with pytest.raises(EngineError, match="between 0 and 1"):
        simulate_split(**SCAN, test_fraction=1.5)
    with pytest.raises(EngineError, match="split axis"):
        simulate_split(**SCAN, split_axis="z")


def test_several_scans_share_one_probe_and_show_different_objects():
    """Same probeGuess (photon scale included); different objects, positions and noise."""
    scans = simulate_scans(3, n=16, n_positions=25, nphotons=1e4, seed=1, probe_modes=2)
    for data in scans[1:]:
        np.testing.assert_array_equal(data["probeGuess"], scans[0]["probeGuess"])
    assert scans[0]["probeGuess"].shape == (2, 16, 16)
    objects = [data["objectGuess"] for data in scans]
    for i in range(3):
        for j in range(i):
            shape = np.minimum(objects[i].shape, objects[j].shape)
            a, b = (o[: shape[0], : shape[1]] for o in (objects[i], objects[j]))
            assert abs(np.corrcoef(np.abs(a).ravel(), np.abs(b).ravel())[0, 1]) < 0.5
    photons = [float((d["diff3d"].astype(float) ** 2).sum(axis=(1, 2)).mean()) for d in scans]
    assert photons[0] == pytest.approx(1e4, rel=0.02)  # the others follow their objects
    metadata = [json.loads(str(d["_metadata"])) for d in scans]
    assert [m["scan_set"]["index"] for m in metadata] == [0, 1, 2]
    assert len({m["seed"] for m in metadata}) == 3
    assert [m["seed"] for m in metadata] == scan_seeds(1, 3)
    again = simulate_scans(2, n=16, n_positions=25, nphotons=1e4, seed=1, probe_modes=2)
    np.testing.assert_array_equal(again[1]["diff3d"], scans[1]["diff3d"])  # reproducible


def test_image_scans_need_one_object_per_scan():
    """Image objects would repeat; an objects list names a pair of images per scan."""
    with pytest.raises(EngineError, match="same object"):
        simulate_scans(2, n=16, n_positions=9, object_source="image")
    pairs = [("camera", "moon"), ("coins", "astronaut")]
    objects = [{"object_source": "image", "image_amplitude": a, "image_phase": p} for a, p in pairs]
    scans = simulate_scans(2, n=16, n_positions=9, nphotons=1e4, objects=objects)
    np.testing.assert_array_equal(scans[0]["probeGuess"], scans[1]["probeGuess"])
    assert [json.loads(str(d["_metadata"]))["images"]["image_amplitude"] for d in scans] == [
        "camera",
        "coins",
    ]
    with pytest.raises(EngineError, match="entries"):
        simulate_scans(3, n=16, n_positions=9, objects=objects)
    with pytest.raises(EngineError, match="nphotons"):
        simulate_scans(2, n=16, n_positions=9, objects=[{"nphotons": 1}, {}])
