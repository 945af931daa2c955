"""Bad HDF5 data files: each breaks one rule of docs/data.md's HDF5 section.

Cases with a NeXus NXcxi_ptycho layout go through ``ptycho data check``, ``ptycho train`` and
``ptycho infer`` (the settings layer reads the probe size, the engine the rest); cases with
dataset paths named by flags go through ``ptycho data check`` and ``ptycho data convert``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np

from tests.bad_inputs.inputs import Case, M, N, good_arrays

NEXUS_COMMANDS = ("check", "train-data", "infer-data")
FLAG_COMMANDS = ("check", "convert")

DETECTOR = "entry_1/instrument_1/detector_1"
TRANSLATION = "entry_1/sample_1/geometry_1/translation"


def write_nexus(path: Path, change: Callable[[h5py.File], None] | None = None) -> Path:
    """Write the valid scan as a NeXus NXcxi_ptycho entry; ``change`` breaks it."""
    arrays = good_arrays()
    with h5py.File(path, "w") as h5:
        entry = h5.create_group("entry_1")
        entry.attrs["NX_class"] = "NXentry"
        entry["definition"] = "NXcxi_ptycho"
        detector = h5.create_group(DETECTOR)
        detector["data"] = arrays["diff3d"]
        entry["data_1"] = h5py.SoftLink(f"/{DETECTOR}")  # CXI links data_1 to the detector
        detector["x_pixel_size"] = 75e-6
        detector["distance"] = 2.0
        detector["probe"] = arrays["probeGuess"]
        entry["instrument_1/source_1/probe"] = "x-ray"  # NeXus' radiation kind, not the probe
        entry["instrument_1/beam_1/energy"] = 8000.0
        entry["instrument_1/beam_1/energy"].attrs["units"] = "eV"
        translation = np.zeros((M, 3))
        translation[:, 0], translation[:, 1] = arrays["xcoords"] * 6e-8, arrays["ycoords"] * 6e-8
        h5[TRANSLATION] = translation
        h5[TRANSLATION].attrs["units"] = "m"
        if change is not None:
            change(h5)
    return path


def write_plain(path: Path, change: Callable[[h5py.File], None] | None = None) -> Path:
    """Write the valid scan under plain names (``/scan/frames``, ``/scan/x`` …)."""
    arrays = good_arrays()
    with h5py.File(path, "w") as h5:
        h5["scan/frames"] = arrays["diff3d"]
        h5["scan/x"] = arrays["xcoords"]
        h5["scan/y"] = arrays["ycoords"]
        h5["scan/probe"] = arrays["probeGuess"]
        h5.create_group("scan/empty")
        if change is not None:
            change(h5)
    return path


PLAIN_FLAGS = (
    "--diffraction", "/scan/frames", "--x", "/scan/x", "--y", "/scan/y",
    "--probe", "/scan/probe", "--positions-unit", "px",
)  # fmt: skip


def _nexus(change: Callable[[h5py.File], None] | None = None) -> Callable[[Path], Path]:
    return lambda folder: write_nexus(folder / "scan.nxs", change)


def _plain(change: Callable[[h5py.File], None] | None = None) -> Callable[[Path], Path]:
    return lambda folder: write_plain(folder / "scan.h5", change)


def _replace(name: str, value) -> Callable[[h5py.File], None]:
    def change(h5: h5py.File) -> None:
        del h5[name]
        if value is not None:
            h5[name] = value(h5) if callable(value) else value

    return change


def _poke(name: str, value: float, index: int = -1) -> Callable[[h5py.File], None]:
    def change(h5: h5py.File) -> None:
        array = h5[name][()]
        array.flat[index] = value  # by default in the last frame, read in the last block
        h5[name][...] = array

    return change


def _group_instead(name: str) -> Callable[[h5py.File], None]:
    def change(h5: h5py.File) -> None:
        del h5[name]
        h5.create_group(name)

    return change


def _truncated(folder: Path) -> Path:
    path = write_nexus(folder / "scan.nxs")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 2 // 3])
    return path


def _bytes(data: bytes) -> Callable[[Path], Path]:
    def write(folder: Path) -> Path:
        path = folder / "scan.h5"
        path.write_bytes(data)
        return path

    return write


def _npz(folder: Path) -> Path:
    path = folder / "scan.npz"
    np.savez(path, **good_arrays())
    return path


def _drop_geometry(h5: h5py.File) -> None:
    for name in (f"{DETECTOR}/x_pixel_size", f"{DETECTOR}/distance"):
        del h5[name]


_FRAMES = f"{DETECTOR}/data"
_PROBE = f"{DETECTOR}/probe"
_NEXUS = [
    ("missing-diffraction", "no diffraction dataset found; looked for /entry_1/data_1/data",
     _replace(_FRAMES, None)),
    ("diffraction-rank-2", "'/entry_1/data_1/data' has shape (8, 4096); expected frames",
     _replace(_FRAMES, lambda h5: good_arrays()["diff3d"].reshape(M, N * N))),
    ("diffraction-is-a-group", "'/entry_1/data_1/data' is a group, expected a dataset",
     _group_instead(_FRAMES)),
    ("diffraction-complex", "is complex", _replace(_FRAMES, np.ones((M, N, N), np.complex64))),
    ("diffraction-strings", "it must hold real numbers", _replace(_FRAMES, "frames")),
    ("diffraction-nan-in-last-frame", "non-finite value(s)", _poke(_FRAMES, np.nan)),
    ("diffraction-inf", "non-finite value(s)", _poke(_FRAMES, np.inf)),
    ("diffraction-negative", "has negative values", _poke(_FRAMES, -1.0)),
    ("integer-frames-without-counts", "holds integers (uint16), which are photon counts",
     _replace(_FRAMES, np.ones((M, N, N), np.uint16))),
    ("translation-too-short", f"'/{TRANSLATION}' has 7 positions but",
     _replace(TRANSLATION, lambda h5: np.zeros((M - 1, 3)))),
    ("translation-rank-1", f"'/{TRANSLATION}' has shape (8,); expected translations (M, 3)",
     _replace(TRANSLATION, np.zeros(M))),
    ("translation-nan", "non-finite", _poke(TRANSLATION, np.nan, index=0)),
    ("missing-probe", "no probe dataset found", _replace(_PROBE, None)),
    ("probe-smaller-than-patterns", "is 32x32 but the diffraction patterns are 64x64",
     _replace(_PROBE, np.ones((N // 2, N // 2), np.complex64))),
    ("probe-zero", "is zero everywhere", _replace(_PROBE, np.zeros((N, N), np.complex64))),
    ("probe-is-a-group", f"'/{_PROBE}' is a group", _group_instead(_PROBE)),
    ("metres-without-geometry", "the object pixel size is unknown", _drop_geometry),
    ("translation-in-furlongs", "has units 'furlong'",
     lambda h5: h5[TRANSLATION].attrs.__setitem__("units", "furlong")),
]  # fmt: skip
_FLAGGED = [
    ("flag-path-missing", "no dataset '/scan/nope' in the file", ("--diffraction", "/scan/nope"),
     None),
    ("flag-path-is-a-group", "'/scan/empty' is a group, expected a dataset",
     ("--probe", "/scan/empty"), None),
    ("flag-x-too-long", "'/scan/x' has 9 positions but '/scan/frames' has 8 frames", (),
     _replace("scan/x", np.arange(M + 1.0))),
    ("flag-x-rank-2", "'/scan/x' (xcoords) has shape (8, 1)", (),
     _replace("scan/x", np.ones((M, 1)))),
    ("flag-y-nan", "'/scan/y' (ycoords) has 1 non-finite", (), _poke("scan/y", np.nan)),
    ("flag-frames-nan", "'/scan/frames' has non-finite", (), _poke("scan/frames", np.nan)),
    ("flag-object-rank-1", "'/scan/x' (objectGuess) has shape (8,)", ("--object", "/scan/x"),
     None),
]  # fmt: skip


def _flagged(flags: tuple[str, ...], change) -> tuple[Callable[[Path], Path], tuple[str, ...]]:
    merged = list(PLAIN_FLAGS)
    for flag, value in zip(flags[::2], flags[1::2], strict=True):
        if flag in merged:
            merged[merged.index(flag) + 1] = value
        else:
            merged += [flag, value]
    return _plain(change), tuple(merged)


CASES = (
    [Case(f"h5-{name}", fragment, _nexus(change), NEXUS_COMMANDS)
     for name, fragment, change in _NEXUS]
    + [Case(f"h5-{name}", fragment, *_flagged(flags, change)[:1], FLAG_COMMANDS,
            flags=_flagged(flags, change)[1])
       for name, fragment, flags, change in _FLAGGED]
    + [
        Case("h5-truncated", "truncated or corrupt", _truncated, NEXUS_COMMANDS),
        Case("h5-empty-file", "is empty (0 bytes)", _bytes(b""), NEXUS_COMMANDS),
        Case("h5-not-hdf5", "not a readable HDF5 file", _bytes(b"x,y\n1,2\n"), NEXUS_COMMANDS),
        Case("h5-no-units", "have no units attribute; say what the positions are in",
             _plain(), FLAG_COMMANDS, flags=PLAIN_FLAGS[:-2]),
        Case("h5-x-without-y", "give both or neither", _plain(), FLAG_COMMANDS,
             flags=("--x", "/scan/x")),
        Case("h5-metres-without-pixel-size", "the object pixel size is unknown", _plain(),
             FLAG_COMMANDS, flags=(*PLAIN_FLAGS[:-1], "m")),
        Case("h5-flags-on-npz", "name datasets of an HDF5 file", _npz, FLAG_COMMANDS,
             flags=("--diffraction", "/frames")),
        Case("h5-bad-pixel-size", "expected a positive number of metres", _plain(),
             FLAG_COMMANDS, flags=(*PLAIN_FLAGS[:-1], "m", "--pixel-size", "-1")),
    ]
)  # fmt: skip
