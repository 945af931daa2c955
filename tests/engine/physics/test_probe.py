"""Probe normalisation and the soft disk mask."""

from __future__ import annotations

import math

import pytest
import torch

from ptycho_engine.physics.probe import normalise_probe, soft_disk_mask


def test_normalised_probe_has_mean_amplitude_one_over_probe_scale(tiny_probe):
    probe, q = normalise_probe(tiny_probe[0] * 37.0, probe_scale=4.0)
    assert probe.abs().mean().item() == pytest.approx(0.25)
    torch.testing.assert_close(probe, tiny_probe[0] * 37.0 * q)


def test_the_mean_runs_over_the_whole_grid_with_the_mask_applied(tiny_probe):
    mask = soft_disk_mask(16, diameter_px=6, dtype=torch.float64)
    probe, _ = normalise_probe(tiny_probe[0], probe_scale=10.0, mask=mask)
    assert (mask * probe.abs()).mean().item() == pytest.approx(0.1)


def test_modes_share_one_norm_of_their_total_amplitude(tiny_probe):
    probe, _ = normalise_probe(tiny_probe, probe_scale=4.0)
    total_amplitude = probe.abs().square().sum(dim=0).sqrt()
    assert total_amplitude.mean().item() == pytest.approx(0.25)
    torch.testing.assert_close(probe[1] / probe[0], tiny_probe[1] / tiny_probe[0])


def test_unitary_mixing_of_modes_does_not_change_the_norm(tiny_probe):
    angle = 0.7
    cos, sin = math.cos(angle), math.sin(angle)
    rotation = torch.tensor([[cos, -sin], [sin, cos]], dtype=torch.complex128)
    mixed = torch.einsum("ij,jxy->ixy", rotation, tiny_probe)
    _, q_mixed = normalise_probe(mixed)
    _, q = normalise_probe(tiny_probe)
    torch.testing.assert_close(q_mixed, q)


def test_normalisation_is_idempotent(tiny_probe):
    once, _ = normalise_probe(tiny_probe)
    twice, q = normalise_probe(once)
    torch.testing.assert_close(twice, once)
    assert q.item() == pytest.approx(1.0)


def test_a_zero_probe_is_rejected():
    with pytest.raises(ValueError, match="zero"):
        normalise_probe(torch.zeros(8, 8, dtype=torch.complex64))


def test_soft_disk_mask_is_centred_with_peak_one():
    mask = soft_disk_mask(32)
    assert mask.shape == (32, 32) and mask.max() == 1 and mask[16, 16] == 1
    torch.testing.assert_close(mask[16, 16 + 5], mask[16, 16 - 5])
    torch.testing.assert_close(mask[16 + 5, 16], mask[16, 16 + 5])


def test_soft_disk_mask_has_the_area_of_its_disk():
    mask = soft_disk_mask(64, diameter_px=32, edge_sigma_px=1.0, dtype=torch.float64)
    assert mask.sum().item() == pytest.approx(math.pi * 16**2, rel=0.02)
    assert mask[32, 32 + 16].item() == pytest.approx(0.5, abs=0.01)  # the rim is half way
    assert mask[32, 32 + 21].item() < 1e-4


def test_hard_disk_mask_is_binary():
    mask = soft_disk_mask(16, diameter_px=8, edge_sigma_px=0)
    assert set(mask.unique().tolist()) == {0.0, 1.0}
    assert mask[8, 12] == 1 and mask[8, 13] == 0
