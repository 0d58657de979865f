"""Bounds and classic baselines, fitted on the same unmatched data as the paper's method.

Every separator here answers ``separate(audio, rate)`` with the *vocal* estimate, ``(channels, samples)`` like
its input (the accompaniment is ``audio − vocals``). All but the two trivial ones work one channel at a time at
the model rate: :func:`at_model_rate` resamples the input down, calls a mono function per channel and resamples
the result back (so a vocal estimate never holds content above the model's Nyquist frequency; that content
stays in the accompaniment).

* :class:`MixtureBaseline` — vocals = the mixture: no separation at all (a method can still score below it).
* :class:`SilentBaseline` — vocals = 0: the silent floor (it scores 0 dB SDR in every window, see ``metrics``).
* :class:`OracleIRM` — the ideal ratio mask from the *true* stems: a reference for mixture-phase masking with our
  STFT, not a bound (a power-ratio or phase-sensitive mask from the same stems scores higher).
* :class:`NMFBaseline` — semi-supervised NMF: an instrumental dictionary learned from the instrumental songs
  S_C, fixed while free vocal atoms and all activations are fitted to each mixture.
* NES (Hoshen et al.) lives in :mod:`semisep_lib.study.nes`.

:func:`fit_baselines` (``semisep baselines``) fits NMF and NES on the unmatched training split and saves them
into one directory.
"""

from __future__ import annotations

import copy
import dataclasses
import io
import json
import time
from pathlib import Path

import numpy as np
import torch

from ..errors import CheckpointError, UsageError
from ..fileio import atomic_write, atomic_write_json, run_lock
from ..runs import BASELINES_SUMMARY, NES_FILE, NMF_FILE
from ..method.checkpoint import PROGRAM
from ..method.config import Config, SpectralConfig
from ..method.segments import TrainingData
from ..method.separator import MonoSTFT, Separator, at_model_rate, check_audio
from ..method.spectral import resample
from .nes import train_nes

EPS = 1e-10


# ------------------------------------------------------------------------------------------------------------
# bounds
# ------------------------------------------------------------------------------------------------------------
class MixtureBaseline(Separator):
    """Vocals = the mixture itself (accompaniment = 0): no separation."""

    name = "mixture"

    def separate(self, audio: np.ndarray, rate: int) -> np.ndarray:
        return check_audio(audio, rate).copy()


class SilentBaseline(Separator):
    """Vocals = 0 (accompaniment = the mixture): the silent floor, 0 dB SDR wherever the voice sings."""

    name = "silent"

    def separate(self, audio: np.ndarray, rate: int) -> np.ndarray:
        return np.zeros_like(check_audio(audio, rate))


class OracleIRM(Separator):
    """Ideal ratio mask from the true stems, applied to the mixture with its phase: a reference, not a bound.

    ``mask = |V|^p / (|V|^p + |Acc|^p)`` on the STFT of the model (``cfg.spectral``) at the model rate; ``p = 1``
    (magnitude ratio, the default, SiSEC's "IRM1") or ``p = 2`` (power ratio, "IRM2", a Wiener mask).

    It needs the references, so :meth:`separate` alone raises :class:`UsageError`. Either call
    :meth:`separate_with_references`, or bind one song's stems with :meth:`with_references` to get an object
    whose ``separate(mixture, rate)`` works like any other separator's.
    """

    name = "oracle_irm"

    def __init__(self, cfg: Config, power: float = 1.0):
        self.spectral = cfg.spectral
        self.power = float(power)
        self._stft = MonoSTFT(cfg.spectral)
        self._refs: tuple[np.ndarray, np.ndarray] | None = None

    def _mono(self, mix: np.ndarray, voc: np.ndarray, acc: np.ndarray) -> np.ndarray:
        X, V, A = (self._stft.forward(s) for s in (mix, voc, acc))
        v, a = V.abs() ** self.power, A.abs() ** self.power
        mask = v / (v + a).clamp_min(EPS)  # both silent → 0: no voice
        return self._stft.inverse(mask * X, len(mix))

    @torch.no_grad()
    def separate_with_references(self, mixture: np.ndarray, vocals: np.ndarray, accompaniment: np.ndarray,
                                 rate: int) -> np.ndarray:
        """Vocal estimate of ``mixture`` ``(channels, samples)`` given the true stems of the same shape."""
        return at_model_rate(self._mono, rate, self.spectral.sample_rate, mixture, vocals, accompaniment)

    @torch.no_grad()
    def vocal_mask(self, vocals: np.ndarray, accompaniment: np.ndarray, rate: int) -> np.ndarray:
        """The oracle's mask ``(F, frames)`` (1 = voice) of the mono mixes of the true stems ``(channels, samples)``
        or ``(samples,)`` at ``rate``, on the model's STFT at the model rate, the Nyquist bin dropped: the same
        grid as :meth:`~semisep_lib.method.separate.MaskSeparator.vocal_mask`, to set a trained mask beside it."""
        mono = [np.atleast_2d(np.asarray(x, dtype=np.float32)).mean(axis=0, keepdims=True)
                for x in (vocals, accompaniment)]  # (1, samples) each
        low = resample(torch.from_numpy(np.concatenate(mono)), int(rate), self.spectral.sample_rate).numpy()
        V, A = (self._stft.forward(x) for x in low)
        v, a = V.abs() ** self.power, A.abs() ** self.power
        return (v / (v + a).clamp_min(EPS))[:-1].numpy()

    def with_references(self, vocals: np.ndarray, accompaniment: np.ndarray) -> "OracleIRM":
        """A copy bound to one song's true stems; its :meth:`separate` then needs only the mixture."""
        bound = copy.copy(self)
        bound._refs = (np.asarray(vocals, np.float32), np.asarray(accompaniment, np.float32))
        return bound

    def separate(self, audio: np.ndarray, rate: int) -> np.ndarray:
        if self._refs is None:
            raise UsageError("The oracle mask needs the true stems: use separate_with_references() "
                             "or with_references(vocals, accompaniment).separate(mixture, rate).")
        return self.separate_with_references(audio, *self._refs, rate)


# ------------------------------------------------------------------------------------------------------------
# semi-supervised NMF
# ------------------------------------------------------------------------------------------------------------
def kl_nmf(V: np.ndarray, W_fixed: np.ndarray, n_free: int, iterations: int,
           rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """KL-divergence NMF ``V ≈ [W_fixed, W_free] · H`` by the multiplicative updates of Lee & Seung, with
    ``W_fixed`` held fixed (``(bins, 0)`` for plain NMF).

    ``V`` ``(bins, frames)`` ≥ 0. Each iteration updates all activations ``H`` ``(k, frames)``, then the free
    atoms ``W_free`` ``(bins, n_free)``, whose columns are renormalised to sum to one (the scale moves into
    ``H``). Starts from ``rng``; float32 throughout. Returns ``(W_free, H)``.
    """
    V = V.astype(np.float32, copy=False)
    F, T = V.shape
    n_fixed = W_fixed.shape[1]
    Wf = W_fixed.astype(np.float32)
    Wv = rng.uniform(0.5, 1.5, (F, n_free)).astype(np.float32)
    Wv /= Wv.sum(0, keepdims=True)
    k = n_fixed + n_free
    H = (rng.uniform(0.5, 1.5, (k, T)) * (V.sum(0, keepdims=True) / k + EPS)).astype(np.float32)
    for _ in range(iterations):
        W = np.concatenate([Wf, Wv], axis=1)
        H *= (W.T @ (V / (W @ H + EPS))) / (W.sum(0)[:, None] + EPS)  # KL update of all activations
        Hv = H[n_fixed:]
        Wv *= ((V / (W @ H + EPS)) @ Hv.T) / (Hv.sum(1)[None, :] + EPS)  # KL update of the free atoms only
        norm = np.maximum(Wv.sum(0), EPS)
        Wv /= norm
        Hv *= norm[:, None]  # a view: rescales H's free rows in place
    return Wv, H


class NMFBaseline(Separator):
    """Semi-supervised KL-NMF on magnitude spectrograms.

    :meth:`fit` learns ``n_inst`` instrumental atoms ``W_inst`` (columns summing to 1) from the magnitude
    frames of the instrumental songs S_C (at most ``max_frames`` of them, drawn with the seed). On each mixture
    channel ``|X| ≈ W_inst·H_inst + W_voc·H_voc`` is fitted with ``W_inst`` held fixed and ``n_voc`` free vocal
    atoms; the vocal estimate is the Wiener-like mask ``(W_voc H_voc)^p / ((W_voc H_voc)^p + (W_inst H_inst)^p)``
    (``p = mask_power``, 1 by default, the usual choice for magnitude-domain KL-NMF) times the complex mixture.
    Both steps use :func:`kl_nmf` (scikit-learn cannot hold part of ``W`` fixed, and one routine for both keeps
    them alike). Fitting and separation are deterministic: every start is drawn from ``seed``.
    """

    name = "nmf"

    def __init__(self, cfg: Config, seed: int = 0, **sizes):
        """The STFT of ``cfg.spectral`` and the sizes of ``cfg.nmf`` (:class:`~semisep_lib.method.config.NMFConfig`),
        any of them replaced by ``sizes`` (``n_inst=8`` ...)."""
        try:
            nmf = dataclasses.replace(cfg.nmf, **sizes)
        except TypeError:
            raise UsageError(f"Unknown NMF size(s) {sorted(sizes)}; the sizes are those of NMFConfig.") from None
        if nmf.n_inst < 1 or nmf.n_voc < 1:
            raise UsageError(f"NMF needs at least one instrumental and one vocal atom, got {nmf.n_inst}, {nmf.n_voc}.")
        self.spectral = cfg.spectral
        self.n_inst, self.n_voc = int(nmf.n_inst), int(nmf.n_voc)
        self.fit_iter, self.sep_iter, self.max_frames = int(nmf.fit_iter), int(nmf.sep_iter), int(nmf.max_frames)
        self.mask_power, self.seed = float(nmf.mask_power), int(seed)
        self.W_inst: np.ndarray | None = None  # (bins, n_inst)
        self._stft = MonoSTFT(cfg.spectral)

    # -- fitting ------------------------------------------------------------------------------------------------
    @torch.no_grad()
    def fit(self, td: TrainingData) -> "NMFBaseline":
        """Learn the instrumental dictionary from ``td.instrumentals`` (mono, at the model rate)."""
        if not td.instrumentals:
            raise UsageError("NMF needs at least one instrumental song to learn its dictionary.")
        frames = np.concatenate([self._stft.forward(x).abs().numpy() for x in td.instrumentals if len(x)],
                                axis=1)  # (bins, frames of all songs)
        frames = frames[:, frames.sum(0) > 1e-6]  # silent frames teach nothing
        if frames.shape[1] < self.n_inst:
            raise UsageError(f"The instrumental songs have {frames.shape[1]} non-silent frames, fewer than the "
                             f"{self.n_inst} atoms asked for.")
        rng = np.random.default_rng(self.seed)
        if frames.shape[1] > self.max_frames:
            frames = frames[:, np.sort(rng.choice(frames.shape[1], self.max_frames, replace=False))]
        empty = np.zeros((frames.shape[0], 0), dtype=np.float32)
        self.W_inst = kl_nmf(frames, empty, self.n_inst, self.fit_iter, rng)[0]
        return self

    # -- separation ---------------------------------------------------------------------------------------------
    def decompose(self, V: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``V`` ``(bins, frames)`` ≥ 0 → (instrumental model, vocal model), each ``(bins, frames)``."""
        if self.W_inst is None:
            raise UsageError("The NMF baseline must be fitted (fit) or loaded (load) before it separates.")
        Wv, H = kl_nmf(V, self.W_inst, self.n_voc, self.sep_iter, np.random.default_rng(self.seed))
        return self.W_inst @ H[:self.n_inst], Wv @ H[self.n_inst:]

    @torch.no_grad()
    def _mono(self, mix: np.ndarray) -> np.ndarray:
        X = self._stft.forward(mix)
        inst, voc = self.decompose(X.abs().numpy())
        v, a = voc**self.mask_power, inst**self.mask_power
        mask = torch.from_numpy((v / np.maximum(v + a, EPS)).astype(np.float32))
        return self._stft.inverse(mask * X, len(mix))

    def separate(self, audio: np.ndarray, rate: int) -> np.ndarray:
        if self.W_inst is None:
            raise UsageError("The NMF baseline must be fitted (fit) or loaded (load) before it separates.")
        return at_model_rate(self._mono, rate, self.spectral.sample_rate, audio)

    # -- files --------------------------------------------------------------------------------------------------
    def save(self, path: str | Path) -> None:
        """The dictionary and every setting, as one ``.npz``, written atomically."""
        if self.W_inst is None:
            raise UsageError("Nothing to save: the NMF baseline has not been fitted.")
        meta = {"program": PROGRAM, "kind": "nmf", "n_inst": self.n_inst, "n_voc": self.n_voc,
                "fit_iter": self.fit_iter, "sep_iter": self.sep_iter, "max_frames": self.max_frames,
                "mask_power": self.mask_power, "seed": self.seed,
                "spectral": {"sample_rate": self.spectral.sample_rate, "n_fft": self.spectral.n_fft,
                             "hop": self.spectral.hop}}
        buf = io.BytesIO()
        np.savez(buf, W_inst=self.W_inst, meta=np.array(json.dumps(meta)))
        atomic_write(path, lambda f: f.write(buf.getvalue()))

    @classmethod
    def load(cls, path: str | Path) -> "NMFBaseline":
        """Read a file written by :meth:`save`."""
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as z:
                W, meta = z["W_inst"], json.loads(str(z["meta"]))
        except FileNotFoundError:
            raise CheckpointError(f"NMF dictionary {path} does not exist.") from None
        except Exception as err:
            raise CheckpointError(f"{path} is not a semisep NMF dictionary ({type(err).__name__}).") from None
        if meta.get("kind") != "nmf":
            raise CheckpointError(f"{path} is not a semisep NMF dictionary.")
        cfg = Config()
        cfg.spectral = SpectralConfig(**meta["spectral"])
        keys = ("n_inst", "n_voc", "fit_iter", "sep_iter", "max_frames", "mask_power", "seed")
        out = cls(cfg, **{k: meta[k] for k in keys})
        out.W_inst = W.astype(np.float32)
        return out


# ------------------------------------------------------------------------------------------------------------
# fitting the baselines of a preset
# ------------------------------------------------------------------------------------------------------------
METHODS = ("nmf", "nes")


def fit_baselines(td: TrainingData, cfg: Config, out: str | Path, methods=METHODS, seed: int = 0,
                  progress: bool = True) -> dict:
    """Fit the named baselines on ``td`` and save them into ``out`` (``nmf.npz``, ``nes.pt``,
    ``baselines.json`` with timings). Returns that summary. NMF and NES have the sizes of the resolved config
    (``cfg.nmf``, ``cfg.nes``: its preset's unless overridden)."""
    bad = [m for m in methods if m not in METHODS]
    if bad:
        raise UsageError(f"Unknown baseline(s) {', '.join(bad)}; choose from {', '.join(METHODS)}.")
    out = Path(out)
    summary: dict = {"preset": cfg.preset, "seed": seed, "mixtures": len(td.mixtures),
                     "instrumentals": len(td.instrumentals)}
    with run_lock(out):
        if "nmf" in methods:
            t0 = time.perf_counter()
            NMFBaseline(cfg, seed=seed).fit(td).save(out / NMF_FILE)
            summary["nmf"] = {"file": NMF_FILE, "seconds": round(time.perf_counter() - t0, 2)}
        if "nes" in methods:
            t0 = time.perf_counter()
            nes = train_nes(td, cfg, cfg.nes, seed=seed, progress=progress)
            nes.save(out / NES_FILE)
            summary["nes"] = {"file": NES_FILE, "seconds": round(time.perf_counter() - t0, 2),
                              "final_loss": nes.history[-1]["loss"] if nes.history else None}
        atomic_write_json(out / BASELINES_SUMMARY, summary)
    return summary
