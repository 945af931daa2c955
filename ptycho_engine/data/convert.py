"""Conversion of a data file to the canonical form of the data contract.

Canonical form: diffraction amplitude (√counts) with the zero frequency at the centre, stored
as ``diff3d`` (M, N, N) float32, with every optional key written out explicitly.

An HDF5 input is converted in a stream: its frames are read, checked and transformed one
block at a time (:data:`ptycho_engine.data.hdf5.BLOCK_FRAMES`) and written straight into the
``diff3d.npy`` member of the output archive, so memory holds a block or two, not the file.
"""

from __future__ import annotations

import os
import struct
import warnings
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ptycho_engine.atomic import atomic_output
from ptycho_engine.data.hdf5 import BLOCK_FRAMES, Hdf5Layout, open_scan, transform_steps
from ptycho_engine.data.npz import (
    DiffractionData,
    canonicalise,
    contract_arrays,
    read_npz,
    save_diffraction,
)
from ptycho_engine.errors import DataError
from ptycho_settings.hdf5_files import is_hdf5_path


@dataclass(frozen=True)
class ConversionReport:
    """What :func:`convert_file` did.

    Attributes
    ----------
    source, destination : Path
        Input and output files.
    steps : list of str
        One line per change made to the data, in the order applied.
    skipped : list of str
        Warnings raised while reading (keys skipped or dropped).
    data : DiffractionData
        The data as written.
    """

    source: Path
    destination: Path
    steps: list[str]
    skipped: list[str]
    data: DiffractionData


def convert_file(
    source: str | os.PathLike,
    destination: str | os.PathLike,
    *,
    counts: bool = False,
    dc_corner: bool = False,
    overwrite: bool = False,
    adjust: Callable[[DiffractionData], tuple[DiffractionData, list[str]]] | None = None,
    layout: Hdf5Layout | None = None,
    probe_supplied: bool = False,
    positions_supplied: bool = False,
    block_frames: int = BLOCK_FRAMES,
) -> ConversionReport:
    """Read ``source``, bring it to canonical form and write it atomically to ``destination``.

    Parameters
    ----------
    source, destination : str or PathLike
        Input ``.npz`` or HDF5 file (``.h5``, ``.hdf5``, ``.nxs``, ``.cxi``, or any file when
        ``layout`` is given) and output ``.npz`` file; they may be the same file when
        ``overwrite`` is set.
    counts : bool
        The input stores photon counts; the output stores their square root.
    dc_corner : bool
        The input has the zero frequency at pixel (0, 0); the output has it at the centre.
    overwrite : bool
        Replace an existing ``destination``; otherwise an existing file is an error.
    adjust : callable, optional
        Applied to the canonical data before writing; returns the data to write and one line
        per change (:func:`ptycho_engine.ptychodus.convert_with_product` takes the probe or
        positions of a Ptychodus product file this way).
    layout : Hdf5Layout, optional
        Dataset paths, position unit and pixel size of an HDF5 input; paths not given are
        looked for in a NeXus NXcxi_ptycho entry.
    probe_supplied, positions_supplied : bool
        ``adjust`` replaces the probe/positions, so an HDF5 input need not have them.
    block_frames : int
        Frames of an HDF5 input read and written at a time.

    Returns
    -------
    ConversionReport
        The changes made and the data written.
    """
    source, destination = Path(source), Path(destination)
    # Refuse before reading: a large input should not be read only to be told this.
    if destination.exists() and not overwrite:
        raise DataError(f"{destination}: already exists; use --overwrite to replace it")
    if layout is not None or is_hdf5_path(source):
        settings = (layout, counts, dc_corner, probe_supplied, positions_supplied, block_frames)
        data, steps = _convert_hdf5(source, destination, settings, adjust, overwrite=overwrite)
        return ConversionReport(source, destination, steps, [], data)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data, steps = canonicalise(
            read_npz(source), source=source, counts=counts, dc_corner=dc_corner
        )
    if adjust is not None:
        data, changes = adjust(data)
        steps += changes
    save_diffraction(destination, data, overwrite=overwrite)
    skipped = [str(item.message) for item in caught]
    return ConversionReport(source, destination, steps, skipped, data)


def _convert_hdf5(source: Path, destination: Path, settings: tuple, adjust, *, overwrite: bool):
    """Stream an HDF5 scan into ``destination``; return the data written and the steps."""
    layout, counts, dc_corner, probe_supplied, positions_supplied, block_frames = settings
    _check_destination(destination)
    needs = {"need_probe": not probe_supplied, "need_positions": not positions_supplied}
    with open_scan(source, layout, **needs) as scan:
        m, n = scan.n_positions, scan.N
        x = scan.xcoords if scan.xcoords is not None else np.zeros(m)
        y = scan.ycoords if scan.ycoords is not None else np.zeros(m)
        data = DiffractionData(
            # The frames stay in the file until they are written; this stand-in has their
            # shape and holds no memory.
            diffraction=np.broadcast_to(np.float32(0), (m, n, n)),
            xcoords=x,
            ycoords=y,
            xcoords_start=x.copy(),
            ycoords_start=y.copy(),
            probe=scan.probe if scan.probe is not None else np.ones((1, n, n), np.complex64),
            object=scan.object,
            scan_index=np.zeros(m, dtype=np.int64),
            metadata=scan.metadata,
            source=source,
        )
        counts = counts or scan.stored_counts
        steps = scan.steps + transform_steps(counts=counts, dc_corner=dc_corner)
        steps += ["xcoords_start/ycoords_start absent: set to xcoords/ycoords"]
        steps += ["scan_index absent: set to zeros"]
        if adjust is not None:
            data, changes = adjust(data)
            steps += changes
        blocks = scan.blocks(counts=counts, dc_corner=dc_corner, block_frames=block_frames)
        write_streamed(destination, data, blocks, overwrite=overwrite)
    return replace(data, diffraction=member_memmap(destination, "diff3d")), steps


def _check_destination(path: Path) -> None:
    if path.is_dir():
        raise DataError(f"{path}: is a directory, expected an output file name")
    if not path.parent.is_dir():
        raise DataError(f"{path}: directory {path.parent} does not exist")


def write_streamed(
    path: Path,
    data: DiffractionData,
    blocks: Iterable[tuple[int, np.ndarray]],
    *,
    overwrite: bool,
) -> None:
    """Write ``data`` as :func:`~ptycho_engine.data.npz.save_diffraction` does, its
    ``diff3d`` taken from ``blocks`` of float32 frames in order, block by block.

    ``data.diffraction`` gives only the shape. The archive is written atomically: an error
    in any block (a NaN, a read error) leaves nothing at ``path``.
    """
    small = contract_arrays(data, path)
    shape = tuple(int(size) for size in data.diffraction.shape)
    header = {"descr": np.lib.format.dtype_to_descr(np.dtype("<f4")), "fortran_order": False}
    try:
        with (
            atomic_output(path, overwrite=overwrite) as temporary,
            zipfile.ZipFile(temporary, "w", zipfile.ZIP_STORED, allowZip64=True) as archive,
        ):
            for key, value in small.items():
                with archive.open(f"{key}.npy", "w") as member:
                    np.lib.format.write_array(member, np.asanyarray(value), allow_pickle=False)
            with archive.open("diff3d.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array_header_1_0(member, {**header, "shape": shape})
                written = 0
                for start, block in blocks:
                    if start != written or block.shape[1:] != shape[1:]:
                        raise DataError(f"{path}: frame blocks out of order at frame {start}")
                    frames = np.ascontiguousarray(block, dtype="<f4")
                    member.write(memoryview(frames).cast("B"))
                    written += len(frames)
                if written != shape[0]:
                    raise DataError(f"{path}: {written} frames written, expected {shape[0]}")
    except OSError as error:
        raise DataError(f"{path}: cannot write: {error}") from error


def member_memmap(path: Path, key: str) -> np.ndarray:
    """The array ``key`` of an uncompressed NPZ archive, memory-mapped read-only (no copy)."""
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(f"{key}.npy")
    with open(path, "rb") as stream:
        stream.seek(info.header_offset)
        local = stream.read(30)  # the zip local file header; its name and extra field follow
        name_length, extra_length = struct.unpack("<HH", local[26:30])
        stream.seek(info.header_offset + 30 + name_length + extra_length)
        read_header = {
            (1, 0): np.lib.format.read_array_header_1_0,
            (2, 0): np.lib.format.read_array_header_2_0,
        }[np.lib.format.read_magic(stream)]
        shape, fortran, dtype = read_header(stream)
        offset = stream.tell()
    return np.memmap(
        path, dtype=dtype, mode="r", offset=offset, shape=shape, order="F" if fortran else "C"
    )
