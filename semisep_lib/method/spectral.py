"""The STFT pipeline: waveforms ↔ complex spectrograms, magnitudes, compression and mixture phase.

Conventions. A waveform batch is ``(batch, samples)``; a complex spectrogram is ``(batch, bins, frames)`` with
all ``n_fft // 2 + 1`` bins, so that :meth:`STFT.inverse` undoes :meth:`STFT.forward` exactly. The networks see
one bin less: :func:`crop` drops the Nyquist bin (the authors' 256×256 "image") and :func:`uncrop_mask` gives
the dropped bin the mask of its neighbour (or 0, as the authors' ``test.py``).

Superposition. Every sum the method forms (e.g. the synthetic mixture ``ā = b̄ + c``) is taken on complex
spectrograms, where the STFT is linear: the magnitude of a sum is *not* the sum of magnitudes, and adding
magnitudes would make loss R4 equal R3 (see ``losses``). The authors' clamped, min–max-normalised image domain
is deliberately not used; two of its traits are options (``LossConfig.abar_level``, ``second_pass_as_is``).
"""

from __future__ import annotations

import torch
import torchaudio.functional as AF

from .config import SpectralConfig


class STFT(torch.nn.Module):
    """Centred STFT with a Hann window, and its exact inverse.

    >>> stft = STFT(SpectralConfig())
    >>> X = stft(torch.randn(2, 16256))          # (2, 257, 128) complex
    >>> x = stft.inverse(X, length=16256)         # (2, 16256)
    """

    def __init__(self, cfg: SpectralConfig):
        super().__init__()
        self.n_fft, self.hop = cfg.n_fft, cfg.hop
        self.register_buffer("window", torch.hann_window(cfg.n_fft), persistent=False)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        """``(batch, samples)`` float → ``(batch, n_fft//2+1, frames)`` complex."""
        return torch.stft(wave, self.n_fft, self.hop, window=self.window, center=True,
                          pad_mode="reflect" if wave.shape[-1] > self.n_fft // 2 else "constant",
                          return_complex=True)

    def inverse(self, spec: torch.Tensor, length: int) -> torch.Tensor:
        """``(batch, n_fft//2+1, frames)`` complex → ``(batch, length)`` float."""
        return torch.istft(spec, self.n_fft, self.hop, window=self.window, center=True, length=length)


def crop(spec: torch.Tensor) -> torch.Tensor:
    """Drop the Nyquist bin: ``(…, n_fft//2+1, frames)`` → ``(…, n_fft//2, frames)``."""
    return spec[..., :-1, :]


NYQUIST = ("copy", "zero")  # what a mask gets at the dropped Nyquist bin (SeparateConfig.nyquist)


def uncrop_mask(mask: torch.Tensor, nyquist: str = "copy") -> torch.Tensor:
    """Give a cropped mask back its Nyquist bin: ``(…, F, T)`` → ``(…, F+1, T)``. ``"copy"``: the bin below's
    value; ``"zero"``: 0, as the authors' ``test.py`` (``GenerateMusic.mask_the_music`` appends a zero column)."""
    if nyquist not in NYQUIST:
        raise ValueError(f"nyquist must be one of {', '.join(NYQUIST)}, got {nyquist!r}")
    top = mask[..., -1:, :] if nyquist == "copy" else torch.zeros_like(mask[..., -1:, :])
    return torch.cat([mask, top], dim=-2)


def magnitude(spec: torch.Tensor) -> torch.Tensor:
    """``|X|`` of a complex spectrogram, safe to differentiate at zero."""
    return torch.sqrt(spec.real.square() + spec.imag.square() + 1e-12) - 1e-6


COMPRESS_EPS = 1e-4


def compress(mag: torch.Tensor, power: float) -> torch.Tensor:
    """Power-law compression ``(|X| + ε)^p − ε^p`` (p = 0.3 as the authors): zero stays zero, and the gradient
    at zero is finite. Losses and discriminators work on compressed magnitudes, so quiet partials count."""
    return (mag.clamp_min(0) + COMPRESS_EPS) ** power - COMPRESS_EPS**power


def features(mag: torch.Tensor, power: float, peak: torch.Tensor | None = None) -> torch.Tensor:
    """Network input as the authors make it: each example's magnitude divided by its maximum (scale
    invariance), compressed by ``power``, mapped to [−1, 1]. ``(batch, F, T)`` → ``(batch, 1, F, T)``.

    ``peak`` ``(batch,)``: divide by these levels instead of each example's own maximum (values above them
    saturate at 1) — so that ``g`` sees its input "as it is" on a scale set elsewhere: the mixture's level
    for ``g``'s second pass (``LossConfig.second_pass_as_is``), the whole song's for separation
    (``SeparateConfig.block_scale``). The level takes no gradient either way.

    A silent example maps to −1 everywhere, without NaN; so does the gradient at silent bins: ``x^p`` has an
    infinite slope at 0, which times ``∂x/∂mask = 0`` there gave NaN gradients whenever ``g``'s input needs a
    gradient (R2, R3/R4) and has exact zeros, so zeros pass through a ``where`` with a zero gradient instead."""
    if peak is None:
        peak = mag.detach().flatten(1).amax(dim=1)
    peak = peak.detach().reshape(-1, 1, 1).to(mag.dtype).clamp_min(1e-8)
    x = (mag / peak).clamp(0, 1)
    on = x > 0
    powered = torch.where(on, torch.where(on, x, torch.ones_like(x)) ** power, torch.zeros_like(x))
    return (2 * powered - 1).unsqueeze(1)


def apply_mask(mix_spec: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mixture-phase reconstruction: a real mask in [0, 1] times the complex mixture spectrogram."""
    return mask * mix_spec


def resample(wave: torch.Tensor, orig_rate: int, new_rate: int) -> torch.Tensor:
    """Band-limited resampling along the last axis (torchaudio's windowed sinc)."""
    if orig_rate == new_rate:
        return wave
    return AF.resample(wave, orig_rate, new_rate)
