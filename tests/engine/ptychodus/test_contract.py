"""The contract Ptychodus relies on: ``LoadedBundle.diffraction_to_obj(x, positions)``.

Amplitudes x (B, C, N, N) float32 and positions relative to each group centre (B, C, 1, 2) give
complex64 object patches (B, C, N, N), each group independent of the others in its batch, and
the same patches ``reconstruct`` stitches.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ptycho_engine.data.dataset import group_scan
from ptycho_engine.inference import reconstruct
from ptycho_engine.physics.canvas import Stitcher, canvas_frame
from ptycho_engine.physics.probe import probe_weight
from ptycho_engine.pinn import load_bundle
from ptycho_settings import PyTorchExecutionConfig
from tests.engine.ptychodus import N, small_scan, untrained_bundle

SEED = 5


@pytest.fixture(scope="module")
def scan():
    return small_scan(n_positions=12, seed=1)


@pytest.fixture(scope="module", params=[1, 2], ids=["gridsize1", "gridsize2"])
def setup(request, scan, tmp_path_factory):
    gridsize = request.param
    bundle = load_bundle(
        untrained_bundle(tmp_path_factory.mktemp("contract") / "model", scan, gridsize=gridsize)
    )
    # grouped as reconstruct() groups by default: the fewest groups holding every position
    groups = group_scan(
        scan, gridsize=gridsize, neighbor_count=4, n_groups=None, seed=SEED, cover=True
    )
    return gridsize, bundle, groups


def _inputs(groups, first: int, last: int):
    x = groups.diffraction[first:last]  # (B, C, N, N) float32
    positions = groups.offsets[first:last, :, None, :]  # (B, C, 1, 2)
    return x, positions


def test_shapes_and_dtypes(setup):
    gridsize, bundle, groups = setup
    x, positions = _inputs(groups, 0, 3)
    assert x.dtype == torch.float32 and x.shape == (3, gridsize**2, N, N)
    assert positions.shape == (3, gridsize**2, 1, 2)
    patches = bundle.diffraction_to_obj(x, positions)
    assert patches.shape == (3, gridsize**2, N, N) and patches.dtype == torch.complex64
    assert torch.isfinite(torch.view_as_real(patches)).all()
    assert not patches.requires_grad


def test_float64_inputs_are_accepted(setup):
    _, bundle, groups = setup
    x, positions = _inputs(groups, 0, 2)
    expected = bundle.diffraction_to_obj(x, positions)
    torch.testing.assert_close(bundle.diffraction_to_obj(x.double(), positions.double()), expected)


def test_each_group_is_independent_of_its_batch(setup):
    _, bundle, groups = setup
    x, positions = _inputs(groups, 0, 4)
    together = bundle.diffraction_to_obj(x, positions)
    for i in range(4):
        alone = bundle.diffraction_to_obj(x[i : i + 1], positions[i : i + 1])
        torch.testing.assert_close(alone[0], together[i], rtol=1e-5, atol=1e-6)
    reordered = bundle.diffraction_to_obj(x.flip(0), positions.flip(0))
    torch.testing.assert_close(reordered.flip(0), together, rtol=1e-5, atol=1e-6)


def test_stitching_its_patches_gives_what_reconstruct_gives(setup, scan):
    _, bundle, groups = setup
    execution = PyTorchExecutionConfig.from_values(
        {"accelerator": "cpu", "inference_batch_size": 7}
    )
    expected = reconstruct(bundle, scan, execution, neighbor_count=4, seed=SEED)
    origin, shape = canvas_frame(groups.positions, N)
    stitcher = Stitcher(shape, origin, probe_weight(bundle.module.probe.detach()))
    x, positions = _inputs(groups, 0, groups.n_groups)
    stitcher.add(bundle.diffraction_to_obj(x, positions), torch.from_numpy(groups.positions))
    obj, _ = stitcher.result()
    assert expected.origin == origin and expected.n_groups == groups.n_groups
    np.testing.assert_allclose(obj.numpy(), expected.object, rtol=1e-4, atol=1e-5)


def test_without_positions_the_patches_are_the_network_output(setup):
    gridsize, bundle, groups = setup
    x, positions = _inputs(groups, 0, 2)
    raw = bundle.diffraction_to_obj(x)
    torch.testing.assert_close(raw, bundle.module(x).to(torch.complex64))
    if gridsize == 1:  # a single channel has nothing to tie
        torch.testing.assert_close(raw, bundle.diffraction_to_obj(x, positions))
