"""The CNN generator of PtychoPINN: an encoder and two decoders (amplitude, phase).

Topology (reference engine §4.1) with ``f = n_filters_scale``: the encoder halves the size
``log2(N/8)`` times, ending with widths 32f, 64f, 128f (N=64; N=128 and 256 prepend 16f and
8f); each decoder doubles it back to N/2 (128f … 64f, 32f). With ``pad_object`` the head
predicts the central N/2 × N/2 of the patch, zero-padded to N × N, so the exit wave has half
support and the diffraction is oversampled twice; ``probe_big`` adds a second branch that
fills the border ring. Without ``pad_object`` one more up-sampling predicts the full patch.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from ptycho_settings import ModelConfig

_AMPLITUDE_ACTIVATIONS = {
    "sigmoid": torch.sigmoid,
    "swish": F.silu,
    "softplus": F.softplus,
    "relu": F.relu,
}


def _double_conv(channels_in: int, channels_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(channels_in, channels_out, 3, padding=1), nn.ReLU(inplace=True),
        nn.Conv2d(channels_out, channels_out, 3, padding=1), nn.ReLU(inplace=True),
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


class _Decoder(nn.Module):
    """Up-sampling path from the bottleneck to N/2 (or N), then the output head."""

    def __init__(self, widths: list[int], channels_out: int, *, n: int, pad_object: bool,
                 probe_big: bool, activation) -> None:
        super().__init__()
        stages = [_double_conv(a, b) for a, b in zip(widths[:-1], widths[1:], strict=True)]
        self.stages = nn.ModuleList(stages)
        last = widths[-1]
        self.pad_object, self.probe_big, self.activation = pad_object, probe_big, activation
        self.centre_head = nn.Conv2d(last, channels_out, 3, padding=1)
        if pad_object and probe_big:
            # convolve at N/2 and only map to the output channels at full size: the border
            # ring is smooth support, and full-resolution wide convolutions would double the cost
            self.border_features = nn.Sequential(nn.Conv2d(last, last, 3, padding=1), nn.ReLU(inplace=True))
            self.border_head = nn.Conv2d(last, channels_out, 3, padding=1)
            ring = torch.ones(n, n)
            ring[n // 4: n // 4 + n // 2, n // 4: n // 4 + n // 2] = 0
            self.register_buffer("border_mask", ring, persistent=False)  # 1 outside the centre
        elif not pad_object:
            self.full = _double_conv(last, last)

    def forward(self, features: Tensor) -> Tensor:
        x = features
        for stage in self.stages:
            x = stage(F.interpolate(x, scale_factor=2, mode="nearest"))  # (B, w, 2h, 2h)
        if not self.pad_object:
            x = self.full(F.interpolate(x, scale_factor=2, mode="nearest"))  # (B, w, N, N)
            return self.activation(self.centre_head(x))
        half = x.shape[-1]
        centre = self.activation(self.centre_head(x))  # (B, C, N/2, N/2)
        out = F.pad(centre, (half // 2, half // 2, half // 2, half // 2))  # (B, C, N, N)
        if self.probe_big:
            up = F.interpolate(self.border_features(x), scale_factor=2, mode="nearest")  # (B, w, N, N)
            out = out + self.activation(self.border_head(up)) * self.border_mask
        return out


class CnnGenerator(nn.Module):
    """Diffraction amplitudes (B, C, N, N) → complex object patches (B, C_out, N, N).

    ``C_out = C`` with ``object_big`` (one patch per scan position), otherwise 1 (one patch
    per group). The amplitude head uses ``amp_activation``; the phase head is ``π·tanh``.
    """

    def __init__(self, *, n: int, channels: int, n_filters_scale: int = 2, object_big: bool = True,
                 probe_big: bool = True, pad_object: bool = True, amp_activation: str = "sigmoid") -> None:
        super().__init__()
        levels = int(math.log2(n // 8))
        f = n_filters_scale
        widths = [128 * f // 2 ** (levels - 1 - i) for i in range(levels)]  # e.g. [64, 128, 256]
        encoder, previous = [], channels
        for width in widths:
            encoder += [_double_conv(previous, width), nn.MaxPool2d(2)]
            previous = width
        self.encoder = nn.Sequential(*encoder)
        decoder_widths = [128 * f] + [max(32 * f, 128 * f // 2 ** max(0, i - (levels - 3)))
                                     for i in range(1, levels)]
        channels_out = channels if object_big else 1
        options = dict(n=n, pad_object=pad_object, probe_big=probe_big)
        self.amplitude = _Decoder(decoder_widths, channels_out, activation=_AMPLITUDE_ACTIVATIONS[amp_activation], **options)
        self.phase = _Decoder(decoder_widths, channels_out, activation=lambda t: math.pi * torch.tanh(t), **options)

        self.apply(_he_init)
        for head in self._heads():
            head.weight.data.mul_(HEAD_INIT_GAIN)

    def _heads(self) -> list[nn.Conv2d]:
        heads = []
        for decoder in (self.amplitude, self.phase):
            heads.append(decoder.centre_head)
            if hasattr(decoder, "border_head"):
                heads.append(decoder.border_head)
        return heads

    @classmethod
    def from_config(cls, model: ModelConfig) -> CnnGenerator:
        """Build the generator described by a :class:`~ptycho_settings.ModelConfig`."""
        return cls(n=model.N, channels=model.C, n_filters_scale=model.n_filters_scale,
                   object_big=model.object_big, probe_big=model.probe_big,
                   pad_object=model.pad_object, amp_activation=model.amp_activation)

    def forward(self, diffraction: Tensor) -> Tensor:
        """Return complex patches ``A·exp(iφ)`` of shape (B, C_out, N, N)."""
        features = self.encoder(diffraction)  # (B, 128f, N/8, N/8)
        amplitude = self.amplitude(features)  # (B, C_out, N, N)
        phase = self.phase(features)
        return torch.polar(amplitude.float(), phase.float())
