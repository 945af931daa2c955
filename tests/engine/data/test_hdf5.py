"""HDF5 input: a NeXus NXcxi_ptycho entry found without flags, named datasets, units."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from ptycho_engine.data.hdf5 import Hdf5Layout
from ptycho_engine.data.nexus import HC_EV_M
from ptycho_engine.data.npz import load_diffraction
from ptycho_engine.data.summary import check_file
from ptycho_engine.errors import DataError
from ptycho_settings.data_summary import summarise_data_file
from ptycho_settings.errors import SettingsError
from tests.engine.data.conftest import N

ENERGY_EV, DISTANCE_M, DETECTOR_PIXEL_M = 8000.0, 2.0, 75e-6
OBJECT_PIXEL_M = HC_EV_M / ENERGY_EV * DISTANCE_M / (N * DETECTOR_PIXEL_M)


def detector_counts(arrays: dict) -> np.ndarray:
    """The frames as a detector writes them: counts, zero frequency at pixel (0, 0)."""
    counts = np.square(arrays["diff3d"].astype(np.float64))
    return np.fft.ifftshift(counts, axes=(-2, -1)).astype(np.float32)


def write_nexus(path, arrays, *, energy_units="eV", probe=True):
    """An NXcxi_ptycho-style file: counts at the detector, translations (M, 3) in metres."""
    with h5py.File(path, "w") as h5:
        entry = h5.create_group("entry_1")
        entry.attrs["NX_class"] = "NXentry"
        detector = entry.create_group("instrument_1/detector_1")
        detector["data"] = detector_counts(arrays)
        entry["data_1/data"] = h5py.SoftLink("/entry_1/instrument_1/detector_1/data")
        detector["x_pixel_size"] = DETECTOR_PIXEL_M * 1e6
        detector["x_pixel_size"].attrs["units"] = "um"
        detector["distance"] = DISTANCE_M
        entry["instrument_1/source_1/probe"] = "x-ray"  # NeXus' radiation kind
        energy = ENERGY_EV if energy_units == "eV" else ENERGY_EV * 1.602176634e-19
        entry["instrument_1/beam_1/energy"] = energy
        if energy_units:
            entry["instrument_1/beam_1/energy"].attrs["units"] = energy_units
        if probe:
            detector["probe"] = arrays["probeGuess"]
        translation = np.zeros((arrays["xcoords"].size, 3))
        translation[:, 0] = arrays["xcoords"] * OBJECT_PIXEL_M
        translation[:, 1] = arrays["ycoords"] * OBJECT_PIXEL_M
        entry["sample_1/geometry_1/translation"] = translation
    return path


def write_plain(path, arrays, *, units=None):
    with h5py.File(path, "w") as h5:
        h5["scan/frames"] = arrays["diff3d"]
        h5["scan/x"] = arrays["xcoords"]
        h5["scan/y"] = arrays["ycoords"]
        h5["scan/probe"] = arrays["probeGuess"]
        h5["scan/object"] = arrays["objectGuess"]
        if units:
            h5["scan/x"].attrs["units"] = units
            h5["scan/y"].attrs["units"] = units
    return path


PLAIN = Hdf5Layout(diffraction="/scan/frames", x="scan/x", y="scan/y", probe="scan/probe")


def shifted(arrays):
    """Positions as the reader returns metres: the first patches start at object pixel 0."""
    return (
        arrays["xcoords"] - arrays["xcoords"].min() + N // 2,
        arrays["ycoords"] - arrays["ycoords"].min() + N // 2,
    )


@pytest.mark.parametrize("energy_units", ["eV", "J", None])
def test_nexus_entry_is_read_without_flags(tmp_path, arrays, energy_units):
    path = write_nexus(tmp_path / "scan.nxs", arrays, energy_units=energy_units)
    data = load_diffraction(path, counts=True, dc_corner=True)
    np.testing.assert_allclose(data.diffraction, arrays["diff3d"], rtol=1e-5, atol=1e-5)
    x, y = shifted(arrays)
    np.testing.assert_allclose(data.xcoords, x, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(data.ycoords, y, rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(data.probe[0], arrays["probeGuess"])  # not "x-ray"
    assert data.metadata["pixel_width_m"] == pytest.approx(OBJECT_PIXEL_M)
    assert data.metadata["photon_energy_eV"] == pytest.approx(ENERGY_EV)
    assert data.metadata["hdf5_source"]["diffraction"] == "/entry_1/data_1/data"


def test_named_datasets_in_pixels_match_the_npz_reading(tmp_path, arrays, write_npz):
    path = write_plain(tmp_path / "scan.h5", arrays, units="pixel")
    layout = Hdf5Layout(**{**PLAIN.__dict__, "object": "/scan/object"})
    data = load_diffraction(path, layout=layout)
    reference = load_diffraction(write_npz(arrays))
    for name in ("diffraction", "xcoords", "ycoords", "probe", "object"):
        np.testing.assert_array_equal(getattr(data, name), getattr(reference, name))


def test_positions_unit_flag_and_pixel_size_flag(tmp_path, arrays):
    path = write_plain(tmp_path / "scan.h5", arrays)  # no units attribute
    with pytest.raises(DataError, match="have no units attribute.*--positions-unit m"):
        load_diffraction(path, layout=PLAIN)
    px = Hdf5Layout(**{**PLAIN.__dict__, "positions_unit": "px"})
    np.testing.assert_array_equal(load_diffraction(path, layout=px).xcoords, arrays["xcoords"])
    metres = Hdf5Layout(**{**PLAIN.__dict__, "positions_unit": "m"})
    with pytest.raises(DataError, match="object pixel size is unknown.*--pixel-size METRES"):
        load_diffraction(path, layout=metres)
    sized = Hdf5Layout(**{**PLAIN.__dict__, "positions_unit": "m", "pixel_size_m": 0.5})
    data = load_diffraction(path, layout=sized)
    np.testing.assert_allclose(data.xcoords, (arrays["xcoords"] - 12.0) * 2 + N // 2)
    assert data.metadata["pixel_width_m"] == 0.5


def test_units_attribute_in_micrometres(tmp_path, arrays):
    arrays = {**arrays, "xcoords": arrays["xcoords"] * 0.25, "ycoords": arrays["ycoords"] * 0.25}
    path = write_plain(tmp_path / "scan.h5", arrays, units="um")
    layout = Hdf5Layout(**{**PLAIN.__dict__, "pixel_size_m": 0.25e-6})
    data = load_diffraction(path, layout=layout)
    np.testing.assert_allclose(np.diff(data.xcoords), np.diff(arrays["xcoords"]) * 4)


def test_pixel_size_flag_overrides_the_file_geometry_and_says_so(tmp_path, arrays):
    path = write_nexus(tmp_path / "scan.nxs", arrays)
    summary = check_file(path, counts=True, layout=Hdf5Layout(pixel_size_m=2 * OBJECT_PIXEL_M))
    assert summary.x_range_px[1] - summary.x_range_px[0] == pytest.approx(
        (np.ptp(arrays["xcoords"])) / 2
    )
    assert any("from --pixel-size (the file's geometry gives" in s for s in summary.read_steps)


def test_check_names_the_datasets_it_read(tmp_path, arrays):
    summary = check_file(write_nexus(tmp_path / "scan.nxs", arrays), counts=True)
    text = "\n".join(summary.read_steps)
    assert "'/entry_1/data_1/data'" in text and "'/entry_1/instrument_1/detector_1/probe'" in text
    assert "λz/(N·dx)" in text
    assert summary.n_positions == arrays["xcoords"].size and summary.N == N


def test_an_unrecognised_layout_names_the_paths_it_looked_for(tmp_path, arrays):
    path = write_plain(tmp_path / "scan.h5", arrays)
    message = r"no diffraction dataset found; looked for /entry_1/data_1/data, .*--diffraction"
    with pytest.raises(DataError, match=message):
        load_diffraction(path)
    with pytest.raises(SettingsError, match=message):
        summarise_data_file(path)


def test_missing_probe_says_where_it_looked(tmp_path, arrays):
    path = write_nexus(tmp_path / "scan.nxs", arrays, probe=False)
    with pytest.raises(DataError, match=r"no probe dataset found; .*--probe-from"):
        load_diffraction(path)
    assert summarise_data_file(path).N == N  # from the frames, when there is no probe


def test_settings_infer_n_from_the_nexus_probe(tmp_path, arrays):
    assert summarise_data_file(write_nexus(tmp_path / "scan.nxs", arrays)).N == N


def test_a_layout_makes_any_suffix_hdf5(tmp_path, arrays):
    path = write_plain(tmp_path / "scan.dat", arrays, units="px")
    assert load_diffraction(path, layout=PLAIN).n_positions == arrays["xcoords"].size


@pytest.mark.parametrize(
    ("layout", "message"),
    [
        (dict(x="/scan/x"), "give both or neither"),
        (dict(positions_unit="ft"), "--positions-unit 'ft'"),
        (dict(pixel_size_m=float("nan")), "--pixel-size nan"),
    ],
)
def test_layout_values_are_checked(layout, message):
    with pytest.raises(DataError, match=message):
        Hdf5Layout(**layout)


def test_every_error_is_one_line(tmp_path, arrays):
    path = write_plain(tmp_path / "scan.h5", arrays)
    with h5py.File(path, "a") as h5:
        h5["scan/frames"][0, 0, 0] = np.nan
    layout = Hdf5Layout(**{**PLAIN.__dict__, "positions_unit": "px"})
    with pytest.raises(DataError) as caught:
        load_diffraction(path, layout=layout)
    assert "\n" not in str(caught.value)
    assert "'/scan/frames' has non-finite value(s)" in str(caught.value)
    assert "the first in frame 0" in str(caught.value)


def test_one_units_attribute_serves_both_axes(tmp_path, arrays):
    path = write_plain(tmp_path / "scan.h5", arrays)
    with h5py.File(path, "a") as h5:
        h5["scan/x"].attrs["units"] = "nm"  # y has none
    data = load_diffraction(path, layout=Hdf5Layout(**{**PLAIN.__dict__, "pixel_size_m": 1e-9}))
    np.testing.assert_allclose(np.ptp(data.ycoords), np.ptp(arrays["ycoords"]))
    np.testing.assert_allclose(np.ptp(data.xcoords), np.ptp(arrays["xcoords"]))


def test_frames_with_units_counts_are_read_as_counts_without_the_flag(tmp_path, arrays):
    # What train and infer rely on: they read an HDF5 file directly, with no --counts flag.
    path = write_plain(tmp_path / "scan.h5", arrays, units="px")
    with h5py.File(path, "a") as h5:
        h5["scan/frames"][...] = np.square(arrays["diff3d"])
        h5["scan/frames"].attrs["units"] = "counts"
    data = load_diffraction(path, layout=PLAIN)
    np.testing.assert_allclose(data.diffraction, arrays["diff3d"], rtol=1e-6)
    summary = check_file(path, layout=PLAIN, counts=True)  # the flag as well: once only
    assert any("has units 'counts'" in step for step in summary.read_steps)
    assert summary.photons_max == pytest.approx(np.square(arrays["diff3d"]).sum((1, 2)).max())


def test_a_file_locked_by_its_writer_is_named_as_such(tmp_path, arrays):
    import subprocess
    import sys

    path = write_nexus(tmp_path / "scan.nxs", arrays)
    code = (
        "import sys; from ptycho_engine.data.npz import load_diffraction\n"
        "from ptycho_engine.errors import DataError\n"
        "try:\n    load_diffraction(sys.argv[1], counts=True)\n"
        "except DataError as error:\n    print(error)\n"
    )
    with h5py.File(path, "a"):  # a writer holds the file, as at a beamline during a scan
        env = {"HDF5_USE_FILE_LOCKING": "TRUE", "PATH": "/usr/bin:/bin"}
        result = subprocess.run(
            [sys.executable, "-c", code, str(path)], capture_output=True, text=True, env=env
        )
    assert "is locked by another process" in result.stdout, result.stdout + result.stderr


def test_a_nexus_raster_scan_is_read_row_by_row(tmp_path, arrays):
    # NeXus stores a raster as (rows, columns, N, N), its x and y as (rows, columns).
    rows, columns = 4, 5  # conftest's raster, frame k = row · columns + column
    path = tmp_path / "raster.nxs"
    with h5py.File(path, "w") as h5:
        detector = h5.create_group("entry/instrument_1/detector_1")
        detector["data"] = arrays["diff3d"].reshape(rows, columns, N, N)
        detector["probe"] = arrays["probeGuess"]
        for axis in ("x", "y"):
            h5[f"entry/sample_1/transformations/{axis}"] = arrays[f"{axis}coords"].reshape(
                rows, columns
            )
            h5[f"entry/sample_1/transformations/{axis}"].attrs["units"] = "pixels"
    data = load_diffraction(path)
    np.testing.assert_array_equal(data.diffraction, arrays["diff3d"])
    np.testing.assert_array_equal(data.xcoords, arrays["xcoords"])
    np.testing.assert_array_equal(data.ycoords, arrays["ycoords"])
    summary = check_file(path)
    assert "frames: 20 (a raster of 4 x 5) of 16x16" in summary.read_steps[0]
    assert summarise_data_file(path).N == N


def test_integer_frames_are_counts(tmp_path, arrays):
    path = write_plain(tmp_path / "scan.h5", arrays, units="px")
    with h5py.File(path, "a") as h5:
        del h5["scan/frames"]
        h5["scan/frames"] = np.square(arrays["diff3d"]).round().astype(np.uint32)
    with pytest.raises(DataError, match=r"'/scan/frames' holds integers \(uint32\).*--counts"):
        load_diffraction(path, layout=PLAIN)
    assert load_diffraction(path, layout=PLAIN, counts=True).diffraction.dtype == np.float32
    with h5py.File(path, "a") as h5:
        h5["scan/frames"].attrs["units"] = "counts"
    assert load_diffraction(path, layout=PLAIN).n_positions == arrays["xcoords"].size
