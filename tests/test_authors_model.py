"""The four details of the authors' networks that ``ModelConfig`` can switch on (the ``paper`` preset does), each
against a small hand computation of their formula: their LayerNorm, instance norm with running statistics,
Kaiming / N(0, 0.02) initialisation, reflection padding of the stride-2 convolutions. And the defaults keep ours."""

import math

import pytest
import torch
import torch.nn.functional as F

from semisep_lib.method.config import Config, ModelConfig
from semisep_lib.method.models import (AuthorsLayerNorm2d, LayerNorm2d, MaskNet, build_models, count_parameters,
                                       down_conv, instance_norm)

AUTHORS = dict(g_instance_norm="running", g_layer_norm="authors", init="authors", down_pad="reflect")


def test_defaults_are_ours_and_only_the_paper_preset_takes_the_authors():
    ours = dict(g_instance_norm="affine", g_layer_norm="group", init="pytorch", down_pad="zero")
    m = ModelConfig()
    assert {k: getattr(m, k) for k in ours} == ours
    for name in ("smoke", "cpu", "long"):
        m = Config.from_preset(name).model
        assert {k: getattr(m, k) for k in ours} == ours, name
    m = Config.from_preset("paper").model
    assert {k: getattr(m, k) for k in AUTHORS} == AUTHORS
    g = build_models(Config.from_preset("cpu"))[0]
    assert not any("running" in k for k in g.state_dict())  # the shipped model's keys: affine norms only


def test_unknown_values_are_refused():
    cfg = Config.from_preset("smoke")
    for field in AUTHORS:
        with pytest.raises(ValueError, match=field):
            build_models(cfg.updated({"model": {field: "nonsense"}}))


def test_authors_layer_norm_by_hand():
    """x = [1, 3 | 5, 7] (C = 2 channels of F·T = 1·2): μ = 4, unbiased s = √((9 + 1 + 1 + 9) / 3) = √(20/3);
    out = γ_c · (x − μ) / (s + ε) + β_c. GroupNorm would divide by √(σ² + ε) with the biased σ² = 5."""
    ln = AuthorsLayerNorm2d(2, eps=0.5)  # a large ε, so that (s + ε) and √(s² + ε) differ visibly
    with torch.no_grad():
        ln.weight.copy_(torch.tensor([0.5, 2.0]))
        ln.bias.copy_(torch.tensor([0.1, -0.2]))
    x = torch.tensor([1.0, 3.0, 5.0, 7.0]).view(1, 2, 1, 2)
    d = math.sqrt(20 / 3) + 0.5
    want = torch.tensor([0.5 * -3 / d + 0.1, 0.5 * -1 / d + 0.1, 2 * 1 / d - 0.2, 2 * 3 / d - 0.2]).view(1, 2, 1, 2)
    torch.testing.assert_close(ln(x), want)
    gn = LayerNorm2d(2)  # ours: γ = 1, β = 0, (x − 4) / √(5 + 1e-5)
    torch.testing.assert_close(gn(x), ((x - 4) / math.sqrt(5 + 1e-5)))
    # each example its own statistics; bf16 in, bf16 out
    ln = AuthorsLayerNorm2d(2)
    xx = torch.cat([x, 10 * x + 3])
    y = ln(xx)
    torch.testing.assert_close(y[1], y[0], atol=1e-5, rtol=1e-5)
    assert ln(xx.bfloat16()).dtype == torch.bfloat16


def test_authors_layer_norm_draws_gamma_from_u01_and_beta_zero():
    torch.manual_seed(0)
    lns = [m for m in build_models(Config.from_preset("paper"))[0].modules() if isinstance(m, AuthorsLayerNorm2d)]
    assert [ln.weight.numel() for ln in lns] == [128, 64] and all(ln.eps == 1e-5 for ln in lns)
    gamma = torch.cat([ln.weight.detach() for ln in lns])
    assert gamma.min() >= 0 and gamma.max() < 1 and abs(gamma.mean() - 0.5) < 0.06  # U(0, 1): mean 1/2
    assert all((ln.bias == 0).all() for ln in lns)


def test_running_instance_norm_trains_on_each_example_and_evaluates_with_running_statistics():
    """Training: (x − μ_n,c) / √(σ²_n,c + ε) with each example's biased statistics, and running_mean ←
    0.9 · 0 + 0.1 · mean_n μ_n,c, running_var ← 0.9 · 1 + 0.1 · mean_n s²_n,c (unbiased s²). After eval():
    every input is normalised by those running statistics instead."""
    norm = instance_norm("running")(3)
    assert not list(norm.parameters())  # no affine weights
    torch.manual_seed(0)
    x = torch.randn(2, 3, 4, 5) * 2 + 1
    mu, var = x.mean((2, 3), keepdim=True), x.var((2, 3), unbiased=False, keepdim=True)
    torch.testing.assert_close(norm(x), (x - mu) / torch.sqrt(var + 1e-5))
    run_mean = 0.1 * x.mean((2, 3)).mean(0)
    run_var = 0.9 + 0.1 * x.var((2, 3), unbiased=True).mean(0)
    torch.testing.assert_close(norm.running_mean, run_mean)
    torch.testing.assert_close(norm.running_var, run_var)
    norm.eval()
    y = torch.randn(1, 3, 4, 5)
    torch.testing.assert_close(norm(y), (y - run_mean.view(1, 3, 1, 1)) / torch.sqrt(run_var.view(1, 3, 1, 1) + 1e-5))
    torch.testing.assert_close(norm.running_mean, run_mean)  # eval leaves them alone
    ours = instance_norm("affine")(3).eval()  # ours: each example's statistics in eval too
    torch.testing.assert_close(ours(y), (y - y.mean((2, 3), keepdim=True))
                               / torch.sqrt(y.var((2, 3), unbiased=False, keepdim=True) + 1e-5))


def test_g_with_running_norms_uses_them_after_eval():
    """A small g with the authors' norms: train-mode calls move the running statistics, eval-mode calls read
    them (so a mask then depends on what g saw in training, and not on the rest of its batch)."""
    cfg = Config.from_preset("smoke").updated({"model": AUTHORS})
    torch.manual_seed(0)
    g = build_models(cfg)[0]
    buffers = lambda: [b.clone() for n, b in g.named_buffers() if "running" in n]  # noqa: E731
    fresh = buffers()
    x = torch.rand(2, cfg.spectral.bins, 32)
    with torch.no_grad():
        m_train = g.mask(x)
        trained = buffers()
        assert all(not torch.equal(a, b) for a, b in zip(fresh, trained))
        g.eval()
        m_eval = g.mask(x)
        assert all(torch.equal(a, b) for a, b in zip(trained, buffers()))
        assert not torch.allclose(m_eval, m_train, atol=1e-4)
        torch.testing.assert_close(g.mask(x[:1]), m_eval[:1])  # a batch changes nothing in eval


def test_authors_init_kaiming_for_g_gaussian_for_the_discriminators_biases_zero():
    """g: every convolution N(0, 2 / fan_in), fan_in = C_in·kh·kw (He, a = 0); d_A, d_C: N(0, 0.02²); every
    bias 0 (g's last one is g_mask_bias, 0 in the paper preset). PyTorch's default would give std 1/√(3·fan_in)."""
    torch.manual_seed(0)
    g, d_A, d_C = build_models(Config.from_preset("paper"))
    convs = [m for m in g.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 1 + 2 + 16 + 2 + 1
    for conv in convs:
        w = conv.weight.detach()
        fan_in = w.shape[1] * w.shape[2] * w.shape[3]
        assert w.std().item() == pytest.approx(math.sqrt(2 / fan_in), rel=0.05)
        assert abs(w.mean().item()) < 0.1 * w.std().item()
        assert (conv.bias == 0).all()
    for d in (d_A, d_C):
        convs = [m for m in d.modules() if isinstance(m, torch.nn.Conv2d)]
        assert len(convs) == 3 * 5
        for conv in convs:
            assert conv.weight.detach().std().item() == pytest.approx(0.02, rel=0.15)  # the 1×1: 512 weights
            assert (conv.bias == 0).all()


def test_reflection_padded_stride_2_conv_is_a_conv_of_the_hand_padded_tensor():
    """``down_conv(.., "reflect")``: pad one sample by reflection (row −1 is row 1, row H is row H − 2; the same
    for columns), then a stride-2 4×4 convolution without padding; same output size as the zero-padded one."""
    torch.manual_seed(0)
    x = torch.randn(1, 2, 6, 8)
    layers = down_conv(2, 3, "reflect")
    conv = layers[-1]
    assert conv.padding == (0, 0)
    p = torch.cat([x[:, :, 1:2], x, x[:, :, -2:-1]], dim=2)  # rows: x1, x0 … x5, x4
    p = torch.cat([p[..., 1:2], p, p[..., -2:-1]], dim=3)  # columns likewise
    want = F.conv2d(p, conv.weight, conv.bias, stride=2)
    got = torch.nn.Sequential(*layers)(x)
    torch.testing.assert_close(got, want)
    zero = down_conv(2, 3, "zero")[0]
    with torch.no_grad():
        zero.weight.copy_(conv.weight), zero.bias.copy_(conv.bias)
    assert zero(x).shape == got.shape == (1, 3, 3, 4)
    assert not torch.allclose(zero(x)[..., 0, :], got[..., 0, :])  # the borders differ


def test_paper_models_pad_every_convolution_by_reflection():
    """The paper preset: no convolution pads by itself (no zeros); each one with a kernel wider than 1 follows a
    ReflectionPad2d of half its kernel (1 for the stride-2 4×4 ones)."""
    g, d_A, _ = build_models(Config.from_preset("paper"))
    for net in (g.net, *[s.net for s in d_A.scales]):
        layers = list(net.modules())
        for i, m in enumerate(layers):
            if isinstance(m, torch.nn.Conv2d):
                assert m.padding == (0, 0)
                k = m.kernel_size[0]
                if k > 1:
                    pad = layers[i - 1]
                    assert isinstance(pad, torch.nn.ReflectionPad2d) and pad.padding[0] == (k - 1) // 2


def test_paper_g_has_the_authors_parameter_count():
    """Their MaskGen (vocals_new.yaml: dim 64, 2 downsamplings, 4 + 4 residual blocks): 3,200 + 131,200 +
    524,544 + 16 × 590,080 + (819,328 + 256) + (204,864 + 128) + 3,137 = 11,127,937 weights; no instance norm
    weights. Each discriminator scale 1,088 + 131,200 + 524,544 + 2,097,664 + 513, three scales."""
    cfg = Config.from_preset("paper")
    g, d_A, d_C = build_models(cfg)
    assert count_parameters(g) == 11_127_937
    assert count_parameters(d_A) == count_parameters(d_C) == 3 * 2_755_009
    ours = cfg.updated({"model": {"g_instance_norm": "affine"}})
    assert count_parameters(MaskNet(ours.model, ours.spectral)) == 11_137_025  # the affine norms' 9,088 weights
