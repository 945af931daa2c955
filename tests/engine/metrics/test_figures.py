"""PNG figures: readable, of the documented size, written atomically, without pyplot."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from PIL import Image

from ptycho_engine.metrics import figures
from ptycho_engine.metrics.scores import evaluate_reconstruction
from tests.engine.metrics import POSITIONS, TRUTH

DPI = 40


@pytest.fixture(scope="module")
def result():
    rng = np.random.default_rng(0)
    noise = rng.standard_normal(TRUTH.shape) + 1j * rng.standard_normal(TRUTH.shape)
    return evaluate(TRUTH + 0.05 * noise)


def evaluate(recon):
    return evaluate_reconstruction(
        recon, TRUTH, origin=(0, 0), positions_xy=POSITIONS, patch_size=16
    )


def read_back(path):
    """Return the PNG's (width, height) after decoding every pixel (a truncated file fails)."""
    with Image.open(path) as image:
        image.load()
        return image.size


@pytest.mark.parametrize(
    ("save", "size_in"),
    [
        (lambda p, r: figures.save_object_figure(p, TRUTH, title="object", dpi=DPI), (10, 4)),
        (
            lambda p, r: figures.save_object_figure(
                p, TRUTH, title="object", phase_vmin=-np.pi, phase_vmax=np.pi, dpi=DPI
            ),
            (10, 4),
        ),
        (lambda p, r: figures.save_amplitude_png(p, TRUTH, dpi=DPI), (5, 4)),
        (lambda p, r: figures.save_phase_png(p, TRUTH, -np.pi, np.pi, dpi=DPI), (5, 4)),
        (lambda p, r: figures.save_comparison_figure(p, r, dpi=DPI), (14, 8)),
        (lambda p, r: figures.save_frc_figure(p, r, dpi=DPI), (7, 5)),
    ],
    ids=["object", "object-phase-limits", "amplitude", "phase", "comparison", "frc"],
)
def test_figures_write_readable_pngs_of_the_documented_size(tmp_path, result, save, size_in):
    path = tmp_path / "figure.png"
    save(path, result)
    assert path.stat().st_size > 1000
    assert read_back(path) == (size_in[0] * DPI, size_in[1] * DPI)
    assert [p.name for p in tmp_path.iterdir()] == ["figure.png"]  # no temporary file left


def test_frc_figure_handles_uncrossed_curves(tmp_path):
    perfect = evaluate(TRUTH)
    assert not perfect.frc_half_bit.crossed
    figures.save_frc_figure(tmp_path / "frc.png", perfect, dpi=DPI)
    assert read_back(tmp_path / "frc.png") == (7 * DPI, 5 * DPI)


def test_existing_file_is_replaced_whole(tmp_path):
    path = tmp_path / "amplitude.png"
    path.write_bytes(b"old")
    figures.save_amplitude_png(path, TRUTH, dpi=DPI)
    assert read_back(path) == (5 * DPI, 4 * DPI)


def test_failed_save_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    from matplotlib.figure import Figure

    path = tmp_path / "phase.png"
    path.write_bytes(b"old")

    def broken_savefig(self, *args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(Figure, "savefig", broken_savefig)
    with pytest.raises(RuntimeError, match="disk full"):
        figures.save_phase_png(path, TRUTH)
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["phase.png"]


def test_figures_do_not_touch_pyplot(tmp_path):
    figures.save_object_figure(tmp_path / "o.png", TRUTH, title="object", dpi=DPI)
    pyplot = sys.modules.get("matplotlib.pyplot")
    assert pyplot is None or not pyplot.get_fignums()


def test_non_2d_object_is_rejected(tmp_path):
    with pytest.raises(ValueError, match="2-D"):
        figures.save_amplitude_png(tmp_path / "a.png", TRUTH[0])


def test_display_removes_the_phase_offset_and_uses_the_scanned_range():
    from ptycho_engine.metrics.figures import display_panels

    rng = np.random.default_rng(0)
    phase = 0.2 * rng.standard_normal((40, 40))
    obj = (0.5 + 0.1 * rng.random((40, 40))) * np.exp(1j * (phase + 2.5))  # offset 2.5 rad
    weights = np.zeros((40, 40))
    weights[5:35, 5:35] = 1.0
    obj[:5] = 10.0 * np.exp(-3j)  # unscanned border: a bright, wrongly phased frame
    amplitude, shown = display_panels(obj, weights)
    scanned = weights > 0
    # the phase is shown around zero, on its own spread, not on ±π; the border does not count
    assert abs(np.median(shown.image[scanned])) < 0.05
    assert 0.3 < shown.vmax < 0.8 and -0.8 < shown.vmin < -0.3
    assert amplitude.vmax < 1.0  # the bright unscanned border does not set the scale
    # explicit limits show the wrapped phase on them, as before
    _, fixed = display_panels(obj, weights, phase_vmin=-1.0, phase_vmax=1.0)
    assert (fixed.vmin, fixed.vmax) == (-1.0, 1.0)
    np.testing.assert_allclose(fixed.image, np.angle(obj))


def test_coverage_counts_the_patches_over_each_pixel():
    from ptycho_engine.metrics.figures import coverage_counts

    counts = coverage_counts((20, 30), (0.0, 0.0), np.array([[10.0, 10.0], [14.0, 10.0]]), 8)
    assert counts[10, 7] == 1 and counts[10, 11] == 2 and counts[10, 17] == 1
    assert counts[10, 19] == 0 and counts[0, 0] == 0 and counts.sum() == 2 * 8 * 8
