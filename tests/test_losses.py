"""The six terms against hand computations, the identity's zero R-losses, and term switches."""

import dataclasses

import pytest
import torch

from semisep_lib.method.config import TERMS, Config, LossConfig
from semisep_lib.method.losses import (ABAR_LEVELS, GAN_A, GAN_C, R1, R2, R3, R4, discriminator_losses,
                                       generator_losses, l1, lsgan_discriminator, lsgan_generator, needs,
                                       synthetic_mixture)
from semisep_lib.method.models import build_models
from semisep_lib.method.spectral import STFT, compress, crop


def test_l1_and_R_terms_by_hand():
    x = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    y = torch.tensor([[1.5, 2.0], [2.0, 6.0]])
    assert torch.isclose(l1(x, y), torch.tensor((0.5 + 0 + 1 + 2) / 4))
    assert torch.isclose(R1(x, y), torch.tensor(0.875))
    assert torch.isclose(R2(x, y), torch.tensor(0.875))
    assert torch.isclose(R3(x, y), torch.tensor(0.875))
    # R4 = ‖(ā − g(ā)) − b̄‖₁: ā − g(ā) = [[1, 1], [1, 1]] here
    abar, g_abar, bbar = x + 1, x, torch.tensor([[1.0, 0.0], [3.0, 1.0]])
    assert torch.isclose(R4(abar, g_abar, bbar), torch.tensor((0 + 1 + 2 + 0) / 4))
    # with compression, the same formula on x^p
    p = 0.3
    assert torch.isclose(R1(x, y, p), (compress(x, p) - compress(y, p)).abs().mean())


def test_lsgan_by_hand():
    real = [torch.tensor([1.0, 0.0]), torch.tensor([0.5])]
    fake = [torch.tensor([0.0, 1.0]), torch.tensor([1.0])]
    # G: Σ mean((D(fake) − 1)²) = mean(1, 0) + mean(0) = 0.5
    assert torch.isclose(lsgan_generator(fake), torch.tensor(0.5))
    # D: Σ mean(D(fake)²) + mean((D(real) − 1)²) = (0.5 + 0.5) + (1 + 0.25)
    assert torch.isclose(lsgan_discriminator(real, fake), torch.tensor(2.25))


def test_gan_terms_call_their_discriminator():
    d = lambda x: [x.mean(dim=(1, 2))]  # noqa: E731 - a 'discriminator' returning the mean
    x = torch.full((2, 4, 4), 0.5)
    assert torch.isclose(GAN_C(d, x), torch.tensor(0.25))
    assert torch.isclose(GAN_A(d, x * 2), torch.tensor(0.0))


def test_synthetic_mixture_is_complex_sum():
    A = torch.randn(1, 4, 3, dtype=torch.complex64)
    C = torch.randn(1, 4, 3, dtype=torch.complex64)
    m = torch.rand(1, 4, 3)
    B_bar, A_bar = synthetic_mixture(A, m, C)
    assert torch.allclose(B_bar, (1 - m) * A) and torch.allclose(A_bar, B_bar + C)


class Identity(torch.nn.Module):
    """A g whose mask is 1 everywhere."""

    down_factor = 1

    def mask(self, x):
        return torch.ones_like(x)

    def forward(self, x):
        return x


def _batch(cfg, n=2, seed=0):
    torch.manual_seed(seed)
    stft = STFT(cfg.spectral)
    w = torch.randn(2 * n, cfg.spectral.segment_samples) * 0.1
    return crop(stft(w[:n])), crop(stft(w[n:]))


def test_identity_g_satisfies_R1_to_R4():
    cfg = Config.from_preset("smoke")
    _, d_A, d_C = build_models(cfg)
    A, C = _batch(cfg)
    _, log = generator_losses(Identity(), d_A, d_C, A, C, cfg.loss, cfg.spectral.compress)
    for t in ("R1", "R2", "R3", "R4"):
        assert log[t] < 1e-5, (t, log[t])
    assert log["vocal_fraction"] < 1e-8


def test_switching_a_term_off_removes_it_and_its_gradient():
    cfg = Config.from_preset("smoke")
    g, d_A, d_C = build_models(cfg)
    A, C = _batch(cfg)
    for term in TERMS:
        loss_cfg = cfg.loss.without([term])
        total, log = generator_losses(g, d_A, d_C, A, C, loss_cfg, cfg.spectral.compress)
        assert term not in log
        off = [t for t in TERMS if t != term]
        full = cfg.loss.without([])
        # the total equals the weighted sum of the remaining terms
        assert abs(total.item() - sum(full.weights()[t] * log[t] for t in off)) < 1e-4
    # without both GAN terms, the discriminators receive no gradient
    for p in list(d_A.parameters()) + list(d_C.parameters()):
        p.grad = None
    total, _ = generator_losses(g, d_A, d_C, A, C, cfg.loss.without(["GAN_A", "GAN_C"]), cfg.spectral.compress)
    total.backward()
    assert all(p.grad is None for p in list(d_A.parameters()) + list(d_C.parameters()))
    assert needs(cfg.loss.without(["R1", "R2"]).weights())["g_c"] is False


def test_R4_differs_from_R3_because_abar_is_a_complex_sum():
    cfg = Config.from_preset("smoke")
    g, d_A, d_C = build_models(cfg)
    torch.nn.init.constant_(g.net[-1].bias, 0.0)  # a mask around 0.5: b̄ is far from zero
    A, C = _batch(cfg)
    _, log = generator_losses(g, d_A, d_C, A, C, cfg.loss, cfg.spectral.compress)
    assert abs(log["R3"] - log["R4"]) > 1e-3


def test_detach_bbar_blocks_gradient_through_bbar():
    cfg = Config.from_preset("smoke")
    g, d_A, d_C = build_models(cfg)
    A, C = _batch(cfg)
    only_gan_a = cfg.loss.without(["R1", "R2", "R3", "R4", "GAN_C"])
    total, _ = generator_losses(g, d_A, d_C, A, C, only_gan_a, cfg.spectral.compress)
    total.backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in g.parameters())
    g.zero_grad(set_to_none=True)
    only_gan_a.detach_bbar = True
    total, _ = generator_losses(g, d_A, d_C, A, C, only_gan_a, cfg.spectral.compress)
    total.backward()
    assert all(p.grad is None or p.grad.abs().sum() == 0 for p in g.parameters())


def test_discriminator_losses_train_only_active_discriminators():
    cfg = Config.from_preset("smoke")
    g, d_A, d_C = build_models(cfg)
    A, C = _batch(cfg)
    total, log = discriminator_losses(g, d_A, d_C, A, C, A, cfg.loss)
    assert set(log) == {"D_A", "D_C"}
    total.backward()
    assert all(p.grad is None for p in g.parameters())  # fakes are made without gradient to g
    total, log = discriminator_losses(g, d_A, d_C, A, C, A, cfg.loss.without(["GAN_A"]))
    assert set(log) == {"D_C"}


def test_anchored_discriminators_also_learn_that_a_mixture_is_not_an_instrumental_and_back():
    """``d_anchor``: d_C's fakes include the real mixtures, d_A's the real instrumentals, weighted by it and logged
    apart; the paper's D_C and D_A are unchanged, and 0 is the paper's step exactly."""
    from semisep_lib.method.losses import lsgan_fake
    from semisep_lib.method.spectral import magnitude

    cfg = Config.from_preset("smoke")
    torch.manual_seed(0)
    g, d_A, d_C = build_models(cfg)
    A, C = _batch(cfg)
    A_real = A.flip(0)
    plain, plain_log = discriminator_losses(g, d_A, d_C, A, C, A_real, cfg.loss)
    anchored = dataclasses.replace(cfg.loss, d_anchor=0.5)
    total, log = discriminator_losses(g, d_A, d_C, A, C, A_real, anchored)
    assert set(log) == {"D_A", "D_C", "D_A_anchor", "D_C_anchor"}
    assert log["D_A"] == pytest.approx(plain_log["D_A"]) and log["D_C"] == pytest.approx(plain_log["D_C"])
    with torch.no_grad():
        assert log["D_C_anchor"] == pytest.approx(float(lsgan_fake(d_C(magnitude(A_real)))), rel=1e-5)
        assert log["D_A_anchor"] == pytest.approx(float(lsgan_fake(d_A(magnitude(C)))), rel=1e-5)
    expected = plain + 0.5 * (log["D_C_anchor"] + log["D_A_anchor"])
    assert total.item() == pytest.approx(expected.item(), rel=1e-5)
    _, log = discriminator_losses(g, d_A, d_C, A, C, A_real, anchored.without(["GAN_A"]))
    assert set(log) == {"D_C", "D_C_anchor"}


def test_d_c_can_see_instrumentals_through_g_as_its_real_side():
    """``d_C_real_through_g``: d_C's real examples are g(c); its fakes and d_A are unchanged."""
    from semisep_lib.method.spectral import magnitude

    cfg = Config.from_preset("smoke")
    torch.manual_seed(0)
    g, d_A, d_C = build_models(cfg)
    A, C = _batch(cfg)
    _, plain = discriminator_losses(g, d_A, d_C, A, C, A, cfg.loss)
    _, log = discriminator_losses(g, d_A, d_C, A, C, A, dataclasses.replace(cfg.loss, d_C_real_through_g=True))
    with torch.no_grad():
        a, c = magnitude(A), magnitude(C)
        expected = lsgan_discriminator(d_C(g(c)), d_C(g(a)))
    assert log["D_C"] == pytest.approx(expected.item(), rel=1e-5) and log["D_C"] != pytest.approx(plain["D_C"])
    assert log["D_A"] == pytest.approx(plain["D_A"])


def test_discriminators_that_see_level_tell_an_attenuated_g_a_from_c():
    """Scale-invariant discriminators score 0.5·c as c; with ``d_sees_level`` they do not, and the losses
    scale mixtures and instrumentals to unit peak first, so the step does not depend on the input level."""
    from semisep_lib.method.losses import unit_peak

    cfg = Config.from_preset("smoke")
    torch.manual_seed(0)
    _, _, d_inv = build_models(cfg)
    _, _, d_lvl = build_models(cfg.updated({"model": {"d_sees_level": True}}))
    d_lvl.load_state_dict(d_inv.state_dict())
    c = torch.rand(2, cfg.spectral.bins, 32) + 0.01
    same = lambda x, y: all(torch.allclose(p, q, atol=1e-5) for p, q in zip(x, y))  # noqa: E731
    assert same(d_inv(c), d_inv(0.5 * c)) and not same(d_lvl(c), d_lvl(0.5 * c))
    C = torch.polar(c, torch.rand_like(c))
    (U,) = unit_peak(3.0 * C)
    assert torch.allclose(U.abs().flatten(1).amax(1), torch.ones(2)) and torch.allclose(U, unit_peak(C)[0], atol=1e-6)


def test_batched_calls_equal_separate_calls_and_dont_touch_the_discriminators_weights(monkeypatch):
    """g's and the discriminators' per-example normalisation make one call on a concatenated batch exact:
    the step's values match four separate calls of g, its gradients agree to float rounding, and the
    discriminators' weights take no gradient in g's step (their own step discards it)."""
    import contextlib

    from semisep_lib.method import losses

    cfg = Config.from_preset("smoke")
    g, d_A, d_C = build_models(cfg)
    torch.nn.init.constant_(g.net[-1].bias, 0.0)
    A, C = _batch(cfg, n=3)
    results = []
    for one_call in (False, True):
        if not one_call:
            monkeypatch.setattr(losses, "batched", lambda net, *xs, peaks=None: [
                net(x) if peaks is None else net(x, peak=p) for x, p in zip(xs, peaks or xs)])
            monkeypatch.setattr(losses, "frozen", lambda *m: contextlib.nullcontext())
        else:
            monkeypatch.undo()
        for m in (g, d_A, d_C):
            m.zero_grad(set_to_none=True)
        total, log = losses.generator_losses(g, d_A, d_C, A, C, cfg.loss, cfg.spectral.compress)
        total.backward()
        grads = torch.cat([p.grad.flatten() for p in g.parameters()])
        d_grads = [p.grad for p in list(d_A.parameters()) + list(d_C.parameters())]
        results.append((log, grads, d_grads))
    (log0, g0, d0), (log1, g1, d1) = results
    for k in log0:
        assert abs(log0[k] - log1[k]) <= 1e-6 * max(1.0, abs(log0[k])), k
    assert torch.allclose(g0, g1, rtol=1e-4, atol=1e-7 * g0.abs().max().item())
    assert all(d is not None for d in d0) and all(d is None for d in d1)
    assert all(p.requires_grad for p in list(d_A.parameters()) + list(d_C.parameters()))  # unfrozen after
    sizes = [m.shape[0] for m in (A, C)]
    scores = losses.batched(d_C, A.abs(), C.abs()[:1])
    assert [s[0].shape[0] for s in scores] == [sizes[0], 1] and len(scores[0]) == cfg.model.d_scales


# -- the authors' details (LossConfig: recon_scale, second_pass_as_is, d_loss_gan_weights, abar_level) ---------


class HalfLevelMask(torch.nn.Module):
    """A g whose mask is half the level it sees: ``m = x / (2·peak)`` — its output shows what it was divided by."""

    down_factor = 1

    def mask(self, x, peak=None):
        p = (x.detach().flatten(1).amax(1) if peak is None else peak)[:, None, None]
        return (x / p).clamp(0, 1) / 2

    def forward(self, x, peak=None):
        return self.mask(x, peak) * x


def _only(cfg_loss, *terms, **extra):
    """A LossConfig with only ``terms`` on (weight 1) and ``extra`` options."""
    return dataclasses.replace(cfg_loss, **{t: (1.0 if t in terms else 0.0) for t in TERMS}, **extra)


def test_recon_scale_2_is_the_authors_l1_on_images_in_minus_one_one():
    """trainer.recon_criterion compares images 2·x^p − 1: |(2x − 1) − (2y − 1)| is twice |x − y|."""
    x, y = torch.tensor([0.25, 1.0]), torch.tensor([1.0, 0.0])
    assert l1(x, y) == pytest.approx((0.75 + 1.0) / 2)  # [0, 1] values: 0.875
    assert R1(x, y, scale=2.0) == pytest.approx((abs(-0.5 - 1.0) + abs(1.0 - (-1.0))) / 2)  # images: 1.75
    p = 0.3
    assert R1(x, y, p, scale=2.0) == pytest.approx(((2 * compress(x, p) - 1) - (2 * compress(y, p) - 1)).abs().mean())
    # in the step, every R term doubles and the GAN terms do not
    cfg = Config.from_preset("smoke")
    torch.manual_seed(0)
    g, d_A, d_C = build_models(cfg)
    A, C = _batch(cfg)
    _, one = generator_losses(g, d_A, d_C, A, C, cfg.loss, cfg.spectral.compress)
    _, two = generator_losses(g, d_A, d_C, A, C, dataclasses.replace(cfg.loss, recon_scale=2.0),
                              cfg.spectral.compress)
    for t in ("R1", "R2", "R3", "R4"):
        assert two[t] == pytest.approx(2 * one[t], rel=1e-5), t
    for t in ("GAN_A", "GAN_C"):
        assert two[t] == pytest.approx(one[t], rel=1e-5), t


def test_second_pass_as_is_divides_g_a_by_the_mixtures_peak_not_its_own():
    """a = [0.5, 1]: g(a) = a·a/2 = [0.125, 0.5]. The authors' g(g(a)) sees g(a) as it is (divided by a's peak 1):
    mask [0.0625, 0.25], g(g(a)) = [0.0078125, 0.125], R2 = (0.1171875 + 0.375) / 2. Renormalised (ours): g(a) is
    divided by its own peak 0.5, mask [0.125, 0.5], g(g(a)) = [0.015625, 0.25], R2 = (0.109375 + 0.25) / 2."""
    A = torch.tensor([[[0.5, 1.0]]], dtype=torch.complex64)  # (batch, F, T) = (1, 1, 2)
    C = torch.tensor([[[1.0, 0.5]]], dtype=torch.complex64)
    loss = _only(LossConfig(), "R2")
    _, ours = generator_losses(HalfLevelMask(), None, None, A, C, loss, 1.0)
    _, authors = generator_losses(HalfLevelMask(), None, None, A, C, dataclasses.replace(loss, second_pass_as_is=True),
                                  1.0)
    assert ours["R2"] == pytest.approx((0.109375 + 0.25) / 2, abs=1e-5)
    assert authors["R2"] == pytest.approx((0.1171875 + 0.375) / 2, abs=1e-5)
    # and g(ā) too: m(a) = [0.25, 0.5], ā = (1 − m)·a + c = [0.375 + 1, 0.5 + 0.5] = [1.375, 1]. On a's scale
    # (peak 1) the mask is [0.5, 0.5] (clamped at 1, halved), g(ā) = [0.6875, 0.5], R3 = mean |g(ā) − c| =
    # (0.3125 + 0) / 2; on its own peak 1.375 it is [0.5, 1 / 2.75], g(ā) = [0.6875, 1 / 2.75]
    loss3 = _only(LossConfig(), "R3")
    _, r3 = generator_losses(HalfLevelMask(), None, None, A, C, loss3, 1.0)
    _, r3_as_is = generator_losses(HalfLevelMask(), None, None, A, C,
                                   dataclasses.replace(loss3, second_pass_as_is=True), 1.0)
    assert r3_as_is["R3"] == pytest.approx(0.3125 / 2, abs=1e-5)
    assert r3["R3"] == pytest.approx((0.3125 + 0.5 - 1 / 2.75) / 2, abs=1e-5)


def test_d_loss_gan_weights_multiply_each_discriminators_loss_by_its_gan_weight():
    """trainer.dis_update: gan_w_a·D(dis_a) + gan_w_b·D(dis_b) — D_C times GAN_C's weight, D_A times GAN_A's."""
    cfg = Config.from_preset("smoke")
    torch.manual_seed(0)
    g, d_A, d_C = build_models(cfg)
    A, C = _batch(cfg)
    weighted = dataclasses.replace(cfg.loss, GAN_A=10.0, GAN_C=5.0, d_loss_gan_weights=True)
    unweighted = dataclasses.replace(weighted, d_loss_gan_weights=False)
    plain, plain_log = discriminator_losses(g, d_A, d_C, A, C, A, unweighted)
    total, log = discriminator_losses(g, d_A, d_C, A, C, A, weighted)
    assert log == pytest.approx(plain_log)  # the logged losses stay unweighted
    assert plain.item() == pytest.approx(log["D_C"] + log["D_A"], rel=1e-5)
    assert total.item() == pytest.approx(5.0 * log["D_C"] + 10.0 * log["D_A"], rel=1e-5)


def test_level_abar_by_hand():
    """a peaks at 1; ā = b̄ + c = [0.5, 1.5] peaks above it. clamp: [0.5, 1] (targets kept); rescale: everything
    times 1/1.5, so that ā peaks at 1 and s·ā = s·b̄ + s·c still holds."""
    from semisep_lib.errors import UsageError
    from semisep_lib.method.losses import level_abar

    bbar, c = torch.tensor([[[0.3, 0.75]]]), torch.tensor([[[0.2, 0.75]]])
    abar, a_peak = bbar + c, torch.tensor([1.0])
    assert all(torch.equal(x, y) for x, y in zip(level_abar(abar, bbar, c, a_peak, "free"), (abar, bbar, c)))
    clamped = level_abar(abar, bbar, c, a_peak, "clamp")
    assert torch.allclose(clamped[0], torch.tensor([[[0.5, 1.0]]])) and clamped[1] is bbar and clamped[2] is c
    s_abar, s_bbar, s_c = level_abar(abar, bbar, c, a_peak, "rescale")
    assert torch.allclose(s_abar, torch.tensor([[[0.5, 1.5]]]) / 1.5)
    assert torch.allclose(s_bbar, bbar / 1.5) and torch.allclose(s_c, c / 1.5) and torch.allclose(s_abar, s_bbar + s_c)
    # clamp and rescale are relative to a's own peak: at a peak of 2, nothing below 2 is clipped
    assert torch.equal(level_abar(abar, bbar, c, torch.tensor([2.0]), "clamp")[0], abar)
    with pytest.raises(UsageError):
        level_abar(abar, bbar, c, a_peak, "loud")


class RecordingD(torch.nn.Module):
    """A discriminator that sees levels and keeps what it was shown (one score per example)."""

    sees_level = True

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.ones(()))
        self.seen = []

    def forward(self, x):
        self.seen.append(x.detach())
        return [self.w * x.mean(dim=(1, 2))]


def test_free_abar_peaks_above_every_real_mixture_and_the_fixes_do_not():
    """The level cue: real mixtures reach d_A at unit peak, but with a mask of 0.1 ā = 0.9·a + c peaks higher
    ("free"); "clamp" clips it at a's peak (a complex sum may also peak below it, which it leaves), "rescale"
    brings it exactly to a's peak."""
    from conftest import ConstantMask

    cfg = Config.from_preset("smoke")
    A, C = _batch(cfg, n=4)
    peaks = {}
    for how in ABAR_LEVELS:
        d_A, d_C = RecordingD(), RecordingD()
        discriminator_losses(ConstantMask(0.1), d_A, d_C, A, C, A, dataclasses.replace(cfg.loss, abar_level=how))
        real, fake = d_A.seen[0].split(4)  # batched: [real mixtures; ā]
        assert torch.allclose(real.flatten(1).amax(1), torch.ones(4), atol=1e-5)
        peaks[how] = fake.flatten(1).amax(1)
    assert (peaks["free"] > 1.05).all(), peaks["free"]
    assert (peaks["clamp"] <= 1 + 1e-6).all()
    assert torch.allclose(peaks["rescale"], torch.ones(4), atol=1e-5)


class HalfMask(torch.nn.Module):
    """A g that keeps half of whatever it sees: ``g(x) = x / 2``."""

    down_factor = 1

    def mask(self, x, peak=None):
        return torch.full_like(x, 0.5)

    def forward(self, x, peak=None):
        return self.mask(x, peak) * x


def test_voice_gain_puts_the_estimated_voice_louder_in_R3_R4_but_not_in_GAN_A():
    """With g(x) = x/2 and a, c real and positive: b̄ = a/2. At a voice gain α (+6.0206 dB: α = 2) R3/R4 take
    apart ā = α·b̄ + c: R3 = mean|ā/2 − c| = mean|α·a/4 − c/2|, R4 = mean|ā/2 − α·b̄| = mean|c/2 − α·a/4| — the
    same here; at α = 1 (the paper's ā) they are mean|a/4 − c/2|. d_A still sees the paper's ā = a/2 + c."""
    a, c = torch.tensor([[[1.0, 0.2]]]), torch.tensor([[[0.6, 1.0]]])
    A, C = a.to(torch.complex64), c.to(torch.complex64)
    loss = _only(LossConfig(), "R3", "R4", "GAN_A")
    d_A = RecordingD()
    _, plain = generator_losses(HalfMask(), d_A, None, A, C, loss, 1.0)
    louder = dataclasses.replace(loss, voice_gain_db=(20 * torch.log10(torch.tensor(2.0)).item(),) * 2)
    d_A2 = RecordingD()
    _, loud = generator_losses(HalfMask(), d_A2, None, A, C, louder, 1.0)
    assert plain["R3"] == pytest.approx((abs(0.25 - 0.3) + abs(0.05 - 0.5)) / 2, abs=1e-6)
    assert loud["R3"] == pytest.approx((abs(0.5 - 0.3) + abs(0.1 - 0.5)) / 2, abs=1e-6)
    assert loud["R4"] == pytest.approx(loud["R3"], abs=1e-6)
    assert torch.allclose(d_A2.seen[0], a / 2 + c) and torch.allclose(d_A.seen[0], d_A2.seen[0])
    assert loud["GAN_A"] == pytest.approx(plain["GAN_A"])


def test_random_gains_are_uniform_in_db_over_the_range():
    from semisep_lib.method.losses import random_gains

    torch.manual_seed(0)
    alpha = random_gains(4000, (-6.0, 12.0), torch.zeros(1))
    db = 20 * torch.log10(alpha.flatten())
    assert alpha.shape == (4000, 1, 1) and db.min() >= -6.0 - 1e-4 and db.max() <= 12.0 + 1e-4
    assert db.mean().item() == pytest.approx(3.0, abs=0.3)  # the middle of the range
    assert torch.equal(random_gains(3, (0.0, 0.0), torch.zeros(1)), torch.ones(3, 1, 1))


def test_d_C_real_gain_shows_d_C_the_real_instrumentals_at_random_levels():
    """With d_C_real_gain_db (−12, 0) d_C's real examples are c times gains between 10^(−12/20) and 1, drawn per
    example (d_C sees levels, so c reaches it at unit peak first); g(a) and d_A's examples are untouched."""
    from conftest import ConstantMask

    cfg = Config.from_preset("smoke")
    A, C = _batch(cfg, n=64)
    seen = {}
    for db in ((0.0, 0.0), (-12.0, 0.0)):
        d_A, d_C = RecordingD(), RecordingD()
        torch.manual_seed(0)
        discriminator_losses(ConstantMask(0.5), d_A, d_C, A, C, A, dataclasses.replace(cfg.loss, d_C_real_gain_db=db))
        seen[db] = (d_C.seen[0].split(64), d_A.seen[0])
    (real0, fake0), a0 = seen[(0.0, 0.0)]
    (real1, fake1), a1 = seen[(-12.0, 0.0)]
    gains = real1.flatten(1).amax(1) / real0.flatten(1).amax(1)
    assert torch.allclose(real0.flatten(1).amax(1), torch.ones(64), atol=1e-5)
    assert (gains >= 10 ** (-12 / 20) - 1e-5).all() and (gains <= 1 + 1e-5).all() and gains.std() > 0.1
    assert torch.allclose(real1, gains[:, None, None] * real0, atol=1e-6)
    assert torch.equal(fake0, fake1) and torch.equal(a0, a1)
