"""``SolverConfig``: how the iterative solver steps, in both of its entry points.

``ptycho infer --refine-iterations K`` refines the network's object with the solver;
``ptycho reconstruct`` runs the same solver from a flat start. ``InferenceConfig`` and
``ReconstructionConfig`` are both ``SolverConfig``s, so the ``refine_*`` settings mean the
same in either command (one ``PTYCHO_REFINE_LR`` serves both) and the engine's solver takes
either as its ``SolverConfig``.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from ptycho_settings._base import CANONICAL_CONFIG


class SolverConfig(BaseModel):
    """How the iterative solver steps: learning rate, positions per step, probe refinement."""

    model_config = CANONICAL_CONFIG

    refine_lr: float = Field(default=0.01, gt=0, le=1)
    """Adam learning rate of the iterative solver on the object (roughly the largest change per step of an object value of magnitude 1)."""

    refine_batch_size: int = Field(default=64, ge=1)
    """Scan positions per gradient step of the iterative solver."""

    refine_probe: bool = False
    """Also optimise the probe in the iterative solver (a tenth of the object's step size, relative to the probe's peak)."""
