"""The ``Reconstruction`` value: a stitched object and where it sits in the input frame.

Inference (:func:`ptycho_engine.inference.reconstruct`) and the iterative solver
(:mod:`ptycho_engine.solver`) both return one; :mod:`ptycho_engine.outputs` writes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True, eq=False)
class Reconstruction:
    """A stitched object and where it sits in the input frame.

    ``object[y - origin[1], x - origin[0]]`` is the object at input position ``(x, y)``.
    ``input_scale`` is the α the measured amplitudes were multiplied by (the object's units
    follow from it); ``probe`` is set when the iterative solver refined the probe.
    """

    object: np.ndarray
    origin: tuple[float, float]
    xcoords: np.ndarray
    ycoords: np.ndarray
    weights: np.ndarray
    timings: dict[str, float] = field(default_factory=dict)
    n_groups: int = 0
    input_scale: float = 1.0
    probe: np.ndarray | None = None
