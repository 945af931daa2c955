"""A reconstruction as a product file: geometry in metres, metadata, loss history, the CLI."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from ptycho_engine.data.npz import save_diffraction
from ptycho_engine.errors import DataError
from ptycho_engine.ptychodus import (
    object_pixel_size_m,
    product_from_reconstruction,
    read_product,
    write_reconstruction_product,
)
from tests.engine.ptychodus import N, small_scan, untrained_bundle

BEAM = {
    "pixel_size_m": 2e-8,
    "probe_energy_eV": 8800.0,
    "detector_object_distance_m": 1.9,
    "exposure_time_s": 0.05,
    "name": "tiny scan",
}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A scan with beam metadata, an untrained bundle, and its reconstruction."""
    from ptycho_engine.inference import reconstruct
    from ptycho_engine.pinn import load_bundle
    from ptycho_settings import PyTorchExecutionConfig

    folder = tmp_path_factory.mktemp("export")
    data = small_scan(metadata=BEAM)
    bundle = load_bundle(untrained_bundle(folder / "model", data))
    execution = PyTorchExecutionConfig.from_values({"accelerator": "cpu"})
    return folder, data, bundle, reconstruct(bundle, data, execution)


def test_write_then_read_gives_back_object_probe_and_positions_in_pixels(run, tmp_path):
    _, data, bundle, reconstruction = run
    path = write_reconstruction_product(tmp_path / "p.h5", reconstruction, data, bundle)
    product = read_product(path)
    np.testing.assert_array_equal(product.object[0], reconstruction.object)
    np.testing.assert_array_equal(product.probe_modes, data.probe)
    np.testing.assert_allclose(product.object_origin_px, reconstruction.origin, atol=1e-9)
    # Ptychodus' mapping puts each position on the object pixel it was reconstructed at
    np.testing.assert_allclose(
        product.positions_px() + reconstruction.origin, data.positions_xy, atol=1e-6
    )
    np.testing.assert_allclose(product.positions_m, data.positions_xy * 2e-8)


def test_metadata_of_the_data_becomes_the_root_attributes(run, tmp_path):
    _, data, bundle, reconstruction = run
    product = product_from_reconstruction(reconstruction, data, bundle)
    assert product.object_pixel_width_m == product.probe_pixel_height_m == 2e-8
    assert product.probe_energy_ev == 8800.0 and product.detector_object_distance_m == 1.9
    assert product.exposure_time_s == 0.05 and product.name == "tiny scan"
    assert product.probe_photon_count == 1e5  # the simulation's nphotons
    assert product.pixel_size_source.startswith("metadata")
    assert "assumed" not in product.comments


def test_loss_history_comes_from_the_bundle(run):
    _, data, bundle, reconstruction = run
    product = product_from_reconstruction(reconstruction, data, bundle)
    np.testing.assert_array_equal(product.loss_values, [0.5, 0.25, 0.125])
    np.testing.assert_array_equal(product.loss_epochs, [0, 1, 2])
    assert product_from_reconstruction(reconstruction, data).loss_values.size == 0


def test_without_metadata_one_metre_per_pixel_is_assumed_and_said(run):
    _, data, _, reconstruction = run
    bare = dataclasses.replace(data, metadata={})
    product = product_from_reconstruction(reconstruction, bare)
    assert product.object_pixel_width_m == product.object_pixel_height_m == 1.0
    assert product.pixel_size_source.startswith("assumed")
    assert "1 m per object pixel" in product.comments
    assert product.probe_energy_ev == product.detector_object_distance_m == 0.0  # unknown
    counts = np.mean(np.sum(data.diffraction.astype(np.float64) ** 2, axis=(1, 2)))
    assert product.probe_photon_count == pytest.approx(counts)
    np.testing.assert_allclose(product.positions_m, data.positions_xy)


def test_pixel_size_is_computed_from_the_detector_geometry():
    meta = {
        "probe_energy_eV": 8000.0,
        "detector_object_distance_m": 2.0,
        "detector_pixel_size_m": 75e-6,
    }
    width, height, source = object_pixel_size_m(meta, N)
    wavelength = 6.62607015e-34 * 299792458 / (8000.0 * 1.602176634e-19)
    assert width == height == pytest.approx(wavelength * 2.0 / (N * 75e-6))
    assert source.startswith("computed")


def test_one_of_width_and_height_serves_for_both():
    assert object_pixel_size_m({"pixel_height_m": 3e-8}, N)[:2] == (3e-8, 3e-8)


@pytest.mark.parametrize("value", ["10 nm", -1.0, float("nan"), True])
def test_unusable_metadata_is_refused(value):
    with pytest.raises(DataError, match="_metadata 'pixel_size_m' is .*a finite number > 0"):
        object_pixel_size_m({"pixel_size_m": value}, N, where="scan.npz")


def test_a_trained_probe_is_written_on_the_data_scale(run, tmp_path):
    from ptycho_engine.pinn import load_bundle

    folder, data, _, reconstruction = run
    bundle = load_bundle(untrained_bundle(tmp_path / "model", data, probe_trainable=True))
    product = product_from_reconstruction(reconstruction, data, bundle)
    np.testing.assert_allclose(product.probe_modes, data.probe, rtol=1e-5, atol=1e-6)


def test_infer_writes_the_product_and_refuses_to_replace_it(run, tmp_path, capsys):
    from ptycho_engine.cli import main

    folder, data, bundle, _ = run
    # without objectGuess: no metrics and figures to compute, three runs stay quick
    scan = save_diffraction(tmp_path / "scan.npz", dataclasses.replace(data, object=None))
    product = tmp_path / "out" / "product.h5"
    args = [
        "infer",
        "--model-path",
        str(bundle.path),
        "--test-data-file",
        str(scan),
        "--output-dir",
        str(tmp_path / "out"),
        "--product",
        str(product),
        "--quiet",
        "--accelerator",
        "cpu",
    ]
    assert main(args) == 0
    assert f"product:        {product}" in capsys.readouterr().out
    written = read_product(product)
    result = np.load(tmp_path / "out" / "reconstruction.npz", allow_pickle=False)
    np.testing.assert_array_equal(written.object[0], result["object"])
    np.testing.assert_allclose(written.object_origin_px, result["origin"], atol=1e-9)
    before = product.read_bytes()
    (tmp_path / "out" / "reconstruction.npz").unlink()  # only the product is in the way
    assert main(args) == 2
    assert "product.h5 already exists; pass --overwrite" in capsys.readouterr().err
    assert product.read_bytes() == before and not (tmp_path / "out" / "reconstruction.npz").exists()
    assert main([*args, "--overwrite"]) == 0
