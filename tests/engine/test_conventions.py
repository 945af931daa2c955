"""The documented conventions hold for the functions that implement them."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ptycho_engine import conventions
from ptycho_engine.physics.farfield import far_field
from ptycho_engine.physics.shift import extract_group, extract_patches, merge_group


def test_centre_index_is_n_half():
    assert [conventions.centre_index(n) for n in (4, 16, 17, 64)] == [2, 8, 8, 32]


def test_patch_origin_puts_the_position_on_the_centre_pixel():
    assert conventions.patch_origin(10.0, 16) + conventions.centre_index(16) == 10.0


def test_channels_is_gridsize_squared():
    assert [conventions.channels(g) for g in (1, 2, 3)] == [1, 4, 9]


def test_photon_target_energy():
    assert conventions.photon_target_energy(64) == 32.0**2


def test_documented_patch_formula_at_integer_positions(tiny_object):
    n = 8
    for x, y in [(10, 7), (4, 4), (40, 30), (21, 12)]:
        patch = extract_patches(tiny_object, torch.tensor([float(x), float(y)]), n)
        expected = tiny_object[y - n // 2 : y - n // 2 + n, x - n // 2 : x - n // 2 + n]
        torch.testing.assert_close(patch, expected, rtol=0, atol=0)


@pytest.mark.parametrize("library", ["numpy", "torch"])
def test_group_offsets_are_position_minus_mean(library):
    positions = np.array([[[10.0, 5.0], [14.0, 5.0], [10.0, 9.0], [14.0, 9.0]]])
    if library == "torch":
        positions = torch.from_numpy(positions)
    centres, offsets = conventions.group_offsets(positions)
    np.testing.assert_allclose(np.asarray(centres), [[12.0, 7.0]])
    np.testing.assert_allclose(np.asarray(offsets)[0], [[-2, -2], [2, -2], [-2, 2], [2, 2]])


def test_group_offsets_rejects_a_flat_position_list():
    with pytest.raises(ValueError, match=r"\(B, C, 2\)"):
        conventions.group_offsets(np.zeros((4, 2)))


def test_group_canvas_centre_plus_offset_is_the_patch_centre():
    n = 8
    patches = torch.zeros(1, 2, n, n, dtype=torch.complex64)
    patches[0, 0, n // 2, n // 2] = 1  # each channel marks its own centre
    patches[0, 1, n // 2, n // 2] = 2
    offsets = torch.tensor([[[-3.0, 1.0], [2.0, -2.0]]])
    canvas = merge_group(patches, offsets)
    m = canvas.shape[-1]
    assert canvas[0, m // 2 + 1, m // 2 - 3] == 1
    assert canvas[0, m // 2 - 2, m // 2 + 2] == 2
    torch.testing.assert_close(extract_group(canvas, offsets, n), patches)


def test_far_field_zero_frequency_is_the_centre_pixel():
    n = 16
    flat = torch.ones(n, n, dtype=torch.complex128)
    spectrum = far_field(flat)
    centre = conventions.centre_index(n)
    assert spectrum[centre, centre].real == pytest.approx(n)  # ortho: sum / N
    spectrum[centre, centre] = 0
    assert spectrum.abs().max() < 1e-12
