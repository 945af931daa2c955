"""A real-space object estimate from each diffraction pattern alone, with the known probe.

The CNN otherwise has to learn, from scratch, a map from reciprocal space (the diffraction
amplitudes) to real space (the object patch): a global, Fourier-like transform that small
convolutions and pooling learn slowly. This module computes a physics estimate of each
pattern's object patch instead, and the generator learns a correction of it.

1. Back-projection (one error-reduction step from a flat object): give the measured amplitude
   the phase of the probe's far field, propagate back and divide by the probe where it is
   bright, ``Ô = conj(P) · F⁻¹[X · e^{i·arg F(P)}] / (|P|² + floor · max|P|²)``.
2. ``iterations`` single-position PIE steps: replace the modulus of ``F(P·Ô)`` by the measured
   amplitude and move ``Ô`` by ``conj(P)/max|P|² · (ψ' − P·Ô)``.

A single pattern with a known, compact probe over-determines its patch (about N² moduli for
the 2 · π(N/4)² unknowns of a probe of diameter N/2), so the steps converge towards the
patch; with a soft Gaussian or a defocused zone-plate beam they do not, whatever their number
(``benchmarks/estimate.py`` prints the stitched estimates' scores per probe and step count;
docs/performance.md has the table). Overlap between positions is not used here: that is the
physics the network is trained through.

The estimate is a fixed function of the pattern and the probe the model was built with (no
weights; non-persistent buffers, so bundles keep storing the probe once; with a trainable
probe the model also stores the initial one, see ``ptycho_engine.pinn``). It is homogeneous of
degree one in the amplitudes, ``E(s·X) = s·E(X)``: the steps run without autograd and only
this scale carries a gradient (to the learned log-scale that multiplies the input). Training
therefore computes it once per pattern and scales it (``ptycho_engine.training.batches``).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ptycho_engine.physics.farfield import far_field

BACKPROJECTION_FLOOR = 0.05
"""Regularisation of the division by ``|P|²``, relative to its maximum: outside the probe the
back-projection fades to zero instead of amplifying noise."""

_TINY = 1e-12


class PatternEstimate(nn.Module):
    """Normalised amplitudes (B, C, N, N) → complex object estimates (B, C, N, N).

    Parameters
    ----------
    probe : complex Tensor of shape (P, N, N) or (N, N)
        The normalised probe; only its first mode is used.
    iterations : int
        Single-position PIE steps after the back-projection (0: back-projection only); for
        generators built from settings, ``ModelConfig.estimate_iterations`` (default 20: most
        of the gain of 100 steps at a fifth of the cost).
    floor : float
        :data:`BACKPROJECTION_FLOOR`.
    """

    def __init__(self, probe: Tensor, iterations: int, floor: float = BACKPROJECTION_FLOOR) -> None:
        super().__init__()
        if iterations < 0:
            raise ValueError(f"iterations must be >= 0, got {iterations}")
        self.iterations, self.floor = iterations, floor
        self.set_probe(probe)

    @torch.no_grad()
    def set_probe(self, probe: Tensor) -> None:
        """(Re)build the buffers from ``probe`` (P, N, N) or (N, N), on its device. A model
        whose probe is trained keeps estimating with the probe it was built with; this restores
        that one after its weights are loaded (``ptycho_engine.pinn.Pinn``).
        """
        floor = self.floor
        # a copy: a view would follow a trained probe's updates while the buffers below would not
        mode = (
            (probe[0] if probe.ndim == 3 else probe).detach().to(torch.complex64, copy=True)
        )  # (N, N)
        power = mode.abs() ** 2
        spectrum = far_field(mode)
        # the steps work on unshifted spectra: the measured amplitudes are ifftshifted once
        # per batch instead of shifting the field twice per step (the probe's phase once here)
        self.register_buffer("probe", mode, persistent=False)
        phase = spectrum / spectrum.abs().clamp_min(_TINY)
        self.register_buffer(
            "probe_phase", torch.fft.ifftshift(phase), persistent=False
        )  # unshifted
        self.register_buffer(
            "inverse", mode.conj() / (power + floor * power.max()), persistent=False
        )
        # Ô ← (1 − |P|²/max|P|²)·Ô + conj(P)/max|P|² · ψ'  is the PIE step rearranged
        self.register_buffer("keep", 1 - power / power.max(), persistent=False)  # real, (N, N)
        self.register_buffer("step", mode.conj() / power.max(), persistent=False)

    def forward(self, amplitude: Tensor) -> Tensor:
        """Return the complex estimates (B, C, N, N) of amplitudes (B, C, N, N)."""
        with torch.autocast(device_type=amplitude.device.type, enabled=False):
            amplitude = amplitude.float()
            with torch.no_grad():
                estimate = self._estimate(amplitude.detach())  # (B, C, N, N) complex
            if not amplitude.requires_grad:
                return estimate
            # E(s·X) = s·E(X): carry the gradient of the amplitudes' overall scale only
            total = amplitude.sum(dim=(-2, -1), keepdim=True)  # (B, C, 1, 1)
            ratio = total / total.detach().clamp_min(_TINY)
            return estimate * ratio

    def _estimate(self, amplitude: Tensor) -> Tensor:
        measured = torch.fft.ifftshift(amplitude, dim=(-2, -1))  # (B, C, N, N), unshifted
        spectrum = measured.to(torch.complex64) * self.probe_phase
        estimate = torch.fft.ifft2(spectrum, norm="ortho") * self.inverse
        return self._steps(estimate, measured, self.iterations)

    @torch.no_grad()
    def steps(self, estimate: Tensor, amplitude: Tensor, iterations: int | None = None) -> Tensor:
        """Run PIE steps from ``estimate`` (B, C, N, N) against amplitudes (B, C, N, N)."""
        measured = torch.fft.ifftshift(amplitude.float(), dim=(-2, -1))
        return self._steps(
            estimate.clone(), measured, self.iterations if iterations is None else iterations
        )

    def _steps(self, estimate: Tensor, measured: Tensor, iterations: int) -> Tensor:
        # updates ``estimate`` in place and reuses its work space: the steps are memory-bound
        # passes between two FFTs, and fresh tensors made them 1.5 times slower (291 against
        # 446 ms for 364 patterns, 2 cores)
        exit_wave = torch.empty_like(estimate)
        gain = torch.empty_like(measured)  # real, the work space of the modulus constraint
        for _ in range(iterations):
            far = torch.fft.fft2(torch.mul(self.probe, estimate, out=exit_wave), norm="ortho")
            # measured / |far| as measured · (re² + im²)^(-1/2): complex abs() alone took
            # longer than an FFT (0.63 against 0.45 ms for 64 patterns; the steps 20 % faster)
            re, im = torch.view_as_real(far).unbind(-1)
            torch.mul(re, re, out=gain).addcmul_(im, im).clamp_min_(_TINY**2).rsqrt_().mul_(
                measured
            )
            estimate.mul_(self.keep).addcmul_(
                torch.fft.ifft2(far.mul_(gain), norm="ortho"), self.step
            )
        return estimate
