"""The CNN generator of PtychoPINN: an encoder and two decoders (amplitude, phase).

Topology (reference engine §4.1) with ``f = n_filters_scale``: the encoder halves the size
``log2(N/8)`` times, ending with widths 32f, 64f, 128f (N=64; N=128 and 256 prepend 16f and
8f); each decoder doubles it back to N/2 (128f … 64f, 32f). With ``pad_object`` the head
predicts the central N/2 × N/2 of the patch, zero-padded to N × N, so the exit wave has half
support and the diffraction is oversampled twice; ``probe_big`` adds a second branch that
fills the border ring (predicted at N/2, each 2 × 2 block of the full size from its own
channels). The border takes the centre's activations (``amp_activation`` and π·tanh), not
upstream's SiLU for both, which let the amplitude go negative and the phase unbounded.
Without ``pad_object`` one more up-sampling predicts the full patch.

Built from settings (``from_config``) with the probe, the generator refines a physics estimate
instead of inventing the object: every pattern's own object estimate
(:class:`~ptycho_engine.network.estimate.PatternEstimate`: back-projection and
``estimate_iterations`` single-position PIE steps) enters at the input and, skipping the
bottleneck, at the output heads (:data:`DEFAULT_ESTIMATE_SKIP`); and the heads predict a
correction of it (:data:`DEFAULT_RESIDUAL`): amplitude ``|E|·m`` with a bounded multiplier
``m`` and phase ``arg E + Δφ``, both starting at no correction. The hidden convolutions are
batch-normalised; one decoder serves amplitude and phase (:data:`DEFAULT_SHARED_DECODER`), the
three finest encoder levels convolve once (:data:`DEFAULT_SINGLE_CONV_LEVELS`) and so does each
decoder stage (:data:`DEFAULT_SINGLE_CONV_DECODER`).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from ptycho_engine.network.estimate import PatternEstimate
from ptycho_settings import ModelConfig

_AMPLITUDE_ACTIVATIONS = {
    "sigmoid": torch.sigmoid,
    "swish": F.silu,
    "softplus": F.softplus,
    "relu": F.relu,
}


NORMS = ("none", "group", "batch")
"""Normalisation after each hidden convolution: none (upstream), GroupNorm or BatchNorm. With
BatchNorm, inference (``eval()``) uses the running statistics of training."""

GROUP_NORM_GROUPS = 8

DEFAULT_NORM = "batch"
"""Normalisation of generators built from settings (``from_config``). BatchNorm leaves the
flat-object plateau of the first epochs at once (amplitude SSIM 0.36 after 5 epochs of the
quality benchmark against 0.25 without) and stays ahead; GroupNorm was slower than none."""

DEFAULT_RESIDUAL = True
"""Generators built from settings predict a correction of the per-pattern estimate (see the
module docstring). Quality benchmark scan, gridsize 2, 512 groups, 10 epochs, probe-weighted
overlap merge (amplitude / phase SSIM): predicting the object outright 0.42 / 0.84; correcting
the bare back-projection 0.70 / 0.87; correcting the estimate after 20 PIE steps 0.90 / 0.93
(50 steps: 0.92 / 0.94 at 1.4 times the cost per step)."""

RESIDUAL_OFFSET = {"sigmoid": 0.0, "softplus": 0.0, "swish": 1.0, "relu": 1.0}
"""Pre-activation ``h₀`` of the residual amplitude multiplier ``act(h + h₀) / act(h₀)``: a point
where the activation is positive and has a slope, so zero-initialised heads start at ``m = 1``."""

DEFAULT_ESTIMATE_SKIP = True
"""Generators built from settings also feed the estimate straight to their output heads (at
N/2). The heads otherwise see only features up-sampled from the N/8 bottleneck. Measured when
the estimate was the bare back-projection and the heads predicted the object outright
(quality benchmark scan, 10 epochs, same run): gridsize 1 (1000 groups) amplitude / phase SSIM
0.554 / 0.851 → 0.628 / 0.875, gridsize 2 (512 groups) 0.373 / 0.690 → 0.397 / 0.803, at the
same cost per step."""

DEFAULT_SHARED_DECODER = True
"""Generators built from settings decode amplitude and phase with one up-sampling path whose
heads emit both, instead of two paths. Quality benchmark scan, gridsize 2, 10 epochs × 512
groups, CPU (amplitude / phase SSIM, training time): two decoders 0.893 / 0.926 in 85 s, one
0.889 / 0.925 in 66 s."""

DEFAULT_SINGLE_CONV_LEVELS = 3
"""In generators built from settings the three finest encoder levels (N, N/2, N/4: all of them
at N = 64) convolve once, not twice: at full resolution a convolution costs the most per
weight. Quality benchmark scan, shared decoder, 10 epochs: one level 0.890 / 0.925, two 0.886 /
0.924; with single-convolution decoder stages, two levels 0.890 / 0.926, three 0.887 / 0.925.
The quality benchmark (50 epochs, single-convolution decoder): two levels 0.919 / 0.941,
three 0.912 / 0.938, for a generator 22 % faster in inference and 17 % in training (gridsize
1 and 2, side by side in one process)."""

DEFAULT_SINGLE_CONV_DECODER = True
"""In generators built from settings each up-sampling stage of the decoder convolves once, not
twice. Quality benchmark scan, 10 epochs, two single-convolution encoder levels: 0.890 / 0.926
against 0.886 / 0.924 with two convolutions per stage, and the generator's training step at
gridsize 2 is 15 % faster."""


def _bounded_phase(head: Tensor) -> Tensor:
    return math.pi * torch.tanh(head)


def _norm(kind: str, channels: int) -> list[nn.Module]:
    if kind == "group":
        return [nn.GroupNorm(min(GROUP_NORM_GROUPS, channels), channels)]
    if kind == "batch":
        return [nn.BatchNorm2d(channels)]
    return []


def _single_conv(channels_in: int, channels_out: int, norm: str = "none") -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(channels_in, channels_out, 3, padding=1),
        *_norm(norm, channels_out),
        nn.ReLU(inplace=True),
    )


def _double_conv(channels_in: int, channels_out: int, norm: str = "none") -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(channels_in, channels_out, 3, padding=1),
        *_norm(norm, channels_out),
        nn.ReLU(inplace=True),
        nn.Conv2d(channels_out, channels_out, 3, padding=1),
        *_norm(norm, channels_out),
        nn.ReLU(inplace=True),
    )


HEAD_INIT_GAIN = 0.1
"""Scale of the output heads' initial weights: the object starts nearly flat (amplitude near
0.5, phase near 0) while the features below are well scaled, so early steps cannot throw the
phase across ±π."""


def _he_init(layer: nn.Module) -> None:
    # PyTorch's default conv init shrinks activations layer by layer; after six ReLU layers
    # the heads see near-constant features and the object starts (and stays) flat.
    if isinstance(layer, nn.Conv2d):
        nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
        nn.init.zeros_(layer.bias)


class _Multiplier(nn.Module):
    """The residual amplitude multiplier ``m(h) = act(h + h₀) / act(h₀)``; ``m(0) = 1``."""

    def __init__(self, activation, offset: float) -> None:
        super().__init__()
        self.activation, self.offset = activation, offset
        self.unit = float(activation(torch.tensor(offset)))

    def forward(self, head: Tensor) -> Tensor:
        return self.activation(head + self.offset) / self.unit


class _Decoder(nn.Module):
    """Up-sampling path from the bottleneck to N/2 (or N), then the output heads: one image of
    ``channels_out`` channels per activation in ``activations`` (amplitude and phase when the
    decoder is shared), all computed from the same features.
    """

    def __init__(
        self,
        widths: list[int],
        channels_out: int,
        *,
        n: int,
        pad_object: bool,
        probe_big: bool,
        activations: tuple,
        norm: str = "none",
        skip_channels: int = 0,
        single_conv: bool = False,
    ) -> None:
        super().__init__()
        convs = _single_conv if single_conv else _double_conv
        stages = [convs(a, b, norm) for a, b in zip(widths[:-1], widths[1:], strict=True)]
        self.stages = nn.ModuleList(stages)
        last = widths[-1]
        self.pad_object, self.probe_big, self.activations = pad_object, probe_big, activations
        heads_out = channels_out * len(activations)
        # skip_channels: images at the head's resolution concatenated to its input
        self.centre_head = nn.Conv2d(last + skip_channels, heads_out, 3, padding=1)
        if pad_object and probe_big:
            # everything at N/2: the head emits the four pixels of each 2 × 2 block of the full
            # size (pixel shuffle), a superset of a 3 × 3 convolution of the up-sampled
            # features, which cost more than a sixth of the generator's prediction (up-sampling
            # wide features and convolving them at N, for two output channels)
            self.border_features = nn.Sequential(
                nn.Conv2d(last, last, 3, padding=1), *_norm(norm, last), nn.ReLU(inplace=True)
            )
            self.border_head = nn.Conv2d(last, 4 * heads_out, 3, padding=1)
            ring = torch.ones(n, n)
            ring[n // 4 : n // 4 + n // 2, n // 4 : n // 4 + n // 2] = 0
            self.register_buffer("border_mask", ring, persistent=False)  # 1 outside the centre
        elif not pad_object:
            self.full = _double_conv(last, last, norm)

    def _activate(self, head: Tensor) -> list[Tensor]:
        parts = head.chunk(len(self.activations), dim=1)  # one (B, C_out, h, h) per activation
        return [activation(part) for activation, part in zip(self.activations, parts, strict=True)]

    def forward(self, features: Tensor, skip: Tensor | None = None) -> list[Tensor]:
        """``skip`` (B, S, h, h): images at the head's resolution (N/2 with pad_object, else N).
        Returns one (B, C_out, N, N) image per activation.
        """
        x = features
        for stage in self.stages:
            x = stage(F.interpolate(x, scale_factor=2, mode="nearest"))  # (B, w, 2h, 2h)
        if not self.pad_object:
            x = self.full(F.interpolate(x, scale_factor=2, mode="nearest"))  # (B, w, N, N)
            head_in = x if skip is None else torch.cat([x, skip], dim=1)
            return self._activate(self.centre_head(head_in))
        half = x.shape[-1]
        head_in = x if skip is None else torch.cat([x, skip], dim=1)  # (B, w + S, N/2, N/2)
        centres = self._activate(self.centre_head(head_in))  # each (B, C_out, N/2, N/2)
        outputs = [
            F.pad(centre, (half // 2, half // 2, half // 2, half // 2)) for centre in centres
        ]
        if self.probe_big:
            head = F.pixel_shuffle(self.border_head(self.border_features(x)), 2)  # (B, heads, N, N)
            borders = self._activate(head)
            outputs = [
                out + border * self.border_mask
                for out, border in zip(outputs, borders, strict=True)
            ]
        return outputs


class CnnGenerator(nn.Module):
    """Diffraction amplitudes (B, C, N, N) → complex object patches (B, C_out, N, N).

    ``C_out = C`` with ``object_big`` (one patch per scan position), otherwise 1 (one patch
    per group). The amplitude head uses ``amp_activation``; the phase head is ``π·tanh``. With
    ``residual`` (needs the probe and one output patch per pattern) they correct the pattern's
    estimate E: amplitude ``|E|·act(h + h₀)/act(h₀)`` (:data:`RESIDUAL_OFFSET`) and phase
    ``arg E + π·tanh(h)``, from zero-initialised heads.
    """

    def __init__(
        self,
        *,
        n: int,
        channels: int,
        n_filters_scale: int = 2,
        object_big: bool = True,
        probe_big: bool = True,
        pad_object: bool = True,
        amp_activation: str = "sigmoid",
        norm: str = "none",
        probe: Tensor | None = None,
        estimate_skip: bool = False,
        estimate_iterations: int = 0,
        residual: bool = False,
        shared_decoder: bool = False,
        single_conv_levels: int = 0,
        single_conv_decoder: bool = False,
    ) -> None:
        super().__init__()
        if norm not in NORMS:
            raise ValueError(f"norm must be one of {NORMS}, got {norm!r}")
        # with a probe, each pattern also enters as the real and imaginary parts of its own
        # object estimate (PatternEstimate): three times the input channels
        self.estimate = PatternEstimate(probe, estimate_iterations) if probe is not None else None
        channels_in = 3 * channels if probe is not None else channels
        levels = int(math.log2(n // 8))
        f = n_filters_scale
        widths = [128 * f // 2 ** (levels - 1 - i) for i in range(levels)]  # e.g. [64, 128, 256]
        encoder, previous = [], channels_in
        for level, width in enumerate(widths):
            convs = _single_conv if level < single_conv_levels else _double_conv
            encoder += [convs(previous, width, norm), nn.MaxPool2d(2)]
            previous = width
        self.encoder = nn.Sequential(*encoder)
        decoder_widths = [128 * f] + [
            max(32 * f, 128 * f // 2 ** max(0, i - (levels - 3))) for i in range(1, levels)
        ]
        channels_out = channels if object_big else 1
        # residual: only where each output patch has its own estimate (one per pattern)
        self.residual = residual and probe is not None and channels_out == channels
        amplitude_activation = _AMPLITUDE_ACTIVATIONS[amp_activation]
        if self.residual:
            # stored with the weights: a bundle of a generator that predicted the object outright
            # (same layers, other meaning) lacks it and is refused instead of loaded
            self.register_buffer("refines_estimate", torch.tensor(True))
            amplitude_activation = _Multiplier(
                amplitude_activation, RESIDUAL_OFFSET[amp_activation]
            )
        # estimate_skip: the estimate also reaches the output heads directly, at
        # their resolution, so fine detail need not pass the N/8 bottleneck
        self.estimate_skip = estimate_skip and probe is not None
        self.pad_object = pad_object
        options = dict(
            n=n,
            pad_object=pad_object,
            probe_big=probe_big,
            norm=norm,
            skip_channels=2 * channels if self.estimate_skip else 0,
            single_conv=single_conv_decoder,
        )
        self.shared_decoder = shared_decoder
        if shared_decoder:
            self.decoder = _Decoder(
                decoder_widths,
                channels_out,
                activations=(amplitude_activation, _bounded_phase),
                **options,
            )
        else:
            self.amplitude = _Decoder(
                decoder_widths, channels_out, activations=(amplitude_activation,), **options
            )
            self.phase = _Decoder(
                decoder_widths, channels_out, activations=(_bounded_phase,), **options
            )

        self.apply(_he_init)
        for head in self._heads():
            # residual heads start at no correction: the output is the estimate itself
            head.weight.data.mul_(0.0 if self.residual else HEAD_INIT_GAIN)
        # channels-last convolution weights: oneDNN's direct NHWC kernels, and the activations
        # follow. On 2 CPU cores, gridsize 2, batch 16: a training step 28 → 17 ms per group,
        # inference 13 → 9 ms (same values; only the memory layout differs)
        self.to(memory_format=torch.channels_last)

    def decoders(self) -> tuple[_Decoder, ...]:
        """The shared decoder, or the amplitude and the phase decoders."""
        return (self.decoder,) if self.shared_decoder else (self.amplitude, self.phase)

    def _heads(self) -> list[nn.Conv2d]:
        heads = []
        for decoder in self.decoders():
            heads.append(decoder.centre_head)
            if hasattr(decoder, "border_head"):
                heads.append(decoder.border_head)
        return heads

    @classmethod
    def from_config(cls, model: ModelConfig, probe: Tensor | None = None) -> CnnGenerator:
        """Build the generator described by a :class:`~ptycho_settings.ModelConfig`; with
        ``probe`` (the normalised probe), it refines each pattern's own object estimate.
        """
        return cls(
            n=model.N,
            channels=model.C,
            n_filters_scale=model.n_filters_scale,
            object_big=model.object_big,
            probe_big=model.probe_big,
            pad_object=model.pad_object,
            amp_activation=model.amp_activation,
            norm=DEFAULT_NORM,
            probe=probe,
            estimate_skip=DEFAULT_ESTIMATE_SKIP,
            estimate_iterations=model.estimate_iterations,
            residual=DEFAULT_RESIDUAL,
            shared_decoder=DEFAULT_SHARED_DECODER,
            single_conv_levels=DEFAULT_SINGLE_CONV_LEVELS,
            single_conv_decoder=DEFAULT_SINGLE_CONV_DECODER,
        )

    def forward(self, diffraction: Tensor, estimate: Tensor | None = None) -> Tensor:
        """Return complex patches ``A·exp(iφ)`` of shape (B, C_out, N, N).

        ``estimate`` (B, C, N, N) complex: each pattern's estimate when already computed
        (training caches it, see ``ptycho_engine.training.batches``); ignored without a probe.
        """
        x, skip = diffraction, None
        if self.estimate is None:
            estimate = None
        elif estimate is None:
            estimate = self.estimate(diffraction)  # (B, C, N, N) complex
        if estimate is not None:
            parts = torch.cat([estimate.real, estimate.imag], dim=1)  # (B, 2C, N, N)
            x = torch.cat([diffraction, parts], dim=1)  # (B, 3C, N, N)
            if self.estimate_skip:
                n = parts.shape[-1]
                skip = (
                    parts[..., n // 4 : n // 4 + n // 2, n // 4 : n // 4 + n // 2]
                    if self.pad_object
                    else parts
                )
        features = self.encoder(x)  # (B, 128f, N/8, N/8)
        # amplitude then phase, each (B, C_out, N, N), from one decoder or two
        amplitude, phase = (
            out.float() for decoder in self.decoders() for out in decoder(features, skip)
        )
        if self.residual:
            amplitude = amplitude * estimate.abs()  # |E|·m
            # arg E carries no gradient (E's only gradient is a positive scale), and angle's
            # backward is 0/0 where E vanishes
            phase = phase + torch.angle(estimate.detach())
        return torch.polar(amplitude, phase)
