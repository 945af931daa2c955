"""The model bundle ``wts.h5.zip``: atomic writing and safe, verified reading (DESIGN §4).

The layout, names and limits are in :mod:`ptycho_engine.bundle.format`.
"""

from ptycho_engine.bundle.format import FORMAT_VERSION, BundleError
from ptycho_engine.bundle.read import BundleContents, bundle_path, read_bundle
from ptycho_engine.bundle.write import write_bundle

__all__ = [
    "FORMAT_VERSION",
    "BundleContents",
    "BundleError",
    "bundle_path",
    "read_bundle",
    "write_bundle",
]
