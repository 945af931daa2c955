"""The loss-curve figure of a training run (PNG, written atomically)."""

from __future__ import annotations

from pathlib import Path

from ptycho_engine.atomic import atomic_output


def save_loss_curve(path: Path, history: dict[str, list[float]]) -> Path | None:
    """Plot ``train_loss`` (and ``val_loss``) against the epoch; None when nothing was logged."""
    series = {name: values for name, values in history.items()
              if name in ("train_loss", "val_loss") and values}
    if not series:
        return None
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6, 4), dpi=100)
    axes = figure.add_subplot()
    for name, values in series.items():
        axes.plot(range(1, len(values) + 1), values, marker="o", markersize=3, label=name)
    axes.set_xlabel("epoch")
    axes.set_ylabel("loss (Poisson NLL, mean per pixel)")
    axes.set_title("training loss")
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path, overwrite=True) as temporary:
        figure.savefig(temporary, format="png")
    return path
