"""The NPZ that Ptychodus writes for PtychoPINN (``save_ptychopinn_training_data``) is read right.

The file is written by Ptychodus itself from a product file of ours: integer photon counts in
``diff3d``, the product's probe and positions, its object as ``objectGuess``, and a
``bad_pixels`` mask. Loaded directly it is refused (integers are counts, not the amplitudes
of the data contract) with the conversion to run; ``ptycho data convert --counts`` then
gives the scan back.
"""

from __future__ import annotations

import types

import numpy as np
import pytest

from ptycho_engine.cli import main
from ptycho_engine.data.npz import load_diffraction
from ptycho_engine.errors import DataError
from ptycho_engine.ptychodus import product_from_reconstruction, write_product
from tests.engine.ptychodus import small_scan

ptychodus_io = pytest.importorskip("ptychodus.api.io", reason="Ptychodus is not installed")
reconstruct_api = pytest.importorskip("ptychodus.api.reconstruct")


@pytest.fixture
def exported(tmp_path):
    """A scan, and the training NPZ Ptychodus writes for it."""
    data = small_scan(20)
    stand_in = types.SimpleNamespace(object=data.object.astype(np.complex64), origin=(0.0, 0.0))
    product = ptychodus_io.load_product(
        write_product(tmp_path / "product.h5", product_from_reconstruction(stand_in, data))
    )
    counts = np.rint(data.diffraction.astype(np.float64) ** 2).astype(np.uint32)
    request = reconstruct_api.ReconstructInput(
        diffraction_patterns=counts, bad_pixels=None, product=product
    )
    path = tmp_path / "ptychodus_training.npz"
    ptychodus_io.save_ptychopinn_training_data(path, request)
    return data, path


def test_integer_counts_are_refused_with_the_conversion_to_run(exported):
    _, path = exported
    with pytest.raises(DataError, match=r"integers \(uint32\), which are photon counts.*--counts"):
        load_diffraction(path)


def test_data_convert_counts_gives_the_scan_back(exported, tmp_path, capsys):
    data, path = exported
    out = tmp_path / "converted.npz"
    assert main(["data", "convert", str(path), str(out), "--counts", "--quiet"]) == 0
    assert "bad_pixels" in capsys.readouterr().out  # Ptychodus' mask: reported, not used
    converted = load_diffraction(out)
    # the simulated amplitudes are square roots of whole counts: the round trip is exact
    np.testing.assert_allclose(converted.diffraction, data.diffraction, atol=1e-3)
    np.testing.assert_allclose(converted.positions_xy, data.positions_xy, atol=1e-9)
    np.testing.assert_allclose(np.abs(converted.probe), np.abs(data.probe), rtol=1e-5)
