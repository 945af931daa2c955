"""Inference: a trained bundle predicts every group of new data, and the patches are stitched.

``reconstruct(bundle, data, execution)`` (:mod:`~ptycho_engine.inference.predict`) is the
Python twin of ``ptycho infer``; bundles load with :func:`ptycho_engine.pinn.load_bundle`.
"""

from ptycho_engine.inference.predict import choose_probe, prediction_precision, reconstruct

__all__ = ["choose_probe", "prediction_precision", "reconstruct"]
