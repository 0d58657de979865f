"""The contract every separation method implements, and the STFT helpers the methods share.

Its one job: say what a separator is. :class:`Separator` — ``separate(audio, rate)`` returns the vocal
estimate, shaped like the input, and the accompaniment is always ``audio − vocals`` — so the two stems sum back
to the input exactly, whatever the method; :meth:`Separator.stems` checks the input (:func:`check_audio`) and
forms both. :func:`at_model_rate` and :class:`MonoSTFT` let a mono method work one channel at a time at its own
rate and STFT.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from ..errors import AudioError
from .config import SpectralConfig
from .spectral import STFT, resample


def check_audio(audio: np.ndarray, rate: int, what: str = "The input audio") -> np.ndarray:
    """``audio`` as float32 ``(channels, samples)`` (a 1-D array becomes one channel), checked: at least one
    sample, finite, a positive integer ``rate``. Raises :class:`AudioError` otherwise."""
    audio = np.asarray(audio)
    if audio.ndim == 1:
        audio = audio[None, :]
    if audio.ndim != 2 or audio.shape[0] < 1:
        raise AudioError(f"{what} must be shaped (channels, samples), got shape {tuple(audio.shape)}.")
    if audio.shape[1] == 0:
        raise AudioError(f"{what} holds no samples.")
    if not np.issubdtype(audio.dtype, np.number):
        raise AudioError(f"{what} must hold numbers, got dtype {audio.dtype}.")
    audio = np.ascontiguousarray(audio, dtype=np.float32)
    if not np.isfinite(audio).all():
        raise AudioError(f"{what} contains NaN or infinite samples.")
    if int(rate) != rate or rate <= 0:
        raise AudioError(f"{what} has an invalid sample rate {rate!r}; it must be a positive whole number of Hz.")
    return audio


class Separator:
    """A singing-voice separation method.

    Subclasses implement :meth:`separate`; everything else (files, evaluation, tables) calls :meth:`stems`,
    which checks the input and derives the accompaniment as ``audio − vocals``. ``name`` labels result rows.
    """

    name = "separator"

    def separate(self, audio: np.ndarray, rate: int) -> np.ndarray:
        """Vocal estimate of ``audio`` float32 ``(channels, samples)`` at ``rate`` Hz, the same shape."""
        raise NotImplementedError

    def stems(self, audio: np.ndarray, rate: int) -> dict[str, np.ndarray]:
        """``{"vocals": v, "accompaniment": audio − v}``, both float32 ``(channels, samples)`` like ``audio``.

        Raises :class:`AudioError` for an empty input or one with NaN/inf samples."""
        audio = check_audio(audio, rate)
        vocals = self.checked_vocals(audio, rate)
        return {"vocals": vocals, "accompaniment": audio - vocals}

    def checked_vocals(self, audio: np.ndarray, rate: int) -> np.ndarray:
        """:meth:`separate` of an already checked ``audio``, with its output checked (shape, finite)."""
        vocals = np.asarray(self.separate(audio, int(rate)), dtype=np.float32)
        if vocals.shape != audio.shape:
            raise RuntimeError(f"{type(self).__name__}.separate returned shape {vocals.shape} "
                               f"for an input of shape {audio.shape}")
        if not np.isfinite(vocals).all():
            raise AudioError(f"Separation by {self.name} produced NaN or infinite samples.")
        return vocals


# ------------------------------------------------------------------------------------------------------------
# shared helpers of the mono methods
# ------------------------------------------------------------------------------------------------------------
def at_model_rate(fn: Callable[..., np.ndarray], rate: int, model_rate: int, *signals: np.ndarray) -> np.ndarray:
    """Apply a mono function channel by channel at ``model_rate`` and come back to ``rate``.

    ``signals``: arrays of one shape ``(channels, samples)`` at ``rate`` (e.g. just the mixture, or mixture,
    vocals and accompaniment for the oracle). They are resampled to ``model_rate``; for each channel ``c``,
    ``fn(sig0[c], sig1[c], ...)`` (mono float32 arrays) returns a mono vocal estimate of the same length, which
    is resampled back to ``rate`` and cut or zero-padded to the input length. Returns ``(channels, samples)``
    float32.
    """
    arrays = [check_audio(s, rate) for s in signals]
    if any(a.shape != arrays[0].shape for a in arrays):
        raise AudioError(f"Signals of different shapes: {[a.shape for a in arrays]}.")
    channels, n = arrays[0].shape
    # (signals, channels, samples) at rate → the same at model_rate
    low = resample(torch.from_numpy(np.stack(arrays)), int(rate), int(model_rate)).numpy()
    est = np.stack([np.asarray(fn(*[low[i, c] for i in range(len(arrays))]), dtype=np.float32)
                    for c in range(channels)])  # (channels, samples at model_rate)
    back = resample(torch.from_numpy(est), int(model_rate), int(rate)).numpy()
    out = np.zeros((channels, n), dtype=np.float32)
    m = min(n, back.shape[-1])
    out[:, :m] = back[:, :m]
    return out


class MonoSTFT:
    """Numpy-facing STFT of one mono signal: ``(samples,)`` → complex ``(n_fft//2+1, frames)`` and back."""

    def __init__(self, spectral: SpectralConfig):
        self.stft = STFT(spectral)

    def forward(self, x: np.ndarray) -> torch.Tensor:
        return self.stft(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))[None])[0]

    def inverse(self, spec: torch.Tensor, length: int) -> np.ndarray:
        return self.stft.inverse(spec[None], length=length)[0].numpy()
