"""Conversion of a data file to the canonical form of the data contract.

Canonical form: diffraction amplitude (√counts) with the zero frequency at the centre, stored
as ``diff3d`` (M, N, N) float32, with every optional key written out explicitly.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ptycho_engine.data.npz import DiffractionData, canonicalise, read_npz, save_diffraction
from ptycho_engine.errors import DataError


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
) -> ConversionReport:
    """Read ``source``, bring it to canonical form and write it atomically to ``destination``.

    Parameters
    ----------
    source, destination : str or PathLike
        Input and output ``.npz`` files; they may be the same file when ``overwrite`` is set.
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

    Returns
    -------
    ConversionReport
        The changes made and the data written.
    """
    source, destination = Path(source), Path(destination)
    # Refuse before reading: a large input should not be read only to be told this.
    if destination.exists() and not overwrite:
        raise DataError(f"{destination}: already exists; use --overwrite to replace it")
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
