"""The composed forward model, and its agreement with the simulator."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ptycho_engine.conventions import group_offsets
from ptycho_engine.physics.farfield import diffraction_amplitude
from ptycho_engine.physics.forward import forward_amplitude, tie_overlaps
from ptycho_engine.physics.losses import poisson_nll
from ptycho_engine.physics.shift import extract_patches


def test_without_offsets_the_forward_model_is_the_diffraction_amplitude(tiny_object, tiny_probe):
    patches = extract_patches(tiny_object, torch.tensor([[[15.0, 12.0]], [[20.0, 25.5]]]), 16)
    torch.testing.assert_close(
        forward_amplitude(patches, tiny_probe), diffraction_amplitude(patches, tiny_probe)
    )


def test_consistent_group_passes_object_big_unchanged(tiny_object, tiny_probe):
    positions = torch.tensor(
        [[[17.0, 15.0], [21.0, 15.0], [17.0, 19.0], [25.0, 19.0]]], dtype=torch.float64
    )  # mean (20, 17): integer offsets
    _, offsets = group_offsets(positions)
    patches = extract_patches(tiny_object, positions, 16)  # (1, 4, N, N), cut from one object
    torch.testing.assert_close(
        forward_amplitude(patches, tiny_probe, offsets=offsets),
        diffraction_amplitude(patches, tiny_probe),
    )


def test_object_big_ties_disagreeing_channels():
    offsets = torch.zeros(1, 2, 2)
    gen = torch.Generator().manual_seed(0)
    patches = torch.randn(1, 2, 8, 8, dtype=torch.complex64, generator=gen)
    tied = tie_overlaps(patches, offsets)
    torch.testing.assert_close(tied[0, 0], tied[0, 1])
    torch.testing.assert_close(tied[0, 0], patches[0].mean(dim=0))


def test_every_channel_receives_a_gradient_through_object_big(tiny_probe):
    offsets = torch.tensor([[[-2.0, -2.0], [2.0, -2.0], [-2.0, 2.0], [2.0, 2.0]]])
    patches = torch.ones(1, 4, 16, 16, dtype=torch.complex128, requires_grad=True)
    forward_amplitude(patches, tiny_probe, offsets=offsets)[:, 0].sum().backward()
    # channel 0's prediction depends on the overlapping parts of every channel
    assert all(patches.grad[0, c].abs().sum() > 0 for c in range(4))


def _perturbations(obj: torch.Tensor) -> dict[str, torch.Tensor]:
    rows, cols = torch.meshgrid(
        torch.arange(obj.shape[0]), torch.arange(obj.shape[1]), indexing="ij"
    )
    return {
        "shifted 3 px in x": torch.roll(obj, 3, dims=1),
        "shifted 2 px in y": torch.roll(obj, 2, dims=0),
        "amplitude x 0.8": obj * 0.8,
        "phase ramp": obj * torch.exp(1j * (0.3 * cols + 0.2 * rows)),
    }


def _dataset_tensors(data):
    obj = torch.from_numpy(data["objectGuess"]).to(torch.complex128)
    probe = torch.from_numpy(data["probeGuess"]).to(torch.complex128)[None]  # (1, N, N)
    xy = torch.from_numpy(np.stack([data["xcoords"], data["ycoords"]], axis=1))  # (M, 2)
    return obj, probe, xy, torch.from_numpy(data["diff3d"]).double()


def test_simulated_data_are_most_likely_under_the_true_object(tiny_dataset):
    obj, probe, xy, measured = _dataset_tensors(tiny_dataset)
    n = measured.shape[-1]

    def nll(candidate):  # the stored probe is in sqrt(count) units, so the photon scale is 1
        patches = extract_patches(candidate, xy[:, None], n)  # (M, 1, N, N)
        return poisson_nll(forward_amplitude(patches, probe), measured[:, None], 1.0).item()

    truth = nll(obj)
    for name, candidate in _perturbations(obj).items():
        assert nll(candidate) > truth, name


def test_gridsize_two_groups_of_simulated_data_prefer_the_true_object(tiny_dataset):
    obj, probe, xy, measured = _dataset_tensors(tiny_dataset)
    n = measured.shape[-1]
    neighbours = torch.cdist(xy, xy).topk(4, largest=False).indices  # (M, 4) self first
    positions = xy[neighbours]  # (M, 4, 2)
    _, offsets = group_offsets(positions)

    def nll(candidate):
        patches = extract_patches(candidate, positions, n)  # (M, 4, N, N)
        predicted = forward_amplitude(patches, probe, offsets=offsets)
        return poisson_nll(predicted, measured[neighbours], 1.0).item()

    truth = nll(obj)
    for name, candidate in _perturbations(obj).items():
        assert nll(candidate) > truth, name


def _two_patch_group(weight):
    """Two constant patches (values 1 and 3) two pixels apart in x, merged with ``weight``."""
    n = 8
    patches = torch.stack([torch.full((n, n), 1.0), torch.full((n, n), 3.0)])[None].to(
        torch.complex64
    )
    offsets = torch.tensor([[[-1.0, 0.0], [1.0, 0.0]]])  # (1, 2, 2): x = ∓1 around the centre
    return tie_overlaps(patches, offsets, merge_weight=weight)  # (1, 2, N, N)


def test_probe_weighting_averages_by_the_illumination_of_each_patch():
    from ptycho_engine.physics.forward import PROBE_WEIGHT_FLOOR, merge_weight

    n = 8
    probe = torch.zeros(1, n, n, dtype=torch.complex64)
    probe[0, :, 4] = 2.0  # one bright column (x = 4) per patch
    weight = merge_weight("probe", probe)
    assert weight.shape == (n, n) and abs(float(weight.max()) - (1 + PROBE_WEIGHT_FLOOR)) < 1e-6
    tied = _two_patch_group(weight)
    # channel 0's column 4 is channel 1's column 2 (two pixels to the left in its frame):
    # weights 1 + f (own bright column) and f (the other's dark column)
    f = PROBE_WEIGHT_FLOOR
    expected = ((1 + f) * 1.0 + f * 3.0) / (1 + 2 * f)
    torch.testing.assert_close(tied[0, 0, :, 4].real, torch.full((n,), expected))
    # uniform weighting gives the plain mean there
    torch.testing.assert_close(
        _two_patch_group(merge_weight("uniform", probe))[0, 0, :, 4].real, torch.full((n,), 2.0)
    )


def test_central_mask_weighting_counts_only_the_patch_centres():
    from ptycho_engine.physics.forward import merge_weight

    mask = merge_weight("central_mask", torch.ones(1, 8, 8, dtype=torch.complex64))
    assert mask.sum() == 16 and torch.all(mask[2:6, 2:6] == 1)
    tied = _two_patch_group(mask)
    # channel 0's column 5 lies in both centres (its 5, the other's 3): the mean; its column 2
    # is the other's column 0, outside that centre: channel 0's own value
    torch.testing.assert_close(tied[0, 0, 3, 5].real, torch.tensor(2.0))
    torch.testing.assert_close(tied[0, 0, 3, 2].real, torch.tensor(1.0))


def test_an_unknown_weighting_is_refused():
    from ptycho_engine.physics.forward import merge_weight

    with pytest.raises(ValueError, match="patch weighting"):
        merge_weight("gaussian", torch.ones(1, 8, 8, dtype=torch.complex64))
