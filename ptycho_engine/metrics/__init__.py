"""Quality of a reconstructed complex object against the ground truth, and its figures.

:func:`evaluate_reconstruction` aligns a reconstruction to the truth over the scanned region
(``align``), scores amplitude and phase (``scores``) and computes the Fourier ring correlation
(``frc``); ``figures`` draws the results. matplotlib is only imported when a figure is saved.
"""

from ptycho_engine.metrics.align import Alignment, align_to_truth
from ptycho_engine.metrics.figures import (
    save_amplitude_png,
    save_comparison_figure,
    save_frc_figure,
    save_object_figure,
    save_phase_png,
)
from ptycho_engine.metrics.frc import (
    ONE_SEVENTH,
    FrcCrossing,
    frc_curve,
    frc_resolution,
    half_bit_threshold,
)
from ptycho_engine.metrics.scores import (
    PSNR_CAP_DB,
    EvaluationResult,
    ScoreSet,
    compared_phases,
    constant_object_baseline,
    evaluate_reconstruction,
)

__all__ = [
    "ONE_SEVENTH",
    "PSNR_CAP_DB",
    "Alignment",
    "EvaluationResult",
    "FrcCrossing",
    "ScoreSet",
    "align_to_truth",
    "compared_phases",
    "constant_object_baseline",
    "evaluate_reconstruction",
    "frc_curve",
    "frc_resolution",
    "half_bit_threshold",
    "save_amplitude_png",
    "save_comparison_figure",
    "save_frc_figure",
    "save_object_figure",
    "save_phase_png",
]
