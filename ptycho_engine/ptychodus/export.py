"""A reconstruction as a Ptychodus product: geometry in metres, metadata from the data file.

Values come from the data's ``_metadata`` when it has them (keys named as in the product file):

``pixel_width_m``, ``pixel_height_m`` (or ``pixel_size_m`` for both)
    Object pixel size. Without them, and with ``photon_energy_eV`` (or ``probe_energy_eV``),
    ``detector_object_distance_m`` and ``detector_pixel_size_m``, it is the far-field sampling
    ``wavelength * distance / (N * detector pixel)``. Otherwise 1 m is assumed, so the metres
    in the file are numerically object pixels; the root attribute ``pixel_size_source`` and
    ``comments`` say which case applied.
``photon_energy_eV`` (or ``probe_energy_eV``), ``detector_object_distance_m``, ``exposure_time_s``
    Written as given; 0 (unknown) when absent.
``probe_photon_count``
    Else ``nphotons``, else the mean total counts per pattern of the data (amplitude²).
``name``
    Else the data file's stem.

Positions in metres are ``xcoords * pixel_width_m`` (and y alike); the object centre is placed
so that Ptychodus maps each position back onto the object pixel it was reconstructed at
(``center_x_m = pixel_width_m * (origin_x + (width - 1) / 2)``, see
:mod:`ptycho_engine.ptychodus.product`).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from ptycho_engine.atomic import OutputExistsError
from ptycho_engine.bundle import read_bundle
from ptycho_engine.data.npz import DiffractionData
from ptycho_engine.errors import DataError
from ptycho_engine.ptychodus.product import Product, write_product

ASSUMED_PIXEL_SIZE_M = 1.0
"""Object pixel size written when the data say nothing about it: metres read as pixels."""

# h * c in eV·m (CODATA exact constants): wavelength_m = HC_EV_M / energy_eV.
HC_EV_M = 6.62607015e-34 * 299792458 / 1.602176634e-19


def check_product_path(path: str | os.PathLike, *, overwrite: bool) -> None:
    """Refuse, before any work, an existing product path (unless ``overwrite``) or a directory."""
    path = Path(path)
    if path.is_dir():
        raise DataError(f"{path}: is a directory, expected a product file name (.h5)")
    if path.exists() and not overwrite:
        raise OutputExistsError(path)


def write_reconstruction_product(
    path: str | os.PathLike,
    reconstruction,
    data: DiffractionData,
    bundle=None,
    *,
    overwrite: bool = False,
) -> Path:
    """Write ``reconstruction`` of ``data`` as a Ptychodus product file, atomically.

    Parameters
    ----------
    path : str or PathLike
        The ``.h5`` file to write.
    reconstruction : ptycho_engine.inference.predict.Reconstruction
        The stitched object and its origin.
    data : DiffractionData
        The scan it reconstructs: positions, probe and ``_metadata``.
    bundle : ptycho_engine.inference.predict.LoadedBundle, optional
        The model; gives the training loss history (``loss_values``) and, when the probe was
        trained, the probe.
    overwrite : bool
        Replace an existing file.

    Returns
    -------
    Path
        ``path``.
    """
    product = product_from_reconstruction(reconstruction, data, bundle)
    return write_product(path, product, overwrite=overwrite)


def product_from_reconstruction(reconstruction, data: DiffractionData, bundle=None) -> Product:
    """Return the :class:`Product` of a reconstruction; see the module docstring for each value."""
    meta = data.metadata
    width_m, height_m, source = object_pixel_size_m(meta, data.N, where=str(data.source))
    obj = np.asarray(reconstruction.object, np.complex64)  # (H, W)
    origin_x, origin_y = reconstruction.origin
    losses = _loss_history(bundle)
    model = f" with the model {bundle.path}" if bundle is not None and bundle.path else ""
    note = (
        ""
        if source.startswith(("metadata", "computed"))
        else " The pixel size is unknown: 1 m per object pixel is assumed, so the positions in "
        "metres are object pixels."
    )
    return Product(
        probe=_probe(data, bundle, reconstruction)[None],  # (1, P, N, N)
        probe_pixel_width_m=width_m,
        probe_pixel_height_m=height_m,
        object=obj[None],  # (1, H, W)
        object_pixel_width_m=width_m,
        object_pixel_height_m=height_m,
        # Ptychodus' centre sits at pixel ((W - 1) / 2, (H - 1) / 2) of the object array
        object_center_x_m=width_m * (origin_x + (obj.shape[1] - 1) / 2),
        object_center_y_m=height_m * (origin_y + (obj.shape[0] - 1) / 2),
        positions_m=np.stack([data.xcoords * width_m, data.ycoords * height_m], axis=1),
        position_indexes=np.arange(data.n_positions, dtype=np.int64),
        loss_epochs=np.arange(losses.size, dtype=np.int64),
        loss_values=losses,
        name=str(meta.get("name") or Path(str(data.source)).stem),
        comments=f"PtychoPINN reconstruction of {data.source}{model}.{note}",
        detector_object_distance_m=_metadata_number(
            meta, "detector_object_distance_m", data.source
        ),
        probe_energy_ev=_energy_ev(meta, data.source),
        probe_photon_count=_photon_count(data),
        exposure_time_s=_metadata_number(meta, "exposure_time_s", data.source),
        pixel_size_source=source,
    )


def object_pixel_size_m(
    metadata: dict, n: int, *, where: str = "<memory>"
) -> tuple[float, float, str]:
    """Return (width, height, how it was found) of an object pixel, in metres.

    Parameters
    ----------
    metadata : dict
        The data's ``_metadata``.
    n : int
        Side N of the diffraction patterns, for the far-field sampling.
    where : str
        The data file, for messages.
    """
    size = _metadata_number(metadata, "pixel_size_m", where, positive=True)
    width = _metadata_number(metadata, "pixel_width_m", where, positive=True)
    height = _metadata_number(metadata, "pixel_height_m", where, positive=True)
    width, height = width or size or height, height or size or width  # square unless told
    if width and height:
        return width, height, "metadata: pixel size of the data file's _metadata"
    energy = _energy_ev(metadata, where, positive=True)
    distance = _metadata_number(metadata, "detector_object_distance_m", where, positive=True)
    detector = _metadata_number(metadata, "detector_pixel_size_m", where, positive=True)
    if energy and distance and detector:
        size = HC_EV_M / energy * distance / (n * detector)
        return (
            size,
            size,
            ("computed: wavelength * detector_object_distance_m / (N * detector_pixel_size_m)"),
        )
    return ASSUMED_PIXEL_SIZE_M, ASSUMED_PIXEL_SIZE_M, "assumed: 1 m per object pixel (unknown)"


def _metadata_number(metadata: dict, key: str, where, *, positive: bool = False) -> float:
    value = metadata.get(key)
    if value is None:
        return 0.0
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or (positive and value <= 0)
    ):
        need = "a finite number > 0" if positive else "a finite number"
        raise DataError(f"{where}: _metadata '{key}' is {value!r}; expected {need}")
    return float(value)


def _energy_ev(metadata: dict, where, *, positive: bool = False) -> float:
    """Photon energy from ``photon_energy_eV`` (Ptychodus 1.7's name) or ``probe_energy_eV``."""
    key = "photon_energy_eV" if "photon_energy_eV" in metadata else "probe_energy_eV"
    return _metadata_number(metadata, key, where, positive=positive)


def _photon_count(data: DiffractionData) -> float:
    meta = data.metadata
    for key in ("probe_photon_count", "nphotons"):
        if meta.get(key) is not None:
            return _metadata_number(meta, key, data.source)
    # The stored diffraction is sqrt(counts): a pattern's total counts is its energy.
    return float(np.mean(np.sum(np.square(data.diffraction, dtype=np.float64), axis=(-2, -1))))


def _probe(data: DiffractionData, bundle, reconstruction) -> np.ndarray:
    """The probe (P, N, N) on the data's scale: refined by the iterative solver, else trained,
    else the data's own.
    """
    if getattr(reconstruction, "probe", None) is not None:
        return np.asarray(reconstruction.probe, np.complex64)
    if bundle is None or not bundle.training.probe_trainable:
        return np.asarray(data.probe, np.complex64)
    q = bundle.scaling.get("probe_normalisation") or 1.0
    return (bundle.module.probe.detach().cpu().numpy() / q).astype(np.complex64)


def _loss_history(bundle) -> np.ndarray:
    """The per-epoch training loss stored in the bundle; empty when there is none."""
    if bundle is None or not bundle.path:
        return np.zeros(0)
    extras = read_bundle(bundle.path).extras
    return np.asarray(extras.get("train_loss", np.zeros(0)), np.float64).reshape(-1)
