"""Ptychodus' own reader and writer against ours; skipped unless Ptychodus is installed.

Checked with ``pip install --no-deps ptychodus==1.7.0`` on ``PYTHONPATH``: only its ``api``
package (numpy and h5py) is imported.
"""

from __future__ import annotations

import dataclasses
import types

import numpy as np
import pytest

from ptycho_engine.data.npz import validate_arrays
from ptycho_engine.ptychodus import product_from_reconstruction, read_product, write_product

ptychodus_io = pytest.importorskip("ptychodus.api.io", reason="Ptychodus is not installed")

M, SIDE = 6, 16


@pytest.fixture
def ours(tmp_path):
    """A product written from a (stand-in) reconstruction, and the data and origin behind it."""
    rng = np.random.default_rng(3)
    xy = rng.uniform(30, 50, (M, 2))
    data = validate_arrays(
        {
            "diff3d": np.ones((M, SIDE, SIDE), np.float32),
            "xcoords": xy[:, 0],
            "ycoords": xy[:, 1],
            "probeGuess": np.full((SIDE, SIDE), 1 + 1j, np.complex64),
            "_metadata": np.array(
                '{"pixel_size_m": 4e-8, "photon_energy_eV": 7000.0, '
                '"detector_object_distance_m": 2.5}'
            ),
        }
    )
    obj = (rng.standard_normal((61, 70)) + 1j * rng.standard_normal((61, 70))).astype(np.complex64)
    origin = (12.0, 9.0)
    recon = types.SimpleNamespace(object=obj, origin=origin)
    product = dataclasses.replace(
        product_from_reconstruction(recon, data),
        loss_values=np.array([2.0, 1.0]),
        loss_epochs=np.arange(2),
    )
    return write_product(tmp_path / "ours.h5", product), data, obj, origin


def test_ptychodus_reads_our_file_and_maps_positions_onto_our_pixels(ours):
    path, data, obj, origin = ours
    product = ptychodus_io.load_product(path)
    assert product.metadata.photon_energy_eV == 7000.0
    assert product.metadata.detector_distance_m == 2.5
    np.testing.assert_array_equal(product.object_.get_layer(0), obj)
    np.testing.assert_array_equal(product.probes.get_array()[0], data.probe)
    geometry = product.object_.get_geometry()
    x_px = geometry.map_probe_positions_to_object_x_px(product.probe_positions)
    y_px = geometry.map_probe_positions_to_object_y_px(product.probe_positions)
    np.testing.assert_allclose(
        np.stack([x_px, y_px], axis=1) + origin, data.positions_xy, atol=1e-9
    )
    assert [float(loss.value) for loss in product.losses] == [2.0, 1.0]


def test_we_read_what_ptychodus_writes(ours, tmp_path):
    path, data, obj, origin = ours
    ptychodus_io.save_product(tmp_path / "theirs.h5", ptychodus_io.load_product(path))
    theirs, mine = read_product(tmp_path / "theirs.h5"), read_product(path)
    np.testing.assert_array_equal(theirs.object, mine.object)
    np.testing.assert_array_equal(theirs.probe, mine.probe)
    np.testing.assert_allclose(theirs.positions_px(), mine.positions_px())
    np.testing.assert_array_equal(theirs.loss_values, [2.0, 1.0])
    assert theirs.probe_energy_ev == 7000.0
