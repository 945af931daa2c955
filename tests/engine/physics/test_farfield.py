"""Far field and predicted diffraction amplitude against numpy."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import ndimage

from ptycho_engine.physics.farfield import (
    diffraction_amplitude,
    diffraction_intensity,
    far_field,
    smoothing_transfer,
)


def _random_field(*shape, seed=0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, dtype=torch.complex128, generator=gen)


def test_far_field_matches_numpy_centred_ortho_fft():
    field = _random_field(3, 16, 16)
    expected = np.fft.fftshift(np.fft.fft2(field.numpy(), norm="ortho"), axes=(-2, -1))
    np.testing.assert_allclose(far_field(field).numpy(), expected, rtol=1e-12, atol=1e-12)


def test_far_field_preserves_energy():
    field = _random_field(2, 3, 32, 32)
    energy_in = field.abs().square().sum(dim=(-2, -1))
    energy_out = far_field(field).abs().square().sum(dim=(-2, -1))
    torch.testing.assert_close(energy_out, energy_in)


# even N folds the fftshift into the probe, odd N cannot; one mode skips the mode sum
@pytest.mark.parametrize("n,modes", [(16, 2), (16, 1), (15, 2)])
def test_intensity_is_the_incoherent_sum_over_modes(n, modes):
    patches = _random_field(2, 3, n, n, seed=1)
    probe = _random_field(modes, n, n, seed=5)
    intensity = diffraction_intensity(patches, probe).numpy()
    exit_waves = patches.numpy()[:, :, None] * probe.numpy()  # (B, C, P, N, N)
    spectra = np.fft.fftshift(np.fft.fft2(exit_waves, norm="ortho"), axes=(-2, -1))
    np.testing.assert_allclose(intensity, (np.abs(spectra) ** 2).sum(axis=2), rtol=1e-10)


def test_amplitude_is_the_square_root_of_the_intensity(tiny_probe):
    patches = _random_field(2, 1, 16, 16, seed=2)
    amplitude = diffraction_amplitude(patches, tiny_probe)
    assert amplitude.shape == (2, 1, 16, 16) and not amplitude.is_complex()
    torch.testing.assert_close(amplitude.square(), diffraction_intensity(patches, tiny_probe))


def test_probe_with_the_wrong_size_is_rejected():
    with pytest.raises(ValueError, match=r"\(P, 16, 16\)"):
        diffraction_amplitude(_random_field(1, 1, 16, 16), _random_field(1, 8, 8))


def test_amplitude_gradcheck(tiny_probe):
    patches = _random_field(1, 2, 4, 4, seed=3).requires_grad_()
    probe = tiny_probe[:, 6:10, 6:10].clone()  # two modes
    assert torch.autograd.gradcheck(lambda o: diffraction_amplitude(o, probe), (patches,))


def test_amplitude_gradient_is_finite_for_a_dark_exit_wave(tiny_probe):
    patches = torch.zeros(1, 1, 16, 16, dtype=torch.complex128, requires_grad=True)
    diffraction_amplitude(patches, tiny_probe).sum().backward()
    assert torch.isfinite(torch.view_as_real(patches.grad)).all()


def test_smoothing_equals_a_circular_gaussian_blur_of_the_exit_wave(tiny_probe):
    sigma = 2.0
    patches = _random_field(1, 1, 16, 16, seed=4)
    smoothed = diffraction_intensity(patches, tiny_probe, smoothing_sigma_px=sigma)
    exit_waves = (patches[0, 0] * tiny_probe).numpy()  # (P, N, N)
    blurred = np.stack(
        [
            ndimage.gaussian_filter(w.real, sigma, mode="wrap", truncate=8)
            + 1j * ndimage.gaussian_filter(w.imag, sigma, mode="wrap", truncate=8)
            for w in exit_waves
        ]
    )
    expected = np.abs(np.fft.fftshift(np.fft.fft2(blurred, norm="ortho"), axes=(-2, -1))) ** 2
    np.testing.assert_allclose(
        smoothed[0, 0].numpy(), expected.sum(axis=0), atol=1e-6 * expected.max()
    )


def test_smoothing_transfer_is_one_at_zero_frequency_and_decays():
    transfer = smoothing_transfer(16, 1.5)
    assert transfer[8, 8] == 1 and transfer.max() == 1 and transfer[0, 0] < transfer[8, 4]
