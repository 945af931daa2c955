"""Conversion of a data file with the probe or scan positions of a Ptychodus product file."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import numpy as np

from ptycho_engine.data.convert import ConversionReport, convert_file
from ptycho_engine.data.hdf5 import Hdf5Layout
from ptycho_engine.data.npz import DiffractionData
from ptycho_engine.errors import DataError
from ptycho_engine.ptychodus.read import read_product


def convert_with_product(
    source: str | os.PathLike,
    destination: str | os.PathLike,
    *,
    counts: bool = False,
    dc_corner: bool = False,
    overwrite: bool = False,
    probe_from: str | os.PathLike | None = None,
    positions_from: str | os.PathLike | None = None,
    layout: Hdf5Layout | None = None,
) -> ConversionReport:
    """:func:`ptycho_engine.data.convert.convert_file`, taking the probe and/or the positions
    from Ptychodus product files.

    Parameters
    ----------
    source, destination, counts, dc_corner, overwrite, layout
        As for :func:`~ptycho_engine.data.convert.convert_file` (``layout``: the dataset paths
        of an HDF5 input).
    probe_from, positions_from : str or PathLike, optional
        Ptychodus product files whose probe (its incoherent modes) or scan positions replace
        those of ``source``. Positions are taken in file order and converted to pixels of the
        product's object (Ptychodus' own mapping); they must be as many as the patterns. The
        product's pixel size and beam metadata go to ``_metadata``.
    """
    if Path(destination).exists() and not overwrite:  # before reading anything
        raise DataError(f"{destination}: already exists; use --overwrite to replace it")
    products = _read_products(probe_from, positions_from)  # before the (larger) input

    def take(data: DiffractionData) -> tuple[DiffractionData, list[str]]:
        return _take_from_products(data, products, probe_from, positions_from)

    return convert_file(
        source, destination, counts=counts, dc_corner=dc_corner, overwrite=overwrite,
        adjust=take if products else None, layout=layout,
        probe_supplied=probe_from is not None, positions_supplied=positions_from is not None,
    )  # fmt: skip


def _read_products(*paths) -> dict:
    """Read each Ptychodus product file named (once, if named twice), keyed by str(path)."""
    if not any(paths):
        return {}
    return {str(path): read_product(path) for path in paths if path}


def _take_from_products(
    data: DiffractionData, read: dict, probe_from, positions_from
) -> tuple[DiffractionData, list[str]]:
    """Replace the probe and/or positions of ``data`` with those of Ptychodus product files."""
    changes: dict = {}
    steps: list[str] = []
    metadata = dict(data.metadata)
    if probe_from is not None:
        product = read[str(probe_from)]
        probe = product.probe_modes  # (P, H, W)
        if probe.shape[-2:] != (data.N, data.N):
            raise DataError(
                f"{probe_from}: the probe is {probe.shape[-1]}x{probe.shape[-2]} "
                f"but the patterns of {data.source} are {data.N}x{data.N}"
            )
        changes["probe"] = probe
        metadata.update(
            _beam_metadata(product, product.probe_pixel_width_m, product.probe_pixel_height_m)
        )
        steps.append(f"probe: {probe.shape[0]} mode(s) taken from {probe_from}")
    if positions_from is not None:
        product = read[str(positions_from)]
        xy = product.positions_px()  # (M, 2)
        if len(xy) != data.n_positions:
            raise DataError(
                f"{positions_from}: holds {len(xy)} positions but {data.source} has "
                f"{data.n_positions} patterns; they must pair one to one, in order"
            )
        x, y = np.ascontiguousarray(xy[:, 0]), np.ascontiguousarray(xy[:, 1])
        changes.update(xcoords=x, ycoords=y, xcoords_start=x.copy(), ycoords_start=y.copy())
        metadata.update(
            _beam_metadata(product, product.object_pixel_width_m, product.object_pixel_height_m)
        )
        steps.append(
            f"positions: {len(xy)} taken from {positions_from}, converted from metres "
            f"to pixels of its object (pixel {product.object_pixel_width_m:.4g} m); "
            "xcoords_start/ycoords_start set to them"
        )
        if data.object is not None:
            steps.append("objectGuess kept: it must share the pixel frame of the product's object")
    return replace(data, metadata=metadata, **changes), steps


def _beam_metadata(product, width_m: float, height_m: float) -> dict:
    # A pixel size the product itself only assumed (see ptycho_engine.ptychodus.export) is
    # not passed on as if it were known.
    assumed = product.pixel_size_source.startswith("assumed")
    known = {
        "pixel_width_m": 0.0 if assumed else width_m,
        "pixel_height_m": 0.0 if assumed else height_m,
        "photon_energy_eV": product.probe_energy_ev,
        "detector_object_distance_m": product.detector_object_distance_m,
        "exposure_time_s": product.exposure_time_s,
    }
    return {key: value for key, value in known.items() if value}  # 0 means unknown
