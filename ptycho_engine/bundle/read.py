"""Safe reading of the model bundle ``wts.h5.zip`` (layout in :mod:`ptycho_engine.bundle.format`).

A bundle may come from anywhere, so reading never unpickles, never extracts to disk and never
trusts a size it has not checked: member names, declared sizes and compression ratios are
refused before a byte is decompressed; members are read with a bounded reader; every member
must match the SHA-256 in the manifest; ``model.h5`` is opened from memory and only numeric
datasets stored inside it are materialised. The hashes detect damage and edits of single
members, not a forger who also rewrites the manifest: a bundle is as trustworthy as its source.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from ptycho_engine.bundle import format as fmt
from ptycho_engine.bundle.format import BundleError

_NUMERIC_KINDS = frozenset("biufc")


@dataclass(frozen=True, eq=False)
class BundleContents:
    """Everything a bundle holds, as plain Python and numpy values (no torch needed).

    Attributes
    ----------
    manifest : dict
        Format, version, backend, ``models``, package version, creation time, digests.
    params : dict
        The legacy flat parameter dict; has ``intensity_scale`` (float) and ``_version``.
    settings : dict
        The canonical settings with provenance and the execution settings used.
    weights : dict of str to dict of str to ndarray
        Model name -> ``state_dict`` as numpy arrays (0-d arrays for scalar tensors).
        Weights saved from bfloat16 come back as float32; ``load_state_dict`` casts them.
    probe : ndarray of complex64, shape (P, N, N)
        The normalised probe.
    scaling : dict of str to float
        The scaling statistics (``intensity_scale``, ``input_scale``, ...).
    extras : dict of str to ndarray
        Further named arrays; empty when the bundle has none.
    source : Path or None
        The ``.zip`` the contents were read from.
    """

    manifest: dict
    params: dict
    settings: dict
    weights: dict[str, dict[str, np.ndarray]]
    probe: np.ndarray
    scaling: dict[str, float]
    extras: dict[str, np.ndarray]
    source: Path | None = None


def bundle_path(path: str | os.PathLike) -> Path:
    """Return the bundle file meant by ``path``: the file itself, or ``wts.h5.zip`` in a directory.

    Raises
    ------
    BundleError
        When ``path`` does not exist, or is a directory without ``wts.h5.zip``.
    """
    path = Path(path)
    if path.is_dir():
        candidate = path / fmt.BUNDLE_FILENAME
        if not candidate.is_file():
            raise BundleError(f"{path} holds no model bundle: {fmt.BUNDLE_FILENAME} is missing")
        return candidate
    if not path.is_file():
        raise BundleError(
            f"no model bundle at {path}: give a directory that holds "
            f"{fmt.BUNDLE_FILENAME} or the .zip itself"
        )
    return path


def read_bundle(path: str | os.PathLike) -> BundleContents:
    """Read and verify a model bundle.

    Parameters
    ----------
    path : str or PathLike
        A directory holding ``wts.h5.zip``, or the bundle ``.zip`` itself.

    Returns
    -------
    BundleContents
        The verified contents.

    Raises
    ------
    BundleError
        One line naming the bundle and the problem: not a zip, truncated or corrupt;
        unexpected, unsafe, duplicated or missing members; a legacy pickle bundle; oversized
        members or a suspicious compression ratio; a digest mismatch; a newer format or
        another backend; JSON or HDF5 that does not parse; non-numeric or external datasets.
    """
    source = bundle_path(path)
    try:
        with _open_archive(source) as archive:
            infos = _checked_listing(archive)
            manifest = _json_object(_read(archive, infos[fmt.MANIFEST]), fmt.MANIFEST)
            manifest = _checked_manifest(manifest)
            members = {name: _read(archive, infos[name]) for name in fmt.HASHED_MEMBERS}
        _check_digests(manifest, members)
        params = _checked_params(_json_object(members[fmt.PARAMS], fmt.PARAMS))
        settings = _json_object(members[fmt.SETTINGS], fmt.SETTINGS)
        weights, probe, scaling, extras = _read_model(members[fmt.MODEL], manifest["models"])
    except BundleError as error:
        raise BundleError(f"{source}: {error}") from None
    return BundleContents(
        manifest=manifest,
        params=params,
        settings=settings,
        weights=weights,
        probe=probe,
        scaling=scaling,
        extras=extras,
        source=source,
    )


def _open_archive(source: Path) -> zipfile.ZipFile:
    size = source.stat().st_size
    if size > fmt.MAX_ARCHIVE_BYTES:
        raise BundleError(
            f"the file is {size} bytes, more than any bundle can be ({fmt.MAX_ARCHIVE_BYTES} bytes)"
        )
    try:
        return zipfile.ZipFile(source)
    except OSError as error:
        raise BundleError(f"cannot be read: {error.strerror or error}") from None
    except fmt.ZIP_READ_ERRORS as error:
        raise BundleError(
            f"not a valid zip archive (not a zip file, truncated or corrupt): {error}"
        ) from None


def _checked_listing(archive: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    """Return the members by name after checking names and sizes, before reading any."""
    infos = archive.infolist()
    names = [info.filename for info in infos]
    unsafe = [name for name in names if _is_unsafe(name)]
    if unsafe:
        raise BundleError(
            f"unsafe member names {unsafe} (absolute or parent-directory paths); "
            "refusing to read the archive"
        )
    legacy = [name for name in names if name.lower().endswith(fmt.LEGACY_SUFFIXES)]
    if legacy:
        raise BundleError(
            f"this is a legacy PtychoPINN bundle holding pickles ({', '.join(legacy[:3])}); "
            "dill/pickle bundles are never loaded because unpickling can run arbitrary code. "
            "Convert it outside this tool (re-train, or export its weights to HDF5 with the "
            "upstream tool)"
        )
    unexpected = sorted(set(names) - set(fmt.MEMBERS))
    if unexpected:
        raise BundleError(
            f"unexpected members {unexpected}; a bundle holds exactly {', '.join(fmt.MEMBERS)}"
        )
    duplicated = sorted({name for name in names if names.count(name) > 1})
    if duplicated:
        raise BundleError(f"members {duplicated} appear more than once")
    missing = [name for name in fmt.MEMBERS if name not in names]
    if missing:
        raise BundleError(f"missing members {missing}")
    for info in infos:
        _check_declared_size(info)
    return {info.filename: info for info in infos}


def _is_unsafe(name: str) -> bool:
    # Windows reads backslashes and drive letters as path syntax; zip names must not use them.
    parts = name.split("/")
    return (
        name.startswith("/") or "\\" in name or ".." in parts or (len(name) > 1 and name[1] == ":")
    )


def _check_declared_size(info: zipfile.ZipInfo) -> None:
    name, limit = info.filename, fmt.MAX_MEMBER_BYTES[info.filename]
    if info.flag_bits & 0x1:
        raise BundleError(f"{name} is encrypted")
    if info.file_size > limit:
        raise BundleError(
            f"{name} declares {info.file_size} bytes uncompressed, over the {limit}-byte limit"
        )
    ratio = info.file_size / max(info.compress_size, 1)
    if info.file_size >= fmt.RATIO_CHECK_MIN_BYTES and ratio > fmt.MAX_COMPRESSION_RATIO:
        raise BundleError(
            f"{name} expands {ratio:.0f}:1 ({info.compress_size} -> "
            f"{info.file_size} bytes); refusing a possible zip bomb"
        )


def _read(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    # The declared size was checked, but the reader is bounded as well, so a lying header
    # can never make it allocate more than the limit.
    limit = fmt.MAX_MEMBER_BYTES[info.filename]
    try:
        with archive.open(info) as stream:
            data = stream.read(limit + 1)
    except fmt.ZIP_READ_ERRORS as error:
        raise BundleError(f"{info.filename} is corrupt: {error}") from None
    if len(data) > limit:
        raise BundleError(f"{info.filename} is larger than the {limit}-byte limit")
    return data


def _json_object(data: bytes, member: str) -> dict:
    try:
        value = json.loads(data)
    except (ValueError, RecursionError) as error:
        raise BundleError(f"{member} is not valid JSON: {error}") from None
    if not isinstance(value, dict):
        raise BundleError(f"{member} must hold a JSON object, not {type(value).__name__}")
    return value


def _checked_manifest(manifest: dict) -> dict:
    if manifest.get("format") != fmt.FORMAT_NAME:
        raise BundleError(
            f"not a PtychoPINN bundle: the manifest format is "
            f"{manifest.get('format')!r}, expected {fmt.FORMAT_NAME!r}"
        )
    version = manifest.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise BundleError(f"the manifest format_version {version!r} is not a positive integer")
    if version > fmt.FORMAT_VERSION:
        raise BundleError(
            f"written by a newer version (format {version}); this installation "
            f"reads format {fmt.FORMAT_VERSION}; upgrade ptychopinn-lightning"
        )
    backend = manifest.get("backend")
    if backend != fmt.BACKEND:
        reason = (
            fmt.NO_TENSORFLOW
            if backend == "tensorflow"
            else f"this distribution reads only {fmt.BACKEND} bundles"
        )
        raise BundleError(f"this bundle was written by the {backend} backend; {reason}")
    models = manifest.get("models")
    if (
        not isinstance(models, list)
        or not models
        or len(set(models)) != len(models)
        or not all(isinstance(model, str) for model in models)
    ):
        raise BundleError(f"the manifest models {models!r} are not a list of distinct names")
    digests = manifest.get("sha256")
    if not isinstance(digests, dict) or set(digests) != set(fmt.HASHED_MEMBERS):
        raise BundleError(f"the manifest sha256 must list exactly {list(fmt.HASHED_MEMBERS)}")
    return manifest


def _check_digests(manifest: dict, members: dict[str, bytes]) -> None:
    for name, data in members.items():
        if hashlib.sha256(data).hexdigest() != manifest["sha256"][name]:
            raise BundleError(
                f"{name} was modified after the bundle was written "
                "(its SHA-256 does not match the manifest)"
            )


def _checked_params(params: dict) -> dict:
    value = params.get("intensity_scale")
    if (
        not isinstance(value, int | float)
        or isinstance(value, bool)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise BundleError(
            f"{fmt.PARAMS}: intensity_scale {value!r} is not a finite positive number"
        )
    if "_version" not in params:
        raise BundleError(f"{fmt.PARAMS} has no _version")
    return params


def _read_model(data: bytes, models: list[str]) -> tuple[dict, np.ndarray, dict, dict]:
    """Return (weights, probe, scaling, extras) from the bytes of ``model.h5``."""
    try:
        h5 = h5py.File(io.BytesIO(data), "r")
    except (OSError, ValueError, RuntimeError) as error:
        raise BundleError(f"{fmt.MODEL} is not a readable HDF5 file: {error}") from None
    # Datasets stored uncompressed cannot hold more bytes than the file; a bigger total
    # means compressed or unallocated datasets that would expand in memory.
    budget = [len(data)]
    try:
        with h5:
            mark = h5.attrs.get("format")
            if not isinstance(mark, str) or mark != fmt.FORMAT_NAME:
                raise BundleError(f"{fmt.MODEL} does not carry format={fmt.FORMAT_NAME!r}")
            known = {fmt.WEIGHTS_GROUP, fmt.PROBE_DATASET, fmt.SCALING_GROUP, fmt.EXTRAS_GROUP}
            unknown = sorted(set(h5) - known)
            if unknown:
                raise BundleError(f"{fmt.MODEL} holds unexpected entries {unknown}")
            stored = _child(h5, fmt.WEIGHTS_GROUP, h5py.Group)
            if sorted(stored) != sorted(models):
                raise BundleError(
                    f"{fmt.MODEL} holds weights for {sorted(stored)} but the "
                    f"manifest lists {models}"
                )
            weights = {m: _arrays(_child(stored, m, h5py.Group), budget) for m in models}
            probe = _array(_child(h5, fmt.PROBE_DATASET, h5py.Dataset), budget)
            scaling = {
                name: _scalar(array, name)
                for name, array in _arrays(
                    _child(h5, fmt.SCALING_GROUP, h5py.Group), budget
                ).items()
            }
            extras = (
                _arrays(_child(h5, fmt.EXTRAS_GROUP, h5py.Group), budget)
                if fmt.EXTRAS_GROUP in h5
                else {}
            )
    # h5py reports damaged or exotic structures with any of these; our own checks raise
    # BundleError, which passes through.
    except (OSError, RuntimeError, ValueError, TypeError, KeyError) as error:
        raise BundleError(f"{fmt.MODEL} is corrupt or not in the bundle layout: {error}") from None
    if probe.dtype.kind != "c" or probe.ndim != 3 or probe.shape[1] != probe.shape[2]:
        raise BundleError(
            f"{fmt.MODEL}: probe must be complex with shape (P, N, N); got "
            f"{probe.dtype} {probe.shape}"
        )
    return weights, probe.astype(np.complex64, copy=False), scaling, extras


def _child(group: h5py.Group, name: str, kind: type) -> h5py.Group | h5py.Dataset:
    # Soft and external links could point anywhere, including other files on this machine.
    link = group.get(name, getlink=True)
    if not isinstance(link, h5py.HardLink):
        kind_found = "nothing" if link is None else type(link).__name__
        raise BundleError(
            f"{fmt.MODEL}: {group.name.rstrip('/')}/{name} must be a "
            f"{kind.__name__.lower()} stored in the file; found {kind_found}"
        )
    item = group[name]
    if not isinstance(item, kind):
        raise BundleError(f"{fmt.MODEL}: {item.name} must be a {kind.__name__.lower()}")
    return item


def _arrays(group: h5py.Group, budget: list[int]) -> dict[str, np.ndarray]:
    return {name: _array(_child(group, name, h5py.Dataset), budget) for name in group}


def _array(dataset: h5py.Dataset, budget: list[int]) -> np.ndarray:
    """Return a numeric dataset's values, refusing anything that is not plain stored numbers."""
    where = f"{fmt.MODEL}: {dataset.name}"
    # Checked before reading: object, string and compound data are never materialised.
    if dataset.dtype.kind not in _NUMERIC_KINDS:
        raise BundleError(f"{where} has dtype {dataset.dtype}; only numeric data is read")
    if dataset.shape is None:
        raise BundleError(f"{where} is an empty dataspace")
    if dataset.is_virtual or dataset.external:
        raise BundleError(f"{where} refers to data outside the bundle")
    budget[0] -= dataset.size * dataset.dtype.itemsize
    if budget[0] < 0:
        raise BundleError(
            f"{where}: the datasets hold more bytes than the file; compressed "
            "or unallocated datasets are not read"
        )
    return np.asarray(dataset[()])


def _scalar(array: np.ndarray, name: str) -> float:
    if array.shape != () or array.dtype.kind not in "iuf":
        raise BundleError(
            f"{fmt.MODEL}: scaling/{name} must be a real scalar; got {array.dtype} {array.shape}"
        )
    return float(array)
