"""Fast separation metrics used during training and for quick checks.

museval's BSS Eval v4 SDR of an image estimate is the plain signal-to-noise ratio of each window,
``10·log10(‖s‖² / ‖ŝ − s‖²)`` summed over channels, with windows whose reference is silent left out (NaN); the
track's score is the median over windows. :func:`framewise_sdr` computes exactly that with a few numpy
operations (``tests/test_metrics.py`` checks it against museval); :func:`museval_sdr` adds museval's rule for
the windows it leaves out of a two-source evaluation. SIR, ISR and SAR need museval's 512-tap distortion filters
and are not computed here.

Note what this metric rewards: a silent estimate scores 0 dB in every window (``ŝ = 0`` ⇒ ratio 1), which is
*above* the mixture whenever the voice is quieter than the accompaniment. Always report it beside the
silent-estimate floor.
"""

from __future__ import annotations

import numpy as np


def sdr(reference: np.ndarray, estimate: np.ndarray, eps: float = 1e-10) -> float:
    """Whole-signal SDR (SNR) in dB of arrays of the same shape."""
    num = np.sum(np.square(reference, dtype=np.float64))
    den = np.sum(np.square(reference - estimate, dtype=np.float64))
    return float(10 * np.log10((num + eps) / (den + eps)))


def framewise_sdr(reference: np.ndarray, estimate: np.ndarray, win: int, hop: int | None = None) -> np.ndarray:
    """museval v4 SDR per window, NaN where the reference window is silent.

    ``reference``, ``estimate``: ``(samples,)`` or ``(samples, channels)``; ``win``/``hop`` in samples
    (museval: 1 s windows and hops). Like museval, only whole windows are scored — except that a signal
    shorter than one window is scored as one window.
    """
    ref = np.asarray(reference, dtype=np.float64)
    est = np.asarray(estimate, dtype=np.float64)
    if ref.shape != est.shape:
        raise ValueError(f"reference {ref.shape} and estimate {est.shape} differ in shape")
    if ref.ndim == 1:
        ref, est = ref[:, None], est[:, None]
    hop = hop or win
    n = ref.shape[0]
    count = max(1, (n - win) // hop + 1) if n >= win else 1
    out = np.full(count, np.nan)
    for j in range(count):
        r = ref[j * hop: j * hop + win]
        e = est[j * hop: j * hop + win]
        num = np.sum(r * r)
        if num <= 0:  # museval leaves windows with a silent reference out
            continue
        den = np.sum((r - e) ** 2)
        out[j] = 10 * np.log10(num / den) if den > 0 else np.inf
    return out


def median_sdr(reference: np.ndarray, estimate: np.ndarray, win: int, hop: int | None = None) -> float:
    """Median over windows of :func:`framewise_sdr` (NaN windows ignored), as SiSEC 2018 aggregates a track."""
    vals = framewise_sdr(reference, estimate, win, hop)
    vals = vals[~np.isnan(vals)]
    return float(np.median(vals)) if vals.size else float("nan")


def museval_sdr(vocals: np.ndarray, accompaniment: np.ndarray, estimate: np.ndarray, win: int,
                hop: int | None = None) -> np.ndarray:
    """museval v4's vocal SDR per window when it scores the split (vocals, accompaniment) ← (``estimate``,
    mixture − ``estimate``), as :func:`median_sdr_sir` calls it: :func:`framewise_sdr`, plus museval's rule for
    leaving a window out — NaN where either reference or either estimate is silent (all zero once its channels
    are summed), not only the vocals. Arrays ``(samples, channels)``; equal to museval's to float rounding
    (``tests/test_metrics.py``), at a small fraction of its cost (no distortion filters)."""
    out = framewise_sdr(vocals, estimate, win, hop)
    hop = hop or win
    # the second estimate exactly as median_sdr_sir builds it (in the input's dtype, then float64)
    others = [np.asarray(x, dtype=np.float64)
              for x in (vocals, accompaniment, estimate, vocals + accompaniment - estimate)]
    others = [x[:, None] if x.ndim == 1 else x for x in others]
    for j in range(out.size):
        w = slice(j * hop, j * hop + win)
        if any(np.all(x[w].sum(axis=1) == 0) for x in others):
            out[j] = np.nan
    return out


def median_sdr_sir(vocals: np.ndarray, accompaniment: np.ndarray, estimate: np.ndarray,
                   rate: int) -> tuple[float, float]:
    """museval v4 vocal SDR and SIR (1 s windows, median over windows) of a vocal ``estimate``; the accompaniment
    estimate is the mixture minus it. Arrays ``(samples, channels)``; NaN where every window is silent."""
    import museval  # seconds to import, and only SIR needs it

    refs = np.stack([vocals, accompaniment]).astype(np.float64)
    ests = np.stack([estimate, vocals + accompaniment - estimate]).astype(np.float64)
    SDR, _, SIR, _ = museval.evaluate(refs, ests, win=rate, hop=rate)
    med = lambda v: float(np.nanmedian(v)) if np.isfinite(v).any() else float("nan")  # noqa: E731
    return med(SDR[0]), med(SIR[0])


def energy(x: np.ndarray, block: int = 1 << 20) -> float:
    """``‖x‖²`` summed in float64; an array of more than ``block`` values is summed in pieces along its longest
    (samples) axis, so that a long track needs no float64 copy of itself."""
    x = np.asarray(x)
    if x.size <= block:
        return float(np.sum(np.square(x, dtype=np.float64)))
    # (…, samples, …) → (samples, …): pieces of about `block` values each
    along = np.moveaxis(x, int(np.argmax(x.shape)), 0)
    step = max(1, block * along.shape[0] // x.size)
    return float(sum(np.sum(np.square(along[s:s + step], dtype=np.float64)) for s in range(0, along.shape[0], step)))


def energy_fraction(part: np.ndarray, whole: np.ndarray) -> float:
    """``‖part‖² / ‖whole‖²`` (0 for a silent ``whole``): e.g. how much of a mixture's energy a method calls
    voice. Any shapes; see :func:`energy`."""
    den = energy(whole)
    return energy(part) / den if den > 0 else 0.0
