"""The CNN generator: shapes for every N, the object_big/probe_big/pad_object semantics, heads."""

import math

import pytest
import torch

from ptycho_engine.network import GENERATORS, build_generator
from ptycho_engine.network.cnn import CnnGenerator
from ptycho_settings import ModelConfig


@pytest.mark.parametrize("n", [64, 128, 256])
@pytest.mark.parametrize("gridsize", [1, 2])
def test_output_shape_and_dtype(n, gridsize):
    generator = CnnGenerator(n=n, channels=gridsize**2, n_filters_scale=1)
    out = generator(torch.rand(2, gridsize**2, n, n))
    assert out.shape == (2, gridsize**2, n, n) and out.dtype == torch.complex64


def test_object_big_false_gives_one_patch_per_group():
    out = CnnGenerator(n=64, channels=4, object_big=False, n_filters_scale=1)(
        torch.rand(3, 4, 64, 64)
    )
    assert out.shape == (3, 1, 64, 64)


def test_pad_object_without_probe_big_leaves_the_border_empty():
    generator = CnnGenerator(n=64, channels=1, pad_object=True, probe_big=False, n_filters_scale=1)
    out = generator(torch.rand(2, 1, 64, 64))
    border = torch.ones(64, 64, dtype=torch.bool)
    border[16:48, 16:48] = False
    assert torch.all(out[..., border] == 0) and torch.all(out[..., 16:48, 16:48].abs() > 0)


def test_probe_big_fills_the_border():
    out = CnnGenerator(n=64, channels=1, probe_big=True, n_filters_scale=1)(
        torch.rand(2, 1, 64, 64)
    )
    assert out[..., :16, :].abs().sum() > 0


def test_the_border_head_sets_each_pixel_of_a_two_by_two_block_by_its_own_channel():
    # the border is predicted at N/2 and pixel-shuffled: channel 4c + 2a + b of the head
    # fills the pixels (2i + a, 2j + b) of output channel c
    generator = CnnGenerator(
        n=64, channels=1, probe_big=True, n_filters_scale=1, amp_activation="relu"
    )
    head = generator.amplitude.border_head
    with torch.no_grad():
        head.weight.zero_()
        head.bias.copy_(torch.arange(4.0))
    amplitude = generator(torch.rand(2, 1, 64, 64)).abs()
    block = torch.tensor([[0.0, 1.0], [2.0, 3.0]])
    torch.testing.assert_close(amplitude[:, 0, :16, :], block.repeat(8, 32).expand(2, 16, 64))


def test_without_pad_object_the_whole_patch_is_predicted():
    out = CnnGenerator(n=64, channels=1, pad_object=False, probe_big=False, n_filters_scale=1)(
        torch.rand(2, 1, 64, 64)
    )
    assert torch.all(out.abs() > 0)


@pytest.mark.parametrize(
    "activation,function",
    [
        ("sigmoid", torch.sigmoid),
        ("relu", torch.relu),
        ("softplus", torch.nn.functional.softplus),
        ("swish", torch.nn.functional.silu),
    ],
)
def test_every_amplitude_activation_is_honoured(activation, function):
    torch.manual_seed(0)
    generator = CnnGenerator(
        n=64, channels=1, amp_activation=activation, probe_big=False, n_filters_scale=1
    )
    decoder = generator.amplitude
    features = generator.encoder(torch.rand(2, 1, 64, 64))
    x = features
    for stage in decoder.stages:
        x = stage(torch.nn.functional.interpolate(x, scale_factor=2, mode="nearest"))
    expected = function(decoder.centre_head(x))  # (B, 1, N/2, N/2)
    (amplitude,) = decoder(features)
    assert torch.allclose(amplitude[..., 16:48, 16:48], expected)


@pytest.mark.parametrize(
    "activation,function", [("relu", torch.relu), ("swish", torch.nn.functional.silu)]
)
def test_a_shared_decoder_splits_its_heads_into_amplitude_and_phase(activation, function):
    # one up-sampling path; each head emits 2·C channels: the first C are the amplitude's
    # pre-activation, the last C the phase's
    torch.manual_seed(0)
    generator = CnnGenerator(
        n=64,
        channels=4,
        amp_activation=activation,
        probe_big=False,
        n_filters_scale=1,
        shared_decoder=True,
    )
    assert not hasattr(generator, "amplitude") and generator.decoder.centre_head.out_channels == 8
    torch.nn.init.normal_(generator.decoder.centre_head.weight, std=1.0)
    features = generator.encoder(torch.rand(2, 4, 64, 64))
    x = features
    for stage in generator.decoder.stages:
        x = stage(torch.nn.functional.interpolate(x, scale_factor=2, mode="nearest"))
    head = generator.decoder.centre_head(x)  # (B, 8, N/2, N/2)
    amplitude, phase = generator.decoder(features)
    assert torch.allclose(amplitude[..., 16:48, 16:48], function(head[:, :4]))
    assert torch.allclose(phase[..., 16:48, 16:48], math.pi * torch.tanh(head[:, 4:]))


def test_a_shared_decoder_has_fewer_weights_than_two():
    two = sum(p.numel() for p in CnnGenerator(n=64, channels=4, n_filters_scale=1).parameters())
    one = sum(
        p.numel()
        for p in CnnGenerator(n=64, channels=4, n_filters_scale=1, shared_decoder=True).parameters()
    )
    assert 0.65 * two < one < 0.8 * two  # the decoders are about half the weights


def test_phase_head_is_bounded_by_pi():
    generator = CnnGenerator(n=64, channels=1, n_filters_scale=1)
    torch.nn.init.normal_(generator.phase.centre_head.weight, std=10.0)
    phase = torch.angle(generator(torch.rand(2, 1, 64, 64)))
    assert phase.abs().max() <= math.pi


def test_registry_builds_from_settings():
    assert set(GENERATORS) == {"cnn"}
    generator = build_generator(ModelConfig(N=128, gridsize=2, n_filters_scale=1))
    assert generator(torch.rand(1, 4, 128, 128)).shape == (1, 4, 128, 128)


def test_filter_scale_sets_the_width():
    small = sum(p.numel() for p in CnnGenerator(n=64, channels=1, n_filters_scale=1).parameters())
    large = sum(p.numel() for p in CnnGenerator(n=64, channels=1, n_filters_scale=2).parameters())
    assert 3.5 < large / small < 4.5  # conv weights scale with the square of the width


def _probe(n=64):
    y, x = torch.meshgrid(torch.arange(n) - n / 2, torch.arange(n) - n / 2, indexing="ij")
    amplitude = torch.exp(-(x**2 + y**2) / (2 * (n / 8) ** 2))
    return (amplitude * torch.exp(1j * 0.002 * (x**2 + y**2))).to(torch.complex64)[
        None
    ]  # (1, N, N)


def test_a_probe_adds_the_estimate_channels_and_keeps_the_contract():
    probe = _probe()
    generator = CnnGenerator(n=64, channels=4, n_filters_scale=1, probe=probe)
    assert generator.encoder[0][0].in_channels == 12  # amplitudes, Re and Im of the estimate
    assert generator(torch.rand(2, 4, 64, 64)).shape == (2, 4, 64, 64)
    assert not any(
        key.startswith("estimate.") for key in generator.state_dict()
    )  # derived, not stored
    plain = CnnGenerator(n=64, channels=4, n_filters_scale=1)
    assert plain.estimate is None and plain.encoder[0][0].in_channels == 4


def test_build_generator_passes_the_probe():
    generator = build_generator(ModelConfig(N=64, gridsize=1, n_filters_scale=1), probe=_probe())
    assert generator.estimate is not None and generator.encoder[0][0].in_channels == 3
    assert generator.estimate.iterations == ModelConfig().estimate_iterations and generator.residual


@pytest.mark.parametrize(
    "norm,layer", [("batch", torch.nn.BatchNorm2d), ("group", torch.nn.GroupNorm)]
)
def test_norm_layers_follow_every_hidden_convolution(norm, layer):
    generator = CnnGenerator(n=64, channels=1, n_filters_scale=1, norm=norm)
    convs = [m for m in generator.modules() if isinstance(m, torch.nn.Conv2d)]
    norms = [m for m in generator.modules() if isinstance(m, layer)]
    assert len(norms) == len(convs) - len(generator._heads())  # every conv but the output heads
    assert generator(torch.rand(2, 1, 64, 64)).shape == (2, 1, 64, 64)
    generator.eval()  # BatchNorm: running statistics, so one pattern predicts as in a batch
    with torch.no_grad():
        x = torch.rand(3, 1, 64, 64)
        assert torch.allclose(generator(x)[:1], generator(x[:1]), atol=1e-5)


def test_unknown_norm_is_rejected():
    with pytest.raises(ValueError, match="norm"):
        CnnGenerator(n=64, channels=1, norm="layer")


def test_settings_build_the_recommended_network():
    from ptycho_engine.network.cnn import DEFAULT_NORM

    generator = build_generator(ModelConfig(N=64, n_filters_scale=1))
    assert DEFAULT_NORM == "batch"
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in generator.modules())


@pytest.mark.parametrize("pad_object", [True, False])
def test_the_estimate_skip_reaches_the_output_heads_at_their_resolution(pad_object):
    # With estimate_skip the heads' input gains the real and imaginary parts of the
    # back-projected estimate (2C channels): centre crop N/2 with pad_object, else full N.
    # Zeroing the features' path leaves an output that still moves with the estimate.
    probe = torch.ones(1, 64, 64, dtype=torch.complex64)
    generator = CnnGenerator(
        n=64,
        channels=1,
        n_filters_scale=1,
        probe=probe,
        estimate_skip=True,
        pad_object=pad_object,
        probe_big=False,
    ).eval()
    head = generator.amplitude.centre_head
    plain = CnnGenerator(
        n=64, channels=1, n_filters_scale=1, probe=probe, pad_object=pad_object, probe_big=False
    ).amplitude.centre_head
    assert head.in_channels == plain.in_channels + 2
    with torch.no_grad():
        for decoder in generator.decoders():
            decoder.centre_head.weight[:, :-2] = 0  # the features' share of the heads
            decoder.centre_head.bias.zero_()
    x = torch.rand(2, 1, 64, 64)
    out_a, out_b = generator(x), generator(2 * x)
    assert not torch.allclose(out_a, out_b)  # only the skipped estimate can carry the change


def test_without_a_probe_there_is_no_skip():
    generator = CnnGenerator(n=64, channels=1, n_filters_scale=1, estimate_skip=True)
    assert not generator.estimate_skip


@pytest.mark.parametrize("levels", [0, 1, 2])
def test_the_finest_encoder_levels_can_convolve_once(levels):
    def convs(level):
        return [
            layer for layer in generator.encoder[2 * level] if isinstance(layer, torch.nn.Conv2d)
        ]

    generator = CnnGenerator(
        n=64, channels=4, n_filters_scale=1, single_conv_levels=levels, norm="batch"
    )
    assert [len(convs(level)) for level in range(3)] == [1] * levels + [2] * (3 - levels)
    assert [convs(level)[-1].out_channels for level in range(3)] == [
        32,
        64,
        128,
    ]  # widths unchanged
    assert generator(torch.rand(2, 4, 64, 64)).shape == (2, 4, 64, 64)


def test_settings_build_the_cheaper_generator():
    from ptycho_engine.network.cnn import DEFAULT_SINGLE_CONV_LEVELS

    generator = build_generator(ModelConfig(N=64, gridsize=2), probe=_probe())
    assert generator.shared_decoder and len(generator.decoders()) == 1
    single = [
        sum(isinstance(layer, torch.nn.Conv2d) for layer in generator.encoder[2 * level]) == 1
        for level in range(3)
    ]
    assert DEFAULT_SINGLE_CONV_LEVELS == 3 and single == [True, True, True]
    deep = build_generator(ModelConfig(N=128, gridsize=1), probe=_probe(128))
    assert [
        sum(isinstance(layer, torch.nn.Conv2d) for layer in deep.encoder[2 * level])
        for level in range(4)
    ] == [1, 1, 1, 2]  # N = 128: the bottleneck level keeps two
    stages = generator.decoder.stages
    assert all(sum(isinstance(layer, torch.nn.Conv2d) for layer in stage) == 1 for stage in stages)


def test_a_single_convolution_decoder_keeps_the_widths():
    double = CnnGenerator(n=64, channels=1, n_filters_scale=1, norm="batch")
    single = CnnGenerator(
        n=64, channels=1, n_filters_scale=1, norm="batch", single_conv_decoder=True
    )

    def layers(generator):
        return [[type(layer).__name__ for layer in stage] for stage in generator.amplitude.stages]

    assert layers(single) == [["Conv2d", "BatchNorm2d", "ReLU"]] * 2
    assert layers(double) == [["Conv2d", "BatchNorm2d", "ReLU"] * 2] * 2
    assert [stage[0].out_channels for stage in single.amplitude.stages] == [64, 32]  # widths kept
    assert single(torch.rand(2, 1, 64, 64)).shape == (2, 1, 64, 64)


def test_settings_build_the_estimate_skip():
    from ptycho_engine.network.cnn import DEFAULT_ESTIMATE_SKIP

    probe = torch.ones(1, 64, 64, dtype=torch.complex64)
    generator = build_generator(ModelConfig(N=64, n_filters_scale=1), probe)
    assert DEFAULT_ESTIMATE_SKIP and generator.estimate_skip


@pytest.mark.parametrize("activation", ["sigmoid", "swish", "softplus", "relu"])
@pytest.mark.parametrize("gridsize", [1, 2])
@pytest.mark.parametrize("shared", [False, True])
def test_an_untrained_residual_generator_returns_each_pattern_estimate(
    activation, gridsize, shared
):
    torch.manual_seed(0)
    c = gridsize**2
    generator = CnnGenerator(
        n=64,
        channels=c,
        n_filters_scale=1,
        probe=_probe(),
        residual=True,
        estimate_iterations=3,
        amp_activation=activation,
        norm="batch",
        shared_decoder=shared,
    )
    diffraction = torch.rand(2, c, 64, 64)
    estimate = generator.estimate(diffraction)
    out = generator(diffraction)
    # pad_object with probe_big: the whole patch is the estimate, amplitude and phase
    torch.testing.assert_close(out.abs(), estimate.abs(), rtol=1e-5, atol=1e-6)
    bright = estimate.abs() > 1e-3
    torch.testing.assert_close(
        torch.angle(out * estimate.conj())[bright],
        torch.zeros(int(bright.sum())),
        rtol=0,
        atol=1e-4,
    )


def test_the_residual_multiplier_is_bounded_by_the_sigmoid():
    generator = CnnGenerator(
        n=64, channels=1, n_filters_scale=1, probe=_probe(), residual=True, probe_big=False
    )
    torch.nn.init.constant_(generator.amplitude.centre_head.bias, 50.0)  # saturate the head
    diffraction = torch.rand(2, 1, 64, 64)
    out, estimate = generator(diffraction), generator.estimate(diffraction)
    centre = (..., slice(16, 48), slice(16, 48))
    torch.testing.assert_close(out.abs()[centre], 2 * estimate.abs()[centre])  # m = σ(h)/σ(0) → 2


def test_the_residual_form_needs_a_probe_and_one_patch_per_pattern():
    assert not CnnGenerator(n=64, channels=1, n_filters_scale=1, residual=True).residual
    assert not CnnGenerator(
        n=64, channels=4, n_filters_scale=1, probe=_probe(), residual=True, object_big=False
    ).residual
    residual = CnnGenerator(n=64, channels=1, n_filters_scale=1, probe=_probe(), residual=True)
    assert "refines_estimate" in residual.state_dict()  # bundles of other forms are refused


def test_a_given_estimate_replaces_the_generator_own():
    # training passes each pattern's cached estimate; the output is the one the generator
    # computes itself, and a different estimate changes it
    torch.manual_seed(0)
    generator = build_generator(ModelConfig(N=64, gridsize=2), probe=_probe()).eval()
    torch.nn.init.normal_(generator._heads()[0].weight, std=0.1)  # a correction that is not zero
    diffraction = torch.rand(2, 4, 64, 64)
    with torch.no_grad():
        estimate = generator.estimate(diffraction)
        torch.testing.assert_close(generator(diffraction, estimate), generator(diffraction))
        assert not torch.allclose(generator(diffraction, 2 * estimate), generator(diffraction))
