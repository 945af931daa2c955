"""Reading and validating a Ptychodus product file (layout: :mod:`ptycho_engine.ptychodus.product`).

What Ptychodus' readers require is required here too (the root attributes
``detector_object_distance_m`` and ``photon_energy_eV`` or its older name ``probe_energy_eV``,
the positions, the probe and the object
with their pixel geometry); what they default is defaulted the same way (``comments`` '',
``probe_photon_count``, ``exposure_time_s`` … 0, ``object_layer_spacing_m`` empty, losses
empty, ``costs`` read in place of ``loss_values``). Every problem raises one :class:`DataError`
line that names the file and the entry. HDF5 holds no pickles; soft and external links and
externally stored datasets are refused, so reading never leaves the file.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ptycho_engine.errors import DataError
from ptycho_engine.ptychodus import product as keys
from ptycho_engine.ptychodus.product import Product

# Far above any real product (an 8 GiB object is 30k x 30k complex64); far below a file that
# declares a dataset larger than memory.
MAX_DATASET_BYTES = 8 * 2**30


def read_product(path: str | os.PathLike) -> Product:
    """Read and validate a Ptychodus product file.

    Parameters
    ----------
    path : str or PathLike
        The ``.h5`` product file.

    Returns
    -------
    Product
        The probe promoted to (C, P, H, W), the object to (L, H, W), positions in metres.

    Raises
    ------
    DataError
        One line naming the file and the problem: missing, not HDF5, a required attribute or
        dataset missing, a wrong dtype, rank or length, a non-finite value, a pixel size that is
        not positive, a link that leaves the file.
    """
    import h5py  # h5py only when a product file is read

    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file")
    if not path.is_file():
        raise DataError(f"{path}: is not a file, expected a Ptychodus product file (.h5)")
    try:
        if not h5py.is_hdf5(path):
            raise DataError(f"{path}: is not an HDF5 file, expected a Ptychodus product file")
        with h5py.File(path, "r") as h5:
            return _read(h5)
    except DataError as error:
        text = str(error)
        raise DataError(text if text.startswith(str(path)) else f"{path}: {text}") from None
    except (OSError, KeyError, ValueError, TypeError, RuntimeError) as error:
        raise DataError(
            f"{path}: cannot read the product file (truncated or corrupt?): {error}"
        ) from error


def _read(h5) -> Product:
    xs = _real(_dataset(h5, keys.PROBE_POSITION_X), keys.PROBE_POSITION_X, ndim=1)
    ys = _real(_dataset(h5, keys.PROBE_POSITION_Y), keys.PROBE_POSITION_Y, ndim=1)
    indexes = _integer(_dataset(h5, keys.PROBE_POSITION_INDEXES), keys.PROBE_POSITION_INDEXES)
    if not xs.size or not (xs.size == ys.size == indexes.size):
        raise DataError(
            f"the position datasets have lengths {indexes.size} "
            f"({keys.PROBE_POSITION_INDEXES}), {xs.size} (x), {ys.size} (y); "
            "expected one non-zero length"
        )
    h5_probe = _dataset(h5, keys.PROBE)
    probe = _complex(h5_probe, keys.PROBE, ranks=(2, 3, 4))
    h5_object = _dataset(h5, keys.OBJECT)
    obj = _complex(h5_object, keys.OBJECT, ranks=(2, 3))
    obj = obj.reshape((1,) * (3 - obj.ndim) + obj.shape)  # (L, H, W)
    spacing = _optional(h5, keys.OBJECT_LAYER_SPACING)
    spacing = np.zeros(0) if spacing is None else _real(spacing, keys.OBJECT_LAYER_SPACING, ndim=1)
    if spacing.size != obj.shape[0] - 1:
        raise DataError(
            f"'{keys.OBJECT_LAYER_SPACING}' has {spacing.size} values for an object "
            f"of {obj.shape[0]} layer(s); expected {obj.shape[0] - 1}"
        )
    epochs, values = _losses(h5)
    attrs = h5.attrs
    if keys.PHOTON_ENERGY not in attrs and keys.LEGACY_PHOTON_ENERGY not in attrs:
        raise DataError(
            f"root attribute '{keys.PHOTON_ENERGY}' (or its older name "
            f"'{keys.LEGACY_PHOTON_ENERGY}') is missing; a Ptychodus product file "
            "has it"
        )
    return Product(
        probe=probe.reshape((1,) * (4 - probe.ndim) + probe.shape),
        probe_pixel_width_m=_pixel(h5_probe, keys.PIXEL_WIDTH, keys.PROBE),
        probe_pixel_height_m=_pixel(h5_probe, keys.PIXEL_HEIGHT, keys.PROBE),
        object=obj,
        object_pixel_width_m=_pixel(h5_object, keys.PIXEL_WIDTH, keys.OBJECT),
        object_pixel_height_m=_pixel(h5_object, keys.PIXEL_HEIGHT, keys.OBJECT),
        object_center_x_m=_number(h5_object.attrs, keys.CENTER_X, f"'{keys.OBJECT}' attribute"),
        object_center_y_m=_number(h5_object.attrs, keys.CENTER_Y, f"'{keys.OBJECT}' attribute"),
        positions_m=np.stack([xs, ys], axis=1),
        position_indexes=indexes,
        object_layer_spacing_m=spacing,
        loss_epochs=epochs,
        loss_values=values,
        name=_text(attrs, keys.NAME),
        comments=_text(attrs, keys.COMMENTS),
        detector_object_distance_m=_number(attrs, keys.DETECTOR_OBJECT_DISTANCE, "root attribute"),
        probe_energy_ev=_number(
            attrs, _either(attrs, keys.PHOTON_ENERGY, keys.LEGACY_PHOTON_ENERGY), "root attribute"
        ),
        probe_photon_count=_number(attrs, keys.PROBE_PHOTON_COUNT, "root attribute", 0.0),
        exposure_time_s=_number(attrs, keys.EXPOSURE_TIME, "root attribute", 0.0),
        mass_attenuation_m2_kg=_number(
            attrs,
            _either(attrs, keys.MASS_ATTENUATION, keys.LEGACY_MASS_ATTENUATION),
            "root attribute",
            0.0,
        ),
        tomography_angle_deg=_number(attrs, keys.TOMOGRAPHY_ANGLE, "root attribute", 0.0),
        pixel_size_source=_text(attrs, keys.PIXEL_SIZE_SOURCE),
    )


def _either(attrs, key: str, legacy: str) -> str:
    """The attribute name present: the current one when both or neither are."""
    return legacy if legacy in attrs and key not in attrs else key


def _losses(h5) -> tuple[np.ndarray, np.ndarray]:
    dataset, name = _optional(h5, keys.LOSS_VALUES), keys.LOSS_VALUES
    if dataset is None:
        dataset, name = _optional(h5, keys.LEGACY_LOSS_VALUES), keys.LEGACY_LOSS_VALUES
    values = np.zeros(0) if dataset is None else _real(dataset, name, ndim=1, finite=False)
    epochs = _optional(h5, keys.LOSS_EPOCHS)
    if epochs is None:
        return np.arange(values.size, dtype=np.int64), values
    epochs = _integer(epochs, keys.LOSS_EPOCHS)
    if epochs.size != values.size:
        raise DataError(
            f"'{keys.LOSS_EPOCHS}' has {epochs.size} values but '{name}' has "
            f"{values.size}; expected one per epoch"
        )
    return epochs, values


def _optional(h5, name: str):
    return _dataset(h5, name) if name in h5 else None


def _dataset(h5, name: str):
    import h5py  # h5py only when a product file is read

    link = h5.get(name, getlink=True)
    if link is None:
        raise DataError(f"dataset '{name}' is missing; a Ptychodus product file has it")
    if not isinstance(link, h5py.HardLink):
        raise DataError(
            f"'{name}' is a {type(link).__name__}; only datasets stored in the file are read"
        )
    dataset = h5[name]
    if not isinstance(dataset, h5py.Dataset):
        raise DataError(f"'{name}' is a {type(dataset).__name__}, expected a dataset")
    if dataset.external:
        raise DataError(
            f"dataset '{name}' is stored in external files; only datasets stored "
            "in the file are read"
        )
    if dataset.size * dataset.dtype.itemsize > MAX_DATASET_BYTES:
        raise DataError(
            f"dataset '{name}' declares {dataset.shape} {dataset.dtype}, larger "
            f"than the {MAX_DATASET_BYTES // 2**30} GiB limit"
        )
    return dataset


def _array(dataset, name: str, kinds: str, what: str, ranks: tuple[int, ...]) -> np.ndarray:
    if dataset.dtype.kind not in kinds:
        raise DataError(f"dataset '{name}' has dtype {dataset.dtype}; expected {what}")
    if dataset.ndim not in ranks:
        expected = " or ".join(f"{rank}-D" for rank in ranks)
        raise DataError(f"dataset '{name}' has shape {dataset.shape}; expected {expected}")
    return dataset[()]


def _real(dataset, name: str, *, ndim: int, finite: bool = True) -> np.ndarray:
    array = _array(dataset, name, "fiu", "real numbers", (ndim,)).astype(np.float64)
    if finite and not np.isfinite(array).all():
        raise DataError(f"dataset '{name}' holds NaN or infinite values")
    return array


def _integer(dataset, name: str) -> np.ndarray:
    return _array(dataset, name, "iu", "integers", (1,)).astype(np.int64)


def _complex(dataset, name: str, *, ranks: tuple[int, ...]) -> np.ndarray:
    array = _array(dataset, name, "c", "complex numbers", ranks)
    if 0 in array.shape:
        raise DataError(f"dataset '{name}' is empty (shape {array.shape})")
    if not np.isfinite(array).all():
        raise DataError(f"dataset '{name}' holds NaN or infinite values")
    return array.astype(np.complex64)


def _number(attrs, key: str, where: str, default: float | None = None) -> float:
    if key not in attrs:
        if default is None:
            raise DataError(f"{where} '{key}' is missing; a Ptychodus product file has it")
        return default
    value = np.asarray(attrs[key])
    if value.dtype.kind not in "fiu" or value.size != 1 or not np.isfinite(value).all():
        seen = value.reshape(()).item() if value.size == 1 else f"{value.dtype} {value.shape}"
        raise DataError(f"{where} '{key}' is {seen!r}; expected one finite number")
    return float(value.reshape(()))


def _pixel(dataset, key: str, name: str) -> float:
    value = _number(dataset.attrs, key, f"'{name}' attribute")
    if not value > 0:
        raise DataError(f"'{name}' attribute '{key}' is {value}; a pixel size must be > 0 m")
    return value


def _text(attrs, key: str) -> str:
    value = attrs.get(key, "")
    if isinstance(value, np.ndarray) and value.size == 1:
        value = value.reshape(()).item()
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)
