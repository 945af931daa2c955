"""Extraction, placement, and the group merge/extract of ``ptycho_engine.physics.shift``."""

from __future__ import annotations

import pytest
import torch

from ptycho_engine.physics.shift import (
    extract_group,
    extract_patches,
    group_canvas_size,
    merge_group,
    place_patches,
)

N = 8


def _bright_object(x: int, y: int, shape=(20, 30)) -> torch.Tensor:
    obj = torch.zeros(shape, dtype=torch.complex128)
    obj[y, x] = 1
    return obj


def _bright_patch(value: complex = 1) -> torch.Tensor:
    patch = torch.zeros(N, N, dtype=torch.complex128)
    patch[N // 2, N // 2] = value
    return patch


# --- single bright pixel (gridsize 1) --------------------------------------------------------


def test_bright_pixel_extracted_at_its_position_lands_on_the_centre():
    patch = extract_patches(_bright_object(10, 7), torch.tensor([10.0, 7.0]), N)
    assert patch[N // 2, N // 2] == 1
    assert patch.abs().sum() == 1


def test_bright_pixel_half_a_pixel_away_splits_between_two_patch_pixels():
    patch = extract_patches(_bright_object(10, 7), torch.tensor([9.5, 7.0]), N)
    # patch column j reads object column 9.5 - N//2 + j: object column 10 sits between j=4 and 5
    assert patch[N // 2, N // 2].real == pytest.approx(0.5)
    assert patch[N // 2, N // 2 + 1].real == pytest.approx(0.5)
    assert patch.abs().sum() == pytest.approx(1)


def test_bright_pixel_a_quarter_pixel_away_in_y_splits_three_to_one():
    patch = extract_patches(_bright_object(10, 7), torch.tensor([10.0, 7.25]), N)
    assert patch[N // 2 - 1, N // 2].real == pytest.approx(0.25)
    assert patch[N // 2, N // 2].real == pytest.approx(0.75)


def test_placing_a_centred_bright_pixel_puts_it_at_canvas_y_x():
    canvas, weight = place_patches(_bright_patch(), torch.tensor([10.0, 7.0]), (20, 30))
    assert canvas[7, 10] == 1
    assert canvas.abs().sum() == 1
    assert weight[7, 10] == 1 and weight.sum() == N * N


def test_placing_half_a_pixel_off_splits_between_two_canvas_pixels():
    canvas, _ = place_patches(_bright_patch(), torch.tensor([10.5, 7.0]), (20, 30))
    assert canvas[7, 10].real == pytest.approx(0.5)
    assert canvas[7, 11].real == pytest.approx(0.5)


def test_shifting_the_object_by_plus_one_in_x_moves_content_to_plus_one_position(tiny_object):
    shifted = torch.roll(tiny_object, shifts=1, dims=1)  # shifted[r, c] = obj[r, c - 1]
    positions = torch.tensor([[12.0, 10.0], [20.3, 15.7], [30.5, 22.25]])
    moved = extract_patches(shifted, positions + torch.tensor([1.0, 0.0]), N)
    torch.testing.assert_close(moved, extract_patches(tiny_object, positions, N))


def test_place_then_extract_at_the_same_integer_position_returns_the_patch():
    patch = torch.randn(N, N, dtype=torch.complex128)
    canvas, _ = place_patches(patch, torch.tensor([12.0, 9.0]), (20, 30))
    torch.testing.assert_close(extract_patches(canvas, torch.tensor([12.0, 9.0]), N), patch)


def test_place_is_the_adjoint_of_extract(tiny_object):
    gen = torch.Generator().manual_seed(5)
    positions = torch.rand(6, 2, generator=gen, dtype=torch.float64) * 50 - 5  # some off-canvas
    patches = torch.randn(6, N, N, dtype=torch.complex128, generator=gen)
    lhs = torch.vdot(extract_patches(tiny_object, positions, N).flatten(), patches.flatten())
    canvas, _ = place_patches(patches, positions, tuple(tiny_object.shape))
    rhs = torch.vdot(tiny_object.flatten(), canvas.flatten())
    torch.testing.assert_close(lhs, rhs)


def test_samples_outside_the_canvas_read_zero(tiny_object):
    patch = extract_patches(tiny_object, torch.tensor([0.0, 0.0]), N)
    assert patch[: N // 2].abs().max() == 0 and patch[:, : N // 2].abs().max() == 0
    torch.testing.assert_close(patch[N // 2 :, N // 2 :], tiny_object[: N // 2, : N // 2])


def test_batched_canvases_pair_with_their_positions(tiny_object):
    canvases = torch.stack([tiny_object, 2 * tiny_object])  # (2, H, W)
    positions = torch.tensor([[[10.0, 8.0], [20.5, 9.0]], [[10.0, 8.0], [20.5, 9.0]]])
    patches = extract_patches(canvases, positions, N)  # (2, 2, N, N)
    assert patches.shape == (2, 2, N, N)
    torch.testing.assert_close(patches[1], 2 * patches[0])
    torch.testing.assert_close(patches[0], extract_patches(tiny_object, positions[0], N))


def test_extract_keeps_dtype_and_device(tiny_object):
    patches = extract_patches(tiny_object.to(torch.complex64), torch.tensor([[9.0, 9.0]]), N)
    assert patches.dtype == torch.complex64 and patches.device == tiny_object.device


def test_positions_without_a_trailing_xy_axis_are_rejected(tiny_object):
    with pytest.raises(ValueError, match="2"):
        extract_patches(tiny_object, torch.zeros(3, 3), N)


# --- groups (gridsize 2) ---------------------------------------------------------------------


def test_canvas_size_covers_the_largest_offset_and_is_even():
    offsets = torch.tensor([[[-2.5, 0.0], [3.2, 1.0], [0.0, -1.0], [0.0, 0.0]]])
    assert group_canvas_size(offsets, N) == N + 2 * 4
    assert group_canvas_size(torch.zeros(1, 4, 2), N) == N


def test_bright_pixel_through_merge_and_extract_for_gridsize_two():
    offsets = torch.tensor([[[-1.0, -1.0], [1.0, -1.0], [-1.0, 1.0], [1.0, 1.0]]])  # (1, 4, 2)
    patches = torch.zeros(1, 4, N, N, dtype=torch.complex128)
    patches[0, 1, N // 2, N // 2] = 1  # channel 1's own centre
    canvas = merge_group(patches, offsets)
    m = canvas.shape[-1]
    bright = (canvas[0].abs() > 0).nonzero().tolist()
    assert bright == [[m // 2 - 1, m // 2 + 1]]  # row = centre + dy, column = centre + dx
    # all four patches cover that pixel and three of them are zero there: the average is 1/4
    assert canvas[0, m // 2 - 1, m // 2 + 1].real == pytest.approx(0.25)
    back = extract_group(canvas, offsets, N)
    assert back[0, 1, N // 2, N // 2].real == pytest.approx(0.25)
    # channel 0 (offset (-1, -1)) sees it 2 columns right of its centre, same row
    assert back[0, 0, N // 2, N // 2 + 2].real == pytest.approx(0.25)
    assert back[0, 3, N // 2 - 2, N // 2].real == pytest.approx(0.25)


def test_merge_then_extract_returns_consistent_patches(tiny_object):
    centre = torch.tensor([20.0, 18.0])
    offsets = torch.tensor([[[-2.0, -3.0], [4.0, -1.0], [-3.0, 2.0], [1.0, 5.0]]])  # integer
    patches = extract_patches(tiny_object, (centre + offsets)[0], N)[None]  # (1, 4, N, N)
    back = extract_group(merge_group(patches, offsets), offsets, N)
    torch.testing.assert_close(back, patches)


def test_merge_then_extract_keeps_a_constant_at_sub_pixel_offsets():
    offsets = torch.tensor(
        [[[-2.3, -1.6], [2.7, -0.4], [-1.1, 2.5], [0.7, -0.5]]], dtype=torch.float64
    )
    patches = torch.full((1, 4, N, N), 0.7 - 0.2j, dtype=torch.complex128)
    back = extract_group(merge_group(patches, offsets), offsets, N)
    torch.testing.assert_close(back, patches)


def test_merge_averages_disagreeing_patches():
    offsets = torch.zeros(1, 2, 2)
    patches = torch.stack([torch.ones(N, N), 3 * torch.ones(N, N)])[None].to(torch.complex64)
    canvas = merge_group(patches, offsets)
    torch.testing.assert_close(canvas, torch.full((1, N, N), 2.0 + 0j))


def test_merge_weight_sets_each_patch_share():
    offsets = torch.zeros(1, 2, 2)
    patches = torch.stack([torch.ones(N, N), 3 * torch.ones(N, N)])[None].to(torch.complex64)
    weight = torch.zeros(N, N)
    weight[2:6, 2:6] = 1  # central mask: only the centre counts, elsewhere the canvas is zero
    canvas = merge_group(patches, offsets, weight=weight)
    assert canvas[0, 2:6, 2:6].real.eq(2).all() and canvas[0, :2].abs().max() == 0


# --- gradients -------------------------------------------------------------------------------


def test_extract_gradcheck():
    gen = torch.Generator().manual_seed(1)
    obj = torch.randn(9, 11, dtype=torch.complex128, generator=gen, requires_grad=True)
    positions = torch.tensor([[4.3, 3.6], [6.0, 5.0], [1.5, 7.8]], dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda o: extract_patches(o, positions, 4), (obj,))


def test_place_gradcheck():
    gen = torch.Generator().manual_seed(2)
    patches = torch.randn(3, 4, 4, dtype=torch.complex128, generator=gen, requires_grad=True)
    positions = torch.tensor([[4.3, 3.6], [6.0, 5.0], [0.5, 7.8]], dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda p: place_patches(p, positions, (9, 11))[0], (patches,))


def test_merge_extract_gradcheck():
    gen = torch.Generator().manual_seed(3)
    patches = torch.randn(2, 4, 4, 4, dtype=torch.complex128, generator=gen, requires_grad=True)
    offsets = torch.rand(2, 4, 2, dtype=torch.float64, generator=gen) * 3 - 1.5
    assert torch.autograd.gradcheck(
        lambda p: extract_group(merge_group(p, offsets), offsets, 4), (patches,)
    )


def test_extract_gradcheck_in_positions():
    gen = torch.Generator().manual_seed(4)
    obj = torch.randn(9, 11, dtype=torch.complex128, generator=gen)
    positions = torch.tensor([[4.3, 3.6], [6.2, 5.1]], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda p: extract_patches(obj, p, 4), (positions,))


def test_object_gradient_is_the_same_with_and_without_position_gradients(tiny_object):
    gen = torch.Generator().manual_seed(6)
    weights = torch.randn(3, N, N, dtype=torch.complex128, generator=gen)
    grads = []
    for positions_need_grad in (False, True):
        obj = tiny_object.clone().requires_grad_()
        positions = torch.tensor(
            [[10.3, 8.6], [20.0, 15.5], [0.5, 30.2]],
            dtype=torch.float64,
            requires_grad=positions_need_grad,
        )
        (extract_patches(obj, positions, N) * weights).real.sum().backward()
        grads.append(obj.grad)
    torch.testing.assert_close(grads[0], grads[1])
