"""PNG figures of complex objects, of a reconstruction against the truth, and of its FRC.

Each figure is built in two steps: a pure function returns what will be drawn (the
:class:`Panel` images of :func:`object_panels` and :func:`comparison_panels`, the curves of
:func:`frc_curves`), so tests can check the plotted arrays, then a ``*_figure`` function
draws them and a ``save_*`` function writes the PNG.

Figures are drawn on ``matplotlib.figure.Figure`` with the Agg canvas, never through pyplot,
so no display or global backend is involved and figures are freed when they go out of scope.
matplotlib is imported inside the functions: importing ``ptycho_engine.metrics`` stays cheap.
Each file is written atomically (``ptycho_engine.atomic``), so a reader never sees a
half-written image and a failure leaves no temporary file. A figure of ``figsize`` inches
saved at ``dpi`` is exactly ``figsize * dpi`` pixels (no tight bounding box). Axes are in
object pixels (x the column, y the row, see ``ptycho_engine.conventions``); comparison panels
show truth-frame pixels.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from ptycho_engine.atomic import atomic_output
from ptycho_engine.metrics.frc import ONE_SEVENTH
from ptycho_engine.metrics.scores import EvaluationResult, compared_phases

__all__ = [
    "Panel",
    "comparison_figure",
    "comparison_panels",
    "coverage_counts",
    "display_panels",
    "frc_curves",
    "frc_figure",
    "object_figure",
    "object_panels",
    "save_amplitude_png",
    "save_comparison_figure",
    "save_coverage_png",
    "save_frc_figure",
    "save_object_figure",
    "save_phase_png",
]

_AMPLITUDE_CMAP = "gray"
_WRAPPED_PHASE_CMAP = "twilight"  # cyclic: -π and π, the same phase, get the same colour
_PHASE_CMAP = "viridis"  # for phases unwrapped around their mean (comparison figure)
_DIFFERENCE_CMAP = "RdBu_r"  # diverging: the sign of an error is visible, zero is white


@dataclass(frozen=True, eq=False)
class Panel:
    """One image of a figure and how it is drawn.

    ``image`` is a real (h, w) array; ``vmin``/``vmax`` are the colour limits (None: the data
    range); ``unit`` labels the colour bar; ``extent`` is matplotlib's
    ``(left, right, bottom, top)`` in pixels, None for the image's own pixel indices.
    """

    image: np.ndarray
    title: str
    cmap: str
    vmin: float | None = None
    vmax: float | None = None
    unit: str = ""
    extent: tuple[float, float, float, float] | None = None


def _new_figure(figsize: tuple[float, float], dpi: float):
    # matplotlib only when a figure is drawn
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=figsize, dpi=dpi, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _save(figure, path: str | os.PathLike) -> None:
    """Write ``figure`` as a PNG at ``path`` atomically (``ptycho_engine.atomic``)."""
    with atomic_output(path, overwrite=True) as temporary:
        figure.savefig(temporary, format="png", dpi=figure.dpi)


def _draw(figure, rows: list[list[Panel]]) -> None:
    """Draw a grid of panels, each with a colour bar and axis labels in pixels."""
    grid = figure.subplots(len(rows), len(rows[0]), squeeze=False)
    for axes_row, panel_row in zip(grid, rows, strict=True):
        for axes, panel in zip(axes_row, panel_row, strict=True):
            shown = axes.imshow(
                panel.image,
                cmap=panel.cmap,
                vmin=panel.vmin,
                vmax=panel.vmax,
                extent=panel.extent,
                origin="upper",
            )
            axes.set_title(panel.title)
            axes.set_xlabel("x (px)")
            axes.set_ylabel("y (px)")
            figure.colorbar(shown, ax=axes, label=panel.unit)


def _as_2d_complex(obj) -> np.ndarray:
    array = np.asarray(obj)
    if array.ndim != 2:
        raise ValueError(f"expected a 2-D (H, W) object, got shape {array.shape}")
    return array


def object_panels(
    obj: np.ndarray, *, phase_vmin: float | None = None, phase_vmax: float | None = None
) -> list[Panel]:
    """Return the amplitude and the wrapped phase (rad) panels of a complex (H, W) object."""
    obj = _as_2d_complex(obj)
    return [
        Panel(np.abs(obj), "amplitude", _AMPLITUDE_CMAP),
        Panel(np.angle(obj), "phase", _WRAPPED_PHASE_CMAP, phase_vmin, phase_vmax, "rad"),
    ]


DISPLAY_PERCENTILES = (1.0, 99.0)
"""Colour limits of the reconstruction figures: these percentiles of the scanned region, so a
few extreme pixels (edges the data barely constrain) do not wash out the structure."""
SCANNED_WEIGHT_FLOOR = 0.05
"""Pixels whose summed weight is at least this fraction of the maximum count as scanned."""


def display_panels(
    obj: np.ndarray,
    weights: np.ndarray | None = None,
    *,
    phase_vmin: float | None = None,
    phase_vmax: float | None = None,
) -> list[Panel]:
    """Return the amplitude and phase panels of a reconstruction, drawn for reading.

    Both colour scales span the :data:`DISPLAY_PERCENTILES` of the scanned region (pixels
    with ``weights`` of at least :data:`SCANNED_WEIGHT_FLOOR` of the maximum; the whole image
    without weights). The phase is shown after removing its global offset (the circular mean
    over the scanned region, weighted by the amplitude), so on real data without ground truth
    its structure is visible at a glance instead of being lost on a ±π scale. With
    ``phase_vmin``/``phase_vmax`` the wrapped phase is shown on those limits instead.
    """
    obj = _as_2d_complex(obj)
    amplitude = np.abs(obj)
    scanned = np.ones(obj.shape, bool) if weights is None else _scanned(np.asarray(weights))
    if not scanned.any():
        scanned = np.ones(obj.shape, bool)
    low, high = (float(v) for v in np.percentile(amplitude[scanned], DISPLAY_PERCENTILES))
    amplitude_panel = Panel(
        amplitude, "amplitude", _AMPLITUDE_CMAP, low, high if high > low else None
    )
    if phase_vmin is not None or phase_vmax is not None:
        phase = object_panels(obj, phase_vmin=phase_vmin, phase_vmax=phase_vmax)[1]
        return [amplitude_panel, phase]
    offset = np.angle(np.sum(obj[scanned]))  # amplitude-weighted circular mean
    phase = np.angle(obj * np.exp(-1j * offset))  # within ±π of the offset
    low, high = (float(v) for v in np.percentile(phase[scanned], DISPLAY_PERCENTILES))
    title = f"phase − {offset:+.2f} rad offset"
    return [
        amplitude_panel,
        Panel(phase, title, _PHASE_CMAP, low, high if high > low else None, "rad"),
    ]


def _scanned(weights: np.ndarray) -> np.ndarray:
    peak = float(weights.max()) if weights.size else 0.0
    return weights >= SCANNED_WEIGHT_FLOOR * peak if peak > 0 else np.ones(weights.shape, bool)


def coverage_counts(
    shape: tuple[int, int], origin: tuple[float, float], positions_xy: np.ndarray, n: int
) -> np.ndarray:
    """How many patterns' N × N patches cover each canvas pixel, int (H, W).

    ``origin`` is the input-frame ``(x, y)`` of canvas pixel [0, 0] (as in a ``Reconstruction``);
    a position is a patch centre (``ptycho_engine.conventions``). Counted with a summed-area
    table, so a scan of any length costs one pass.
    """
    height, width = shape
    corners = np.zeros((height + 1, width + 1), np.int64)
    xy = np.asarray(positions_xy, np.float64).reshape(-1, 2) - np.asarray(origin, np.float64)
    left = np.clip(np.round(xy[:, 0]).astype(np.int64) - n // 2, 0, width)
    top = np.clip(np.round(xy[:, 1]).astype(np.int64) - n // 2, 0, height)
    right, bottom = np.clip(left + n, 0, width), np.clip(top + n, 0, height)
    np.add.at(corners, (top, left), 1)
    np.add.at(corners, (top, right), -1)
    np.add.at(corners, (bottom, left), -1)
    np.add.at(corners, (bottom, right), 1)
    return corners.cumsum(axis=0).cumsum(axis=1)[:height, :width]


def save_coverage_png(path: str | os.PathLike, counts: np.ndarray, *, dpi: float = 100) -> None:
    """Save a coverage map (:func:`coverage_counts`) as one panel with a colour bar (5 × 4 in)."""
    figure = _new_figure((5, 4), dpi)
    panel = Panel(np.asarray(counts), "patterns covering each pixel", "magma", 0, None, "patterns")
    _draw(figure, [[panel]])
    _save(figure, path)


def comparison_panels(result: EvaluationResult) -> list[list[Panel]]:
    """Return two rows (amplitude, phase) of [reconstruction, truth, difference] panels.

    The images are the aligned crops the scores were computed on (same alignment: amplitude
    scale, phase offset and ramp, region; see ``ptycho_engine.metrics.align``). Phases are
    shown as the phase scores compare them (:func:`~ptycho_engine.metrics.scores.compared_phases`):
    the truth phase within ±π of its circular mean, and the reconstruction as the truth plus
    the wrapped difference, so the difference panel is the wrapped phase error. Reconstruction
    and truth share colour limits; the difference is symmetric about zero.
    """
    recon, truth = result.aligned_reconstruction, result.aligned_truth
    x0, y0, x1, y1 = result.region
    extent = (x0 - 0.5, x1 - 0.5, y1 - 0.5, y0 - 0.5)  # truth-frame pixel centres
    truth_phase, recon_phase = compared_phases(recon, truth)
    parts = [
        ("amplitude", np.abs(recon), np.abs(truth), _AMPLITUDE_CMAP, "", result.amplitude),
        ("phase", recon_phase, truth_phase, _PHASE_CMAP, "rad", result.phase),
    ]
    rows = []
    for name, shown, reference, cmap, unit, scores in parts:
        low = float(min(shown.min(), reference.min()))
        high = float(max(shown.max(), reference.max()))
        difference = shown - reference
        bound = float(np.abs(difference).max()) or 1.0
        title = f"difference (SSIM {scores.ssim:.3f}, MAE {scores.mae:.3g})"
        rows.append(
            [
                Panel(shown, f"reconstruction {name}", cmap, low, high, unit, extent),
                Panel(reference, f"truth {name}", cmap, low, high, unit, extent),
                Panel(difference, title, _DIFFERENCE_CMAP, -bound, bound, unit, extent),
            ]
        )
    return rows


def frc_curves(result: EvaluationResult) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Return the plotted curves ``{name: (frequency, value)}``: FRC, 1/7 and half-bit.

    Frequencies are in cycles per pixel, from 0 to 0.5 (the Nyquist frequency).
    """
    frequencies = np.asarray(result.frc_frequencies)
    return {
        "FRC": (frequencies, np.asarray(result.frc_correlation)),
        "1/7": (frequencies, np.full_like(frequencies, ONE_SEVENTH, dtype=float)),
        "half-bit": (frequencies, np.asarray(result.frc_half_bit_threshold)),
    }


def object_figure(
    obj: np.ndarray,
    *,
    title: str,
    phase_vmin: float | None = None,
    phase_vmax: float | None = None,
    dpi: float = 100,
):
    """Return a figure of amplitude and phase of ``obj`` side by side (10 × 4 in)."""
    figure = _new_figure((10, 4), dpi)
    _draw(figure, [object_panels(obj, phase_vmin=phase_vmin, phase_vmax=phase_vmax)])
    figure.suptitle(title)
    return figure


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
    figure = object_figure(obj, title=title, phase_vmin=phase_vmin, phase_vmax=phase_vmax, dpi=dpi)
    _save(figure, path)


def save_amplitude_png(
    path: str | os.PathLike,
    obj: np.ndarray,
    *,
    title: str = "amplitude",
    vmin: float | None = None,
    vmax: float | None = None,
    weights: np.ndarray | None = None,
    dpi: float = 100,
) -> None:
    """Save the amplitude of ``obj`` (H, W) as one panel with a colour bar (5 × 4 in).

    Without ``vmin``/``vmax`` the colour scale is that of :func:`display_panels` (robust
    percentiles of the region ``weights`` marks as scanned).
    """
    amplitude = display_panels(obj, weights)[0]
    vmin = amplitude.vmin if vmin is None else vmin
    vmax = amplitude.vmax if vmax is None else vmax
    figure = _new_figure((5, 4), dpi)
    _draw(figure, [[Panel(amplitude.image, title, amplitude.cmap, vmin, vmax)]])
    _save(figure, path)


def save_phase_png(
    path: str | os.PathLike,
    obj: np.ndarray,
    phase_vmin: float | None = None,
    phase_vmax: float | None = None,
    *,
    title: str = "phase",
    weights: np.ndarray | None = None,
    dpi: float = 100,
) -> None:
    """Save the phase of ``obj`` (H, W) in radians as one panel with a colour bar (5 × 4 in),
    drawn as :func:`display_panels` draws it (offset removed, robust range; or the wrapped
    phase on ``phase_vmin``/``phase_vmax``).
    """
    phase = display_panels(obj, weights, phase_vmin=phase_vmin, phase_vmax=phase_vmax)[1]
    if phase.title.startswith("phase −"):
        title = f"{title}, {phase.title.removeprefix('phase − ')} removed"
    figure = _new_figure((5, 4), dpi)
    _draw(figure, [[Panel(phase.image, title, phase.cmap, phase.vmin, phase.vmax, phase.unit)]])
    _save(figure, path)


def comparison_figure(result: EvaluationResult, *, dpi: float = 100):
    """Return the 2 × 3 figure of :func:`comparison_panels` (14 × 8 in)."""
    figure = _new_figure((14, 8), dpi)
    _draw(figure, comparison_panels(result))
    x0, y0, x1, y1 = result.region
    figure.suptitle(f"scanned region x {x0}..{x1 - 1}, y {y0}..{y1 - 1} (truth pixels)")
    return figure


def save_comparison_figure(
    path: str | os.PathLike, result: EvaluationResult, *, dpi: float = 100
) -> None:
    """Save the aligned reconstruction, the truth and their difference (2 × 3 grid, 14 × 8 in).

    Row 1 is amplitude, row 2 phase; see :func:`comparison_panels`.
    """
    _save(comparison_figure(result, dpi=dpi), path)


def frc_figure(result: EvaluationResult, *, dpi: float = 100):
    """Return the FRC figure: curve, 1/7 line, half-bit curve and crossings (7 × 5 in)."""
    figure = _new_figure((7, 5), dpi)
    axes = figure.subplots()
    styles = {
        "FRC": {"color": "black"},
        "1/7": {"color": "tab:blue", "linestyle": "--"},
        "half-bit": {"color": "C1", "linestyle": ":"},
    }
    curves = frc_curves(result)
    for name, (frequencies, values) in curves.items():
        axes.plot(frequencies, values, label=name, **styles[name])
    crossings = [("1/7", result.frc_1_7, "tab:blue"), ("half-bit", result.frc_half_bit, "C1")]
    for name, crossing, colour in crossings:
        if crossing.crossed:
            label = f"{name}: {crossing.resolution_px:.2f} px"
            axes.axvline(crossing.frequency, color=colour, alpha=0.6, label=label)
        else:
            # An empty plot puts the "not crossed" note in the legend without drawing anything.
            label = f"{name}: not crossed (≤ {crossing.resolution_px:.2f} px)"
            axes.plot([], [], " ", label=label)
    axes.set_xlim(0, curves["FRC"][0][-1])
    axes.set_ylim(-0.2, 1.05)
    axes.set_xlabel("spatial frequency (cycles/pixel)")
    axes.set_ylabel("Fourier ring correlation")
    axes.set_title("FRC of the aligned complex images")
    axes.legend(loc="upper right")
    return figure


def save_frc_figure(path: str | os.PathLike, result: EvaluationResult, *, dpi: float = 100) -> None:
    """Save the FRC curve with the 1/7 line, the half-bit curve and their crossings (7 × 5 in)."""
    _save(frc_figure(result, dpi=dpi), path)
