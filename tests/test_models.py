"""The networks: shapes, g(x) = mask(x)·x with mask in [0, 1], discriminator outputs."""

import pytest
import torch

from semisep_lib.method.checkpoint import cpu_has_bf16
from semisep_lib.method.config import Config
from semisep_lib.method.models import Conv2d, MaskNet, MultiScaleDiscriminator, build_models, count_parameters


@pytest.mark.parametrize("preset", ["smoke", "cpu"])
def test_g_returns_mask_times_input(preset):
    cfg = Config.from_preset(preset)
    g, d_A, d_C = build_models(cfg)
    x = torch.rand(2, cfg.spectral.bins, cfg.spectral.segment_frames) * 5
    m = g.mask(x)
    assert m.shape == x.shape and m.min() >= 0 and m.max() <= 1
    assert torch.allclose(g(x), m * x)
    scores = d_A(x)
    assert len(scores) == cfg.model.d_scales and all(s.dim() == 4 and s.shape[1] == 1 for s in scores)


def test_g_starts_near_identity_in_cpu_preset():
    cfg = Config.from_preset("cpu")
    g = build_models(cfg)[0]
    assert g.mask(torch.rand(1, 256, 64)).mean() > 0.9  # sigmoid(g_mask_bias=3) ≈ 0.95


def test_g_is_scale_invariant_and_silence_safe():
    g = build_models(Config.from_preset("smoke"))[0]
    x = torch.rand(1, 256, 32)
    assert torch.allclose(g.mask(x), g.mask(x * 50), atol=1e-5)
    y = g(torch.zeros(1, 256, 32))
    assert torch.isfinite(y).all() and y.abs().max() == 0


def test_g_rejects_indivisible_shapes():
    g = build_models(Config.from_preset("smoke"))[0]
    with pytest.raises(ValueError):
        g.mask(torch.rand(1, 256, 30))


def test_paper_g_has_the_authors_layout():
    cfg = Config.from_preset("paper")
    g = MaskNet(cfg.model, cfg.spectral)
    convs = [m for m in g.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs[0].kernel_size == (7, 7) and convs[0].out_channels == 64
    assert [c.out_channels for c in convs[1:3]] == [128, 256] and convs[1].stride == (2, 2)
    assert convs[-1].kernel_size == (7, 7) and convs[-1].out_channels == 1
    assert count_parameters(g) > 5_000_000


def test_compressed_domain_mask_is_the_linear_mask_to_the_power_one_over_compress():
    """The authors multiply the compressed image: σ·|X|^c = (σ^(1/c)·|X|)^c, so the linear mask is σ^(1/c)."""
    cfg = Config.from_preset("smoke")
    torch.manual_seed(0)
    g_lin = build_models(cfg)[0]
    g_cmp = build_models(cfg.updated({"model": {"mask_domain": "compressed"}}))[0]
    g_cmp.load_state_dict(g_lin.state_dict())
    mag = torch.rand(2, cfg.spectral.bins, 32)
    m_lin, m_cmp = g_lin.mask(mag), g_cmp.mask(mag)
    assert torch.allclose(m_cmp, m_lin ** (1 / cfg.spectral.compress), atol=1e-6)
    c = cfg.spectral.compress
    assert torch.allclose((m_cmp * mag) ** c, m_lin * mag ** c, atol=1e-5)
    with pytest.raises(ValueError, match="mask_domain"):
        build_models(cfg.updated({"model": {"mask_domain": "log"}}))


def test_spectrally_normalised_discriminators_have_unit_spectral_norm_layers():
    """``d_spectral_norm``: each convolution's weight, as a matrix (out, in·kh·kw), has largest singular value 1
    once power iteration has run; the scores keep their shapes; off, the paper's discriminator is untouched."""
    import dataclasses

    cfg = Config.from_preset("smoke")
    plain = MultiScaleDiscriminator(cfg.model, cfg.spectral)
    assert not any("parametrizations" in k for k in plain.state_dict())
    torch.manual_seed(0)
    d = MultiScaleDiscriminator(dataclasses.replace(cfg.model, d_spectral_norm=True), cfg.spectral)
    x = torch.rand(2, 64, 32)
    for _ in range(30):  # training-mode calls refine the power iteration's estimate
        out = d(x)
    assert [o.shape for o in out] == [o.shape for o in plain(x)]
    convs = [m for m in d.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == cfg.model.d_scales * (cfg.model.d_layers + 1)
    for conv in convs:
        sigma = torch.linalg.matrix_norm(conv.weight.detach().flatten(1), ord=2)
        assert sigma == pytest.approx(1.0, abs=0.05)


@pytest.mark.parametrize("bf16", [False, True])
@pytest.mark.parametrize("layout", [torch.channels_last, torch.contiguous_format])
def test_g_norms_give_pytorchs_values_and_layout(bf16, layout):
    """models.InstanceNorm2d / LayerNorm2d only change how the work is laid out: their output (values, dtype,
    memory layout) and their gradients equal nn.InstanceNorm2d's / nn.GroupNorm(1, C)'s."""
    from torch import nn

    from semisep_lib.method.models import InstanceNorm2d, LayerNorm2d

    torch.manual_seed(0)
    ours_in, ours_ln = InstanceNorm2d(6, affine=True), LayerNorm2d(6)
    for m in (ours_in, ours_ln):
        with torch.no_grad():
            m.weight.uniform_(0.5, 1.5)
            m.bias.uniform_(-0.5, 0.5)
    theirs_in, theirs_ln = nn.InstanceNorm2d(6, affine=True), nn.GroupNorm(1, 6)
    theirs_in.load_state_dict(ours_in.state_dict())
    theirs_ln.load_state_dict(ours_ln.state_dict())
    dtype = torch.bfloat16 if bf16 else torch.float32
    x0 = (torch.randn(3, 6, 16, 8) * 3 + 1).to(dtype).contiguous(memory_format=layout)
    for ours, theirs in ((ours_in, theirs_in), (ours_ln, theirs_ln)):
        outs = []
        for m in (ours, theirs):
            m.zero_grad()
            x = x0.clone().requires_grad_()
            y = m(x)
            (y.float() * torch.linspace(-1, 1, y.numel()).view_as(y)).sum().backward()
            outs.append((y, x.grad, m.weight.grad))
        (y1, gx1, gw1), (y2, gx2, gw2) = outs
        assert y1.dtype == y2.dtype and y1.is_contiguous(memory_format=layout)
        tol = dict(atol=2e-2, rtol=2e-2) if bf16 else dict(atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(y1, y2, **tol)
        torch.testing.assert_close(gx1, gx2, **tol)
        torch.testing.assert_close(gw1, gw2, **tol)


@pytest.mark.skipif(not cpu_has_bf16(), reason="this CPU has no bf16 kernels: bf16 autocast is not used on it")
def test_bf16_convolutions_with_one_wide_outputs_match_fp32():
    """oneDNN's CPU bf16 kernel gave NaN or wrong values for convolutions with a 1-sample-wide output (seen on an
    Intel Xeon with AMX): ``models.Conv2d`` runs those in fp32. The discriminators' coarsest scale has them."""
    torch.manual_seed(0)
    for (h, w), stride in (((64, 2), 2), ((256, 3), 2), ((8, 2), 2), ((16, 1), 1)):
        conv = Conv2d(8, 16, 4 if stride == 2 else 3, stride=stride, padding=1)
        x = 0.1 * torch.randn(16, 8, h, w)
        with torch.no_grad():
            ref = conv(x)
            for _ in range(3):  # the wrong values came and went from call to call
                with torch.autocast("cpu", dtype=torch.bfloat16):
                    y = conv(x.contiguous(memory_format=torch.channels_last)).float()
                assert torch.isfinite(y).all()
                assert (y - ref).abs().max() <= 0.02 * ref.abs().max()
    cfg = Config.from_preset("cpu")
    _, d_A, _ = build_models(cfg)
    mag = torch.rand(16, 256, cfg.spectral.segment_frames) ** 4
    with torch.no_grad():
        ref = d_A(mag)
        for _ in range(5):  # before the fix, about one call in five went wrong
            with torch.autocast("cpu", dtype=torch.bfloat16):
                out = d_A(mag)
            for r, o in zip(ref, out):
                assert torch.isfinite(o).all() and (o.float() - r).abs().max() <= 0.05 * r.abs().max() + 0.05


def test_fp32_convolution_to_one_channel_is_the_same_sum():
    """In fp32 on the CPU, ``models.Conv2d`` to one output channel runs as a depthwise convolution and a channel
    sum (faster there): the same output and the same gradients as ``nn.Conv2d``'s, to float rounding, in either
    memory layout, with and without bias, padding and stride; other convolutions are ``nn.Conv2d``'s exactly."""
    torch.manual_seed(0)
    for layout, bias, padding, stride in ((torch.channels_last, True, 0, 1), (torch.contiguous_format, True, 3, 1),
                                          (torch.channels_last, False, 1, 2)):
        ours = Conv2d(8, 1, 7, stride=stride, padding=padding, bias=bias).to(memory_format=layout)
        plain = torch.nn.Conv2d(8, 1, 7, stride=stride, padding=padding, bias=bias).to(memory_format=layout)
        plain.load_state_dict(ours.state_dict())
        x = torch.randn(4, 8, 40, 30).contiguous(memory_format=layout)
        weights = torch.rand(x[:, 0].numel())  # a loss whose gradients do not cancel
        results = []
        for conv in (ours, plain):
            xi = x.clone().requires_grad_()
            y = conv(xi)
            (y * weights[: y.numel()].view_as(y)).sum().backward()
            results.append([y.detach(), xi.grad, *(p.grad for p in conv.parameters())])
            conv.zero_grad()
        assert results[0][0].shape == results[1][0].shape == (4, 1, *ours._output_size(x))
        for a, b in zip(*results):  # float rounding: sums of ~3,000 products in another order
            assert (a - b).abs().max() <= 1e-5 * b.abs().max()
    wide = Conv2d(8, 2, 3)
    x = torch.randn(2, 8, 10, 10)
    assert torch.equal(wide(x), torch.nn.functional.conv2d(x, wide.weight, wide.bias))
