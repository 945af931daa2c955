"""The Ptychodus product file (HDF5): its layout, the :class:`Product` it holds, and the writer.

The names, shapes and units are those of Ptychodus' own reader and writer
(``ptychodus/plugins/h5_product_file.py``, ``H5ProductFileIO``, which in Ptychodus 1.7 calls
``load_product``/``save_product`` of ``ptychodus/api/io.py``, keys ``ProductFileKeys``)::

    /                          @name, @comments (str), @detector_object_distance_m,
                               @photon_energy_eV and @probe_energy_eV (the same value),
                               @probe_photon_count, @exposure_time_s,
                               @mass_attenuation_m2_per_kg and @mass_attenuation_m2_kg,
                               @tomography_angle_deg (float64)
    probe_position_indexes     int64 (M,)
    probe_position_x_m         float64 (M,)
    probe_position_y_m         float64 (M,)
    probe                      complex64 (C, P, H, W): C coherent (OPR) modes, P incoherent
                               modes; @pixel_width_m, @pixel_height_m
    object                     complex64 (L, H, W): L layers; @center_x_m, @center_y_m,
                               @pixel_width_m, @pixel_height_m
    object_layer_spacing_m     float64 (L - 1,)
    loss_epochs                int64 (E,)
    loss_values                float64 (E,)

Ptychodus 1.7 renamed two attributes (``probe_energy_eV`` -> ``photon_energy_eV``,
``mass_attenuation_m2_kg`` -> ``mass_attenuation_m2_per_kg``) and reads the old energy name
too; older releases read only the old names. Both spellings are written, so every release
reads the file.

Geometry, as Ptychodus maps a position in metres to object pixels (1.7:
``ObjectGeometry.map_coordinates_probe_to_object``, the "centered-pixel convention")::

    x_px = (x_m - center_x_m) / pixel_width_m + (width_px - 1) / 2

``x_px`` is then the column of the object array, pixel centres at integers: the frame of
``xcoords`` in the data contract (see ``ptycho_engine.conventions``). Its PtychoPINN
reconstructor passes exactly these as ``xcoords``. (Releases before 1.7 used ``width_px / 2``,
half a pixel apart.) Reading is in :mod:`ptycho_engine.ptychodus.read`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ptycho_engine.atomic import atomic_output
from ptycho_engine.errors import DataError

# Root attributes.
NAME = "name"
COMMENTS = "comments"
DETECTOR_OBJECT_DISTANCE = "detector_object_distance_m"
PHOTON_ENERGY = "photon_energy_eV"
LEGACY_PHOTON_ENERGY = "probe_energy_eV"
PROBE_PHOTON_COUNT = "probe_photon_count"
EXPOSURE_TIME = "exposure_time_s"
MASS_ATTENUATION = "mass_attenuation_m2_per_kg"
LEGACY_MASS_ATTENUATION = "mass_attenuation_m2_kg"
TOMOGRAPHY_ANGLE = "tomography_angle_deg"
# Not read by Ptychodus (its readers ignore unknown attributes): how the pixel size was found.
PIXEL_SIZE_SOURCE = "pixel_size_source"

# Datasets, and attributes of the probe and object datasets.
PROBE_POSITION_INDEXES = "probe_position_indexes"
PROBE_POSITION_X = "probe_position_x_m"
PROBE_POSITION_Y = "probe_position_y_m"
PROBE = "probe"
OBJECT = "object"
OBJECT_LAYER_SPACING = "object_layer_spacing_m"
LOSS_EPOCHS = "loss_epochs"
LOSS_VALUES = "loss_values"
LEGACY_LOSS_VALUES = "costs"  # older files; Ptychodus reads it when loss_values is absent
PIXEL_WIDTH = "pixel_width_m"
PIXEL_HEIGHT = "pixel_height_m"
CENTER_X = "center_x_m"
CENTER_Y = "center_y_m"


@dataclass(frozen=True, eq=False)
class Product:
    """The contents of a Ptychodus product file, in its units (metres, eV, seconds).

    Attributes
    ----------
    probe : complex64 ndarray of shape (C, P, H, W)
        C coherent (OPR) modes of P incoherent modes; Ptychodus' canonical 4-D layout.
    probe_pixel_width_m, probe_pixel_height_m : float
        Probe pixel size.
    object : complex64 ndarray of shape (L, H, W)
        L object layers.
    object_pixel_width_m, object_pixel_height_m : float
        Object pixel size.
    object_center_x_m, object_center_y_m : float
        Position of the object's centre, in the frame of the scan positions.
    positions_m : float64 ndarray of shape (M, 2)
        ``[x, y]`` scan positions in metres.
    position_indexes : int64 ndarray of shape (M,)
        Index of each position (of its diffraction pattern).
    object_layer_spacing_m : float64 ndarray of shape (L - 1,)
    loss_epochs : int64 ndarray of shape (E,)
    loss_values : float64 ndarray of shape (E,)
        Training loss per epoch; empty when unknown.
    name, comments : str
    detector_object_distance_m, probe_energy_ev, probe_photon_count, exposure_time_s,
    mass_attenuation_m2_kg, tomography_angle_deg : float
        The root attributes; 0 means unknown.
    pixel_size_source : str
        How the pixel size was found (an extra attribute; empty when the file has none).
    """

    probe: np.ndarray
    probe_pixel_width_m: float
    probe_pixel_height_m: float
    object: np.ndarray
    object_pixel_width_m: float
    object_pixel_height_m: float
    object_center_x_m: float
    object_center_y_m: float
    positions_m: np.ndarray
    position_indexes: np.ndarray
    object_layer_spacing_m: np.ndarray = field(default_factory=lambda: np.zeros(0))
    loss_epochs: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    loss_values: np.ndarray = field(default_factory=lambda: np.zeros(0))
    name: str = ""
    comments: str = ""
    detector_object_distance_m: float = 0.0
    probe_energy_ev: float = 0.0
    probe_photon_count: float = 0.0
    exposure_time_s: float = 0.0
    mass_attenuation_m2_kg: float = 0.0
    tomography_angle_deg: float = 0.0
    pixel_size_source: str = ""

    @property
    def probe_modes(self) -> np.ndarray:
        """The incoherent modes (P, H, W) of coherent mode 0: Ptychodus' probe without OPR."""
        return self.probe[0]

    @property
    def object_origin_px(self) -> tuple[float, float]:
        """``(x, y)`` of object pixel ``[0, 0]``, in object pixels of the positions' frame.

        ``positions_m / pixel size - object_origin_px`` is :meth:`positions_px`.
        """
        height, width = self.object.shape[-2:]
        return (
            self.object_center_x_m / self.object_pixel_width_m - (width - 1) / 2,
            self.object_center_y_m / self.object_pixel_height_m - (height - 1) / 2,
        )

    def positions_px(self) -> np.ndarray:
        """Scan positions (M, 2) ``[x, y]`` in pixels of :attr:`object` (column, row).

        The mapping of Ptychodus' ``map_coordinates_probe_to_object``; it is the ``xcoords``,
        ``ycoords`` frame of the data contract for this object.
        """
        height, width = self.object.shape[-2:]
        x_m, y_m = self.positions_m[:, 0], self.positions_m[:, 1]
        x = (x_m - self.object_center_x_m) / self.object_pixel_width_m + (width - 1) / 2
        y = (y_m - self.object_center_y_m) / self.object_pixel_height_m + (height - 1) / 2
        return np.stack([x, y], axis=1)


def write_product(path: str | os.PathLike, product: Product, *, overwrite: bool = False) -> Path:
    """Write ``product`` to ``path`` atomically, in the layout of the module docstring.

    Parameters
    ----------
    path : str or PathLike
        The ``.h5`` file; its directory is created if needed.
    product : Product
        What to write; the probe is stored 4-D and the object 3-D, as Ptychodus writes them.
    overwrite : bool
        Replace an existing ``path``; otherwise an existing file is refused.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    OutputExistsError
        When ``path`` exists and ``overwrite`` is False.
    DataError
        When ``path`` is a directory or cannot be written.
    """
    import h5py  # h5py only when a product file is written

    path = Path(path)
    if path.is_dir():
        raise DataError(f"{path}: is a directory, expected a product file name (.h5)")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_output(path, overwrite=overwrite) as temporary, h5py.File(temporary, "w") as h5:
            _write(h5, product)
    except OSError as error:
        raise DataError(f"{path}: cannot write the product file: {error}") from error
    return path


def _write(h5, product: Product) -> None:
    attrs = {
        NAME: product.name,
        COMMENTS: product.comments,
        DETECTOR_OBJECT_DISTANCE: product.detector_object_distance_m,
        PHOTON_ENERGY: product.probe_energy_ev,
        LEGACY_PHOTON_ENERGY: product.probe_energy_ev,
        PROBE_PHOTON_COUNT: product.probe_photon_count,
        EXPOSURE_TIME: product.exposure_time_s,
        MASS_ATTENUATION: product.mass_attenuation_m2_kg,
        LEGACY_MASS_ATTENUATION: product.mass_attenuation_m2_kg,
        TOMOGRAPHY_ANGLE: product.tomography_angle_deg,
    }
    for key, value in attrs.items():
        h5.attrs[key] = value if isinstance(value, str) else np.float64(value)
    if product.pixel_size_source:
        h5.attrs[PIXEL_SIZE_SOURCE] = product.pixel_size_source
    positions = np.asarray(product.positions_m, np.float64)  # (M, 2)
    h5.create_dataset(PROBE_POSITION_INDEXES, data=np.asarray(product.position_indexes, np.int64))
    h5.create_dataset(PROBE_POSITION_X, data=positions[:, 0])
    h5.create_dataset(PROBE_POSITION_Y, data=positions[:, 1])
    probe = np.asarray(product.probe, np.complex64)
    probe = probe.reshape((1,) * (4 - probe.ndim) + probe.shape)  # (C, P, H, W)
    h5_probe = h5.create_dataset(PROBE, data=probe)
    h5_probe.attrs[PIXEL_WIDTH] = np.float64(product.probe_pixel_width_m)
    h5_probe.attrs[PIXEL_HEIGHT] = np.float64(product.probe_pixel_height_m)
    obj = np.asarray(product.object, np.complex64)
    h5_object = h5.create_dataset(OBJECT, data=obj.reshape((1,) * (3 - obj.ndim) + obj.shape))
    h5_object.attrs[CENTER_X] = np.float64(product.object_center_x_m)
    h5_object.attrs[CENTER_Y] = np.float64(product.object_center_y_m)
    h5_object.attrs[PIXEL_WIDTH] = np.float64(product.object_pixel_width_m)
    h5_object.attrs[PIXEL_HEIGHT] = np.float64(product.object_pixel_height_m)
    spacing = np.asarray(product.object_layer_spacing_m, np.float64)  # (L - 1,)
    h5.create_dataset(OBJECT_LAYER_SPACING, data=spacing)
    h5.create_dataset(LOSS_EPOCHS, data=np.asarray(product.loss_epochs, np.int64))
    h5.create_dataset(LOSS_VALUES, data=np.asarray(product.loss_values, np.float64))
