"""``ptycho data convert IN.h5 OUT.npz``: frames streamed in blocks, bounded memory, atomic."""

from __future__ import annotations

import time
import tracemalloc
import zipfile

import h5py
import numpy as np
import pytest

from ptycho_engine.cli import main
from ptycho_engine.data.convert import convert_file
from ptycho_engine.data.hdf5 import Hdf5Layout
from ptycho_engine.data.npz import load_diffraction
from ptycho_engine.errors import DataError
from ptycho_engine.ptychodus import read_product, write_product
from tests.engine.data.test_hdf5 import PLAIN, detector_counts, write_nexus, write_plain
from tests.engine.ptychodus.test_product import make_product

PIXELS = Hdf5Layout(**{**PLAIN.__dict__, "positions_unit": "px"})


def test_streamed_output_equals_the_in_memory_reading(tmp_path, arrays):
    source = write_nexus(tmp_path / "scan.nxs", arrays)
    report = convert_file(source, tmp_path / "out.npz", counts=True, dc_corner=True, block_frames=3)
    direct = load_diffraction(source, counts=True, dc_corner=True)
    written = load_diffraction(tmp_path / "out.npz")
    for name in ("diffraction", "xcoords", "ycoords", "probe", "scan_index"):
        np.testing.assert_array_equal(getattr(written, name), getattr(direct, name))
    assert written.metadata == direct.metadata
    assert isinstance(report.data.diffraction, np.memmap)  # the frames as written, not a copy
    np.testing.assert_array_equal(report.data.diffraction, direct.diffraction)
    text = "\n".join(report.steps)
    assert "read from '/entry_1/data_1/data'" in text and "square root of photon counts" in text
    with np.load(tmp_path / "out.npz", allow_pickle=False) as stored:  # a plain NPZ archive
        assert stored["diff3d"].dtype == np.float32 and "_metadata" in stored.files


def test_an_error_in_the_last_block_leaves_nothing_behind(tmp_path, arrays):
    source = write_plain(tmp_path / "scan.h5", arrays)
    with h5py.File(source, "a") as h5:
        h5["scan/frames"][-1, 3, 3] = np.inf
    with pytest.raises(DataError, match=r"the first in frame 19"):
        convert_file(source, tmp_path / "out.npz", layout=PIXELS, block_frames=4)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scan.h5"]  # no output, no .tmp


def test_an_existing_output_is_refused_before_reading(tmp_path, arrays):
    (tmp_path / "out.npz").write_bytes(b"earlier")
    with pytest.raises(DataError, match="already exists; use --overwrite"):
        convert_file(tmp_path / "missing.h5", tmp_path / "out.npz", layout=PIXELS)
    assert (tmp_path / "out.npz").read_bytes() == b"earlier"


def test_memory_holds_a_block_not_the_file(tmp_path):
    m, n = 2048, 64  # 32 MiB of float32 frames, stored as uint16 counts (16 MiB)
    rng = np.random.default_rng(0)
    with h5py.File(tmp_path / "big.h5", "w") as h5:
        frames = h5.create_dataset("frames", (m, n, n), np.uint16, chunks=(16, n, n))
        for start in range(0, m, 256):
            frames[start : start + 256] = rng.poisson(3.0, (256, n, n))
        h5["x"] = np.arange(m) % 64 * 3.0
        h5["y"] = np.arange(m) // 64 * 3.0
        h5["probe"] = np.ones((n, n), np.complex64)
    layout = Hdf5Layout(diffraction="frames", x="x", y="y", probe="probe", positions_unit="px")
    tracemalloc.start()
    started = time.perf_counter()
    report = convert_file(tmp_path / "big.h5", tmp_path / "big.npz", counts=True, layout=layout)
    seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    output = m * n * n * 4
    # At most two blocks are alive (the one written, the one being read): 256 frames as
    # read (uint16) and as float32 are 6 MiB, so about 13 MiB, whatever M; the output is 32 MiB.
    assert peak < output / 2, f"peak {peak / 2**20:.1f} MiB for {output / 2**20:.0f} MiB out"
    assert report.data.n_positions == m and seconds < 60
    with zipfile.ZipFile(tmp_path / "big.npz") as archive:
        assert archive.getinfo("diff3d.npy").file_size >= output
    loaded = load_diffraction(tmp_path / "big.npz")
    with h5py.File(tmp_path / "big.h5") as h5:
        np.testing.assert_array_equal(loaded.diffraction[-5:], np.sqrt(h5["frames"][-5:]))


def test_cli_converts_nexus_without_flags_and_prints_the_datasets(tmp_path, arrays, capsys):
    source = write_nexus(tmp_path / "scan.nxs", arrays)
    out = tmp_path / "out.npz"
    assert main(["data", "convert", str(source), str(out), "--counts", "--dc-corner"]) == 0
    printed = capsys.readouterr().out
    assert "frames: 20 of 16x16 read from '/entry_1/data_1/data'" in printed
    assert f"wrote {out}: 20 frames of 16x16" in printed
    np.testing.assert_allclose(load_diffraction(out).diffraction, arrays["diff3d"], rtol=1e-5)


def test_cli_check_takes_the_same_flags(tmp_path, arrays, capsys):
    source = write_plain(tmp_path / "scan.h5", arrays)
    flags = ["--diffraction", "/scan/frames", "--x", "/scan/x", "--y", "/scan/y"]
    flags += ["--probe", "/scan/probe", "--object", "/scan/object", "--positions-unit", "px"]
    assert main(["data", "check", str(source), *flags]) == 0
    printed = capsys.readouterr().out
    assert "read:              positions: 20 read from '/scan/x' and '/scan/y'" in printed
    assert "objectGuess:       48 x 52" in printed


def test_probe_and_positions_from_a_ptychodus_product(tmp_path, capsys):
    product = write_product(tmp_path / "product.h5", make_product())  # 5 positions, 8 x 8
    rng = np.random.default_rng(2)
    with h5py.File(tmp_path / "scan.h5", "w") as h5:  # frames only: no probe, no positions
        h5["frames"] = rng.uniform(0, 1, (5, 8, 8)).astype(np.float32)
    out = tmp_path / "out.npz"
    argv = ["data", "convert", str(tmp_path / "scan.h5"), str(out), "--diffraction", "frames"]
    argv += ["--probe-from", str(product), "--positions-from", str(product)]
    assert main(argv) == 0, capsys.readouterr().err
    data, source = load_diffraction(out), read_product(product)
    np.testing.assert_array_equal(data.probe, source.probe_modes)
    np.testing.assert_allclose(data.positions_xy, source.positions_px())
    assert "probe: 2 mode(s) taken from" in capsys.readouterr().out


def test_cli_probe_and_probe_from_exclude_each_other(tmp_path, capsys):
    argv = ["data", "convert", "a.h5", "b.npz", "--probe", "p", "--probe-from", "q.h5"]
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_detector_counts_helper_round_trips(arrays):
    amplitude = np.sqrt(np.fft.fftshift(detector_counts(arrays), axes=(-2, -1)))
    np.testing.assert_allclose(amplitude, arrays["diff3d"], rtol=1e-6)


def test_a_raster_streams_in_whole_rows(tmp_path, arrays):
    path = tmp_path / "raster.h5"
    with h5py.File(path, "w") as h5:
        h5["frames"] = arrays["diff3d"].reshape(4, 5, 16, 16)
        h5["x"], h5["y"] = arrays["xcoords"].reshape(4, 5), arrays["ycoords"].reshape(4, 5)
        h5["probe"] = arrays["probeGuess"]
    layout = Hdf5Layout("frames", "x", "y", "probe", positions_unit="px")
    convert_file(path, tmp_path / "out.npz", layout=layout, block_frames=7)  # a row per block
    written = load_diffraction(tmp_path / "out.npz")
    np.testing.assert_array_equal(written.diffraction, arrays["diff3d"])
    np.testing.assert_array_equal(written.ycoords, arrays["ycoords"])
