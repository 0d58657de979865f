"""Whole-track separation: any length, any channel count, any sample rate, written as two stems.

The contract every method of the project follows is :class:`~semisep_lib.method.separator.Separator` (in
:mod:`semisep_lib.method.separator`): ``separate(audio, rate)`` returns the vocal estimate, shaped like the input, and
the accompaniment is always ``audio − vocals`` — so the two stems sum back to the input exactly, whatever the method.

:class:`MaskSeparator` is the paper's method at inference time, as the authors run it:

1. each channel is separated on its own (the network is mono), after resampling to the model's rate — or, with
   ``stereo="mid"``, one mask is computed from the mid channel ``(L + R) / 2`` and applied to every channel;
2. the magnitude STFT is cut into blocks of ``segment_frames`` frames (the size ``g`` was trained on), which
   overlap by ``overlap``; ``g``'s instrumental mask of each block is blended into the whole-track mask with a
   triangular window (a weighted average of the overlapping blocks). ``g`` sees each block on its own peak,
   as in training — or, as the authors' ``test.py`` does (``block_scale="song"``, ``block_window="flat"``,
   overlap 0), the whole song min–max scaled once, blocks side by side, plain averages where the last one
   overlaps;
3. the mask is post-processed by one of two families (:meth:`MaskSeparator.postprocess`): ``"ours"`` raises
   the *vocal* mask, ``(1 − m)^p``; ``"authors"`` raises the *instrumental* mask, smooths it as their
   bilateral filter does and takes ``1 − σ^q`` on the linear magnitude, as the authors' ``test.py`` (q = 9);
4. vocals = iSTFT(vocal mask · X) with the mixture's phase (the Nyquist bin, which ``g`` never sees, gets the
   mask of the bin below, or 0 as the authors', ``nyquist="zero"``), resampled back to the input rate.

Long inputs are processed in chunks of ``chunk_seconds`` that overlap by ``crossfade_seconds`` and are
cross-faded linearly, so memory does not grow with the track (a 10-minute stereo 44.1 kHz song stays near the
size of its own waveforms).

The mask exponent is a free choice of the authors (tuned on the *test* tracks). Here :func:`tune_mask`
chooses it on the *selection* songs (half the validation songs; the other half only report) and
``semisep tune-mask`` stores it in the run directory as ``separate.yaml``,
which :func:`load_separator` reads. Which songs those are is the study's: ``semisep tune-mask``
(:func:`~semisep_lib.study.reproduce.tune_run`) and the main job load them and pass them in; separating a
dataset's songs into museval's layout is the study's too (:func:`~semisep_lib.study.evaluate.separate_musdb`).
"""

from __future__ import annotations

import math
import shutil
import tempfile
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import soundfile as sf
import torch
import torch.nn.functional as F
import yaml

from ..audio import read_audio
from ..errors import AudioError, DataError, UsageError
from ..fileio import atomic_write_text, replace_dir
from ..runs import Run
from .checkpoint import bf16_available, load_g, pick_device
from .config import Config
from .metrics import energy_fraction, median_sdr_sir, museval_sdr
from .separator import Separator, check_audio
from .spectral import NYQUIST, STFT, apply_mask, crop, magnitude, resample, uncrop_mask

#: Where a pretrained model ships inside the package (a run directory with ``best.pt``).
PRETRAINED_DIR = Path(__file__).resolve().parents[1] / "pretrained"
#: Exponents :func:`tune_mask` tries for each post-processing family (the authors' q = 9 among them).
DEFAULT_POWERS = {"ours": (0.5, 1.0, 2.0, 3.0, 5.0, 9.0), "authors": (1.0, 2.0, 3.0, 5.0, 9.0, 15.0)}
#: How much vocal SDR the SIR-favouring setting of :func:`tune_mask` may give up (dB).
SIR_SDR_COST = 1.0
STEMS = ("vocals", "accompaniment")


# ---------------------------------------------------------------------------------------------------------------
# the paper's method


def _batches(n: int, most: int) -> list[tuple[int, int]]:
    """``(start, size)`` of batches covering ``n`` jobs: full batches of ``most``, then the rest in powers of two
    (37 = 32 + 4 + 1). Batch sizes thus come from a fixed small set whatever ``n`` is, so the convolution
    library's per-shape caches stop growing with the number of files separated (memory stays flat)."""
    out, i = [], 0
    while n - i >= most:
        out.append((i, most))
        i += most
    for bit in reversed(range(max(most, 1).bit_length())):
        if (n - i) >> bit & 1:
            out.append((i, 1 << bit))
            i += 1 << bit
    return out


def _chunk_bounds(n: int, length: int, overlap: int) -> list[tuple[int, int]]:
    """``[(start, end), ...]`` covering ``0..n`` with chunks of ``length`` samples overlapping by ``overlap``.

    Every chunk but the last is ``length`` long; the last one ends at ``n`` and is longer than ``overlap``, so
    each overlap region is exactly ``overlap`` samples shared by two neighbouring chunks."""
    if n <= length:
        return [(0, n)]
    step = length - overlap
    bounds, start = [], 0
    while True:
        if start + length >= n:
            bounds.append((start, n))
            return bounds
        bounds.append((start, start + length))
        start += step


MASK_FAMILIES = ("ours", "authors")  # see SeparateConfig: which mask is raised to the power
STEREO_MODES = ("channels", "mid")  # see SeparateConfig: a mask per channel, or one from the mid channel
BLOCK_SCALES = ("block", "song")  # see SeparateConfig: g's input on each block's peak, or on the song's min–max
BLOCK_WINDOWS = ("triangle", "flat")  # see SeparateConfig: how overlapping blocks' masks are blended


class MaskSeparator(Separator):
    """Vocals = (1 − mask) · X with ``g``'s instrumental mask, as described in the module docstring.

    ``g``: a :class:`~semisep_lib.method.models.MaskNet` (anything with ``mask(mag (B, F, T)) -> (B, F, T)`` and
    ``down_factor``; with ``block_scale="song"``, a ``peak`` keyword too). ``cfg``: the
    :class:`~semisep_lib.method.config.Config` it runs with — ``cfg.spectral`` its STFT, rate and training segment,
    ``cfg.separate`` (a :class:`~semisep_lib.method.config.SeparateConfig`) *what* it computes: the post-processing
    family, power and smoothing, the blocks (``block_factor``, ``overlap``, ``block_scale``, ``block_window``),
    ``nyquist``, ``stereo`` and ``bf16`` (``g``'s mask under bf16 autocast where the hardware has bf16
    kernels; what it does to the SDR: ``docs/decisions.md``, "bf16 separation"). So ``sep.cfg`` records what ``sep`` does, and another setting is
    another config::

        MaskSeparator(g, cfg.updated({"separate": {"mask_family": "ours", "mask_power": 3.0}}), device)

    The keywords say only *how* the work is done, like ``device``, so they are no config fields (a checkpoint's
    config should not fix them): ``chunk_seconds`` / ``crossfade_seconds``, the pieces a long input is processed
    in (memory; they touch the output only where pieces are cross-faded); ``batch_blocks``, blocks per forward
    pass (default: from the size of ``g``, see the code); ``compile``, ``g``'s mask through ``torch.compile``
    (``semisep separate --compile``: the first blocks pay tens of seconds, the output is unchanged to float
    rounding; ``benchmarks/README.md`` measures it); ``name``, the label of :class:`Separator`.
    """

    name = "ours"

    def __init__(self, g: torch.nn.Module, cfg: Config, device: str | torch.device = "cpu", *,
                 chunk_seconds: float = 30.0, crossfade_seconds: float = 1.0, batch_blocks: int | None = None,
                 compile: bool = False, name: str | None = None):
        sep = cfg.separate
        self.device = torch.device(device)
        self.g = g.to(self.device).eval()
        self._compiled = torch.compile(self.g.mask, dynamic=False) if compile else self.g.mask
        self.bf16 = bool(sep.bf16) and bf16_available(self.device)
        self.cfg = cfg
        self.rate = int(cfg.spectral.sample_rate)
        self.mask_power = float(sep.mask_power)
        self.smooth_frames = int(sep.smooth_frames)
        self.mask_family = str(sep.mask_family)
        if self.mask_family not in MASK_FAMILIES:
            raise UsageError(f"The mask family must be one of {', '.join(MASK_FAMILIES)}, got {self.mask_family!r}.")
        self.stereo = str(sep.stereo)
        if self.stereo not in STEREO_MODES:
            raise UsageError(f"stereo must be one of {', '.join(STEREO_MODES)}, got {self.stereo!r}.")
        self.block_scale, self.block_window = str(sep.block_scale), str(sep.block_window)
        self.nyquist = str(sep.nyquist)
        for key, value, allowed in (("block_scale", self.block_scale, BLOCK_SCALES),
                                    ("block_window", self.block_window, BLOCK_WINDOWS),
                                    ("nyquist", self.nyquist, NYQUIST)):
            if value not in allowed:
                raise UsageError(f"{key} must be one of {', '.join(allowed)}, got {value!r}.")
        self.compress = float(cfg.spectral.compress)
        self.overlap = float(sep.overlap)
        block_factor = int(sep.block_factor)
        if not self.mask_power > 0 or not math.isfinite(self.mask_power):
            raise UsageError(f"The mask power must be a positive number, got {self.mask_power}.")
        if self.smooth_frames < 1:
            raise UsageError(f"smooth_frames must be at least 1, got {self.smooth_frames}.")
        if not 0 <= self.overlap < 1:
            raise UsageError(f"The block overlap must be in [0, 1), got {self.overlap}.")
        if block_factor < 1:
            raise UsageError(f"block_factor must be at least 1, got {block_factor}.")
        if not chunk_seconds > 2 * crossfade_seconds >= 0:
            raise UsageError(f"chunk_seconds ({chunk_seconds}) must exceed twice crossfade_seconds "
                             f"({crossfade_seconds}).")
        d = int(getattr(g, "down_factor", 1))
        self.down = d
        self.block = -(-cfg.spectral.segment_frames * block_factor // d) * d  # rounded up to a multiple of d
        # the smallest input g's reflection paddings accept: 4 frames at full resolution, 2 at the bottleneck
        self.min_frames = -(-max(4, 2 * d) // d) * d
        self.chunk_seconds, self.crossfade_seconds = float(chunk_seconds), float(crossfade_seconds)
        if batch_blocks is None:
            # blocks per forward pass: as many as keep g's activations near 32 MB (CPU: near the caches; 8
            # blocks of the cpu preset ran 1.8-2x faster than 64, benchmarks/README.md) or 2 GB (GPU), at most
            # 64 — the paper's g gets 1 on the CPU (a rough count: the widest activation is
            # g_channels × F × B floats, and about 8 of them are alive at once)
            per_block = 8 * 4 * cfg.model.g_channels * cfg.spectral.bins * self.block
            budget = (2 << 30) if self.device.type == "cuda" else (32 << 20)
            batch_blocks = min(64, max(1, budget // per_block))
        self.batch_blocks = int(batch_blocks)
        self.stft = STFT(cfg.spectral).to(self.device)
        if name:
            self.name = name

    # -- the mask ----------------------------------------------------------------------------------------------
    def _mask(self, mag: torch.Tensor, peak: torch.Tensor | None = None) -> torch.Tensor:
        """``g``'s mask of a batch of blocks ``(B, F, T)``, in bf16 autocast if ``self.bf16``; float32 out.
        ``peak`` ``(B,)``: the level each block's input is divided by (default: its own maximum)."""
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16):
            m = self._compiled(mag) if peak is None else self._compiled(mag, peak=peak)
            return m.float()

    def raw_mask(self, mag: torch.Tensor, level: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
        """``g``'s instrumental mask of a whole magnitude spectrogram ``(C, F, T)`` (Nyquist bin dropped),
        computed in overlapping blocks and blended with a triangular (or flat) window. Returns ``(C, F, T)`` in
        [0, 1]. ``level``: ``(low, high)``, each ``(C,)`` — ``g`` then sees every block as it is on the song's
        scale, ``(mag − low) / (high − low)``, as the authors' ``test.py``; default: each block on its own peak."""
        C, Fb, T = mag.shape
        B = self.block
        span = None
        if level is not None:
            low, high = level
            mag = mag - low[:, None, None]  # (C, F, T), each channel's minimum at 0
            span = (high - low).clamp_min(1e-8)  # (C,): the level that maps to 1
        if T <= B:
            # one block, zero-padded at the end to a size g accepts
            size = max(-(-T // self.down) * self.down, self.min_frames)
            return self._mask(F.pad(mag, (0, size - T)), span)[..., :T]
        hop = max(1, int(round(B * (1 - self.overlap))))
        starts = list(range(0, T - B + 1, hop))
        if starts[-1] != T - B:
            starts.append(T - B)  # a last block flush with the end, so every block is full size
        if self.block_window == "flat":  # plain averages of the blocks that cover a frame
            window = torch.ones(B, device=mag.device, dtype=mag.dtype)
        else:  # triangular weights, positive everywhere so that the first and last frames count too
            ramp = (torch.arange(B, device=mag.device, dtype=mag.dtype) + 0.5) / B
            window = 1 - (2 * ramp - 1).abs()
        acc = torch.zeros_like(mag)
        wsum = torch.zeros(T, device=mag.device, dtype=mag.dtype)
        for s in starts:
            wsum[s:s + B] += window
        # (C, F, T) → blocks (C * n_blocks, F, B), processed batch_blocks at a time
        jobs = [(c, s) for s in starts for c in range(C)]
        for i, size in _batches(len(jobs), self.batch_blocks):
            part = jobs[i:i + size]
            peaks = None if span is None else span[[c for c, _ in part]]  # (size,)
            m = self._mask(torch.stack([mag[c, :, s:s + B] for c, s in part]), peaks)
            for (c, s), mc in zip(part, m):
                acc[c, :, s:s + B] += mc * window
        return acc / wsum

    def postprocess(self, mask: torch.Tensor, power: float | None = None, family: str | None = None) -> torch.Tensor:
        """The *vocal* mask ``(C, F, T)`` to apply to the linear magnitude, from ``g``'s instrumental mask ``m``
        ``(C, F, T)``, by one of the two families of :class:`~semisep_lib.method.config.SeparateConfig`:

        - ``"ours"``: ``(1 − m)^p``, then a centred moving average over ``smooth_frames`` frames; raising ``p``
          keeps only bins ``g`` is sure are voice (quieter vocals, more SIR, less SAR).
        - ``"authors"``: as the authors' ``test.py``, ``1 − smooth(σ^q)`` on the *linear* magnitude, where ``σ`` is
          ``g``'s sigmoid output (``m`` itself, or ``m^c`` for a ``g`` whose mask lives in the compressed
          domain) and ``smooth`` their ``cv2.bilateralFilter(·, 3, 10, 10)``: with both sigmas (10) far above
          the mask's range that is, to within 1 %, the mean of each bin and its four neighbours in frequency
          and time (``smooth_frames > 1`` switches it on; mirrored edges). Raising ``q`` shrinks ``σ^q``, so
          the vocals get *louder*.

        ``power`` defaults to ``self.mask_power``, ``family`` to ``self.mask_family``."""
        p = self.mask_power if power is None else float(power)
        family = self.mask_family if family is None else family
        k = self.smooth_frames
        m = mask.clamp(0, 1)
        C, Fb, T = m.shape
        if family == "ours":
            v = (1 - m) ** p
            if k > 1:
                # (C, F, T) → (C·F, 1, T) for a 1-D average along time, edges averaged over the frames present
                flat = F.avg_pool1d(v.reshape(C * Fb, 1, T), k, stride=1, padding=k // 2, count_include_pad=False)
                v = flat[..., :T].reshape(C, Fb, T)
            return v
        if family == "authors":
            inst = (m ** (1 / getattr(self.g, "mask_exponent", 1.0))) ** p  # σ^q
            if k > 1:
                # each bin and its 4 neighbours (the disc of radius 1 that a 3-wide bilateral filter covers),
                # edges mirrored as OpenCV's default border does: (C, F, T) → (C, 1, F + 2, T + 2)
                x = F.pad(inst[:, None], (1, 1, 1, 1), mode="reflect")[:, 0]
                inst = (x[:, 1:-1, 1:-1] + x[:, :-2, 1:-1] + x[:, 2:, 1:-1] + x[:, 1:-1, :-2] + x[:, 1:-1, 2:]) / 5
            return (1 - inst).clamp(0, 1)
        raise UsageError(f"The mask family must be one of {', '.join(MASK_FAMILIES)}, got {family!r}.")

    # -- one chunk -----------------------------------------------------------------------------------------------
    def _chunk_input(self, x: np.ndarray, rate: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One chunk ``(C, n)`` at ``rate`` → its waveform ``(C, m)`` at the model rate, its STFT ``X``
        ``(C, F+1, T)`` and the magnitude ``g`` masks ``(C', F, T)`` (``C' = 1`` for a mid-channel mask)."""
        wave = resample(torch.from_numpy(x).to(self.device), rate, self.rate)  # (C, m) at the model rate
        X = self.stft(wave)  # (C, F+1, T) complex
        if self.stereo == "mid" and X.shape[0] > 1:
            # the STFT is linear: the mid channel's is the mean of the channels'; its mask serves all
            return wave, X, magnitude(crop(X.mean(0, keepdim=True)))  # (1, F, T)
        return wave, X, magnitude(crop(X))  # (C, F, T)

    def _song_level(self, audio: np.ndarray, rate: int, bounds) -> tuple[torch.Tensor, torch.Tensor]:
        """The smallest and largest magnitude ``g`` will see, per channel ``(C',)`` each, over every chunk of
        ``audio`` — the authors' one min–max scale per song (``block_scale="song"``; an extra STFT pass)."""
        low = high = None
        for s, e in bounds:
            mag = self._chunk_input(audio[:, s:e], rate)[2].flatten(1)  # (C', F·T)
            lo, hi = mag.amin(1), mag.amax(1)
            low = lo if low is None else torch.minimum(low, lo)
            high = hi if high is None else torch.maximum(high, hi)
        return low, high

    def _chunk_vocals(self, x: np.ndarray, rate: int, powers: Sequence[float],
                      level: tuple[torch.Tensor, torch.Tensor] | None = None) -> list[np.ndarray]:
        """Vocals of one chunk ``(C, n)`` for each mask power; each ``(C, n)`` float32 at ``rate``. ``level``:
        the song's scale, see :meth:`raw_mask`."""
        n = x.shape[1]
        wave, X, mag = self._chunk_input(x, rate)
        raw = self.raw_mask(mag, level).expand(X.shape[0], -1, -1)  # (C, F, T); a mid mask serves all
        out = []
        for p in powers:
            keep = uncrop_mask(self.postprocess(raw, p), self.nyquist)  # the vocal mask, Nyquist bin restored
            v = self.stft.inverse(apply_mask(X, keep), length=wave.shape[-1])
            v = resample(v, self.rate, rate)[:, :n]
            if v.shape[1] < n:  # resampling rounds the length; pad the last sample or two
                v = F.pad(v, (0, n - v.shape[1]))
            out.append(v.float().cpu().numpy())
        return out

    def vocal_mask(self, audio: np.ndarray, rate: int) -> np.ndarray:
        """The vocal mask ``(F, frames)`` — ``g``'s mask post-processed as :meth:`separate` applies it, 1 = voice —
        of the mono mix of ``audio`` ``(channels, samples)`` or ``(samples,)`` at ``rate``, on the model's STFT at
        the model's rate (the Nyquist bin dropped; the whole input at once, so keep it to an excerpt)."""
        mono = np.atleast_2d(np.asarray(audio, dtype=np.float32)).mean(axis=0, keepdims=True)  # (1, samples)
        with torch.inference_mode():
            wave = resample(torch.from_numpy(mono).to(self.device), int(rate), self.rate)
            keep = self.postprocess(self.raw_mask(magnitude(crop(self.stft(wave)))))  # (1, F, T)
        return keep[0].float().cpu().numpy()

    # -- whole tracks ------------------------------------------------------------------------------------------
    def separate_powers(self, audio: np.ndarray, rate: int, powers: Sequence[float]) -> list[np.ndarray]:
        """Vocal estimates of ``audio`` ``(C, samples)`` for several mask powers at the cost of one pass of
        ``g``; returns one float32 ``(C, samples)`` array per power."""
        audio = check_audio(audio, rate)
        C, n = audio.shape
        length = max(1, int(round(self.chunk_seconds * rate)))
        fade = int(round(self.crossfade_seconds * rate))
        bounds = _chunk_bounds(n, length, fade)
        outs = [np.zeros((C, n), dtype=np.float32) for _ in powers]
        ramp = ((np.arange(fade, dtype=np.float32) + 0.5) / max(fade, 1)) if fade else None
        with torch.inference_mode():
            level = self._song_level(audio, rate, bounds) if self.block_scale == "song" else None
            for i, (s, e) in enumerate(bounds):
                parts = self._chunk_vocals(audio[:, s:e], rate, powers, level)
                for out, v in zip(outs, parts):
                    # linear cross-fade: the ramps of neighbouring chunks sum to one over their shared samples
                    if i > 0 and fade:
                        v[:, :fade] *= ramp
                    if i < len(bounds) - 1 and fade:
                        v[:, -fade:] *= ramp[::-1]
                    out[:, s:e] += v
        return outs

    def separate(self, audio: np.ndarray, rate: int) -> np.ndarray:
        """Vocal estimate of ``audio`` ``(C, samples)`` at ``rate`` Hz, the same shape, float32."""
        return self.separate_powers(audio, rate, [self.mask_power])[0]


# ---------------------------------------------------------------------------------------------------------------
# models, tuning files


def default_model() -> Path:
    """The shipped pretrained model (``semisep_lib/pretrained/``), or :class:`UsageError` if none is installed."""
    if Run(PRETRAINED_DIR).best.is_file():
        return PRETRAINED_DIR
    raise UsageError("No --model given and no pretrained model is installed; train one with `semisep train ...` "
                     "and pass --model RUN_DIR.")


def run_dir_of(model_path: str | Path) -> Path:
    """The run directory of a run directory or of a checkpoint file inside one."""
    model_path = Path(model_path)
    return model_path if model_path.is_dir() else model_path.parent


def read_tuning(model_path: str | Path) -> dict:
    """The contents of ``RUN/separate.yaml`` (``{"separate": {...}, "tuning": {...}}``), or ``{}`` if absent."""
    path = Run(run_dir_of(model_path)).tuning  # written by save_tuning
    if not path.is_file():
        return {}
    try:
        d = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise UsageError(f"Separation settings {path} are not valid YAML ({err}).") from None
    if not isinstance(d, dict) or not isinstance(d.get("separate", {}), dict):
        raise UsageError(f"Separation settings {path} must hold a 'separate' mapping.")
    return d


def load_separator(model_path: str | Path | None = None, device: str = "cpu", separate: dict | None = None,
                   **options) -> MaskSeparator:
    """A :class:`MaskSeparator` for a run directory or checkpoint (default: :func:`default_model`).

    Separation settings (:class:`~semisep_lib.method.config.SeparateConfig` fields), in increasing priority: the
    checkpoint's ``config.separate``, the run directory's ``separate.yaml`` (written by ``semisep tune-mask``),
    then ``separate``, e.g. ``{"mask_power": 3.0}`` — a mapping, not a ``SeparateConfig``, since the one it
    changes is known only once the checkpoint is read. ``options``: :class:`MaskSeparator`'s keywords (e.g.
    ``compile=True``). ``device`` may be ``"auto"``. Raises :class:`~semisep_lib.errors.CheckpointError` for a
    bad model."""
    model_path = Path(model_path) if model_path is not None else default_model()
    dev = pick_device(device or "auto")
    g, cfg = load_g(model_path, device=str(dev))
    settings = {**(read_tuning(model_path).get("separate") or {}), **(separate or {})}
    if settings:
        cfg = cfg.updated({"separate": settings})
    return MaskSeparator(g, cfg, device=dev, **options)


def tune_mask(g: torch.nn.Module, cfg: Config, songs: Sequence, powers: dict | None = None,
              device: str | torch.device = "cpu") -> tuple[dict, dict, list[dict]]:
    """Choose the mask post-processing on *selection* songs (never on songs that report, unlike the authors).

    Every candidate — each family of :meth:`MaskSeparator.postprocess` with each of its exponents in ``powers``
    (default :data:`DEFAULT_POWERS`; ours with ``cfg``'s smoothing, the authors' with their filter) — is scored
    as museval v4 scores it (1 s windows): per song the median over windows of the vocal SDR, then the median
    over songs. Two choices: **by SDR**, the candidate with the highest SDR (ties: the earlier one); **favouring
    SIR**, the highest SIR (museval's, same medians) among the candidates within :data:`SIR_SDR_COST` dB of that
    SDR. v4's SDR needs none of museval's distortion filters (:func:`~semisep_lib.method.metrics.museval_sdr` gives it
    to float rounding), so SIR — museval's costly part — is computed only for the candidates that can be chosen
    for it: a second pass over the songs. ``songs``: :class:`~semisep_lib.study.data.Song` records with vocals and
    accompaniment. Returns ``(by_sdr, favouring_sir, curve)``; the choices are ``separate`` settings, ``curve``
    one row per candidate with its SDR, and its SIR where computed (else ``None``)."""
    powers = {f: [float(p) for p in ps] for f, ps in (powers or DEFAULT_POWERS).items()}
    if not powers or any(f not in MASK_FAMILIES for f in powers):
        raise UsageError(f"Mask families must be among {', '.join(MASK_FAMILIES)}, got {list(powers)}.")
    if any(not ps or any(not p > 0 for p in ps) for ps in powers.values()):
        raise UsageError(f"Mask powers must be positive numbers, got {powers}.")
    for song in songs:
        if song.vocals is None or song.accompaniment is None:
            raise DataError(f"Song {song.name} has no stems to tune the mask post-processing against.")
    smooth = {"ours": cfg.separate.smooth_frames if cfg.separate.mask_family == "ours" else 1, "authors": 3}
    separators = {f: MaskSeparator(g, cfg.updated({"separate": {"mask_family": f, "smooth_frames": smooth[f]}}),
                                   device=device) for f in powers}

    def scored(metric, wanted: dict[str, list[float]]) -> dict[tuple[str, float], float | None]:
        """Median over songs of each wanted candidate's per-song ``metric`` (NaN songs left out)."""
        values: dict = {(f, p): [] for f, ps in wanted.items() for p in ps}
        for song in songs:
            for family, ps in wanted.items():
                for p, est in zip(ps, separators[family].separate_powers(song.mixture, song.rate, ps)):
                    # metrics take (samples, channels)
                    values[(family, p)].append(metric(song.vocals.T, song.accompaniment.T, est.T, song.rate))
        return {k: (round(float(np.median(ok)), 4) if (ok := [v for v in vals if not math.isnan(v)]) else None)
                for k, vals in values.items()}

    def sdr(vocals, accompaniment, estimate, rate) -> float:
        frames = museval_sdr(vocals, accompaniment, estimate, rate)
        return float(np.nanmedian(frames)) if np.isfinite(frames).any() else float("nan")

    sdrs = scored(sdr, powers)
    curve = [{"mask_family": f, "mask_power": p, "smooth_frames": smooth[f], "SDR": sdrs[(f, p)], "SIR": None}
             for f, ps in powers.items() for p in ps]
    candidates = [r for r in curve if r["SDR"] is not None]
    if not candidates:
        raise DataError("No selection song with audible vocals to tune the mask post-processing on.")
    by_sdr = max(candidates, key=lambda r: (r["SDR"], -curve.index(r)))
    near = [r for r in candidates if r["SDR"] >= by_sdr["SDR"] - SIR_SDR_COST]
    wanted = {f: [r["mask_power"] for r in near if r["mask_family"] == f] for f in powers}
    sirs = scored(lambda *a: median_sdr_sir(*a)[1], {f: ps for f, ps in wanted.items() if ps})
    for r in near:
        r["SIR"] = sirs[(r["mask_family"], r["mask_power"])]
    near = [r for r in near if r["SIR"] is not None]
    by_sir = max(near, key=lambda r: (r["SIR"], -curve.index(r))) if near else by_sdr
    setting = lambda r: {k: r[k] for k in ("mask_family", "mask_power", "smooth_frames")}  # noqa: E731
    return setting(by_sdr), setting(by_sir), curve


def save_tuning(model_path: str | Path, by_sdr: dict, favouring_sir: dict, curve: list[dict],
                info: dict | None = None) -> Path:
    """Write ``RUN/separate.yaml``: ``separate:`` the SDR choice of :func:`tune_mask` (read by
    :func:`load_separator`), and a ``tuning`` record: the criterion, the SIR-favouring choice, the whole
    SDR/SIR curve and where it was tuned (``info``). Other ``separate`` keys already there stay."""
    run_dir = run_dir_of(model_path)
    settings = dict(read_tuning(run_dir).get("separate") or {})
    settings.update(by_sdr)
    record = {
        "criterion": "median over the selection songs of each song's median museval v4 vocal SDR (1 s windows); "
                     f"favouring SIR: the highest such SIR within {SIR_SDR_COST:g} dB of the best SDR",
        "favouring_sir": dict(favouring_sir),
        "curve": [dict(r) for r in curve],
    }
    record.update(info or {})
    path = Run(run_dir).tuning
    atomic_write_text(path, "# written by `semisep tune-mask`; read by `semisep separate` and load_separator\n"
                      + yaml.safe_dump({"separate": settings, "tuning": record}, sort_keys=False))
    return path


# ---------------------------------------------------------------------------------------------------------------
# files


def stem_name(path: str | Path) -> str:
    """A song's name from its file name: ``song.wav`` → ``song``, ``track.stem.mp4`` → ``track``."""
    name = Path(path).name
    if name.endswith(".stem.mp4"):
        return name[: -len(".stem.mp4")]
    return Path(name).stem or name


def _write_wav(path: Path, audio: np.ndarray, rate: int, block: int = 1 << 20) -> None:
    """Write ``audio`` ``(channels, samples)`` as a 32-bit float WAV, a block at a time (no second copy of a
    long track in memory, unlike building the file in a buffer). Callers make it atomic by writing into a
    temporary folder."""
    with sf.SoundFile(str(path), "w", samplerate=int(rate), channels=audio.shape[0], format="WAV",
                      subtype="FLOAT") as f:
        for s in range(0, audio.shape[1], block):
            f.write(np.ascontiguousarray(audio[:, s:s + block].T))  # soundfile wants (samples, channels)


def write_stems(audio: np.ndarray, vocals: np.ndarray, rate: int, target: Path,
                consume: bool = False) -> dict[str, str]:
    """Write ``vocals.wav`` and ``accompaniment.wav`` (= ``audio − vocals``) into the folder ``target``,
    all-or-nothing: both go into a hidden temporary folder beside it, which is then renamed. With
    ``consume=True`` the accompaniment is formed in ``audio``'s own memory (``audio`` is overwritten), which
    saves a copy of a long track. Returns the two file paths."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.tmp-"))
    try:
        _write_wav(tmp / "vocals.wav", vocals, rate)
        acc = np.subtract(audio, vocals, out=audio if consume else None)
        _write_wav(tmp / "accompaniment.wav", acc, rate)
        del acc
        replace_dir(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return {stem: str(target / f"{stem}.wav") for stem in STEMS}


def separate_file(path: str | Path, separator: Separator, out_dir: str | Path) -> dict:
    """Separate one audio file into ``out_dir/<name>/vocals.wav`` and ``accompaniment.wav``.

    The stems keep the input's sample rate and channel count and sum to it (float WAV). Both are written,
    or neither (an existing ``out_dir/<name>`` is replaced only when both new files are complete). Raises
    :class:`AudioError` for a file that cannot be read. Returns a summary: input, name, rate, channels,
    seconds, the two output paths and the vocal energy fraction."""
    audio, rate = read_audio(path)
    audio = check_audio(audio, rate, what=f"Audio file {path}")
    vocals = separator.checked_vocals(audio, rate)
    name = stem_name(path)
    summary = {"input": str(path), "name": name, "rate": int(rate), "channels": int(audio.shape[0]),
               "seconds": round(audio.shape[1] / rate, 3),
               "vocal_energy_fraction": energy_fraction(vocals, audio)}
    summary.update(write_stems(audio, vocals, rate, Path(out_dir) / name, consume=True))
    return summary


def check_files(files: Sequence[str | Path], out_dir: str | Path) -> None:
    """The cheap checks before a model is loaded to separate ``files`` into ``out_dir``: no two files share a
    name (their stems would overwrite each other), and each exists and is a file."""
    names = [stem_name(f) for f in files]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise UsageError(f"Several input files share the name {dup[0]!r}; their stems would overwrite "
                         f"each other in {out_dir}.")
    for f in files:
        p = Path(f)
        if not p.exists():
            raise AudioError(f"Audio file {p} does not exist.")
        if p.is_dir():
            raise AudioError(f"{p} is a directory, not an audio file.")


def separate_files(files: Sequence[str | Path], separator: Separator, out_dir: str | Path) -> list[dict]:
    """:func:`separate_file` for several files, all-or-nothing: everything goes to a staging folder first and is
    moved into place only when every file has been separated, so a bad file leaves no outputs behind (and an
    ``out_dir`` this call created is removed again). Returns the summaries."""
    out = Path(out_dir)
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=out, prefix=".semisep-staging-"))
    try:
        results = [separate_file(f, separator, staging) for f in files]
        for r in results:
            replace_dir(staging / r["name"], out / r["name"])
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if created and not any(out.iterdir()):
            out.rmdir()
        raise
    shutil.rmtree(staging, ignore_errors=True)
    return results
