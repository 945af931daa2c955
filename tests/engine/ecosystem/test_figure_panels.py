"""What the figures plot: the panels and curves are the right arrays, and are what is drawn."""

from __future__ import annotations

import numpy as np
import pytest

from ptycho_engine.metrics import figures
from ptycho_engine.metrics.scores import evaluate_reconstruction
from ptycho_engine.training.loss_curve import loss_curve_figure, loss_curve_series, save_loss_curve
from tests.engine.metrics import POSITIONS, REGION, TRUTH, N

# The reconstruction of a perfect solver up to its ambiguities: a global amplitude scale and
# phase offset, which the alignment removes before scoring and plotting.
SCALED = 0.5 * TRUTH * np.exp(1j * 0.7)


def evaluate(recon):
    return evaluate_reconstruction(
        recon, TRUTH, origin=(0, 0), positions_xy=POSITIONS, patch_size=N
    )


def drawn_images(figure) -> list[np.ndarray]:
    """Return the arrays drawn by ``imshow`` on each axes that has an image, in axes order."""
    return [np.asarray(axes.images[0].get_array()) for axes in figure.axes if axes.images]


def test_object_panels_are_amplitude_and_wrapped_phase():
    amplitude, phase = figures.object_panels(SCALED, phase_vmin=-1, phase_vmax=1)
    np.testing.assert_allclose(amplitude.image, 0.5 * np.abs(TRUTH))
    np.testing.assert_allclose(phase.image, np.angle(SCALED))
    assert (phase.vmin, phase.vmax, phase.unit) == (-1, 1, "rad")


def test_object_figure_draws_the_panels():
    drawn = drawn_images(figures.object_figure(SCALED, title="object", dpi=20))
    expected = [panel.image for panel in figures.object_panels(SCALED)]
    assert len(drawn) == 2
    for image, panel in zip(drawn, expected, strict=True):
        np.testing.assert_allclose(image, panel)


def test_comparison_shows_the_aligned_crops_and_a_zero_difference_for_a_perfect_recon():
    rows = figures.comparison_panels(evaluate(SCALED))
    x0, y0, x1, y1 = REGION
    truth_crop = TRUTH[y0:y1, x0:x1]
    (recon_amp, truth_amp, diff_amp), (recon_phase, truth_phase, diff_phase) = rows
    np.testing.assert_allclose(truth_amp.image, np.abs(truth_crop))
    np.testing.assert_allclose(recon_amp.image, np.abs(truth_crop), atol=1e-6)  # scale removed
    np.testing.assert_allclose(recon_phase.image, truth_phase.image, atol=1e-6)  # offset removed
    assert np.abs(diff_amp.image).max() < 1e-6 and np.abs(diff_phase.image).max() < 1e-6
    assert recon_amp.extent == (x0 - 0.5, x1 - 0.5, y1 - 0.5, y0 - 0.5)


def test_comparison_difference_is_reconstruction_minus_truth_with_shared_limits():
    bump = np.zeros(TRUTH.shape)
    bump[38, 45] = 0.2  # one brighter pixel inside the scanned region
    rows = figures.comparison_panels(evaluate(TRUTH * (1 + bump)))
    recon, truth, difference = rows[0]
    np.testing.assert_allclose(difference.image, recon.image - truth.image)
    row, col = np.unravel_index(np.argmax(difference.image), difference.image.shape)
    assert (row + REGION[1], col + REGION[0]) == (38, 45)  # the error is where it was put
    assert (recon.vmin, recon.vmax) == (truth.vmin, truth.vmax)
    assert difference.vmin == -difference.vmax == -np.abs(difference.image).max()


def test_comparison_figure_draws_six_panels_in_order():
    result = evaluate(SCALED)
    drawn = drawn_images(figures.comparison_figure(result, dpi=20))
    expected = [panel.image for row in figures.comparison_panels(result) for panel in row]
    assert len(drawn) == 6
    for image, panel in zip(drawn, expected, strict=True):
        np.testing.assert_allclose(image, panel)


def test_frc_curves_are_the_result_curves_and_thresholds():
    result = evaluate(TRUTH + 0.1 * np.random.default_rng(0).standard_normal(TRUTH.shape))
    curves = figures.frc_curves(result)
    frequencies, frc = curves["FRC"]
    np.testing.assert_array_equal(frc, result.frc_correlation)
    np.testing.assert_array_equal(curves["half-bit"][1], result.frc_half_bit_threshold)
    assert np.all(curves["1/7"][1] == pytest.approx(1 / 7))
    assert frequencies[0] >= 0 and frequencies[-1] <= 0.5
    axes = figures.frc_figure(result).axes[0]
    plotted = {line.get_label(): line.get_ydata() for line in axes.lines}
    np.testing.assert_array_equal(plotted["FRC"], result.frc_correlation)


def test_loss_series_counts_epochs_from_one_and_skips_unlogged_names():
    series = loss_curve_series({"train_loss": [3.0, 2.0, 1.5], "val_loss": [], "train_mae": [1.0]})
    assert list(series) == ["train_loss"]
    epochs, values = series["train_loss"]
    assert epochs.tolist() == [1, 2, 3] and values.tolist() == [3.0, 2.0, 1.5]


def test_loss_figure_plots_train_and_validation(tmp_path):
    history = {"train_loss": [3.0, 2.0], "val_loss": [3.5, 2.5]}
    axes = loss_curve_figure(history).axes[0]
    lines = {line.get_label(): line.get_ydata() for line in axes.lines}
    assert lines["train_loss"].tolist() == [3.0, 2.0] and lines["val_loss"].tolist() == [3.5, 2.5]
    assert save_loss_curve(tmp_path / "curve.png", history).stat().st_size > 1000


def test_no_loss_curve_without_a_logged_loss(tmp_path):
    assert save_loss_curve(tmp_path / "curve.png", {}) is None
    assert not (tmp_path / "curve.png").exists()
