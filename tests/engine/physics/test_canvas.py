"""Stitching: the single-bright-pixel convention, the canvas frame, and weighted averaging."""

import numpy as np
import torch

from ptycho_engine.physics.canvas import Stitcher, canvas_frame
from ptycho_engine.physics.probe import probe_weight

N = 16


def _delta_patch() -> torch.Tensor:
    patch = torch.zeros(N, N, dtype=torch.complex64)
    patch[N // 2, N // 2] = 1.0
    return patch


def test_bright_pixel_lands_at_its_position_in_the_input_frame():
    positions = np.array([[30.0, 21.0], [40.0, 25.0]])  # [x, y]
    origin, shape = canvas_frame(positions, N)
    stitcher = Stitcher(shape, origin, torch.ones(N, N))
    stitcher.add(torch.stack([_delta_patch(), 2 * _delta_patch()]), torch.from_numpy(positions))
    obj, _ = stitcher.result()
    for (x, y), value in zip(positions, (1.0, 2.0), strict=True):
        row, col = int(y - origin[1]), int(x - origin[0])
        assert obj[row, col] == value  # object[y - origin_y, x - origin_x]


def test_canvas_covers_every_patch():
    positions = np.array([[10.5, 50.25], [90.0, 12.0]])
    (x0, y0), (height, width) = canvas_frame(positions, N)
    assert x0 <= 10.5 - N / 2 and y0 <= 12.0 - N / 2
    assert x0 + width >= 90.0 + N / 2 and y0 + height >= 50.25 + N / 2
    assert float(x0).is_integer() and float(y0).is_integer()


def test_overlapping_patches_are_averaged_by_weight():
    positions = torch.tensor([[20.0, 20.0], [20.0, 20.0]])
    origin, shape = canvas_frame(positions.numpy(), N)
    stitcher = Stitcher(shape, origin, torch.ones(N, N))
    ones = torch.ones(N, N, dtype=torch.complex64)
    stitcher.add(torch.stack([ones, 3 * ones]), positions)
    obj, weights = stitcher.result()
    covered = weights > 0
    assert torch.allclose(obj[covered], torch.full_like(obj[covered], 2.0))
    assert float(weights.max()) == 2.0


def test_batches_accumulate_like_one_call():
    rng = np.random.default_rng(0)
    positions = torch.from_numpy(rng.uniform(20, 60, size=(12, 2)))
    patches = torch.from_numpy(rng.normal(size=(12, N, N)) + 1j * rng.normal(size=(12, N, N))).to(
        torch.complex64
    )
    origin, shape = canvas_frame(positions.numpy(), N)
    weight = probe_weight(torch.ones(1, N, N, dtype=torch.complex64))
    whole, batched = Stitcher(shape, origin, weight), Stitcher(shape, origin, weight)
    whole.add(patches, positions)
    for first in range(0, 12, 5):
        batched.add(patches[first : first + 5], positions[first : first + 5])
    assert torch.allclose(whole.result()[0], batched.result()[0], atol=1e-5)


def test_probe_weight_is_normalised_incoherent_intensity():
    modes = torch.zeros(2, N, N, dtype=torch.complex64)
    modes[0, 8, 8], modes[1, 8, 8], modes[1, 0, 0] = 1.0, 1.0, 1.0
    weight = probe_weight(modes)
    assert weight[8, 8] == 1.0 and weight[0, 0] == 0.5


def test_positions_far_from_zero_keep_their_sub_pixel_part():
    # at 1e6 px float32 resolves 0.06 px; the stitcher subtracts the origin in float64 first
    weight = torch.ones(8, 8)
    patch = torch.zeros(1, 8, 8, dtype=torch.complex64)
    patch[0, 4, 4] = 1.0
    near, far = Stitcher((20, 20), (0.0, 0.0), weight), Stitcher((20, 20), (1e6, 1e6), weight)
    near.add(patch, torch.tensor([[10.25, 10.5]], dtype=torch.float64))
    far.add(patch, torch.tensor([[1e6 + 10.25, 1e6 + 10.5]], dtype=torch.float64))
    torch.testing.assert_close(far.values, near.values, atol=1e-6, rtol=0)
    assert near.values.abs().max() < 1.0  # the sub-pixel part was applied (split bilinearly)
