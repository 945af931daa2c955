"""The layout of the model bundle ``wts.h5.zip``: names, versions and size limits, in one place.

A bundle is a zip archive with exactly four members (see DESIGN §4):

``manifest.json``
    Format name and version, backend, model names, package version, creation time and the
    SHA-256 of every other member.
``params.json``
    The legacy flat parameter dict (always holds ``intensity_scale`` and ``_version``).
``settings.json``
    The canonical settings with provenance and the execution settings used.
``model.h5``
    HDF5: ``weights/<model>/<state_dict key>`` datasets, the ``probe`` dataset (complex64,
    shape (P, N, N)), a ``scaling`` group of scalar float64 datasets, an optional ``extras``
    group of numeric arrays, and root attributes ``format`` and ``format_version``.

The writer (:mod:`ptycho_engine.bundle.write`) and the reader (:mod:`ptycho_engine.bundle.read`)
both take every name and limit from here, so a bundle the writer accepts is one the reader
accepts; the names the settings need too (file, members, version, pickle suffixes) come from
:mod:`ptycho_settings.bundle_format`.
"""

from __future__ import annotations

import os
from pathlib import Path

from ptycho_engine.errors import EngineError
from ptycho_settings.bundle_format import (  # noqa: F401 - the names of the format, re-exported
    BACKEND,
    BUNDLE_FILENAME,
    FORMAT_NAME,
    FORMAT_VERSION,
    HASHED_MEMBERS,
    LEGACY_SUFFIXES,
    MANIFEST,
    MEMBERS,
    MODEL,
    NO_TENSORFLOW,
    PARAMS,
    SETTINGS,
    ZIP_READ_ERRORS,
)


class BundleError(EngineError):
    """A model bundle that cannot be written or safely read.

    The message is one line that names the bundle and the problem.
    """


PACKAGE_DISTRIBUTION = "ptychopinn-lightning"
LEGACY_PARAMS_VERSION = "3.0-pytorch"

# Groups and datasets inside model.h5.
WEIGHTS_GROUP = "weights"
PROBE_DATASET = "probe"
SCALING_GROUP = "scaling"
EXTRAS_GROUP = "extras"
# Set on a weight stored as float32 because HDF5 and numpy have no bfloat16.
TORCH_DTYPE_ATTR = "torch_dtype"

_MIB = 2**20
# Uncompressed size limits: far above any real bundle, far below what would exhaust memory.
MAX_MEMBER_BYTES = {
    MANIFEST: 16 * _MIB,
    PARAMS: 16 * _MIB,
    SETTINGS: 16 * _MIB,
    MODEL: 4 * 2**30,
}
# The archive itself can only exceed the sum of its members by headers; 1 MiB is ample.
MAX_ARCHIVE_BYTES = sum(MAX_MEMBER_BYTES.values()) + _MIB
# Deflate cannot exceed about 1032:1, so a higher declared ratio means forged headers, and a
# ratio near the maximum on a big member means a block of zeros posing as data (a zip bomb).
# Small members (a JSON file of repeated keys) may legitimately compress very well.
MAX_COMPRESSION_RATIO = 1000
RATIO_CHECK_MIN_BYTES = _MIB


def resolve_bundle_path(path: str | os.PathLike) -> Path:
    """Return the zip path meant by ``path``, without looking at the file system.

    Parameters
    ----------
    path : str or PathLike
        A path ending in ``.zip`` (the bundle itself) or a directory that holds
        ``wts.h5.zip``.

    Returns
    -------
    Path
        ``path`` itself when it ends in ``.zip``, else ``path / "wts.h5.zip"``.
    """
    path = Path(path)
    return path if path.suffix.lower() == ".zip" else path / BUNDLE_FILENAME


def check_name(name: object, what: str) -> str:
    """Return ``name`` if it can name an HDF5 dataset or group directly under another group.

    Parameters
    ----------
    name : object
        A model name, ``state_dict`` key, statistic or extra name.
    what : str
        What the name is, for the message (``"weight key in model 'x'"``).

    Raises
    ------
    BundleError
        When ``name`` is not a string, is empty, is ``.`` or ``..``, or contains ``/`` or a NUL
        (HDF5 would read ``/`` as a path separator and split the entry into groups).
    """
    if not isinstance(name, str):
        raise BundleError(f"{what} {name!r} is not a string")
    if name in ("", ".", "..") or "/" in name or "\0" in name:
        raise BundleError(
            f"{what} {name!r} cannot be stored: names must be non-empty, not "
            "'.' or '..', and contain no '/' or NUL"
        )
    return name
