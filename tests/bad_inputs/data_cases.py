"""Bad data files: each breaks one rule of the NPZ data contract (docs/data.md).

Every case goes through ``ptycho data check``, ``ptycho train`` and ``ptycho infer``, which read
the file in two layers (the settings layer reads the probe size, the engine loads the rest).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np

from tests.bad_inputs.inputs import Case, M, N, good_arrays, write_arrays

COMMANDS = ("check", "train-data", "infer-data")


def _arrays(**changes) -> Callable:
    """A writer of the valid arrays with keys changed: a value, a function of the valid
    arrays, or None to remove the key.
    """

    def write(folder: Path) -> Path:
        arrays = good_arrays()
        for key, change in changes.items():
            if change is None:
                del arrays[key]
            else:
                arrays[key] = change(arrays) if callable(change) else change
        return write_arrays(folder / "data.npz", arrays)

    return write


def _poke(key: str, value) -> Callable:
    """A change that sets one element of ``key`` to ``value`` (NaN, inf, a negative number)."""

    def change(arrays):
        array = arrays[key].copy()
        array.flat[3] = value
        return array

    return change


def _bytes(data: bytes | Callable, name: str = "data.npz") -> Callable:
    def write(folder: Path) -> Path:
        path = folder / name
        path.write_bytes(data(folder) if callable(data) else data)
        return path

    return write


def _good_bytes(folder: Path) -> bytes:
    return write_arrays(folder / "scratch.npz", good_arrays()).read_bytes()


def _truncated(folder: Path) -> bytes:
    data = _good_bytes(folder)
    return data[: len(data) // 2]


def _corrupted(folder: Path) -> bytes:
    # np.savez stores members uncompressed; flipping bytes in the middle of diff3d's data
    # leaves the zip structure intact, so only the CRC check can notice.
    data = bytearray(_good_bytes(folder))
    middle = len(data) // 3
    data[middle : middle + 16] = bytes(255 - b for b in data[middle : middle + 16])
    return bytes(data)


def _huge_header(shape: tuple[int, ...]) -> Callable:
    """A zip whose diff3d.npy header claims ``shape`` while holding a few bytes of data."""

    def data(folder: Path) -> bytes:
        member = io.BytesIO()
        header = {"descr": "<f4", "fortran_order": False, "shape": shape}
        np.lib.format.write_array_header_1_0(member, header)
        member.write(b"\0" * 64)
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w") as zipped:
            zipped.writestr("diff3d.npy", member.getvalue())
            for key, value in good_arrays().items():
                if key != "diff3d":
                    stream = io.BytesIO()
                    np.save(stream, value)
                    zipped.writestr(f"{key}.npy", stream.getvalue())
        return archive.getvalue()

    return data


def _member(data: bytes) -> Callable:
    """A valid file whose diff3d.npy member holds ``data`` instead."""

    def write(folder: Path) -> Path:
        path = write_arrays(folder / "data.npz", good_arrays())
        with zipfile.ZipFile(path) as archive:
            members = {name: archive.read(name) for name in archive.namelist()}
        members["diff3d.npy"] = data
        with zipfile.ZipFile(path, "w") as archive:
            for name, member in members.items():
                archive.writestr(name, member)
        return path

    return write


def _hdf5(folder: Path) -> Path:
    path = folder / "data.npz"
    with h5py.File(path, "w") as h5:
        for key, value in good_arrays().items():
            h5[key] = value
    return path


def _npy(folder: Path) -> Path:
    path = folder / "data.npz"
    with open(path, "wb") as stream:
        np.save(stream, good_arrays()["diff3d"])
    return path


def _directory(folder: Path) -> Path:
    path = folder / "data.npz"
    path.mkdir()
    return path


def _objects(value) -> Callable:
    return lambda arrays: np.array([value, "x"], dtype=object)


_PATTERNS = (M, N, N)
CASES = [
    Case(f"missing-{key}", key, _arrays(**{key: None}), COMMANDS)
    for key in ("diff3d", "xcoords", "ycoords", "probeGuess")
] + [
    Case(
        "diff3d-rank-2",
        "'diff3d' has shape (8, 4096)",
        _arrays(diff3d=lambda a: a["diff3d"].reshape(M, N * N)),
        COMMANDS,
    ),
    Case(
        "diff3d-rank-4",
        "'diff3d' has shape (8, 1, 64, 64)",
        _arrays(diff3d=lambda a: a["diff3d"][:, None]),
        COMMANDS,
    ),
    Case(
        "xcoords-rank-2",
        "'xcoords' has shape (8, 1)",
        _arrays(xcoords=lambda a: a["xcoords"][:, None]),
        COMMANDS,
    ),
    Case(
        "probe-rank-4",
        "probeGuess",
        _arrays(probeGuess=np.ones((1, 1, N, N), np.complex64)),
        COMMANDS,
    ),
    Case(
        "probe-not-square",
        "probeGuess",
        _arrays(probeGuess=np.ones((N, N // 2), np.complex64)),
        COMMANDS,
    ),
    Case(
        "diff3d-strings",
        "'diff3d' has dtype <U1",
        _arrays(diff3d=np.full(_PATTERNS, "a")),
        COMMANDS,
    ),
    Case(
        "diff3d-bool", "'diff3d' has dtype bool", _arrays(diff3d=np.ones(_PATTERNS, bool)), COMMANDS
    ),
    Case(
        "diff3d-complex",
        "'diff3d' is complex",
        _arrays(diff3d=lambda a: a["diff3d"].astype(np.complex64)),
        COMMANDS,
    ),
    Case(
        "xcoords-strings",
        "'xcoords' has dtype <U2",
        _arrays(xcoords=np.array(["40"] * M)),
        COMMANDS,
    ),
    Case("probe-strings", "probeGuess", _arrays(probeGuess=np.full((N, N), "p")), COMMANDS),
    Case(
        "fewer-positions-than-patterns",
        "'diff3d' has shape (8, 64, 64), which is neither",
        _arrays(xcoords=lambda a: a["xcoords"][:-1], ycoords=lambda a: a["ycoords"][:-1]),
        COMMANDS,
    ),
    Case(
        "ycoords-too-long",
        "'ycoords' has 9 entries but xcoords has 8",
        _arrays(ycoords=lambda a: np.append(a["ycoords"], 1.0)),
        COMMANDS,
    ),
    Case(
        "probe-smaller-than-patterns",
        "'probeGuess' is 32x32 but the diffraction patterns are 64x64",
        _arrays(probeGuess=np.ones((N // 2, N // 2), np.complex64)),
        COMMANDS,
    ),
    Case(
        "frames-not-square",
        "frames are 64x32",
        _arrays(diff3d=lambda a: a["diff3d"][:, :, : N // 2]),
        COMMANDS,
    ),
    Case(
        "diff3d-nan", "'diff3d' has 1 non-finite", _arrays(diff3d=_poke("diff3d", np.nan)), COMMANDS
    ),
    Case(
        "diff3d-inf", "'diff3d' has 1 non-finite", _arrays(diff3d=_poke("diff3d", np.inf)), COMMANDS
    ),
    Case(
        "diff3d-too-large-for-float32",
        "'diff3d' has 1 non-finite",
        _arrays(diff3d=lambda a: _poke("diff3d", 1e300)({"diff3d": a["diff3d"].astype(float)})),
        COMMANDS,
    ),
    Case(
        "xcoords-nan",
        "'xcoords' has 1 non-finite",
        _arrays(xcoords=_poke("xcoords", np.nan)),
        COMMANDS,
    ),
    Case(
        "ycoords-inf",
        "'ycoords' has 1 non-finite",
        _arrays(ycoords=_poke("ycoords", -np.inf)),
        COMMANDS,
    ),
    Case("probe-nan", "probeGuess", _arrays(probeGuess=_poke("probeGuess", np.nan)), COMMANDS),
    Case(
        "probe-zero",
        "'probeGuess' is zero everywhere",
        _arrays(probeGuess=np.zeros((N, N), np.complex64)),
        COMMANDS,
    ),
    Case(
        "negative-amplitudes",
        "'diff3d' has negative values",
        _arrays(diff3d=_poke("diff3d", -1.0)),
        COMMANDS,
    ),
    Case(
        "empty-arrays",
        "'xcoords' is empty",
        _arrays(diff3d=np.zeros((0, N, N), np.float32), xcoords=np.zeros(0), ycoords=np.zeros(0)),
        COMMANDS,
    ),
    Case("empty-probe", "probeGuess", _arrays(probeGuess=np.zeros((0, 0), np.complex64)), COMMANDS),
    Case(
        "diff3d-and-diffraction-differ",
        "both 'diff3d'",
        _arrays(diffraction=lambda a: a["diff3d"] + 1),
        COMMANDS,
    ),
    Case(
        "start-coordinates-half",
        "'xcoords_start' is present but 'ycoords_start' is not",
        _arrays(xcoords_start=lambda a: a["xcoords"]),
        COMMANDS,
    ),
    Case(
        "object-wrong-rank",
        "'objectGuess' has shape (3,)",
        _arrays(objectGuess=np.ones(3, np.complex64)),
        COMMANDS,
    ),
    Case(
        "scan-index-fractional",
        "'scan_index' holds non-integer values",
        _arrays(scan_index=np.full(M, 0.5)),
        COMMANDS,
    ),
    Case(
        "metadata-not-json",
        "'_metadata' is not valid JSON",
        _arrays(_metadata=np.array("{nphotons: 1e9")),
        COMMANDS,
    ),
    Case(
        "diff3d-object-array",
        "'diff3d' is a pickled object array",
        _arrays(diff3d=_objects(1.0)),
        COMMANDS,
    ),
    Case("probe-object-array", "pickled object array", _arrays(probeGuess=_objects(1j)), COMMANDS),
    Case("truncated-npz", "truncated", _bytes(_truncated), COMMANDS),
    Case("corrupt-member", "corrupt", _bytes(_corrupted), COMMANDS),
    Case("empty-file", "empty", _bytes(b""), COMMANDS),
    Case("text-file", "not a readable NPZ archive", _bytes(b"x,y\n1,2\n"), COMMANDS),
    Case("hdf5-file", "not a readable NPZ archive", _hdf5, COMMANDS),
    Case(
        "member-bad-npy-header",
        "'diff3d' is not a readable .npy array",
        _member(b"\x93NUMPY\x01\x00\x10\x00{'descr': 'zz'}  \n"),
        COMMANDS,
    ),
    Case("member-not-npy", "'diff3d' is not a readable .npy array", _member(b"1 2 3\n"), COMMANDS),
    Case("single-npy-array", "holds a single .npy array", _npy, COMMANDS),
    Case("directory", "is a directory", _directory, COMMANDS),
    Case("header-claims-16-GiB", "diff3d", _bytes(_huge_header((2**20, N, N))), COMMANDS),
    Case("header-claims-petabytes", "diff3d", _bytes(_huge_header((2**40, N, N))), COMMANDS),
]
