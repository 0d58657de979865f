"""The six terms against hand computations, the identity's zero R-losses, and term switches."""

import dataclasses

import pytest
import torch

from semisep_lib.config import TERMS, Config
from semisep_lib.losses import (GAN_A, GAN_C, R1, R2, R3, R4, discriminator_losses, generator_losses, l1,
                                lsgan_discriminator, lsgan_generator, needs, synthetic_mixture)
from semisep_lib.models import build_models
from semisep_lib.spectral import STFT, compress, crop


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
    from semisep_lib.losses import lsgan_fake
    from semisep_lib.spectral import magnitude

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
    from semisep_lib.spectral import magnitude

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
    from semisep_lib.losses import unit_peak

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

    from semisep_lib import losses

    cfg = Config.from_preset("smoke")
    g, d_A, d_C = build_models(cfg)
    torch.nn.init.constant_(g.net[-1].bias, 0.0)
    A, C = _batch(cfg, n=3)
    results = []
    for one_call in (False, True):
        if not one_call:
            monkeypatch.setattr(losses, "batched", lambda net, *xs: [net(x) for x in xs])
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
