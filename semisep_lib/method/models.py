"""The networks: the masking network ``g`` and the discriminators ``d_A`` and ``d_C``.

``g`` follows the authors' convolutional encoder–decoder (no skip connections): a 7×7 convolution, stride-2
4×4 convolutions down, residual blocks with instance norm at the bottleneck, nearest-neighbour upsampling with
5×5 convolutions (3×3 in the small presets) and layer norm back up, and a 7×7 convolution to one channel whose sigmoid is the mask.
``g(x) = mask(x) · x``: it returns the *instrumental* part of a magnitude spectrogram.

``d_A`` (real mixtures vs synthetic mixtures ``ā``) and ``d_C`` (real instrumentals vs ``g(a)``) are
multi-scale PatchGANs: the same stack of stride-2 4×4 convolutions applied to the input and to average-pooled
copies of it, each giving a map of per-patch scores.

Four fields of :class:`~semisep_lib.method.config.ModelConfig` choose between our defaults and details of the authors'
code that the paper does not state (their ``networks.py`` and ``utils.weights_init``; the ``paper`` preset takes
theirs): ``g_instance_norm`` (affine weights, or running statistics used after ``g.eval()``), ``g_layer_norm``
(GroupNorm, or their LayerNorm), ``init`` (PyTorch's, or Kaiming-normal for ``g`` and N(0, 0.02) for the
discriminators) and ``down_pad`` (zero or reflection padding of the stride-2 convolutions).
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from .config import Config, ModelConfig, SpectralConfig
from .spectral import compress, features


def _channels_last(x: torch.Tensor) -> bool:
    """Whether ``x`` ``(N, C, H, W)`` is laid out channels-last (and not also plain contiguous, as when C = 1)."""
    return x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous()


def _choice(name: str, value: str, options: tuple[str, ...]) -> str:
    """``value`` if it is one of ``options``; else a ValueError that names the config field."""
    if value not in options:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, options))}, got {value!r}")
    return value


class Conv2d(nn.Conv2d):
    """``nn.Conv2d``, except in two places where oneDNN's CPU kernels fail us (``tests/test_models.py`` checks both):

    * under CPU bf16 autocast, a convolution whose output is one sample wide or high (the discriminators' coarsest
      scale) runs in fp32 and comes back fp32: oneDNN's bf16 kernel gave NaN or wrong values there (see
      ``docs/decisions.md``, "bf16 convolutions with a one-sample-wide output run in fp32");
    * in fp32 on the CPU, a convolution to *one* output channel with a kernel wider than 1×1 (``g``'s last layer)
      runs as ``y = b + Σ_c x_c ⋆ w_c``: a depthwise convolution (each input channel with its own filter), then a
      sum over channels — the same sum to float rounding, faster than oneDNN's kernel for one output channel (see
      ``docs/decisions.md``, "g's last convolution as a depthwise convolution and a channel sum").
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.device.type == "cpu" and torch.is_autocast_enabled("cpu"):
            if min(self._output_size(x)) == 1:
                with torch.autocast("cpu", enabled=False):
                    return super().forward(x.float())
        elif (x.device.type == "cpu" and self.out_channels == 1 and self.groups == 1 and x.dtype == torch.float32
              and self.kernel_size != (1, 1) and self.padding_mode == "zeros"):
            # weight (1, C, kh, kw) → C filters of one channel each: (C, 1, kh, kw)
            y = nn.functional.conv2d(x, self.weight.transpose(0, 1), None, self.stride, self.padding,
                                     self.dilation, groups=self.in_channels).sum(1, keepdim=True)
            return y if self.bias is None else y + self.bias.view(1, 1, 1, 1)
        return super().forward(x)

    def _output_size(self, x: torch.Tensor) -> tuple[int, int]:
        """The output's ``(H, W)`` for an input ``(N, C, H, W)`` (padding given as numbers)."""
        return tuple((n + 2 * p - d * (k - 1) - 1) // s + 1 for n, p, d, k, s in
                     zip(x.shape[-2:], self.padding, self.dilation, self.kernel_size, self.stride))


class InstanceNorm2d(nn.InstanceNorm2d):
    """``nn.InstanceNorm2d``; a channels-last input (training on a CPU) is normalised as a contiguous copy and
    given back channels-last: the same values (to float rounding), faster than PyTorch's own channels-last path
    (see ``docs/decisions.md``, "g's norms laid out for channels-last inputs")."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not _channels_last(x):
            return super().forward(x)
        return super().forward(x.contiguous()).contiguous(memory_format=torch.channels_last)


class LayerNorm2d(nn.GroupNorm):
    """The decoder's layer norm: each example normalised over (channels, F, T), then a per-channel scale and
    shift — ``GroupNorm(1, C)``. A channels-last input is normalised in fp32 and returned in its own dtype (the
    same values up to bf16 rounding): PyTorch's bf16 kernel is slow on that layout on a CPU, and is kept for
    contiguous inputs, where it is the faster one (see ``docs/decisions.md``, "g's norms laid out for channels-last
    inputs")."""

    def __init__(self, channels: int):
        super().__init__(1, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not _channels_last(x):
            return super().forward(x)
        return super().forward(x.float()).to(x.dtype)


class AuthorsLayerNorm2d(nn.Module):
    """The authors' layer norm (their ``networks.LayerNorm``, from MUNIT): each example ``(C, F, T)`` is centred
    and divided by its *unbiased* standard deviation *plus* ``eps`` — ``(x − μ) / (s + ε)``, where GroupNorm
    computes ``(x − μ) / √(σ² + ε)`` with the biased σ — then scaled by ``γ`` (drawn from U(0, 1), not 1)
    and shifted by ``β`` (0) per channel. Computed in fp32, returned in the input's dtype."""

    def __init__(self, channels: int, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.rand(channels))  # γ ~ U(0, 1)
        self.bias = nn.Parameter(torch.zeros(channels))  # β

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, C, F, T)`` → the same shape and dtype."""
        y = x.float()
        mean = y.mean(dim=(1, 2, 3), keepdim=True)  # (N, 1, 1, 1)
        std = y.std(dim=(1, 2, 3), keepdim=True)  # unbiased: the sum of squares divided by C·F·T − 1
        y = (y - mean) / (std + self.eps)
        return (y * self.weight[:, None, None] + self.bias[:, None, None]).to(x.dtype)


def instance_norm(kind: str) -> Callable[[int], nn.Module]:
    """``channels`` → one of ``g``'s instance norms: ``"affine"`` learns a scale and shift per channel and always
    uses each example's statistics; ``"running"`` (the authors') has no weights, and keeps running statistics
    (momentum 0.1) in training that it uses instead after ``eval()``."""
    if _choice("g_instance_norm", kind, ("affine", "running")) == "affine":
        return lambda ch: InstanceNorm2d(ch, affine=True)
    return lambda ch: InstanceNorm2d(ch, track_running_stats=True)


def layer_norm(kind: str) -> Callable[[int], nn.Module]:
    """``channels`` → ``g``'s decoder norm: ``"group"`` (:class:`LayerNorm2d`) or ``"authors"``
    (:class:`AuthorsLayerNorm2d`)."""
    return LayerNorm2d if _choice("g_layer_norm", kind, ("group", "authors")) == "group" else AuthorsLayerNorm2d


def down_conv(c_in: int, c_out: int, pad: str) -> list[nn.Module]:
    """A stride-2 4×4 convolution that halves F and T, padded by one sample: with zeros (``"zero"``, inside the
    convolution) or by reflection (``"reflect"``, the authors'). The convolution is the list's last module."""
    if _choice("down_pad", pad, ("zero", "reflect")) == "zero":
        return [Conv2d(c_in, c_out, 4, stride=2, padding=1)]
    return [nn.ReflectionPad2d(1), Conv2d(c_in, c_out, 4, stride=2)]


def authors_init(conv: nn.Conv2d, weight: str) -> nn.Conv2d:
    """The authors' initialisation of one convolution (their ``utils.weights_init``): the weight Kaiming-normal
    (``"kaiming"``: fan_in, a = 0, so N(0, 2 / fan_in) with fan_in = C_in·kh·kw) or N(0, 0.02²) (``"gaussian"``);
    the bias 0. Returns ``conv``."""
    if weight == "kaiming":
        nn.init.kaiming_normal_(conv.weight, a=0, mode="fan_in")
    else:
        nn.init.normal_(conv.weight, 0.0, 0.02)
    nn.init.zeros_(conv.bias)
    return conv


class ResBlock(nn.Module):
    """Two 3×3 convolutions with reflection padding and instance norm (``norm(channels)``), added to the input."""

    def __init__(self, ch: int, norm: Callable[[int], nn.Module] = instance_norm("affine")):
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1), Conv2d(ch, ch, 3), norm(ch), nn.ReLU(True),
            nn.ReflectionPad2d(1), Conv2d(ch, ch, 3), norm(ch),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class MaskNet(nn.Module):
    """``g``: magnitude spectrogram ``(batch, F, T)`` → instrumental magnitude ``(batch, F, T)``.

    ``F`` and ``T`` must be divisible by ``2 ** g_down``. :meth:`mask` gives the soft mask itself.
    """

    def __init__(self, model: ModelConfig, spectral: SpectralConfig):
        super().__init__()
        self.power = spectral.compress
        self.down_factor = 2**model.g_down
        if model.mask_domain not in ("linear", "compressed"):
            raise ValueError(f"mask_domain must be 'linear' or 'compressed', got {model.mask_domain!r}")
        self.mask_exponent = 1.0 if model.mask_domain == "linear" else 1.0 / spectral.compress
        norm_in, norm_ln = instance_norm(model.g_instance_norm), layer_norm(model.g_layer_norm)
        ch = model.g_channels
        layers: list[nn.Module] = [nn.ReflectionPad2d(3), Conv2d(1, ch, 7), norm_in(ch), nn.ReLU(True)]
        for _ in range(model.g_down):  # encoder: halve F and T, double channels
            layers += [*down_conv(ch, 2 * ch, model.down_pad), norm_in(2 * ch), nn.ReLU(True)]
            ch *= 2
        layers += [ResBlock(ch, norm_in) for _ in range(model.g_res_blocks)]
        for _ in range(model.g_down):  # decoder: nearest upsampling, 5×5 conv, layer norm
            k = model.g_up_kernel
            layers += [nn.Upsample(scale_factor=2, mode="nearest"), nn.ReflectionPad2d(k // 2),
                       Conv2d(ch, ch // 2, k), norm_ln(ch // 2), nn.ReLU(True)]
            ch //= 2
        layers += [nn.ReflectionPad2d(3), Conv2d(ch, 1, 7)]
        self.net = nn.Sequential(*layers)
        if _choice("init", model.init, ("pytorch", "authors")) == "authors":
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    authors_init(m, "kaiming")
        nn.init.constant_(self.net[-1].bias, model.g_mask_bias)

    def mask(self, mag: torch.Tensor, peak: torch.Tensor | None = None) -> torch.Tensor:
        """Soft mask in [0, 1] on linear magnitudes, same shape as ``mag`` ``(batch, F, T)``: ``σ(net)``, or
        ``σ(net)^(1/compress)`` when the mask lives in the compressed domain (``σ · |X|^c = (σ^(1/c) · |X|)^c``).
        ``peak`` ``(batch,)``: the level that ``g``'s input is divided by (default: each example's own maximum;
        see :func:`~semisep_lib.method.spectral.features`)."""
        if mag.shape[-2] % self.down_factor or mag.shape[-1] % self.down_factor:
            raise ValueError(f"g needs F and T divisible by {self.down_factor}, got {tuple(mag.shape[-2:])}")
        m = torch.sigmoid(self.net(features(mag, self.power, peak))).squeeze(1)
        return m if self.mask_exponent == 1.0 else m ** self.mask_exponent

    def forward(self, mag: torch.Tensor, peak: torch.Tensor | None = None) -> torch.Tensor:
        """``g(x) = mask(x) · x``."""
        return self.mask(mag, peak) * mag


class PatchDiscriminator(nn.Module):
    """One scale: ``layers`` stride-2 4×4 convolutions (channels doubling up to 8× the first; padded as
    ``down_pad`` says), LeakyReLU 0.2, no normalisation, then a 1×1 convolution to a map of patch scores; with
    ``spectral_norm`` (not the paper's) every convolution's weight is divided by its largest singular value;
    ``init="authors"`` draws every weight from N(0, 0.02²), biases 0."""

    def __init__(self, ch: int, layers: int, spectral_norm: bool = False, down_pad: str = "zero",
                 init: str = "pytorch"):
        super().__init__()
        norm = nn.utils.parametrizations.spectral_norm if spectral_norm else (lambda conv: conv)
        theirs = _choice("init", init, ("pytorch", "authors")) == "authors"
        start = (lambda conv: authors_init(conv, "gaussian")) if theirs else (lambda conv: conv)
        mods: list[nn.Module] = []
        c_in = 1
        for i in range(layers):
            c_out = ch * min(2**i, 8)
            *pad, conv = down_conv(c_in, c_out, down_pad)
            mods += [*pad, norm(start(conv)), nn.LeakyReLU(0.2, True)]
            c_in = c_out
        mods.append(norm(start(Conv2d(c_in, 1, 1))))
        self.net = nn.Sequential(*mods)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class MultiScaleDiscriminator(nn.Module):
    """``d_A`` or ``d_C``: magnitude ``(batch, F, T)`` → list of score maps, one per scale.

    The input is normalised like ``g``'s (per-example peak, compression), so loudness is no cue — unless
    ``d_sees_level``: then the losses scale each mixture and instrumental to unit peak once, and levels are a cue."""

    def __init__(self, model: ModelConfig, spectral: SpectralConfig):
        super().__init__()
        self.power = spectral.compress
        self.sees_level = bool(model.d_sees_level)
        self.scales = nn.ModuleList(PatchDiscriminator(model.d_channels, model.d_layers, model.d_spectral_norm,
                                                       model.down_pad, model.init)
                                    for _ in range(model.d_scales))
        self.pool = nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False)

    def forward(self, mag: torch.Tensor) -> list[torch.Tensor]:
        """Score maps for magnitudes ``(batch, F, T)``. With ``sees_level`` the input is only compressed and
        mapped as :func:`features` maps ``[0, 1]``, not divided by its peak: its level is a cue."""
        x = (2 * compress(mag, self.power) - 1).unsqueeze(1) if self.sees_level else features(mag, self.power)
        outs = []
        for i, d in enumerate(self.scales):
            if i:
                x = self.pool(x)
            outs.append(d(x))
        return outs


def build_models(cfg: Config) -> tuple[MaskNet, MultiScaleDiscriminator, MultiScaleDiscriminator]:
    """``(g, d_A, d_C)`` for a configuration."""
    return (MaskNet(cfg.model, cfg.spectral), MultiScaleDiscriminator(cfg.model, cfg.spectral),
            MultiScaleDiscriminator(cfg.model, cfg.spectral))


def count_parameters(module: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)
