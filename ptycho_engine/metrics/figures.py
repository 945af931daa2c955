"""PNG figures of complex objects, of a reconstruction against the truth, and of its FRC.

Figures are drawn on ``matplotlib.figure.Figure`` with the Agg canvas, never through pyplot,
so no display or global backend is involved and figures are freed when they go out of scope.
matplotlib is imported inside the functions: importing ``ptycho_engine.metrics`` stays cheap.
Each file is written atomically (``ptycho_engine.atomic``), so a reader never sees a
half-written image and a failure leaves no temporary file. A figure of ``figsize`` inches saved at ``dpi`` is exactly
``figsize * dpi`` pixels (no tight bounding box). Axes are in object pixels (x the column,
y the row, see ``ptycho_engine.conventions``); comparison panels show truth-frame pixels.
"""

from __future__ import annotations

import os

import numpy as np

from ptycho_engine.metrics.frc import ONE_SEVENTH
from ptycho_engine.metrics.scores import EvaluationResult, compared_phases

__all__ = [
    "save_amplitude_png",
    "save_comparison_figure",
    "save_frc_figure",
    "save_object_figure",
    "save_phase_png",
]

_AMPLITUDE_CMAP = "gray"
_WRAPPED_PHASE_CMAP = "twilight"  # cyclic: -π and π, the same phase, get the same colour
_PHASE_CMAP = "viridis"  # for phases unwrapped around their mean (comparison figure)
_DIFFERENCE_CMAP = "RdBu_r"  # diverging: the sign of an error is visible, zero is white


def _new_figure(figsize: tuple[float, float], dpi: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=figsize, dpi=dpi, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _save(figure, path: str | os.PathLike) -> None:
    """Write ``figure`` as a PNG at ``path`` atomically (``ptycho_engine.atomic``)."""
    from ptycho_engine.atomic import atomic_output

    with atomic_output(path, overwrite=True) as temporary:
        figure.savefig(temporary, format="png", dpi=figure.dpi)


def _panel(figure, axes, image, *, title, cmap, vmin=None, vmax=None, extent=None, label=""):
    """Draw a (h, w) real image with a colour bar on ``axes``, axis labels in pixels."""
    shown = axes.imshow(image, cmap=cmap, vmin=vmin, vmax=vmax, extent=extent, origin="upper")
    axes.set_title(title)
    axes.set_xlabel("x (px)")
    axes.set_ylabel("y (px)")
    figure.colorbar(shown, ax=axes, label=label)


def _as_2d_complex(obj) -> np.ndarray:
    array = np.asarray(obj)
    if array.ndim != 2:
        raise ValueError(f"expected a 2-D (H, W) object, got shape {array.shape}")
    return array


def save_object_figure(
    path: str | os.PathLike,
    obj: np.ndarray,
    *,
    title: str,
    phase_vmin: float | None = None,
    phase_vmax: float | None = None,
    dpi: float = 100,
) -> None:
    """Save amplitude and phase of ``obj`` side by side with colour bars (10 × 4 in).

    Parameters
    ----------
    path : path-like
        Target PNG file; its directory must exist.
    obj : ndarray of shape (H, W)
        Complex object.
    title : str
        Figure title.
    phase_vmin, phase_vmax : float, optional
        Phase colour limits in radians; the data range by default.
    dpi : float
        Pixels per inch of the PNG.
    """
    obj = _as_2d_complex(obj)
    figure = _new_figure((10, 4), dpi)
    left, right = figure.subplots(1, 2)
    _panel(figure, left, np.abs(obj), title="amplitude", cmap=_AMPLITUDE_CMAP)
    phase = np.angle(obj)
    limits = {"vmin": phase_vmin, "vmax": phase_vmax}
    _panel(figure, right, phase, title="phase", cmap=_WRAPPED_PHASE_CMAP, label="rad", **limits)
    figure.suptitle(title)
    _save(figure, path)


def save_amplitude_png(
    path: str | os.PathLike,
    obj: np.ndarray,
    *,
    title: str = "amplitude",
    vmin: float | None = None,
    vmax: float | None = None,
    dpi: float = 100,
) -> None:
    """Save the amplitude of ``obj`` (H, W) as one panel with a colour bar (5 × 4 in)."""
    obj = _as_2d_complex(obj)
    figure = _new_figure((5, 4), dpi)
    axes = figure.subplots()
    _panel(figure, axes, np.abs(obj), title=title, cmap=_AMPLITUDE_CMAP, vmin=vmin, vmax=vmax)
    _save(figure, path)


def save_phase_png(
    path: str | os.PathLike,
    obj: np.ndarray,
    phase_vmin: float | None = None,
    phase_vmax: float | None = None,
    *,
    title: str = "phase",
    dpi: float = 100,
) -> None:
    """Save the phase of ``obj`` (H, W) in radians as one panel with a colour bar (5 × 4 in)."""
    obj = _as_2d_complex(obj)
    figure = _new_figure((5, 4), dpi)
    axes, limits = figure.subplots(), {"vmin": phase_vmin, "vmax": phase_vmax, "label": "rad"}
    _panel(figure, axes, np.angle(obj), title=title, cmap=_WRAPPED_PHASE_CMAP, **limits)
    _save(figure, path)


def save_comparison_figure(
    path: str | os.PathLike, result: EvaluationResult, *, dpi: float = 100
) -> None:
    """Save the aligned reconstruction, the truth and their difference (2 × 3 grid, 14 × 8 in).

    Row 1 is amplitude, row 2 phase. Phases are shown as the phase scores compare them
    (:func:`~ptycho_engine.metrics.scores.compared_phases`): the truth phase within ±π of its
    circular mean, and the reconstruction as the truth plus the wrapped difference.
    """
    recon, truth = result.aligned_reconstruction, result.aligned_truth
    x0, y0, x1, y1 = result.region
    extent = (x0 - 0.5, x1 - 0.5, y1 - 0.5, y0 - 0.5)  # truth-frame pixel centres
    truth_phase, recon_phase = compared_phases(recon, truth)
    rows = [
        ("amplitude", np.abs(recon), np.abs(truth), _AMPLITUDE_CMAP, "", result.amplitude),
        ("phase", recon_phase, truth_phase, _PHASE_CMAP, "rad", result.phase),
    ]
    figure = _new_figure((14, 8), dpi)
    grid = figure.subplots(2, 3)
    for axes_row, (name, shown, reference, cmap, unit, scores) in zip(grid, rows, strict=True):
        low, high = min(shown.min(), reference.min()), max(shown.max(), reference.max())
        difference = shown - reference
        bound = float(np.abs(difference).max()) or 1.0
        common = {"extent": extent, "label": unit}
        difference_title = f"difference (SSIM {scores.ssim:.3f}, MAE {scores.mae:.3g})"
        panels = [
            (shown, f"reconstruction {name}", cmap, low, high),
            (reference, f"truth {name}", cmap, low, high),
            (difference, difference_title, _DIFFERENCE_CMAP, -bound, bound),
        ]
        for axes, (image, title, colours, vmin, vmax) in zip(axes_row, panels, strict=True):
            _panel(figure, axes, image, title=title, cmap=colours, vmin=vmin, vmax=vmax, **common)
    figure.suptitle(f"scanned region x {x0}..{x1 - 1}, y {y0}..{y1 - 1} (truth pixels)")
    _save(figure, path)


def save_frc_figure(path: str | os.PathLike, result: EvaluationResult, *, dpi: float = 100) -> None:
    """Save the FRC curve with the 1/7 line, the half-bit curve and their crossings (7 × 5 in)."""
    figure = _new_figure((7, 5), dpi)
    axes = figure.subplots()
    frequencies = result.frc_frequencies
    axes.plot(frequencies, result.frc_correlation, color="black", label="FRC")
    axes.axhline(ONE_SEVENTH, color="tab:blue", linestyle="--", label="1/7")
    half_bit = result.frc_half_bit_threshold
    axes.plot(frequencies, half_bit, color="C1", linestyle=":", label="half-bit")
    crossings = [("1/7", result.frc_1_7, "tab:blue"), ("half-bit", result.frc_half_bit, "C1")]
    for name, crossing, colour in crossings:
        if crossing.crossed:
            label = f"{name}: {crossing.resolution_px:.2f} px"
            axes.axvline(crossing.frequency, color=colour, alpha=0.6, label=label)
        else:
            # An empty plot puts the "not crossed" note in the legend without drawing anything.
            label = f"{name}: not crossed (≤ {crossing.resolution_px:.2f} px)"
            axes.plot([], [], " ", label=label)
    axes.set_xlim(0, frequencies[-1])
    axes.set_ylim(-0.2, 1.05)
    axes.set_xlabel("spatial frequency (cycles/pixel)")
    axes.set_ylabel("Fourier ring correlation")
    axes.set_title("FRC of the aligned complex images")
    axes.legend(loc="upper right")
    _save(figure, path)
