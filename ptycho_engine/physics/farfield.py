"""Far-field propagation and the predicted diffraction amplitude of illuminated patches.

The Fourier transform, its centring and normalisation, and the incoherent mode sum follow
``ptycho_engine.conventions``.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

__all__ = [
    "AMPLITUDE_EPS",
    "diffraction_amplitude",
    "diffraction_intensity",
    "far_field",
    "smoothing_transfer",
]

AMPLITUDE_EPS = 1e-12
"""Added to the intensity under the square root of :func:`diffraction_amplitude`.

``d sqrt(I) / dI`` is infinite at ``I = 0`` (dark detector pixels); the epsilon keeps it finite
(at most ``1 / (2 * sqrt(eps)) = 5e5``) while shifting amplitudes by at most ``1e-6``, far below
one photon at any dose this engine meets. ``dI / dpsi`` vanishes where ``psi`` does, so the
gradient there is exactly zero instead of NaN.
"""


def far_field(exit_wave: Tensor) -> Tensor:
    """Propagate exit waves to the detector: ``fftshift(fft2(psi, norm="ortho"))``.

    Parameters
    ----------
    exit_wave : complex Tensor of shape (..., N, N)

    Returns
    -------
    complex Tensor of shape (..., N, N)
        Zero frequency at pixel ``[N//2, N//2]``; energy preserving (Parseval).
    """
    spectrum = torch.fft.fft2(exit_wave, norm="ortho")  # (..., N, N)
    return torch.fft.fftshift(spectrum, dim=(-2, -1))


def smoothing_transfer(n: int, sigma_px: float, *, device=None, dtype=torch.float32) -> Tensor:
    """Intensity transfer of a Gaussian blur of the exit wave, centred like :func:`far_field`.

    Blurring the exit wave with a Gaussian of standard deviation ``sigma_px`` (circular
    convolution) multiplies its spectrum by ``H(f) = exp(-2 pi^2 sigma^2 |f|^2)``, with ``f`` in
    cycles per pixel; the intensity is multiplied by ``H**2``, a real (N, N) map.

    Parameters
    ----------
    n : int
        Pattern size N.
    sigma_px : float
        Blur standard deviation in object pixels; must be > 0.

    Returns
    -------
    Tensor of shape (N, N)
    """
    freq = (torch.arange(n, device=device, dtype=dtype) - n // 2) / n  # (N,) cycles/pixel
    f2 = freq[:, None] ** 2 + freq[None, :] ** 2  # (N, N)
    return torch.exp(-4 * math.pi**2 * sigma_px**2 * f2)


def diffraction_intensity(
    obj_patches: Tensor,
    probe: Tensor,
    *,
    smoothing_sigma_px: float = 0.0,
) -> Tensor:
    """Predict the diffraction intensity ``sum_p |far_field(probe_p * O)|**2``.

    Parameters
    ----------
    obj_patches : complex Tensor of shape (B, C, N, N)
        Object patches.
    probe : complex Tensor of shape (P, N, N)
        Probe modes (already normalised and masked), summed incoherently.
    smoothing_sigma_px : float
        Gaussian blur of the exit wave in pixels, applied as :func:`smoothing_transfer`;
        0 turns it off.

    Returns
    -------
    real Tensor of shape (B, C, N, N)
        Centred like :func:`far_field`.
    """
    n = obj_patches.shape[-1]
    if probe.ndim != 3 or probe.shape[-2:] != obj_patches.shape[-2:]:
        raise ValueError(f"probe must be (P, {n}, {n}), got {tuple(probe.shape)}")
    # Fold the "ortho" 1/N and, for even N, the fftshift into the (small) probe:
    # fftshift(fft2(psi)) == fft2(psi * (-1)**(row + col)) when N is even, so no pass over
    # the batch is spent on scaling or rolling.
    probe = probe / n
    if n % 2 == 0:
        probe = probe * _checkerboard(n, probe.device, probe.real.dtype)
    exit_wave = obj_patches[:, :, None] * probe  # (B, C, P, N, N)
    spectrum = torch.fft.fft2(exit_wave)  # (B, C, P, N, N), centred for even N
    intensity = _SquaredModulus.apply(spectrum)  # (B, C, P, N, N)
    intensity = intensity[:, :, 0] if probe.shape[0] == 1 else intensity.sum(dim=2)  # (B, C, N, N)
    if n % 2:
        intensity = torch.fft.fftshift(intensity, dim=(-2, -1))
    if smoothing_sigma_px > 0:
        intensity = intensity * smoothing_transfer(
            n, smoothing_sigma_px, device=intensity.device, dtype=intensity.dtype
        )
    return intensity


class _SquaredModulus(torch.autograd.Function):
    """``|z|**2`` of a complex tensor, with a one-pass backward ``2 * grad * z``.

    Autograd through ``z.real`` and ``z.imag`` would build two complex gradients and add them
    (several passes over the batch); this is the same derivative in one.
    """

    @staticmethod
    def forward(ctx, z: Tensor) -> Tensor:
        ctx.save_for_backward(z)
        return torch.addcmul(z.real.square(), z.imag, z.imag)

    @staticmethod
    def backward(ctx, grad: Tensor) -> Tensor:
        (z,) = ctx.saved_tensors
        return z * (2 * grad)  # torch's gradient convention for real functions of complex z


def _checkerboard(n: int, device, dtype) -> Tensor:
    """``(-1)**(row + col)`` of shape (N, N): the spectrum shift by N/2 on both axes."""
    parity = torch.arange(n, device=device)
    return (1 - 2 * ((parity[:, None] + parity[None, :]) % 2)).to(dtype)


def diffraction_amplitude(
    obj_patches: Tensor,
    probe: Tensor,
    *,
    smoothing_sigma_px: float = 0.0,
) -> Tensor:
    """Predict the diffraction amplitude ``sqrt(sum_p |far_field(probe_p * O)|**2)``.

    Parameters are those of :func:`diffraction_intensity`.

    Returns
    -------
    real Tensor of shape (B, C, N, N)
        Amplitude in the units of the stored data (see ``ptycho_engine.conventions``);
        :data:`AMPLITUDE_EPS` is added under the square root.
    """
    intensity = diffraction_intensity(obj_patches, probe, smoothing_sigma_px=smoothing_sigma_px)
    # in place: the backward of the intensity does not need its own output
    return torch.sqrt(intensity.add_(AMPLITUDE_EPS))  # (B, C, N, N)
