"""Training: one discriminator step, then one generator step, repeated — with checkpoints that resume exactly.

The loop a reader should hold in their head — :func:`train` is this loop, read top to bottom::

    resume()                                      # checkpoint.pt → weights, optimisers, RNG, step; logs cut back
    for step in range(start, steps):
        for k in range(d_steps):                  # d_A, d_C: tell real from made-up
            D_loss(g, d_A, d_C, batch(step, k)).backward(); opt_d.step()
        if step >= d_warmup:                      # g: R1..R4 + GAN_A + GAN_C
            G_loss(g, d_A, d_C, batch(step, d_steps)).backward(); opt_g.step(); ema.update(g)
        log; every val_every: score g (or its EMA) on validation songs, keep the best; every ckpt_every: save

Around it, small parts that each read on their own: the networks and the checkpoint that resumes them
(:func:`_build`, :func:`_resume`, :func:`_save`), validation and ``best.pt`` (:func:`_validate`), :class:`EMA`,
TensorBoard (:class:`_Board`) and several processes (:func:`_rank_and_world`, :func:`_descend`).

With ``shared_batch`` (the authors' loop) there is one batch per iteration: ``g``'s step reuses the last
discriminator step's, and ``d_A``'s real mixtures are the very mixtures that build ``ā``.

Batches are a pure function of ``(seed, step, k)`` (see ``segments.SegmentDataset``), and the checkpoint holds the
models, both optimisers, the torch RNG state and the step, so a resumed run on the CPU ends
bit-for-bit where an uninterrupted one would. ``objective="supervised"`` trains the same ``g`` on true
(mixture, accompaniment) pairs — a reference for the architecture (one run, no bound), a baseline of Table 1.

Options of ``TrainConfig``: ``ema_decay > 0`` keeps an exponential moving average of ``g``'s weights
(:class:`EMA`), which validation scores and ``best.pt`` stores as ``g``; ``checkpoint.pt`` holds both (``g``,
raw, to resume; ``g_ema``). ``tensorboard`` also logs every term, the validation scores and an audio excerpt of
the current vocal estimate to ``RUN/tensorboard/``.

Validation: ``train(validator=...)`` scores the model to keep. Every user-facing path — ``semisep train``
(``cli``), ``reproduce`` and the notebooks' ``Session.train`` — passes ``reproduce.mask_validator(td, cfg)``, i.e.
:func:`separator_validation` through ``separate.MaskSeparator``: the validation songs separated whole, exactly as
``separate`` does (same blocks, normalisation, post-processing), so ``best.pt`` is the best by the numbers
``separate`` produces. This module cannot build a ``MaskSeparator`` itself (``separate`` sits above it), so
calling :func:`train` without a validator falls back to :func:`validate`: ``g`` on fixed 4-segment chunks of the
validation songs, one peak normalisation each — cheaper, but not what ``separate`` produces.

The command line (``semisep train``) lives in ``cli``.
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import torch
import torch.distributed as dist
from tqdm.auto import tqdm

from ..errors import CheckpointError, TrainingError, UsageError
from ..fileio import atomic_write_text, run_lock
from ..runs import Run
from .checkpoint import bf16_available, checkpoint_header, load_checkpoint, load_weights, pick_device, save_checkpoint
from .config import Config, TrainConfig
from .losses import discriminator_losses, generator_losses, supervised_loss
from .metrics import energy_fraction, median_sdr
from .models import build_models
from . import segments
from .segments import TrainingData
from .separator import Separator
from .spectral import STFT, apply_mask, crop, magnitude, uncrop_mask

#: What a checkpoint.pt holds besides the model ``g``, so that training can continue from it (with EMA on, also
#: ``g_ema`` and ``ema_updates``; a checkpoint without them starts the average from its ``g``).
RESUME_KEYS = ("step", "d_A", "d_C", "opt_g", "opt_d", "rng", "best", "elapsed")
#: Seconds of the first validation song logged as audio to TensorBoard at every validation.
TENSORBOARD_AUDIO_SECONDS = 4.0
#: A validator: the model to score → its scores, at least ``val_sdr`` (dB, higher is better).
Validator = Callable[[torch.nn.Module], dict]


# ------------------------------------------------------------------------------------------------------------
# data
# ------------------------------------------------------------------------------------------------------------
class Batches:
    """The batches of a run as a pure function of ``(step, k)``: ``k < d_steps`` are discriminator batches,
    ``k = g_k`` the generator's — ``d_steps`` (a batch of its own), or with ``shared_batch`` (the authors')
    ``d_steps − 1``, the last discriminator step's. Each returns waveforms ``(batch, segment_samples)``."""

    def __init__(self, td: TrainingData, cfg: Config, rank: int = 0, world: int = 1):
        n, seed, big = cfg.spectral.segment_samples, cfg.train.seed, 1 << 62
        self.mix = segments.SegmentDataset(td.mixtures, n, seed=seed * 4 + 0, length=big)
        self.inst = segments.SegmentDataset(td.instrumentals, n, seed=seed * 4 + 1, length=big)
        self.real = segments.SegmentDataset(td.mixtures, n, seed=seed * 4 + 2, length=big)
        self.pairs = segments.SegmentDataset(td.pairs, n, seed=seed * 4 + 3, length=big) if td.pairs else None
        d_steps, self.shared = cfg.train.d_steps, bool(cfg.train.shared_batch)
        self.g_k = max(d_steps - 1, 0) if self.shared else d_steps
        self.bs, self.per_step = cfg.train.batch_size, self.g_k + 1
        self.rank, self.world = rank, world

    def _index(self, step: int, k: int) -> int:
        return (step * self.per_step + k) * self.world + self.rank

    def get(self, ds, step: int, k: int) -> torch.Tensor:
        return segments.batch(ds, self._index(step, k), self.bs)

    def get_pairs(self, step: int, k: int) -> torch.Tensor:
        """Supervised batches ``(batch, 2, samples)``: mixture and its own accompaniment, same offset."""
        n, start = self.pairs.segment_samples, self._index(step, k) * self.bs
        out = []
        for i in range(start, start + self.bs):
            song, _, offset = self.pairs.locate(i)  # the channel drawn is ignored: we want both
            x = self.pairs.songs[song][:, offset: offset + n]
            out.append(torch.from_numpy(np.pad(x, ((0, 0), (0, n - x.shape[1])))))
        return torch.stack(out)


# ------------------------------------------------------------------------------------------------------------
# validation
# ------------------------------------------------------------------------------------------------------------
def validation_chunks(td: TrainingData, cfg: Config) -> list[tuple[np.ndarray, np.ndarray]]:
    """Fixed (mixture, vocals) chunks of the validation songs, each 4 training segments long, at most
    ``val_segments`` of them, spread over the songs."""
    n = cfg.spectral.segment_samples * 4
    chunks = []
    for _, mix, voc in td.valid:
        for start in range(0, max(1, len(mix) - n + 1), n):
            chunks.append((mix[start:start + n], voc[start:start + n]))
    if len(chunks) > cfg.train.val_segments:
        pick = np.linspace(0, len(chunks) - 1, cfg.train.val_segments).round().astype(int)
        chunks = [chunks[i] for i in pick]
    return chunks


@torch.no_grad()
def vocals_of(g: torch.nn.Module, stft: STFT, wave: torch.Tensor, mask_power: float = 1.0) -> torch.Tensor:
    """Vocal estimate of waveforms ``(batch, samples)``: what ``g`` removes, i.e. the vocal mask ``(1 − m)^p`` on
    the complex mixture (mixture phase). Frames are padded to fit ``g``."""
    X = stft(wave)
    T = X.shape[-1]
    pad = (-T) % g.down_factor
    Xc = torch.nn.functional.pad(crop(X), (0, pad))
    vocal_mask = (1 - g.mask(magnitude(Xc))[..., :T]) ** mask_power
    return stft.inverse(apply_mask(X, uncrop_mask(vocal_mask)), length=wave.shape[-1])


def score_vocals(estimate: Callable[[np.ndarray], np.ndarray], pieces: Iterable[tuple[np.ndarray, np.ndarray]],
                 win: int) -> dict[str, float]:
    """Median fast SDR (museval v4 definition, ``win``-sample windows) of the vocal estimates ``estimate(mix)``
    ``(samples,)`` over ``pieces`` of (mixture, vocals) ``(samples,)`` arrays, beside the mixture's own score (the
    silent estimate scores 0 dB); also the median vocal energy fraction. Pieces with silent vocals are skipped."""
    sdrs, mix_sdrs, fracs = [], [], []
    for mix, voc in pieces:
        est = estimate(mix)
        if np.sum(voc**2) < 1e-8:
            continue
        sdrs.append(median_sdr(voc, est, win))
        mix_sdrs.append(median_sdr(voc, mix, win))
        fracs.append(energy_fraction(est, mix))
    clean = lambda v: float(np.nanmedian(v)) if len(v) else float("nan")  # noqa: E731
    return {"val_sdr": clean(sdrs), "val_sdr_mixture": clean(mix_sdrs), "val_vocal_fraction": clean(fracs)}


def validate(g: torch.nn.Module, stft: STFT, chunks, cfg: Config, device) -> dict[str, float]:
    """The fallback validation of :func:`train` called without a validator: :func:`score_vocals` of
    :func:`vocals_of` over the fixed ``chunks`` of :func:`validation_chunks`, 1 s windows. Not what ``separate``
    produces (it cuts, normalises and post-processes differently): see :func:`separator_validation`."""
    if not chunks:
        return {}
    was_training = g.training
    g.eval()
    estimate = lambda mix: vocals_of(g, stft, torch.from_numpy(mix)[None].to(device))[0].cpu().numpy()  # noqa: E731
    scores = score_vocals(estimate, chunks, cfg.spectral.sample_rate)
    g.train(was_training)
    return scores


def separator_validation(td: TrainingData, cfg: Config,
                         make_separator: Callable[[torch.nn.Module], Separator]) -> Validator | None:
    """A validator that scores what separation produces: ``make_separator(g)`` (from a layer above, e.g.
    ``lambda g: separate.MaskSeparator(g, cfg, device)`` as ``reproduce.mask_validator`` does for every
    user-facing training path; it must leave ``g`` on its device) separates every
    validation song whole, at the model rate; the scores are :func:`score_vocals`' (a song is one piece, 1 s
    windows), the same numbers as separating those songs with that separator. ``None`` without validation songs.

    Its cost is a whole separation of the validation songs at every validation."""
    songs = [(mix, voc) for _, mix, voc in td.valid]
    rate = cfg.spectral.sample_rate
    if not songs:
        return None

    def validator(g: torch.nn.Module) -> dict[str, float]:
        sep = make_separator(g)
        return score_vocals(lambda mix: sep.separate(mix[None], rate)[0], songs, rate)  # (samples,) → (1, samples)

    return validator


# ------------------------------------------------------------------------------------------------------------
# the exponential moving average of g
# ------------------------------------------------------------------------------------------------------------
class EMA:
    """An exponential moving average of a module's weights, in ``self.module`` (a frozen copy, eval mode).

    After the ``n``-th :meth:`update` (``n = 0, 1, ...``) every parameter is ``e ← d·e + (1 − d)·p`` with
    ``d = min(decay, (1 + n) / (10 + n))`` — a warm-up, so that the average does not stay near the initial weights
    for the first ``1 / (1 − decay)`` steps — and every buffer is copied."""

    def __init__(self, module: torch.nn.Module, decay: float):
        if not 0 < decay < 1:
            raise UsageError(f"ema_decay must be in [0, 1) (0 switches it off), got {decay}.")
        self.module = copy.deepcopy(module).eval().requires_grad_(False)
        self.decay, self.updates = float(decay), 0

    def current_decay(self) -> float:
        """``d`` of the next update."""
        return min(self.decay, (1 + self.updates) / (10 + self.updates))

    @torch.no_grad()
    def update(self, module: torch.nn.Module) -> None:
        """Move the average towards ``module``'s weights (same architecture as the copy)."""
        d = self.current_decay()
        for e, p in zip(self.module.parameters(), module.parameters()):
            e.mul_(d).add_(p.detach(), alpha=1 - d)
        for e, b in zip(self.module.buffers(), module.buffers()):
            e.copy_(b)
        self.updates += 1


# ------------------------------------------------------------------------------------------------------------
# the loop
# ------------------------------------------------------------------------------------------------------------
def train(cfg: Config, td: TrainingData, run_dir: str | Path, objective: str = "semi",
          progress: bool = True, validator: Validator | None = None) -> dict:
    """Train ``g`` (and ``d_A``, ``d_C``) into ``run_dir``, resuming from ``run_dir/checkpoint.pt`` if present.

    ``objective``: ``"semi"`` (the paper's method; terms with weight 0 are switched off) or ``"supervised"``.
    ``validator``: scores the model to keep (``g``, or its EMA). The library's own callers pass
    :func:`separator_validation` (``reproduce.mask_validator``: what ``separate`` produces); without one,
    :func:`validate` on the validation songs' chunks (none without validation songs or with ``val_segments=0``).
    Returns a summary: steps, seconds, best validation score. Writes ``config.yaml``, ``checkpoint.pt``
    (everything needed to resume), ``best.pt`` (``g`` — its EMA if on — at the best validation SDR),
    ``log.jsonl`` (every term, every step), ``valid.jsonl`` and, with ``cfg.train.tensorboard``, ``tensorboard/``.
    """
    if objective not in ("semi", "supervised"):
        raise UsageError(f"Unknown objective {objective!r}.")
    if not td.mixtures or (objective == "semi" and not td.instrumentals):
        raise UsageError("Training needs at least one mixture song and one instrumental song.")
    run_dir, tc, compress = Path(run_dir), cfg.train, cfg.spectral.compress
    run = Run(run_dir)  # the paths of the files below
    rank, world = _rank_and_world()
    main = rank == 0  # rank 0 validates and writes every file
    with run_lock(run_dir) if main else contextlib.nullcontext():
        net = _build(cfg)  # g, d_A, d_C, their optimisers, g's EMA: seeded by train.seed
        stft = STFT(cfg.spectral).to(net.device)
        board = _Board(tc.tensorboard and main, cfg, td, stft, net.device)
        start, best, elapsed, last_ckpt = 0, {"val_sdr": -math.inf, "step": None}, 0.0, None
        if run.checkpoint.exists():  # weights, optimisers, RNG, progress; later log lines dropped
            start, best, elapsed = _resume(net, cfg, run.checkpoint, main)
            last_ckpt = start
        if main:
            cfg.save(run.config)
        g, d_A, d_C, opt_g, opt_d, ema = net.g, net.d_A, net.d_C, net.opt_g, net.opt_d, net.ema
        b = Batches(td, cfg, rank, world)
        spec = lambda wave: crop(stft(wave.to(net.device)))  # noqa: E731  (B, samples) → (B, F, T) complex
        header = lambda step, model, **extra: checkpoint_header(cfg, step, objective, model, **extra)  # noqa: E731
        validator = _validator(validator, td, cfg, stft, net.device) if main else None
        autocast = _autocast(tc.bf16, net.device)
        weights = cfg.loss.weights()
        train_d = objective == "semi" and (weights["GAN_A"] > 0 or weights["GAN_C"] > 0)

        t0 = time.perf_counter() - elapsed
        bar = tqdm(range(start, tc.steps), initial=start, total=tc.steps, disable=not (progress and main),
                   desc=f"train {run_dir.name}", dynamic_ncols=True)
        log_f = open(run.log, "a") if main else None
        try:
            board.open(run_dir, start)
            for step in bar:
                _set_learning_rates(tc, step, opt_g, opt_d)
                log: dict[str, float] = {"step": step}
                if train_d:  # d_A, d_C: tell real from made-up, d_steps updates on batches k = 0 .. d_steps − 1
                    for k in range(tc.d_steps):
                        A, C = spec(b.get(b.mix, step, k)), spec(b.get(b.inst, step, k))  # (B, F, T) complex
                        A_real = A if b.shared else spec(b.get(b.real, step, k))  # d_A's real mixtures
                        with autocast():
                            d_loss, d_log = discriminator_losses(g, d_A, d_C, A, C, A_real, cfg.loss)
                        _descend(opt_d, d_loss, (d_A, d_C), world)
                    log.update(d_log)  # the last update's terms
                g_loss = None
                if step >= tc.d_warmup or not train_d:  # g: R1..R4 + GAN_A + GAN_C (or supervised), batch k = g_k
                    with autocast():
                        if objective == "semi":
                            A, C = spec(b.get(b.mix, step, b.g_k)), spec(b.get(b.inst, step, b.g_k))
                            g_loss, g_log = generator_losses(g, d_A, d_C, A, C, cfg.loss, compress)
                        else:  # true pairs (B, 2, samples): a mixture and its own accompaniment
                            pair = b.get_pairs(step, b.g_k)
                            A, C = spec(pair[:, 0]), spec(pair[:, 1])
                            g_loss, g_log = supervised_loss(g, A, C, compress)
                    log.update(g_log)
                _check_finite(log, step, run_dir, last_ckpt)  # before g's update: g's weights stay finite
                if g_loss is not None:
                    _descend(opt_g, g_loss, (g,), world)
                    if ema:
                        ema.update(g)
                log["lr_g"] = opt_g.param_groups[0]["lr"]
                log["time"] = round(time.perf_counter() - t0, 3)
                done = step + 1
                if main:
                    log_f.write(json.dumps(log) + "\n")
                    board.scalars("train", log, step)
                    if "G_total" in log:
                        bar.set_postfix(G=f"{log['G_total']:.3f}", mask_a=f"{log['mask_a']:.2f}", refresh=False)
                    if validator and (done % tc.val_every == 0 or done == tc.steps):
                        best = _validate(validator, net.kept, done, log["time"], best, run_dir, header, board)
                    if done % tc.ckpt_every == 0 or done == tc.steps:
                        log_f.flush()
                        _save(run.checkpoint, header, net, done, best, time.perf_counter() - t0)
                        last_ckpt = done
                        board.flush()
        finally:
            if log_f:
                log_f.close()
            board.close()
            bar.close()
        if main and not run.best.exists():  # no validation songs: the last weights are the best we know
            save_checkpoint(run.best, header(tc.steps, net.kept))
        return {"steps": tc.steps, "seconds": round(time.perf_counter() - t0, 2), "best": best,
                "run_dir": str(run_dir)}


def _set_learning_rates(tc: TrainConfig, step: int, opt_g: torch.optim.Optimizer, opt_d: torch.optim.Optimizer) -> None:
    """Step decay: both rates times ``lr_decay_gamma ** (step // lr_decay_every)``, a function of the step."""
    decay = tc.lr_decay_gamma ** (step // tc.lr_decay_every)
    for opt, lr in ((opt_g, tc.lr_g), (opt_d, tc.lr_d)):
        for group in opt.param_groups:
            group["lr"] = lr * decay


def _autocast(bf16: bool, device: torch.device) -> Callable[[], torch.autocast]:
    """A fresh autocast context per use: bf16 where asked for and the device has native bf16 kernels
    (``checkpoint.bf16_available``); elsewhere the request is ignored and it is disabled (fp32)."""
    on = bool(bf16) and bf16_available(device)
    return lambda: torch.autocast(device.type if on else "cpu", dtype=torch.bfloat16, enabled=on)


def _check_finite(log: dict[str, float], step: int, run_dir: Path, last_ckpt_step: int | None) -> None:
    """Stop with a :class:`TrainingError` naming the first term of ``log`` that is NaN or infinite."""
    bad = {k: v for k, v in log.items() if not math.isfinite(v)}
    if bad:
        name, value = next(iter(bad.items()))
        kept = (f"the last good checkpoint (step {last_ckpt_step}) is kept in {Run(run_dir).checkpoint}"
                if last_ckpt_step is not None else "no checkpoint had been written yet")
        raise TrainingError(f"Loss {name} became {value} at step {step}; training stopped and {kept}. "
                            "Try a lower learning rate or check the data for silent or corrupt audio.")


# ------------------------------------------------------------------------------------------------------------
# validation and the best checkpoint
# ------------------------------------------------------------------------------------------------------------
def _validator(validator: Validator | None, td: TrainingData, cfg: Config, stft: STFT,
               device: torch.device) -> Validator | None:
    """The caller's validator, or else :func:`validate` on :func:`validation_chunks` (``None`` without chunks)."""
    if validator is not None:
        return validator
    chunks = validation_chunks(td, cfg)
    return (lambda model: validate(model, stft, chunks, cfg, device)) if chunks else None


def _validate(validator: Validator, model: torch.nn.Module, done: int, time_s: float, best: dict, run_dir: Path,
              header: Callable[..., dict], board: "_Board") -> dict:
    """Score ``model`` (``g``, or its EMA) after ``done`` steps and append the scores to ``valid.jsonl`` (and
    TensorBoard); a new best is saved as ``best.pt`` (its weights as ``g``, the scores under ``valid``). Returns
    the best so far, ``{"val_sdr": dB, "step": done}``."""
    was_training = model.training
    try:
        v = validator(model)
    finally:
        model.train(was_training)  # a separator puts g in eval mode
    v.update(step=done, time=time_s)
    with open(Run(run_dir).valid, "a") as vf:
        vf.write(json.dumps(v) + "\n")
    board.scalars("valid", v, done)
    board.audio(model, done)
    if v["val_sdr"] > best["val_sdr"] or best["step"] is None:
        best = {"val_sdr": v["val_sdr"], "step": done}
        save_checkpoint(Run(run_dir).best, header(done, model, valid=v))
    return best


# ------------------------------------------------------------------------------------------------------------
# the networks, and the checkpoint that resumes them
# ------------------------------------------------------------------------------------------------------------
@dataclass
class _Nets:
    """What training changes: ``g``, ``d_A``, ``d_C`` on ``device``, Adam for ``g`` (``opt_g``) and for both
    discriminators (``opt_d``), and ``g``'s :class:`EMA` (``None`` when off)."""

    g: torch.nn.Module
    d_A: torch.nn.Module
    d_C: torch.nn.Module
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    ema: EMA | None
    device: torch.device

    @property
    def kept(self) -> torch.nn.Module:
        """The model that is validated and kept as ``best.pt``: ``g``'s EMA when on, else ``g``."""
        return self.ema.module if self.ema else self.g


def _build(cfg: Config) -> _Nets:
    """Fresh networks of ``cfg``, their weights drawn after ``torch.manual_seed(train.seed)``."""
    tc = cfg.train
    device = pick_device(tc.device)
    if tc.threads:
        torch.set_num_threads(tc.threads)
    torch.manual_seed(tc.seed)
    g, d_A, d_C = build_models(cfg)
    # channels-last weights: oneDNN's CPU convolutions run faster on that layout (docs/decisions.md,
    # "Channels-last weights in training on the CPU")
    layout = torch.channels_last if device.type == "cpu" else torch.contiguous_format
    g, d_A, d_C = (m.to(device, memory_format=layout) for m in (g, d_A, d_C))
    adam = lambda params, lr: torch.optim.Adam(params, lr=lr, betas=tuple(tc.betas),  # noqa: E731
                                               weight_decay=tc.weight_decay)
    opt_g = adam(g.parameters(), tc.lr_g)
    opt_d = adam(list(d_A.parameters()) + list(d_C.parameters()), tc.lr_d)
    ema = EMA(g, tc.ema_decay) if tc.ema_decay else None
    return _Nets(g, d_A, d_C, opt_g, opt_d, ema, device)


def _save(path: Path, header: Callable[..., dict], net: _Nets, done: int, best: dict, elapsed: float) -> None:
    """``checkpoint.pt``: everything needed to resume after ``done`` steps (:data:`RESUME_KEYS`; ``g`` raw, its
    EMA as ``g_ema``)."""
    ema = {"g_ema": net.ema.module.state_dict(), "ema_updates": net.ema.updates} if net.ema else {}
    save_checkpoint(path, header(
        done, net.g, d_A=net.d_A.state_dict(), d_C=net.d_C.state_dict(), opt_g=net.opt_g.state_dict(),
        opt_d=net.opt_d.state_dict(), rng=torch.get_rng_state(), best=best, elapsed=elapsed, **ema))


def _resume(net: _Nets, cfg: Config, path: Path, main: bool) -> tuple[int, dict, float]:
    """Load ``path`` (a ``checkpoint.pt``) into ``net`` and torch's RNG; returns its step, best validation and
    seconds so far. On rank 0, log lines written after it are dropped."""
    state = load_checkpoint(path)
    missing = [k for k in RESUME_KEYS if k not in state]
    if missing:
        raise CheckpointError(f"{path} cannot be resumed: it holds no {missing[0]} (a model file such as "
                              f"{Run(path.parent).best.name}, not a training checkpoint); move it away or use a "
                              "new --out.")
    if Config.from_dict(state["config"]).architecture() != cfg.architecture():
        raise CheckpointError(f"{path} was trained with another architecture; use a new --out.")
    for module, key in ((net.g, "g"), (net.d_A, "d_A"), (net.d_C, "d_C")):
        load_weights(module, state[key], key, str(path))
    if net.ema and "g_ema" in state:
        load_weights(net.ema.module, state["g_ema"], "g_ema", str(path))
        net.ema.updates = int(state["ema_updates"])
    elif net.ema:  # EMA switched on for a run that had none: average from here
        net.ema = EMA(net.g, cfg.train.ema_decay)
    net.opt_g.load_state_dict(state["opt_g"]), net.opt_d.load_state_dict(state["opt_d"])
    torch.set_rng_state(state["rng"])
    if main:
        _truncate_jsonl(Run(path.parent).log, state["step"] - 1)
        _truncate_jsonl(Run(path.parent).valid, state["step"])
    return state["step"], state["best"], state["elapsed"]


def _truncate_jsonl(path: Path, last_step: int) -> None:
    """Drop log lines past ``last_step`` (written after the checkpoint a resumed run starts from)."""
    if not path.exists():
        return
    keep = []
    for ln in path.read_text().splitlines():
        try:
            row = json.loads(ln)
        except json.JSONDecodeError:  # a line cut short when the process was killed; nothing follows it
            break
        if row["step"] <= last_step:
            keep.append(ln)
    atomic_write_text(path, "".join(ln + "\n" for ln in keep))


def untrained_checkpoint(cfg: Config, td: TrainingData, run_dir: str | Path, step: int,
                         objective: str = "supervised") -> Path:
    """Write ``run_dir/checkpoint.pt`` as a run of ``cfg`` that has done ``step`` steps without training ``g``;
    returns its path. ``g``, its EMA, its optimiser and the batches of every later step are those a
    discriminator-only warm-up of ``step`` steps leaves (the warm-up never steps ``g``), so a row that uses no
    discriminator — the supervised row — continues from this exactly as from the warm-up's checkpoint, without
    waiting for it (``tests/test_reproduce.py``)."""
    path = Run(run_dir).checkpoint
    net = _build(cfg)
    path.parent.mkdir(parents=True, exist_ok=True)
    header = lambda step, model, **extra: checkpoint_header(cfg, step, objective, model, **extra)  # noqa: E731
    _save(path, header, net, step, {"val_sdr": -math.inf, "step": None}, 0.0)
    return path


# ------------------------------------------------------------------------------------------------------------
# several processes: one rank each, gradients averaged
# ------------------------------------------------------------------------------------------------------------
def _rank_and_world() -> tuple[int, int]:
    """This process's rank and the number of processes (``torch.distributed``, e.g. under ``torchrun``); alone
    ``(0, 1)``. Every process trains on its own batches (:class:`Batches`); rank 0 writes every file."""
    if not dist.is_initialized():
        return 0, 1
    return dist.get_rank(), dist.get_world_size()


def _descend(opt: torch.optim.Optimizer, loss: torch.Tensor, modules: Iterable[torch.nn.Module],
             world: int) -> None:
    """One step of ``opt`` on ``loss``: gradients of ``modules``, averaged over the processes, then Adam."""
    opt.zero_grad(set_to_none=True)
    loss.backward()
    _average_gradients(modules, world)
    opt.step()


def _average_gradients(modules: Iterable[torch.nn.Module], world: int) -> None:
    """Data parallelism by hand: average every gradient over the processes (one all-reduce per tensor)."""
    if world == 1:
        return
    for m in modules:
        for p in m.parameters():
            if p.grad is not None:
                dist.all_reduce(p.grad)
                p.grad /= world


# ------------------------------------------------------------------------------------------------------------
# TensorBoard
# ------------------------------------------------------------------------------------------------------------
class _Board:
    """``RUN/tensorboard/``: every term, the validation scores and an audio excerpt of the vocal estimate, when
    ``on`` (``train.tensorboard``, rank 0); otherwise every method does nothing."""

    def __init__(self, on: bool, cfg: Config, td: TrainingData, stft: STFT, device: torch.device):
        self.writer, self._writer_class, self._mixture_logged = None, None, False
        self.rate, self.stft, self.device = cfg.spectral.sample_rate, stft, device
        self.song = td.valid[0][1] if td.valid else None  # the first validation mixture (samples,)
        if on:
            try:  # optional: only --tensorboard needs the tensorboard package
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:
                raise UsageError("Logging to TensorBoard needs the tensorboard package: "
                                 "pip install tensorboard (or train without --tensorboard).") from None
            self._writer_class = SummaryWriter

    def open(self, run_dir: Path, start: int) -> None:
        """Start writing; the events of steps a resumed run repeats (from ``start`` on) are purged."""
        if self._writer_class:
            self.writer = self._writer_class(str(Run(run_dir).tensorboard), purge_step=start or None)

    def scalars(self, section: str, values: dict, step: int) -> None:
        """Every number of ``values`` but ``step`` and ``time`` as ``section/name``."""
        if self.writer:
            for name, value in values.items():
                if name not in ("step", "time"):
                    self.writer.add_scalar(f"{section}/{name}", value, step)

    def audio(self, model: torch.nn.Module, step: int) -> None:
        """``audio/vocals``: ``model``'s vocal estimate (:func:`vocals_of`) of the middle
        :data:`TENSORBOARD_AUDIO_SECONDS` of the first validation song; ``audio/mixture`` beside it, once."""
        if not (self.writer and self.song is not None):
            return
        mix, rate = self.song, self.rate
        n = min(len(mix), int(TENSORBOARD_AUDIO_SECONDS * rate))
        start = (len(mix) - n) // 2
        wave = torch.from_numpy(mix[start:start + n])[None].to(self.device)  # (1, samples)
        was_training = model.training
        model.eval()
        vocals = vocals_of(model, self.stft, wave)[0].clamp(-1, 1).cpu()  # (samples,)
        model.train(was_training)
        self.writer.add_audio("audio/vocals", vocals, step, sample_rate=rate)
        if not self._mixture_logged:
            self.writer.add_audio("audio/mixture", wave[0].clamp(-1, 1).cpu(), step, sample_rate=rate)
            self._mixture_logged = True

    def flush(self) -> None:
        if self.writer:
            self.writer.flush()

    def close(self) -> None:
        if self.writer:
            self.writer.close()
