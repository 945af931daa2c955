"""``SolverConfig``: how the iterative solver steps and when it stops, in both entry points.

``ptycho infer --refine-iterations K`` refines the network's object with the solver;
``ptycho reconstruct`` runs the same solver from a flat start. ``InferenceConfig`` and
``ReconstructionConfig`` are both ``SolverConfig``s, so the ``refine_*`` settings mean the
same in either command (one ``PTYCHO_REFINE_METHOD`` serves both) and the engine's solver takes
either as its ``SolverConfig``. The iteration count of either command is a maximum: the
solver stops earlier once the likelihood has stopped improving (``refine_tolerance``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from ptycho_settings._base import CANONICAL_CONFIG


class SolverConfig(BaseModel):
    """How the iterative solver steps and stops: method, step sizes, batch, probe, tolerance."""

    model_config = CANONICAL_CONFIG

    refine_method: Literal["pie", "adam"] = "pie"
    """Step of the iterative solver: `pie`, a mini-batch rPIE step normalised by the probe's intensity (no step size to tune), or `adam`, Adam on the Poisson likelihood's gradient (step `refine_lr`)."""

    refine_lr: float = Field(default=0.01, gt=0, le=1)
    """Adam learning rate of the iterative solver on the object, with `refine_method = "adam"` only (roughly the largest change per step of an object value of magnitude 1)."""

    refine_batch_size: int | None = Field(default=None, ge=1)
    """Scan positions per step of the iterative solver; None: for `pie` 256 or a quarter of the scan if that is fewer (large batches converge as fast per pass and cost less; at least four steps per pass), 64 for `adam`."""

    refine_probe: bool = False
    """Also update the probe in the iterative solver (`pie`: its own intensity-normalised step, after two object-only iterations; `adam`: a tenth of the object's step size, relative to the probe's peak)."""

    refine_tolerance: float = Field(default=0.01, ge=0, lt=1)
    """Stop the iterative solver before its maximum iterations once the Poisson deviance (the NLL above that of a perfect fit) falls by less than this fraction of itself per iteration, `refine_patience` times in a row; 0: always run the maximum."""

    refine_patience: int = Field(default=2, ge=1)
    """Consecutive iterations below `refine_tolerance` that stop the iterative solver."""
