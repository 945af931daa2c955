"""Interoperability with Ptychodus: its HDF5 product file, written from and read into our data.

``write_reconstruction_product`` writes what ``ptycho infer --product`` writes;
``read_product`` reads any product file (ours or Ptychodus'), and ``Product.positions_px``
gives its positions in the pixel frame of the data contract. Layout and units:
:mod:`ptycho_engine.ptychodus.product`; values and defaults: :mod:`ptycho_engine.ptychodus.export`.
"""

from ptycho_engine.ptychodus.export import (
    check_product_path,
    object_pixel_size_m,
    product_from_reconstruction,
    write_reconstruction_product,
)
from ptycho_engine.ptychodus.product import Product, write_product
from ptycho_engine.ptychodus.read import read_product

__all__ = [
    "Product",
    "check_product_path",
    "object_pixel_size_m",
    "product_from_reconstruction",
    "read_product",
    "write_product",
    "write_reconstruction_product",
]
