"""Tests of ptycho_engine.bundle.read: verified reading, and every refusal on crafted archives."""

from __future__ import annotations

import hashlib
import io
import json
import pickle
import struct
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest

from ptycho_engine.bundle import BundleError, bundle_path, read_bundle, write_bundle
from ptycho_engine.bundle import format as fmt
from ptycho_engine.errors import EngineError
from tests.engine.bundle import make_inputs

HASHED = ("params.json", "settings.json", "model.h5")


@pytest.fixture
def bundle(tmp_path) -> Path:
    return write_bundle(tmp_path / "good", **make_inputs())


def _members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _zip(
    path: Path,
    members: dict[str, bytes] | list[tuple[str, bytes]],
    *,
    compression: int = zipfile.ZIP_DEFLATED,
) -> Path:
    items = members.items() if isinstance(members, dict) else members
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # zipfile warns on duplicate names
        with zipfile.ZipFile(path, "w", compression=compression) as archive:
            for name, data in items:
                archive.writestr(name, data)
    return path


def _rebundle(source: Path, target: Path, *, rehash: bool = True, **replace) -> Path:
    """Copy a bundle with members replaced (``model_h5=...``), rehashed like the writer does."""
    members = _members(source)
    members.update(
        {
            name.replace("_json", ".json").replace("_h5", ".h5"): data
            for name, data in replace.items()
        }
    )
    if rehash and "manifest_json" not in replace:
        manifest = json.loads(members["manifest.json"])
        manifest["sha256"] = {name: hashlib.sha256(members[name]).hexdigest() for name in HASHED}
        members["manifest.json"] = json.dumps(manifest).encode()
    return _zip(target, members)


def _with_manifest(source: Path, target: Path, **changes) -> Path:
    manifest = {**json.loads(_members(source)["manifest.json"]), **changes}
    return _rebundle(source, target, manifest_json=json.dumps(manifest).encode())


def _edited_model(source: Path, edit) -> bytes:
    buffer = io.BytesIO(_members(source)["model.h5"])
    with h5py.File(buffer, "r+") as h5:
        edit(h5)
    return buffer.getvalue()


def _declare_size(blob: bytes, member: str, size: int) -> bytes:
    """Return the archive with the central directory's uncompressed size of ``member`` set."""
    data, start = bytearray(blob), 0
    while (at := data.find(b"PK\x01\x02", start)) >= 0:
        name_length = struct.unpack_from("<H", data, at + 28)[0]
        if data[at + 46 : at + 46 + name_length] == member.encode():
            struct.pack_into("<I", data, at + 24, size)
            return bytes(data)
        start = at + 4
    raise AssertionError(f"{member} not in the central directory")


def _refused(path: Path, message: str) -> BundleError:
    with pytest.raises(BundleError, match=message) as caught:
        read_bundle(path)
    text = str(caught.value)
    assert text.startswith(f"{path}: ") and "\n" not in text
    return caught.value


def test_reads_from_the_directory_or_the_zip(bundle):
    by_directory, by_file = read_bundle(bundle.parent), read_bundle(bundle)
    assert by_directory.source == by_file.source == bundle
    assert by_directory.manifest == by_file.manifest
    assert by_file.params["intensity_scale"] == 3.5
    assert isinstance(by_file.scaling["nphotons"], float)


def test_reading_needs_no_torch(bundle):
    script = (
        "import sys; from ptycho_engine.bundle import read_bundle; "
        f"read_bundle({str(bundle)!r}); assert 'torch' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", script], check=True, cwd=Path(__file__).parents[3])


def test_scalar_tensors_come_back_as_zero_dimensional_arrays(bundle):
    weights = read_bundle(bundle).weights["diffraction_to_obj"]
    assert weights["norm.num_batches_tracked"].shape == ()
    assert weights["norm.num_batches_tracked"].dtype == np.int64
    assert weights["mask"].dtype == np.bool_


def test_bundle_path_resolves_a_directory(bundle):
    assert bundle_path(bundle.parent) == bundle
    assert bundle_path(bundle) == bundle


def test_bundle_path_names_what_is_missing(tmp_path):
    with pytest.raises(BundleError, match="wts.h5.zip is missing"):
        bundle_path(tmp_path)
    with pytest.raises(BundleError, match="no model bundle at .*nowhere"):
        bundle_path(tmp_path / "nowhere")


def test_bundle_error_is_an_engine_error():
    assert issubclass(BundleError, EngineError)


def test_not_a_zip_is_refused(tmp_path):
    path = tmp_path / "wts.h5.zip"
    path.write_bytes(b"this is not an archive")
    _refused(path, "not a valid zip archive")


def test_truncated_archive_is_refused(bundle, tmp_path):
    blob = bundle.read_bytes()
    path = tmp_path / "cut.zip"
    path.write_bytes(blob[: len(blob) // 2])
    _refused(path, "not a valid zip archive .*truncated")


def test_corrupted_member_data_is_refused(bundle, tmp_path):
    path = _zip(tmp_path / "stored.zip", _members(bundle), compression=zipfile.ZIP_STORED)
    blob = path.read_bytes().replace(b"run.json", b"RUN.json")  # stored bytes; CRC now stale
    path.write_bytes(blob)
    _refused(path, "settings.json is corrupt")


@pytest.mark.parametrize("member", HASHED)
def test_member_changed_after_writing_is_refused(bundle, tmp_path, member):
    members = _members(bundle)
    changed = (
        members[member] + b" "
        if member != "model.h5"
        else _edited_model(
            bundle, lambda h5: h5["probe"].write_direct(np.zeros((2, 16, 16), np.complex64))
        )
    )
    path = _rebundle(
        bundle, tmp_path / "tampered.zip", rehash=False, **{member.replace(".", "_"): changed}
    )
    _refused(path, f"{member} was modified after the bundle was written")


@pytest.mark.parametrize(
    "name", ["../evil", "/etc/passwd", "a/../../evil", "a\\..\\evil", "C:/evil"]
)
def test_traversing_member_names_are_refused_before_reading(bundle, tmp_path, name):
    path = _zip(tmp_path / "evil.zip", [*_members(bundle).items(), (name, b"x")])
    _refused(path, "unsafe member names")


def test_unexpected_members_are_listed(bundle, tmp_path):
    members = {**_members(bundle), "notes.txt": b"hi", "extra/": b""}
    _refused(_zip(tmp_path / "extra.zip", members), r"unexpected members \['extra/', 'notes.txt'\]")


def test_missing_members_are_listed(bundle, tmp_path):
    members = _members(bundle)
    del members["settings.json"]
    _refused(_zip(tmp_path / "missing.zip", members), r"missing members \['settings.json'\]")


def test_duplicated_members_are_refused(bundle, tmp_path):
    items = [*_members(bundle).items(), ("params.json", b"{}")]
    _refused(_zip(tmp_path / "twice.zip", items), r"\['params.json'\] appear more than once")


class _Payload:
    """Unpickling this creates a file: proof that a loader unpickled something."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_legacy_pickle_bundles_are_refused_without_unpickling(tmp_path):
    marker = tmp_path / "was-unpickled"
    payload = pickle.dumps(_Payload(marker))
    path = _zip(
        tmp_path / "wts.h5.zip",
        {
            "manifest.dill": payload,
            "diffraction_to_obj/model.pth": payload,
            "diffraction_to_obj/params.dill": payload,
        },
    )
    error = _refused(path, "legacy PtychoPINN bundle")
    assert "dill/pickle bundles are never loaded" in str(error)
    assert "Convert it outside this tool" in str(error)
    assert not marker.exists()


def test_member_declaring_a_huge_size_is_refused(bundle, tmp_path):
    path = tmp_path / "huge.zip"
    path.write_bytes(_declare_size(bundle.read_bytes(), "settings.json", 100 * 2**20))
    _refused(path, "settings.json declares 104857600 bytes uncompressed, over the 16777216")


def test_member_with_an_impossible_ratio_is_refused(bundle, tmp_path):
    path = tmp_path / "ratio.zip"
    path.write_bytes(_declare_size(bundle.read_bytes(), "settings.json", 10 * 2**20))
    _refused(path, "settings.json expands .* possible zip bomb")


def test_zip_bomb_member_is_refused(bundle, tmp_path):
    members = {**_members(bundle), "model.h5": bytes(32 * 2**20)}
    _refused(_zip(tmp_path / "bomb.zip", members), "model.h5 expands .* possible zip bomb")


def test_member_longer_than_declared_is_cut_and_refused(bundle, tmp_path):
    path = tmp_path / "short.zip"
    path.write_bytes(_declare_size(bundle.read_bytes(), "settings.json", 10))
    _refused(path, "settings.json is corrupt")


def test_oversized_archive_is_refused_before_opening(bundle, monkeypatch):
    monkeypatch.setattr(fmt, "MAX_ARCHIVE_BYTES", 100)
    _refused(bundle, "more than any bundle can be")


def test_newer_format_is_refused(bundle, tmp_path):
    path = _with_manifest(bundle, tmp_path / "new.zip", format_version=2)
    _refused(
        path,
        r"written by a newer version \(format 2\); this installation reads format 1; "
        "upgrade ptychopinn-lightning",
    )


def test_tensorflow_bundle_is_refused(bundle, tmp_path):
    path = _with_manifest(bundle, tmp_path / "tf.zip", backend="tensorflow")
    _refused(path, "written by the tensorflow backend; this distribution has no TensorFlow engine")


def test_other_formats_are_refused(bundle, tmp_path):
    _refused(
        _with_manifest(bundle, tmp_path / "other.zip", format="something-else"),
        "not a PtychoPINN bundle",
    )


def test_manifest_models_must_match_the_weights(bundle, tmp_path):
    _refused(
        _with_manifest(bundle, tmp_path / "models.zip", models=["autoencoder"]),
        "holds weights for .* but the manifest lists",
    )


@pytest.mark.parametrize("member", ["manifest.json", "params.json"])
def test_json_that_does_not_parse_is_refused(bundle, tmp_path, member):
    path = _rebundle(bundle, tmp_path / "json.zip", **{member.replace(".", "_"): b"{not json"})
    _refused(path, f"{member} is not valid JSON")


def test_json_that_is_not_an_object_is_refused(bundle, tmp_path):
    path = _rebundle(bundle, tmp_path / "list.zip", settings_json=b"[1, 2]")
    _refused(path, "settings.json must hold a JSON object")


def test_params_without_intensity_scale_are_refused(bundle, tmp_path):
    path = _rebundle(bundle, tmp_path / "params.zip", params_json=b'{"_version": "3.0-pytorch"}')
    _refused(path, "intensity_scale None is not a finite positive number")


def test_hdf5_that_does_not_open_is_refused(bundle, tmp_path):
    path = _rebundle(bundle, tmp_path / "h5.zip", model_h5=b"\x89HDF garbage")
    _refused(path, "model.h5 is not a readable HDF5 file")


def test_object_dtype_dataset_is_refused_without_reading_it(bundle, tmp_path):
    def add_strings(h5):
        h5["weights/autoencoder"].create_dataset(
            "names", data=["a", "b"], dtype=h5py.string_dtype()
        )

    path = _rebundle(bundle, tmp_path / "obj.zip", model_h5=_edited_model(bundle, add_strings))
    _refused(path, "weights/autoencoder/names has dtype object; only numeric data is read")


@pytest.mark.parametrize(
    "link", [h5py.ExternalLink("/etc/passwd", "/data"), h5py.SoftLink("/probe")]
)
def test_links_are_not_followed(bundle, tmp_path, link):
    def add_link(h5):
        h5["weights/autoencoder/linked"] = link

    path = _rebundle(bundle, tmp_path / "link.zip", model_h5=_edited_model(bundle, add_link))
    _refused(
        path,
        f"weights/autoencoder/linked must be a dataset stored in the file; "
        f"found {type(link).__name__}",
    )


def test_datasets_that_would_expand_in_memory_are_refused(bundle, tmp_path):
    def add_compressed(h5):
        h5["extras"].create_dataset("zeros", data=np.zeros(2**22, np.float32), compression="gzip")

    path = _rebundle(
        bundle, tmp_path / "expand.zip", model_h5=_edited_model(bundle, add_compressed)
    )
    _refused(path, "the datasets hold more bytes than the file")


def test_unexpected_hdf5_entries_are_refused(bundle, tmp_path):
    path = _rebundle(
        bundle,
        tmp_path / "entry.zip",
        model_h5=_edited_model(bundle, lambda h5: h5.create_group("code")),
    )
    _refused(path, r"model.h5 holds unexpected entries \['code'\]")
