"""Bad model bundles: each is the valid bundle with one member, name or header changed.

Every case goes through ``ptycho infer --model-path``; the settings layer reads the bundle's
``settings.json`` first, then the engine reads and verifies the whole bundle.
"""

from __future__ import annotations

import hashlib
import json
import struct
from collections.abc import Callable
from pathlib import Path

from tests.bad_inputs.inputs import Case, bundle_members, write_zip

COMMANDS = ("infer-bundle",)


def _members(*, rehash: bool = True, drop: tuple[str, ...] = (), add=(), **replace) -> Callable:
    """A writer of the valid bundle with members replaced (``params_json=b"..."``), dropped or
    added; the manifest's digests are recomputed unless ``rehash`` is False, so that only the
    intended problem is present. A value may be a function of the valid members, so that the
    valid bundle is built when a case is written, not when the corpus is imported.
    """

    def write(folder: Path) -> Path:
        valid = bundle_members()
        members = dict(valid)
        members.update(
            {
                key.replace("_json", ".json").replace("_h5", ".h5"): value(valid)
                if callable(value)
                else value
                for key, value in replace.items()
            }
        )
        add_items = [(name, value(valid) if callable(value) else value) for name, value in add]
        if rehash and "manifest_json" not in replace:
            manifest = json.loads(members["manifest.json"])
            manifest["sha256"] = {
                name: hashlib.sha256(members[name]).hexdigest() for name in manifest["sha256"]
            }
            members["manifest.json"] = json.dumps(manifest).encode()
        items = [(name, data) for name, data in members.items() if name not in drop]
        return write_zip(folder / "model" / "wts.h5.zip", items + add_items)

    return write


def _edited(member: str, **changes) -> Callable:
    """The valid JSON ``member`` with top-level keys changed."""
    return lambda valid: json.dumps({**json.loads(valid[member]), **changes}).encode()


def _tampered_model(valid: dict[str, bytes]) -> bytes:
    data = bytearray(valid["model.h5"])
    data[len(data) // 2] ^= 0xFF
    return bytes(data)


def _edited_digest(valid: dict[str, bytes]) -> bytes:
    manifest = json.loads(valid["manifest.json"])
    manifest["sha256"]["params.json"] = "0" * 64
    return json.dumps(manifest).encode()


def _raw(data: Callable) -> Callable:
    def write(folder: Path) -> Path:
        path = folder / "model" / "wts.h5.zip"
        path.parent.mkdir()
        write_zip(path, bundle_members())
        path.write_bytes(data(path.read_bytes()))
        return path

    return write


def _declared_size(size: int) -> Callable:
    """Set the uncompressed size the central directory declares for model.h5."""

    def change(blob: bytes) -> bytes:
        data, start = bytearray(blob), 0
        while (at := data.find(b"PK\x01\x02", start)) >= 0:
            length = struct.unpack_from("<H", data, at + 28)[0]
            if data[at + 46 : at + 46 + length] == b"model.h5":
                struct.pack_into("<I", data, at + 24, size)
            start = at + 4
        return bytes(data)

    return change


def _directory_without_bundle(folder: Path) -> Path:
    path = folder / "model"
    path.mkdir()
    return path


CASES = [
    Case(
        "tampered-model",
        "model.h5 was modified",
        _members(rehash=False, model_h5=_tampered_model),
        COMMANDS,
    ),
    Case(
        "digest-mismatch",
        "params.json was modified",
        _members(manifest_json=_edited_digest),
        COMMANDS,
    ),
    Case(
        "parent-directory-member",
        "unsafe member names",
        _members(add=[("../evil.py", b"x")]),
        COMMANDS,
    ),
    Case(
        "absolute-member", "unsafe member names", _members(add=[("/tmp/evil.py", b"x")]), COMMANDS
    ),
    Case("pickle-member", "never loaded", _members(add=[("model.pkl", b"\x80\x04N.")]), COMMANDS),
    Case(
        "legacy-dill-bundle",
        "legacy bundle holding pickles",
        _members(drop=("settings.json",), add=[("diffraction_to_obj.dill", b"\x80\x04N.")]),
        COMMANDS,
    ),
    Case(
        "newer-format",
        "newer version (format 99)",
        _members(manifest_json=_edited("manifest.json", format_version=99)),
        COMMANDS,
    ),
    Case(
        "other-backend",
        "tensorflow backend",
        _members(manifest_json=_edited("manifest.json", backend="tensorflow")),
        COMMANDS,
    ),
    Case(
        "truncated-zip", "truncated or corrupt", _raw(lambda blob: blob[: len(blob) // 2]), COMMANDS
    ),
    Case("not-a-zip", "truncated or corrupt", _raw(lambda blob: b"just text\n"), COMMANDS),
    Case("missing-model", "missing members ['model.h5']", _members(drop=("model.h5",)), COMMANDS),
    Case(
        "missing-manifest",
        "missing members ['manifest.json']",
        _members(drop=("manifest.json",)),
        COMMANDS,
    ),
    Case("missing-settings", "no settings.json", _members(drop=("settings.json",)), COMMANDS),
    Case(
        "unexpected-member",
        "unexpected members ['notes.txt']",
        _members(add=[("notes.txt", b"hello")]),
        COMMANDS,
    ),
    Case(
        "duplicated-member",
        "appear more than once",
        _members(add=[("params.json", _edited("params.json"))]),
        COMMANDS,
    ),
    Case(
        "manifest-not-json",
        "manifest.json is not valid JSON",
        _members(manifest_json=b"{"),
        COMMANDS,
    ),
    Case(
        "settings-not-json",
        "settings.json is not valid JSON",
        _members(settings_json=b"{"),
        COMMANDS,
    ),
    Case(
        "model-not-hdf5",
        "model.h5 is not a readable HDF5 file",
        _members(model_h5=b"not hdf5"),
        COMMANDS,
    ),
    Case(
        "bad-intensity-scale",
        "intensity_scale -1",
        _members(params_json=_edited("params.json", intensity_scale=-1)),
        COMMANDS,
    ),
    Case("declared-size-zip-bomb", "model.h5 expands", _raw(_declared_size(2**32 - 1)), COMMANDS),
    Case("directory-without-bundle", "no wts.h5.zip", _directory_without_bundle, COMMANDS),
]
