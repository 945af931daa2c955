"""The model bundle's names, in one place for both packages: file and member names, format
version, the pickle suffixes it refuses, and what a damaged zip raises.

The settings read a bundle's ``settings.json`` without torch
(:mod:`ptycho_settings.bundle_settings`); the engine writes and verifies whole bundles
(:mod:`ptycho_engine.bundle`). Both take these names from here, so neither can drift.
"""

from __future__ import annotations

import struct
import zipfile
import zlib

FORMAT_NAME = "ptychopinn-bundle"
FORMAT_VERSION = 1
BACKEND = "pytorch"

BUNDLE_FILENAME = "wts.h5.zip"
"""The bundle inside an output directory (``<output_dir>/wts.h5.zip``)."""

MANIFEST = "manifest.json"
PARAMS = "params.json"
SETTINGS = "settings.json"
MODEL = "model.h5"
MEMBERS = (MANIFEST, PARAMS, SETTINGS, MODEL)
HASHED_MEMBERS = (PARAMS, SETTINGS, MODEL)
"""The manifest cannot hold its own digest; every other member is hashed."""

LEGACY_SUFFIXES = (".dill", ".pth", ".pt", ".pkl", ".pickle")
"""Members of bundles written by the upstream PtychoPINN, which hold pickles: never loaded."""

NO_TENSORFLOW = "this distribution has no TensorFlow engine"
"""Why ``backend = tensorflow`` (a setting, or a bundle's manifest) is refused."""

ZIP_READ_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    EOFError,
    ValueError,
    OSError,
    NotImplementedError,
    RuntimeError,
    struct.error,
    zlib.error,
)
"""What zipfile and numpy raise for a damaged archive or member (an NPZ is a zip too): bad
headers and CRCs, unknown compression methods, encryption flags, short reads."""
