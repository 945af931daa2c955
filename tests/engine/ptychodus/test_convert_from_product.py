"""``ptycho data convert --probe-from/--positions-from``: probe and positions from a product."""

from __future__ import annotations

import types

import numpy as np
import pytest

from ptycho_engine.cli import main
from ptycho_engine.data.npz import load_diffraction, validate_arrays
from ptycho_engine.errors import DataError
from ptycho_engine.ptychodus import product_from_reconstruction, read_product, write_product
from ptycho_engine.ptychodus.convert import convert_with_product
from tests.engine.ptychodus.test_product import make_product

M, SIDE = 5, 8  # make_product: 5 positions, an 8 x 8 probe of 2 modes


@pytest.fixture
def scan(tmp_path):
    rng = np.random.default_rng(1)
    path = tmp_path / "scan.npz"
    np.savez(
        path,
        diff3d=rng.uniform(0, 1, (M, SIDE, SIDE)).astype(np.float32),
        xcoords=np.arange(M, dtype=float),
        ycoords=np.zeros(M),
        probeGuess=np.ones((SIDE, SIDE), np.complex64),
    )
    return path


@pytest.fixture
def product(tmp_path):
    return write_product(tmp_path / "product.h5", make_product())


def test_probe_and_positions_are_taken_from_the_product(scan, product, tmp_path):
    report = convert_with_product(
        scan, tmp_path / "out.npz", probe_from=product, positions_from=product
    )
    data, source = load_diffraction(tmp_path / "out.npz"), read_product(product)
    np.testing.assert_array_equal(data.probe, source.probe_modes)
    np.testing.assert_allclose(data.positions_xy, source.positions_px())
    np.testing.assert_allclose(data.xcoords_start, data.xcoords)
    assert data.metadata["pixel_width_m"] == 2e-8 and data.metadata["photon_energy_eV"] == 8800.0
    text = "\n".join(report.steps)
    assert "probe: 2 mode(s) taken from" in text and "positions: 5 taken from" in text


def test_probe_alone_keeps_the_positions(scan, product, tmp_path):
    convert_with_product(scan, tmp_path / "out.npz", probe_from=product)
    data = load_diffraction(tmp_path / "out.npz")
    assert data.n_modes == 2
    np.testing.assert_array_equal(data.xcoords, np.arange(M))


def test_the_cli_prints_what_it_took(scan, product, tmp_path, capsys):
    out = tmp_path / "out.npz"
    assert (
        main(
            [
                "data",
                "convert",
                str(scan),
                str(out),
                "--probe-from",
                str(product),
                "--positions-from",
                str(product),
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "probe: 2 mode(s) taken from" in printed and "converted from metres" in printed


def test_a_product_with_another_number_of_positions_is_refused(scan, tmp_path, capsys):
    product = write_product(
        tmp_path / "p.h5", make_product(positions_m=np.zeros((3, 2)), position_indexes=np.arange(3))
    )
    out = tmp_path / "out.npz"
    assert main(["data", "convert", str(scan), str(out), "--positions-from", str(product)]) == 2
    err = capsys.readouterr().err
    assert "holds 3 positions but" in err and "has 5 patterns" in err and err.count("\n") == 1
    assert not out.exists()


def test_a_probe_of_another_size_is_refused(scan, tmp_path):
    probe = np.ones((1, 16, 16), np.complex64)
    product = write_product(tmp_path / "p.h5", make_product(probe=probe))
    with pytest.raises(DataError, match="the probe is 16x16 but the patterns of .* are 8x8"):
        convert_with_product(scan, tmp_path / "out.npz", probe_from=product)


def test_a_malformed_product_is_one_line_and_nothing_is_written(scan, tmp_path, capsys):
    bad = tmp_path / "bad.h5"
    bad.write_bytes(b"not hdf5")
    out = tmp_path / "out.npz"
    assert main(["data", "convert", str(scan), str(out), "--probe-from", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err == f"error: {bad}: is not an HDF5 file, expected a Ptychodus product file\n"
    assert not out.exists()


def test_metres_and_pixels_round_trip_through_a_product_and_convert(tmp_path):
    # data (pixels) -> product (metres) -> convert (pixels of the product's object) -> product
    rng = np.random.default_rng(2)
    xy = rng.uniform(20, 40, (M, 2))
    data = validate_arrays(
        {
            "diff3d": np.ones((M, SIDE, SIDE), np.float32),
            "xcoords": xy[:, 0],
            "ycoords": xy[:, 1],
            "probeGuess": np.ones((SIDE, SIDE), np.complex64),
            "_metadata": np.array('{"pixel_size_m": 5e-8}'),
        },
        source="scan.npz",
    )
    origin = (14.0, 11.0)
    fake = types.SimpleNamespace(object=np.ones((40, 36), np.complex64), origin=origin)
    first = write_product(tmp_path / "first.h5", product_from_reconstruction(fake, data))
    np.savez(
        tmp_path / "scan.npz",
        diff3d=data.diffraction,
        xcoords=data.xcoords,
        ycoords=data.ycoords,
        probeGuess=data.probe[0],
    )
    convert_with_product(tmp_path / "scan.npz", tmp_path / "out.npz", positions_from=first)
    converted = load_diffraction(tmp_path / "out.npz")
    np.testing.assert_allclose(converted.positions_xy, xy - origin, atol=1e-9)
    assert converted.metadata["pixel_width_m"] == 5e-8
    at_zero = types.SimpleNamespace(object=fake.object, origin=(0.0, 0.0))
    second = product_from_reconstruction(at_zero, converted)
    np.testing.assert_allclose(second.positions_m, (xy - origin) * 5e-8, rtol=1e-12)
    np.testing.assert_allclose(second.positions_px(), read_product(first).positions_px(), atol=1e-9)
