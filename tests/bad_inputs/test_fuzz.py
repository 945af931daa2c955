"""Fuzzing the two readers of data files: random NPZ contents and damaged bytes.

The engine's loader may only return valid data or raise ``DataError``; the settings layer's
summary may only return or raise ``SettingsError``. Any other exception would reach the user
as a traceback. (Settings dicts, files and environments are fuzzed in tests/settings.)
"""

from __future__ import annotations

import io
import warnings

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from ptycho_engine.data.npz import load_diffraction
from ptycho_engine.errors import DataError
from ptycho_settings.data_summary import summarise_data_file
from ptycho_settings.errors import SettingsError
from tests.bad_inputs.inputs import good_arrays

KEYS = [
    "diff3d",
    "diffraction",
    "xcoords",
    "ycoords",
    "probeGuess",
    "objectGuess",
    "xcoords_start",
    "ycoords_start",
    "scan_index",
    "_metadata",
    "extra",
]
DTYPES = ["float32", "float64", "int16", "uint8", "complex64", "bool", "<U3"]
FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@st.composite
def arrays(draw, m: int, n: int) -> np.ndarray:
    """An array whose shape is often one the contract uses, so that some files are valid."""
    shape = draw(
        st.one_of(
            st.sampled_from([(m,), (m, n, n), (n, n), (1, n, n), (n, n, m), ()]),
            hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=4),
        )
    )
    if draw(st.integers(0, 9)) == 0:  # an object array, which would need unpickling
        return np.array([None, 1.0], dtype=object)
    dtype = np.dtype(draw(st.sampled_from(DTYPES)))
    elements = None
    if dtype.kind in "fc":
        single = dtype in (np.float32, np.complex64)
        # 1e39 overflows float32, which the loader converts to
        specials = [np.nan, np.inf, -np.inf] + ([] if single else [1e39])
        elements = st.one_of(
            st.floats(-2, 1e6, width=32 if single else 64), st.sampled_from(specials)
        )
    return draw(hnp.arrays(dtype, shape, elements=elements))


@st.composite
def npz_contents(draw) -> dict[str, np.ndarray]:
    """A valid small file with up to three keys replaced by random arrays or removed."""
    m, n = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    contents = {
        "diff3d": np.ones((m, n, n), np.float32),
        "xcoords": np.arange(m, dtype=float),
        "ycoords": np.zeros(m),
        "probeGuess": np.ones((n, n), np.complex64),
    }
    for key in draw(st.lists(st.sampled_from(KEYS), unique=True, max_size=3)):
        if draw(st.integers(0, 4)) == 0:
            contents.pop(key, None)
        else:
            contents[key] = draw(arrays(m, n))
    return contents


def _write(folder, contents: dict[str, np.ndarray]):
    path = folder / "data.npz"
    with open(path, "wb") as stream:
        np.savez(stream, **contents)
    return path


def _load_or_refuse(path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            data = load_diffraction(path)
        except DataError:
            pass
        else:  # what is returned is valid
            assert np.all(np.isfinite(data.diffraction)) and data.diffraction.min() >= 0
            assert data.probe.shape[1:] == data.diffraction.shape[1:]
        try:
            summarise_data_file(path)
        except SettingsError:
            pass


@FUZZ
@given(contents=npz_contents())
def test_random_npz_contents_load_or_raise_only_our_errors(tmp_path_factory, contents):
    _load_or_refuse(_write(tmp_path_factory.mktemp("fuzz"), contents))


def _good_bytes() -> bytes:
    # A valid 2-position file of 8 x 8 patterns: small, so that every byte is likely hit.
    arrays = good_arrays()
    stream = io.BytesIO()
    np.savez(
        stream,
        diff3d=arrays["diff3d"][:2, :8, :8],
        xcoords=arrays["xcoords"][:2],
        ycoords=arrays["ycoords"][:2],
        probeGuess=arrays["probeGuess"][:8, :8],
    )
    return stream.getvalue()


GOOD = _good_bytes()


@FUZZ
@given(
    cut=st.one_of(st.none(), st.integers(0, len(GOOD))),
    flips=st.lists(st.tuples(st.integers(0, len(GOOD) - 1), st.integers(1, 255)), max_size=4),
)
def test_damaged_bytes_load_or_raise_only_our_errors(tmp_path_factory, cut, flips):
    data = bytearray(GOOD)
    for at, mask in flips:
        data[at] ^= mask
    path = tmp_path_factory.mktemp("fuzz") / "data.npz"
    path.write_bytes(bytes(data[:cut]))
    _load_or_refuse(path)


def _small_bundle(folder) -> bytes:
    from ptycho_engine.bundle import write_bundle

    path = write_bundle(
        folder,
        weights={"m": {"w": np.arange(6.0).reshape(2, 3)}},
        probe=np.ones((1, 4, 4), np.complex64),
        scaling={"intensity_scale": 1.0},
        params={"intensity_scale": 1.0},
        settings={"model": {"N": 64}},
    )
    return path.read_bytes()


@FUZZ
@given(data=st.data())
def test_damaged_bundles_raise_only_our_errors(tmp_path_factory, data):
    from ptycho_engine.bundle import BundleError, read_bundle
    from ptycho_settings.bundle_settings import read_bundle_settings

    folder = tmp_path_factory.mktemp("fuzz")
    blob = bytearray(_small_bundle(folder / "good"))
    # offsets drawn independently of the bundle's length (its manifest's timestamp can change
    # it by a byte between runs, and hypothesis wants the same draws for the same example)
    for at, mask in data.draw(
        st.lists(st.tuples(st.integers(0, 2**20), st.integers(1, 255)), min_size=1, max_size=4)
    ):
        blob[at % len(blob)] ^= mask
    path = folder / "wts.h5.zip"
    cut = data.draw(st.one_of(st.none(), st.integers(0, 2**20)))
    path.write_bytes(bytes(blob if cut is None else blob[: cut % (len(blob) + 1)]))
    for read, error in ((read_bundle, BundleError), (read_bundle_settings, SettingsError)):
        try:
            read(path)
        except error:
            pass
