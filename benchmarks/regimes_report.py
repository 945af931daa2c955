"""The regime benchmark's reports: the heat map and the Markdown table of a run's rows.

Used by ``regimes.py`` (run it, or ``regimes.py --replot JSON`` to redraw a saved run).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

METHODS = ("untrained", "network", "solver@net", "net+refine", "solver@refine", "solver")
EQUAL_TIME = (("network", "solver@net"), ("net+refine", "solver@refine"))
"""The pairs compared at the same reconstruction wall time."""
LABELS = {
    "untrained": "untrained\n(estimate)",
    "network": "network\nalone",
    "net+refine": "network\n+ refine",
    "solver@net": "solver,\nnet's time",
    "solver@refine": "solver, net\n+refine time",
    "solver": "solver to\nits stop",
}


def min_ssim(entry: dict) -> float:
    s = entry["scores"]
    return min(s["amplitude"]["ssim"], s["phase"]["ssim"])


def heat_map(rows: list[dict], path: Path, title: str) -> None:
    """Rows the cells, columns the methods, colour min(amplitude, phase) SSIM.

    Columns pair the network with the solver given the same wall time; the winner of each
    pair is printed in bold with a star, the best of the row is framed in red.
    """
    import matplotlib

    matplotlib.use("Agg")  # deferred: matplotlib's import cost
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    values = np.array([[min_ssim(row["methods"][m]) for m in METHODS] for row in rows])
    seconds = np.array([[row["methods"][m]["seconds"] for m in METHODS] for row in rows])
    fig, ax = plt.subplots(figsize=(1.35 * len(METHODS) + 3.2, 0.6 * len(rows) + 2.0))
    low = max(0.0, float(values.min()) - 0.02)
    image = ax.imshow(values, cmap="viridis", vmin=low, vmax=1.0, aspect="auto")
    ax.set_xticks(range(len(METHODS)), [LABELS[m] for m in METHODS], fontsize=9)
    names = [f"{row['name']}\n({row['note']})" for row in rows]
    ax.set_yticks(range(len(rows)), names, fontsize=8.5)
    ax.xaxis.tick_top()
    ax.tick_params(length=0)
    pair_winners = {
        (i, j) for i, row in enumerate(rows) for j, m in enumerate(METHODS) if _wins(row, m)
    }
    middle = (low + 1.0) / 2
    for i, j in np.ndindex(values.shape):
        colour = "black" if values[i, j] > middle else "white"
        bold = (i, j) in pair_winners
        text = f"{values[i, j]:.3f}" + (" *" if bold else "")
        weight = "bold" if bold else "normal"
        ax.text(j, i - 0.12, text, ha="center", va="center", color=colour, weight=weight)
        ax.text(
            j, i + 0.25, f"{seconds[i, j]:.2f} s", ha="center", va="center", color=colour,
            fontsize=7,
        )  # fmt: skip
    for i, j in enumerate(values.argmax(axis=1)):
        ax.add_patch(Rectangle((j - 0.47, i - 0.47), 0.94, 0.94, fill=False, ec="red", lw=2.2))
    for x in (0.5, 2.5, 4.5):  # the estimate | network vs solver | refined vs solver | solver
        ax.axvline(x, color="white", lw=2.5)
    colour_bar = fig.colorbar(image, ax=ax, fraction=0.04, pad=0.02)
    colour_bar.set_label("min(amplitude SSIM, phase SSIM)")
    ax.set_title(title, fontsize=9, pad=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110 if len(rows) <= 12 else 80)  # the full grid: a smaller file
    plt.close(fig)


def markdown(rows: list[dict]) -> str:
    """One Markdown row per cell: amplitude / phase SSIM and seconds of every method."""
    heads = [LABELS[m].replace("\n", " ") for m in METHODS]
    lines = [
        "| cell | " + " | ".join(heads) + " | |",
        "|---" * (len(METHODS) + 2) + "|",
    ]
    for row in rows:
        cells = []
        for method in METHODS:
            entry = row["methods"][method]
            s = entry["scores"]
            text = (
                f"{s['amplitude']['ssim']:.3f} / {s['phase']['ssim']:.3f} ({entry['seconds']:.2f} s"
            )
            if entry.get("iterations") is not None:
                text += f", {entry['iterations']} its"
            text += ")"
            cells.append(f"**{text}**" if _wins(row, method) else text)
        lines.append(f"| {row['name']} | " + " | ".join(cells) + f" | {row['note']} |")
    return "\n".join(lines)


def _wins(row: dict, method: str) -> bool:
    """Whether ``method`` has the higher min SSIM of its equal-time pair."""
    for first, second in EQUAL_TIME:
        if method in (first, second):
            other = second if method == first else first
            mine, theirs = min_ssim(row["methods"][method]), min_ssim(row["methods"][other])
            return mine > theirs or (mine == theirs and method == first)
    return False


def title(record: dict) -> str:
    if record["mode"] == "amortised":
        trained = ", ".join(
            f"{row['name'].rsplit(' scan', 1)[0]} {row['train_s']:.0f} s"
            for row in record["rows"]
            if row["name"].endswith(" scan 1")
        )
        what = f"new objects, trained once on another scan per regime: {trained}, not included"
    else:
        what = "test region of each cell; training not included"
    return (
        f"benchmarks/regimes.py --{record['mode']}, {record['date']}: min(amplitude, phase) "
        f"SSIM, small: reconstruction wall s\n({what}; CPU, {record['cpus']} shared cores)\n"
        "bold *: wins its equal-time pair; red frame: best in row"
    )
