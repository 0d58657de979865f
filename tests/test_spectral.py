"""The STFT pipeline: exact round trip, cropping, compression, features, superposition."""

import pytest
import torch

from semisep_lib.method.config import Config
from semisep_lib.method.spectral import (COMPRESS_EPS, STFT, apply_mask, compress, crop, features, magnitude, resample,
                                         uncrop_mask)


@pytest.mark.parametrize("preset", ["cpu", "paper", "smoke"])
def test_stft_round_trip_error_below_1e5(preset):
    cfg = Config.from_preset(preset).spectral
    stft = STFT(cfg)
    x = torch.randn(2, cfg.segment_samples * 3 + 17) * 0.3
    y = stft.inverse(stft(x), length=x.shape[-1])
    assert (x - y).abs().max().item() < 1e-5


def test_segment_has_segment_frames():
    cfg = Config.from_preset("paper").spectral
    assert cfg.segment_samples == 16320  # the authors' 16320 samples → 256 frames
    X = STFT(cfg)(torch.zeros(1, cfg.segment_samples))
    assert crop(X).shape == (1, 256, 256)


def test_crop_and_uncrop_mask():
    m = torch.rand(3, 8, 5)
    full = uncrop_mask(m)
    assert full.shape == (3, 9, 5)
    assert torch.equal(full[:, -1], m[:, -1]) and torch.equal(crop(full), m)


def test_compress_formula_and_zero():
    x = torch.rand(100) * 10
    assert torch.allclose(compress(x, 0.3), (x + COMPRESS_EPS) ** 0.3 - COMPRESS_EPS**0.3)
    assert compress(torch.zeros(1), 0.3).item() == 0.0


def test_magnitude_has_finite_gradient_at_zero():
    z = torch.zeros(4, dtype=torch.complex64, requires_grad=True)
    magnitude(z).sum().backward()
    assert torch.isfinite(z.grad.abs()).all()
    assert torch.allclose(magnitude(torch.tensor([3 + 4j])), torch.tensor([5.0]), atol=1e-5)


def test_features_scale_invariant_and_silence_safe():
    mag = torch.rand(2, 8, 4)
    assert torch.allclose(features(mag, 0.3), features(mag * 123.0, 0.3), atol=1e-5)
    f = features(torch.zeros(1, 8, 4), 0.3)
    assert f.shape == (1, 1, 8, 4) and torch.isfinite(f).all()
    assert f.min() >= -1 and f.max() <= 1


def test_superposition_holds_in_complex_domain():
    cfg = Config.from_preset("smoke").spectral
    stft = STFT(cfg)
    b, c = torch.randn(1, 4000), torch.randn(1, 4000)
    assert torch.allclose(stft(b + c), stft(b) + stft(c), atol=1e-4)
    # ... while magnitudes do not add
    assert not torch.allclose(magnitude(stft(b + c)), magnitude(stft(b)) + magnitude(stft(c)), atol=1e-2)


def test_mask_of_ones_gives_back_the_mixture():
    cfg = Config.from_preset("smoke").spectral
    stft = STFT(cfg)
    x = torch.randn(1, 5000)
    X = stft(x)
    y = stft.inverse(apply_mask(X, torch.ones(X.shape)), length=5000)
    assert (x - y).abs().max() < 1e-5


def test_resample():
    x = torch.randn(2, 44100)
    y = resample(x, 44100, 16000)
    assert y.shape == (2, 16000)
    assert resample(x, 16000, 16000) is x


def test_features_have_finite_gradients_at_silent_bins():
    """Exact zeros in g's input (digital silence) must not turn R2/R3's gradients into NaN; values unchanged."""
    from semisep_lib.method.spectral import features

    mag = torch.tensor([[[0.0, 0.25], [1.0, 0.0]]], requires_grad=True)
    out = features(mag, 0.3)
    expected = 2 * torch.tensor([[[0.0, 0.25 ** 0.3], [1.0, 0.0]]]) - 1
    assert torch.equal(out.detach(), expected.unsqueeze(1))
    (out * torch.ones_like(out)).sum().backward()
    assert torch.isfinite(mag.grad).all() and mag.grad[0, 0, 0] == 0 and mag.grad[0, 0, 1] > 0


def test_features_on_a_given_peak_see_the_input_as_it_is():
    """With ``peak`` the input is divided by that level, not its own maximum: a block at half the song's level
    stays at half (values above the level saturate at 1)."""
    from semisep_lib.method.spectral import features

    mag = torch.tensor([[[0.25, 0.5]], [[1.0, 3.0]]])  # (2, 1, 2)
    out = features(mag, 1.0, peak=torch.tensor([1.0, 2.0]))
    assert torch.allclose(out, (2 * torch.tensor([[[0.25, 0.5]], [[0.5, 1.0]]]) - 1).unsqueeze(1))
    assert torch.allclose(features(mag, 0.3), features(mag, 0.3, peak=mag.flatten(1).amax(1)))


def test_uncrop_mask_can_zero_the_nyquist_bin_as_the_authors():
    m = torch.rand(2, 8, 5)
    full = uncrop_mask(m, "zero")
    assert full.shape == (2, 9, 5) and torch.equal(crop(full), m) and torch.equal(full[:, -1], torch.zeros(2, 5))
    with pytest.raises(ValueError):
        uncrop_mask(m, "mirror")
