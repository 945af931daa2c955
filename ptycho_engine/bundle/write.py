"""Writing the model bundle ``wts.h5.zip`` (layout in :mod:`ptycho_engine.bundle.format`).

Every member is serialised and checked in memory before the archive is opened, and the
archive is written through :func:`ptycho_engine.atomic.atomic_output`, so a failure at any
point leaves neither a partial bundle nor a temporary file, and an existing bundle untouched.
"""

from __future__ import annotations

import datetime
import hashlib
import importlib.metadata
import io
import json
import math
import numbers
import os
import sys
import zipfile
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import h5py
import numpy as np

from ptycho_engine.atomic import atomic_output
from ptycho_engine.bundle import format as fmt
from ptycho_engine.bundle.format import BundleError

if TYPE_CHECKING:
    import torch

# Numeric kinds only: bool, signed and unsigned integers, floats, complex.
_NUMERIC_KINDS = frozenset("biufc")


def write_bundle(
    path: str | os.PathLike,
    *,
    weights: Mapping[str, Mapping[str, torch.Tensor | np.ndarray]],
    probe: np.ndarray,
    scaling: Mapping[str, float],
    params: Mapping,
    settings: Mapping,
    extras: Mapping[str, np.ndarray] | None = None,
    overwrite: bool = False,
) -> Path:
    """Write a model bundle atomically and return its path.

    Parameters
    ----------
    path : str or PathLike
        A directory (created if needed; the bundle is ``path/wts.h5.zip``) or a path ending
        in ``.zip`` (its directory is created if needed).
    weights : mapping of str to mapping of str to Tensor or ndarray
        Model name -> ``state_dict``. Tensors may live on any device; they are detached and
        copied to the CPU. Numeric dtypes only; bfloat16, which HDF5 cannot store, is saved
        as float32 (exact) with the attribute ``torch_dtype = "bfloat16"``. Keys must not
        contain ``/``.
    probe : ndarray of complex, shape (P, N, N) or (N, N)
        The normalised probe; stored as complex64 with shape (P, N, N).
    scaling : mapping of str to float
        Every statistic inference needs (``intensity_scale``, ``input_scale``, ``nphotons``,
        ...); stored as float64 scalars. Values must be finite.
    params : mapping
        The legacy flat parameter dict. ``intensity_scale`` must be a finite positive number;
        ``_version`` is set to ``"3.0-pytorch"`` when absent.
    settings : mapping
        Canonical settings with provenance and the execution settings; any JSON object.
    extras : mapping of str to ndarray, optional
        Further named numeric arrays (grouping indices, loss history).
    overwrite : bool
        Replace an existing bundle.

    Returns
    -------
    Path
        The path of the written ``.zip``.

    Raises
    ------
    BundleError
        When an input cannot be stored (the message names it).
    OutputExistsError
        When the bundle exists and ``overwrite`` is False.
    """
    target = fmt.resolve_bundle_path(path)
    try:
        members = _serialise(weights, probe, scaling, params, settings, extras)
    except BundleError as error:
        raise BundleError(f"cannot write {target}: {error}") from None
    _make_parent(target, path)
    with atomic_output(target, overwrite=overwrite) as temporary:
        _write_zip(temporary, members)
    return target


def _serialise(weights, probe, scaling, params, settings, extras) -> dict[str, bytes]:
    """Return every member's bytes, manifest first, checked against the reader's limits."""
    members = {
        fmt.PARAMS: _json_bytes(_legacy_params(params), fmt.PARAMS),
        fmt.SETTINGS: _json_bytes(_json_object(settings, "settings"), fmt.SETTINGS),
        fmt.MODEL: _model_bytes(weights, probe, scaling, extras),
    }
    manifest = _manifest(list(weights), members)
    members = {fmt.MANIFEST: _json_bytes(manifest, fmt.MANIFEST), **members}
    for name, data in members.items():
        if len(data) > fmt.MAX_MEMBER_BYTES[name]:
            raise BundleError(
                f"{name} would be {len(data)} bytes, over the "
                f"{fmt.MAX_MEMBER_BYTES[name]}-byte limit readers accept"
            )
    return members


def _make_parent(target: Path, given: str | os.PathLike) -> None:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise BundleError(
            f"cannot create the directory {target.parent}: a file is in the way; "
            "give a directory or a path ending in .zip"
        ) from None


def _write_zip(path: Path, members: Mapping[str, bytes]) -> None:
    now = datetime.datetime.now().timetuple()[:6]
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=now)
            info.compress_type = _compression_for(data)
            info.external_attr = 0o644 << 16  # a plain file when unpacked by other tools
            archive.writestr(info, data)


def _compression_for(data: bytes) -> int:
    # A big member that deflates past the reader's zip-bomb ratio (all-zero weights, say)
    # is stored uncompressed, so the reader never refuses a bundle the writer made.
    if len(data) >= fmt.RATIO_CHECK_MIN_BYTES:
        ratio = len(data) / len(zlib.compress(data, 6))
        if ratio > fmt.MAX_COMPRESSION_RATIO / 2:
            return zipfile.ZIP_STORED
    return zipfile.ZIP_DEFLATED


def _manifest(models: list[str], members: Mapping[str, bytes]) -> dict:
    return {
        "format": fmt.FORMAT_NAME,
        "format_version": fmt.FORMAT_VERSION,
        "backend": fmt.BACKEND,
        "models": models,
        "package_version": _package_version(),
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "sha256": {name: hashlib.sha256(members[name]).hexdigest() for name in fmt.HASHED_MEMBERS},
    }


def _package_version() -> str:
    try:
        return importlib.metadata.version(fmt.PACKAGE_DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _legacy_params(params: Mapping) -> dict:
    params = _json_object(params, "params")
    value = params.get("intensity_scale")
    if (
        not isinstance(value, numbers.Real)
        or isinstance(value, bool)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise BundleError(
            f"params['intensity_scale'] must be a finite positive number; got "
            f"{value!r}. Inference cannot rescale its output without it"
        )
    params["intensity_scale"] = float(value)
    params.setdefault("_version", fmt.LEGACY_PARAMS_VERSION)
    return params


def _json_object(value: object, what: str) -> dict:
    if not isinstance(value, Mapping):
        raise BundleError(f"{what} must be a mapping (a JSON object); got {type(value).__name__}")
    return dict(value)


def _json_bytes(value: dict, member: str) -> bytes:
    try:
        text = json.dumps(value, indent=2, allow_nan=False, default=_json_scalar)
    except (TypeError, ValueError) as error:
        raise BundleError(f"{member} cannot be written as JSON: {error}") from None
    return text.encode("utf-8")


def _json_scalar(value: object) -> object:
    # numpy scalars (an np.float32 intensity scale) are common in parameter dicts.
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _model_bytes(weights, probe, scaling, extras) -> bytes:
    if not isinstance(weights, Mapping) or not weights:
        raise BundleError("weights must map at least one model name to its state_dict")
    scaling = _json_object(scaling, "scaling")
    extras = _json_object({} if extras is None else extras, "extras")
    probe = _probe_array(probe)
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as h5:
        h5.attrs["format"] = fmt.FORMAT_NAME
        h5.attrs["format_version"] = fmt.FORMAT_VERSION
        # track_order keeps state_dict order, which readers and diffs of bundles expect.
        models = h5.create_group(fmt.WEIGHTS_GROUP, track_order=True)
        for model, state in weights.items():
            group = models.create_group(fmt.check_name(model, "model name"), track_order=True)
            if not isinstance(state, Mapping):
                raise BundleError(f"weights[{model!r}] must be a state_dict (a mapping)")
            for key, value in state.items():
                fmt.check_name(key, f"weight key in model {model!r}")
                array, torch_dtype = _numeric(value, f"weights[{model!r}][{key!r}]")
                dataset = group.create_dataset(key, data=array)
                if torch_dtype is not None:
                    dataset.attrs[fmt.TORCH_DTYPE_ATTR] = torch_dtype
        h5.create_dataset(fmt.PROBE_DATASET, data=probe)
        statistics = h5.create_group(fmt.SCALING_GROUP, track_order=True)
        for name, value in scaling.items():
            fmt.check_name(name, "scaling statistic")
            statistics.create_dataset(name, data=_finite_float(value, f"scaling[{name!r}]"))
        if extras:
            group = h5.create_group(fmt.EXTRAS_GROUP, track_order=True)
            for name, value in extras.items():
                fmt.check_name(name, "extra array name")
                group.create_dataset(name, data=_numeric(value, f"extras[{name!r}]")[0])
    return buffer.getvalue()


def _numeric(value: object, where: str) -> tuple[np.ndarray, str | None]:
    """Return ``value`` as a numeric CPU numpy array, and the torch dtype it replaced, if any.

    A tensor is detached and copied to the CPU; bfloat16, which numpy and HDF5 lack, becomes
    float32 (every bfloat16 value is exactly a float32 value).
    """
    # A tensor can only exist once torch is imported; this module never imports it, so
    # numpy-only callers do not pay for torch.
    torch = sys.modules.get("torch")
    torch_dtype = None
    if torch is not None and isinstance(value, torch.Tensor):
        if value.layout != torch.strided:
            raise BundleError(f"{where} has layout {value.layout}; convert it to a dense tensor")
        tensor = value.detach().cpu().resolve_conj().resolve_neg()
        if tensor.dtype == torch.bfloat16:
            tensor, torch_dtype = tensor.to(torch.float32), "bfloat16"
        try:
            array = tensor.numpy()
        except (TypeError, RuntimeError):
            raise BundleError(
                f"{where} has dtype {value.dtype}, which cannot be stored; convert it to float32"
            ) from None
    elif isinstance(value, np.ndarray | np.generic | list | tuple | numbers.Number):
        array = np.asarray(value)
    else:
        raise BundleError(
            f"{where} is a {type(value).__name__}; only tensors and numeric arrays can be stored"
        )
    if array.dtype.kind not in _NUMERIC_KINDS:
        raise BundleError(
            f"{where} has dtype {array.dtype}; only bool, integer, float and "
            "complex arrays can be stored"
        )
    return array, torch_dtype


def _probe_array(probe: object) -> np.ndarray:
    array = _numeric(probe, "probe")[0]
    if array.ndim == 2:
        array = array[np.newaxis]  # one mode
    if array.ndim != 3 or array.shape[1] != array.shape[2] or array.shape[1] == 0:
        raise BundleError(f"probe must have shape (P, N, N) or (N, N); got {array.shape}")
    if not np.isfinite(array).all():
        raise BundleError("probe has non-finite values (NaN or inf)")
    return array.astype(np.complex64)


def _finite_float(value: object, where: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise BundleError(f"{where} must be a number; got {value!r}") from None
    if not math.isfinite(number):
        raise BundleError(f"{where} must be finite; got {number}")
    return number
