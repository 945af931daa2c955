"""The Ptychodus product file: the layout written, exact round trips, and what Ptychodus writes."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from ptycho_engine.atomic import OutputExistsError
from ptycho_engine.ptychodus import Product, read_product, write_product

# Ptychodus 1.7 names, and the names of earlier releases (probe_energy_eV, ..._m2_kg)
ROOT_ATTRIBUTES = {
    "name",
    "comments",
    "detector_object_distance_m",
    "photon_energy_eV",
    "probe_energy_eV",
    "probe_photon_count",
    "exposure_time_s",
    "mass_attenuation_m2_per_kg",
    "mass_attenuation_m2_kg",
    "tomography_angle_deg",
}
DATASETS = {
    "probe_position_indexes",
    "probe_position_x_m",
    "probe_position_y_m",
    "probe",
    "object",
    "object_layer_spacing_m",
    "loss_epochs",
    "loss_values",
}


def make_product(**changes) -> Product:
    rng = np.random.default_rng(0)

    def noise(*shape):
        return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(np.complex64)

    values = dict(
        probe=noise(2, 8, 8),
        probe_pixel_width_m=2e-8,
        probe_pixel_height_m=3e-8,
        object=noise(20, 30),
        object_pixel_width_m=2e-8,
        object_pixel_height_m=3e-8,
        object_center_x_m=4e-7,
        object_center_y_m=-1e-7,
        positions_m=rng.uniform(-1e-7, 1e-7, (5, 2)),
        position_indexes=np.arange(5),
        loss_epochs=np.arange(3),
        loss_values=np.array([3.0, 2.0, 1.5]),
        name="scan 7",
        comments="tiny",
        detector_object_distance_m=1.5,
        probe_energy_ev=8800.0,
        probe_photon_count=1e6,
        exposure_time_s=0.1,
        pixel_size_source="metadata",
    )
    return Product(**{**values, **changes})


def test_layout_names_dtypes_and_shapes_are_those_of_ptychodus(tmp_path):
    path = write_product(tmp_path / "p.h5", make_product())
    with h5py.File(path, "r") as h5:
        assert ROOT_ATTRIBUTES <= set(h5.attrs) and set(h5) == DATASETS
        assert h5.attrs["photon_energy_eV"] == h5.attrs["probe_energy_eV"] == 8800.0
        assert h5.attrs["photon_energy_eV"].dtype == np.float64
        assert isinstance(h5.attrs["name"], str)
        assert h5["probe"].shape == (1, 2, 8, 8) and h5["probe"].dtype == np.complex64
        assert h5["object"].shape == (1, 20, 30) and h5["object"].dtype == np.complex64
        assert set(h5["probe"].attrs) == {"pixel_width_m", "pixel_height_m"}
        assert set(h5["object"].attrs) == {
            "center_x_m",
            "center_y_m",
            "pixel_width_m",
            "pixel_height_m",
        }
        assert h5["object_layer_spacing_m"].shape == (0,)
        assert h5["probe_position_x_m"].dtype == np.float64
        assert h5["probe_position_indexes"].dtype == np.int64
        assert h5["loss_values"].dtype == np.float64 and h5["loss_epochs"].dtype == np.int64


def test_write_then_read_gives_back_every_value(tmp_path):
    product = make_product()
    back = read_product(write_product(tmp_path / "p.h5", product))
    np.testing.assert_array_equal(back.probe_modes, product.probe)
    np.testing.assert_array_equal(back.object[0], product.object)
    np.testing.assert_array_equal(back.positions_m, product.positions_m)
    np.testing.assert_array_equal(back.position_indexes, product.position_indexes)
    np.testing.assert_array_equal(back.loss_values, product.loss_values)
    np.testing.assert_array_equal(back.loss_epochs, product.loss_epochs)
    for name in (
        "probe_pixel_width_m",
        "probe_pixel_height_m",
        "object_pixel_width_m",
        "object_pixel_height_m",
        "object_center_x_m",
        "object_center_y_m",
        "name",
        "comments",
        "detector_object_distance_m",
        "probe_energy_ev",
        "probe_photon_count",
        "exposure_time_s",
        "mass_attenuation_m2_kg",
        "tomography_angle_deg",
        "pixel_size_source",
    ):
        assert getattr(back, name) == getattr(product, name), name


def test_positions_map_to_object_pixels_as_ptychodus_maps_them():
    product = make_product()
    xy = product.positions_px()
    # Ptychodus 1.7 map_coordinates_probe_to_object: x_px = (x_m - cx) / dx + (width - 1) / 2
    expected_x = (product.positions_m[:, 0] - 4e-7) / 2e-8 + (30 - 1) / 2
    expected_y = (product.positions_m[:, 1] + 1e-7) / 3e-8 + (20 - 1) / 2
    np.testing.assert_allclose(xy, np.stack([expected_x, expected_y], axis=1))
    origin = np.array(product.object_origin_px)
    np.testing.assert_allclose(xy + origin, product.positions_m / [2e-8, 3e-8])


def test_an_existing_file_is_kept_unless_overwrite(tmp_path):
    path = write_product(tmp_path / "p.h5", make_product(name="first"))
    with pytest.raises(OutputExistsError, match="--overwrite"):
        write_product(path, make_product(name="second"))
    assert read_product(path).name == "first"
    write_product(path, make_product(name="second"), overwrite=True)
    assert read_product(path).name == "second"


def test_a_failed_write_leaves_no_file(tmp_path):
    with pytest.raises(IndexError):
        write_product(tmp_path / "p.h5", make_product(positions_m=np.zeros(3)))  # not (M, 2)
    assert list(tmp_path.iterdir()) == []


def write_like_ptychodus(path, *, probe=None, loss_key="loss_values", **root) -> None:
    """A file as Ptychodus' H5ProductFileIO writes it (and older files: 2-D arrays, ``costs``)."""
    with h5py.File(path, "w") as h5:
        attrs = {
            "name": "Example",
            "comments": "",
            "detector_object_distance_m": 0.75,
            "probe_energy_eV": 8000.0,
            "exposure_time_s": 0.1,
            **root,
        }
        for key, value in attrs.items():
            if value is not None:
                h5.attrs[key] = value
        h5["probe_position_indexes"] = np.arange(4, dtype=np.int32)
        h5["probe_position_x_m"] = np.linspace(-1e-6, 1e-6, 4)
        h5["probe_position_y_m"] = np.zeros(4)
        h5_probe = h5.create_dataset(
            "probe", data=np.ones((8, 8), np.complex128) if probe is None else probe
        )
        h5_probe.attrs["pixel_width_m"] = 1e-7
        h5_probe.attrs["pixel_height_m"] = 1e-7
        h5_object = h5.create_dataset("object", data=np.ones((16, 16), np.complex64))
        h5_object.attrs.update(
            {"center_x_m": 0.0, "center_y_m": 0.0, "pixel_width_m": 1e-7, "pixel_height_m": 1e-7}
        )
        h5["object_layer_spacing_m"] = np.zeros(0)
        h5[loss_key] = np.array([1.0, 0.5])


def test_a_file_written_the_way_ptychodus_writes_it_is_read(tmp_path):
    write_like_ptychodus(tmp_path / "p.h5", loss_key="costs")
    product = read_product(tmp_path / "p.h5")
    assert product.probe.shape == (1, 1, 8, 8) and product.probe.dtype == np.complex64
    assert product.object.shape == (1, 16, 16)
    assert product.probe_energy_ev == 8000.0 and product.probe_photon_count == 0.0
    np.testing.assert_array_equal(product.loss_values, [1.0, 0.5])
    np.testing.assert_array_equal(product.loss_epochs, [0, 1])
    # x from -1e-6 m to 1e-6 m, 1e-7 m pixels, object centre at 0: pixel 7.5 of 16
    np.testing.assert_allclose(product.positions_px()[:, 0], np.linspace(-10, 10, 4) + 7.5)


def test_the_current_attribute_names_are_read(tmp_path):
    write_like_ptychodus(
        tmp_path / "p.h5",
        probe_energy_eV=None,
        photon_energy_eV=9000.0,
        mass_attenuation_m2_per_kg=0.25,
    )
    product = read_product(tmp_path / "p.h5")
    assert product.probe_energy_ev == 9000.0 and product.mass_attenuation_m2_kg == 0.25


def test_a_four_dimensional_probe_gives_its_first_coherent_mode(tmp_path):
    probe = np.zeros((3, 2, 8, 8), np.complex64)
    probe[0, 1] = 1.0
    write_like_ptychodus(tmp_path / "p.h5", probe=probe)
    modes = read_product(tmp_path / "p.h5").probe_modes
    assert modes.shape == (2, 8, 8) and modes[1].sum() == 64 and modes[0].sum() == 0
