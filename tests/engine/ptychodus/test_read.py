"""Malformed product files are refused with one line that names the file and the entry."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from ptycho_engine.errors import DataError
from ptycho_engine.ptychodus import read_product
from tests.engine.ptychodus.test_product import write_like_ptychodus


def _edit(path, change) -> None:
    with h5py.File(path, "a") as h5:
        change(h5)


def _replace(name, data, **attrs):
    def change(h5):
        old = dict(h5[name].attrs)
        del h5[name]
        h5.create_dataset(name, data=data).attrs.update({**old, **attrs})

    return change


def _set_attr(name, key, value):
    def change(h5):
        (h5.attrs if name == "/" else h5[name].attrs)[key] = value

    return change


def _delete_attr(name, key):
    def change(h5):
        del (h5.attrs if name == "/" else h5[name].attrs)[key]

    return change


def _delete(name):
    def change(h5):
        del h5[name]

    return change


MALFORMED = {
    "energy missing": (
        _delete_attr("/", "probe_energy_eV"),
        "root attribute 'photon_energy_eV' (or its older name 'probe_energy_eV') is missing",
    ),
    "distance is text": (
        _set_attr("/", "detector_object_distance_m", "far"),
        "'detector_object_distance_m' is 'far'; expected one finite number",
    ),
    "probe missing": (_delete("probe"), "dataset 'probe' is missing"),
    "object missing": (_delete("object"), "dataset 'object' is missing"),
    "x positions missing": (
        _delete("probe_position_x_m"),
        "dataset 'probe_position_x_m' is missing",
    ),
    "real probe": (
        _replace("probe", np.ones((8, 8))),
        "'probe' has dtype float64; expected complex",
    ),
    "5-D probe": (
        _replace("probe", np.ones((1, 1, 1, 8, 8), np.complex64)),
        "'probe' has shape (1, 1, 1, 8, 8); expected 2-D or 3-D or 4-D",
    ),
    "NaN in the object": (
        _replace("object", np.full((4, 4), np.nan, np.complex64)),
        "'object' holds NaN or infinite values",
    ),
    "lengths differ": (
        _replace("probe_position_y_m", np.zeros(3)),
        "lengths 4 (probe_position_indexes), 4 (x), 3 (y)",
    ),
    "infinite position": (
        _replace("probe_position_x_m", np.array([0, 1, np.inf, 2.0])),
        "'probe_position_x_m' holds NaN or infinite values",
    ),
    "float indexes": (
        _replace("probe_position_indexes", np.zeros(4)),
        "'probe_position_indexes' has dtype float64; expected integers",
    ),
    "zero pixel": (_set_attr("probe", "pixel_width_m", 0.0), "a pixel size must be > 0 m"),
    "no object centre": (_delete_attr("object", "center_x_m"), "'center_x_m' is missing"),
    "spacing for one layer": (
        _replace("object_layer_spacing_m", np.ones(2)),
        "has 2 values for an object of 1 layer(s); expected 0",
    ),
    "epochs and losses differ": (
        lambda h5: h5.create_dataset("loss_epochs", data=np.arange(5)),
        "'loss_epochs' has 5 values but 'loss_values' has 2",
    ),
    "object is a group": (
        lambda h5: (h5.__delitem__("object"), h5.create_group("object")),
        "'object' is a Group, expected a dataset",
    ),
    "string dataset": (
        _replace("probe_position_x_m", np.array([b"a", b"b", b"c", b"d"])),
        "expected real numbers",
    ),
}


@pytest.mark.parametrize("change, message", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_file_is_refused_with_one_line(tmp_path, change, message):
    path = tmp_path / "p.h5"
    write_like_ptychodus(path)
    _edit(path, change)
    with pytest.raises(DataError) as caught:
        read_product(path)
    text = str(caught.value)
    assert text.startswith(f"{path}: ") and message in text and "\n" not in text


def test_links_that_leave_the_file_are_refused(tmp_path):
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as h5:
        h5["object"] = np.ones((4, 4), np.complex64)
    path = tmp_path / "p.h5"
    write_like_ptychodus(path)
    _edit(
        path,
        lambda h5: (
            h5.__delitem__("object"),
            h5.__setitem__("object", h5py.ExternalLink(str(other), "object")),
        ),
    )
    with pytest.raises(DataError, match="'object' is a ExternalLink; only datasets stored in"):
        read_product(path)


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "no such file"),
        (b"", "is not an HDF5 file"),
        (b"\x80\x04K\x01.", "is not an HDF5 file"),  # a pickle
        (b"\x89HDF\r\n\x1a\n" + bytes(200), "cannot read the product file"),  # a truncated header
    ],
)
def test_files_that_are_not_products_are_refused(tmp_path, content, message):
    path = tmp_path / "p.h5"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(DataError, match=message):
        read_product(path)


def test_a_directory_is_refused(tmp_path):
    with pytest.raises(DataError, match="is not a file"):
        read_product(tmp_path)


def test_a_truncated_product_is_refused(tmp_path):
    path = tmp_path / "p.h5"
    write_like_ptychodus(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match=f"^{path}: "):
        read_product(path)
