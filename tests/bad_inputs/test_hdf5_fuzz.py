"""Fuzzing the HDF5 readers: random datasets in a NeXus entry, and truncated files.

As for NPZ files (``test_fuzz.py``), the engine's loader may only return valid data or raise
``DataError``, the settings layer's summary only return or raise ``SettingsError``. Damaged
bytes inside an HDF5 file are not fuzzed here: the HDF5 library itself can stall on some
damaged metadata (docs/data.md says so), which no reader above it can prevent.
"""

from __future__ import annotations

import warnings

import h5py
import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from ptycho_engine.data.hdf5 import Hdf5Layout
from ptycho_engine.data.npz import load_diffraction
from ptycho_engine.errors import DataError
from ptycho_settings.data_summary import summarise_data_file
from ptycho_settings.errors import SettingsError
from tests.bad_inputs.hdf5_cases import write_nexus
from tests.bad_inputs.test_fuzz import FUZZ, arrays

ROLES = [
    "entry_1/data_1/data",
    "entry_1/instrument_1/detector_1/probe",
    "entry_1/instrument_1/source_1/probe",
    "entry_1/sample_1/geometry_1/translation",
    "entry_1/instrument_1/detector_1/x_pixel_size",
    "entry_1/instrument_1/detector_1/distance",
    "entry_1/instrument_1/beam_1/energy",
]
UNITS = [None, "m", "um", "px", "eV", "keV", "J", "furlong", ""]


def _nexus(path, m: int, n: int) -> None:
    with h5py.File(path, "w") as h5:
        h5["entry_1/data_1/data"] = np.ones((m, n, n), np.float32)
        h5["entry_1/instrument_1/detector_1/probe"] = np.ones((n, n), np.complex64)
        h5["entry_1/sample_1/geometry_1/translation"] = np.arange(m * 3.0).reshape(m, 3) * 1e-7
        h5["entry_1/instrument_1/detector_1/x_pixel_size"] = 75e-6
        h5["entry_1/instrument_1/detector_1/distance"] = 2.0
        h5["entry_1/instrument_1/beam_1/energy"] = 8000.0
        h5["entry_1/instrument_1/beam_1/energy"].attrs["units"] = "eV"


def _load_or_refuse(path, layout=None) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            data = load_diffraction(path, layout=layout)
        except DataError as error:
            assert "\n" not in str(error)
        else:  # what is returned is valid
            assert np.all(np.isfinite(data.diffraction)) and data.diffraction.min() >= 0
            assert data.probe.shape[1:] == data.diffraction.shape[1:]
            assert np.all(np.isfinite(data.xcoords)) and np.all(np.isfinite(data.ycoords))
        if layout is None:
            try:
                summarise_data_file(path)
            except SettingsError as error:
                assert "\n" not in str(error)


@FUZZ
@given(data=st.data())
def test_random_nexus_datasets_load_or_raise_only_our_errors(tmp_path_factory, data):
    m, n = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4))
    path = tmp_path_factory.mktemp("fuzz") / "scan.nxs"
    _nexus(path, m, n)
    with h5py.File(path, "a") as h5:
        for role in data.draw(st.lists(st.sampled_from(ROLES), unique=True, max_size=3)):
            if role in h5:
                del h5[role]
            kind = data.draw(st.integers(0, 5))
            if kind == 1:
                h5.create_group(role)
            elif kind == 2:
                h5[role] = h5py.SoftLink("/nowhere")
            elif kind > 2:
                value = data.draw(arrays(m, n))
                if value.dtype.hasobject:
                    value = "text"
                elif value.dtype.kind == "U":  # h5py stores text as bytes
                    value = np.char.encode(value, "utf-8")
                h5[role] = value
                units = data.draw(st.sampled_from(UNITS))
                if units is not None:
                    h5[role].attrs["units"] = units
    _load_or_refuse(path)


@FUZZ
@given(
    unit=st.sampled_from([None, "m", "px"]),
    pixel=st.one_of(st.none(), st.floats(1e-9, 1e-6)),
    names=st.lists(st.sampled_from(["/d", "/x", "/y", "/p", "/g", "/missing"]), min_size=4),
)
def test_random_dataset_flags_load_or_raise_only_our_errors(tmp_path_factory, unit, pixel, names):
    path = tmp_path_factory.mktemp("fuzz") / "scan.h5"
    with h5py.File(path, "w") as h5:
        h5["d"] = np.ones((3, 4, 4), np.uint16)
        h5["x"], h5["y"] = np.arange(3.0), np.zeros(3)
        h5["p"] = np.ones((4, 4))
        h5.create_group("g")
    try:
        layout = Hdf5Layout(names[0], names[1], names[2], names[3], None, pixel, unit)
    except DataError:
        return
    _load_or_refuse(path, layout)


def test_every_truncation_of_a_nexus_file_is_refused(tmp_path):
    good = write_nexus(tmp_path / "good.nxs").read_bytes()
    path = tmp_path / "scan.nxs"
    for cut in np.linspace(0, len(good) - 1, 40).astype(int):
        path.write_bytes(good[:cut])
        _load_or_refuse(path)
