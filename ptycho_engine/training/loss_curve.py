"""The loss-curve figure of a training run (PNG, written atomically).

:func:`loss_curve_series` returns what is plotted (so tests can check it);
:func:`save_loss_curve` draws it with matplotlib's Agg canvas, never through pyplot.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ptycho_engine.atomic import atomic_output

PLOTTED = ("train_loss", "val_loss")


def loss_curve_series(history: dict[str, list[float]]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Return ``{name: (epoch, loss)}`` for ``train_loss`` and ``val_loss`` (epochs from 1).

    Names that were not logged, or logged no value, are left out. Non-finite values are kept
    (matplotlib leaves a gap), so the epoch axis stays the real one.
    """
    series = {}
    for name in PLOTTED:
        values = np.asarray(history.get(name, []), dtype=np.float64)
        if values.size:
            series[name] = (np.arange(1, values.size + 1), values)
    return series


def loss_curve_figure(history: dict[str, list[float]], *, dpi: float = 100):
    """Return the loss-curve figure (6 × 4 in), or None when nothing was logged."""
    series = loss_curve_series(history)
    if not series:
        return None
    # matplotlib only when a curve is drawn
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6, 4), dpi=dpi)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    for name, (epochs, values) in series.items():
        axes.plot(epochs, values, marker="o", markersize=3, label=name)
    axes.set_xlabel("epoch")
    axes.set_ylabel("loss (Poisson NLL, mean per pixel)")
    axes.set_title("training loss")
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    return figure


def save_loss_curve(path: Path, history: dict[str, list[float]]) -> Path | None:
    """Plot ``train_loss`` (and ``val_loss``) against the epoch; None when nothing was logged."""
    figure = loss_curve_figure(history)
    if figure is None:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path, overwrite=True) as temporary:
        figure.savefig(temporary, format="png")
    return path
