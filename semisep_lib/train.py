"""Training: one discriminator step, then one generator step, repeated — with checkpoints that resume exactly.

The loop a reader should hold in their head (:func:`_train`; each line is one method of :class:`_Trainer`)::

    resume()                                      # checkpoint.pt → weights, optimisers, RNG, step; logs cut back
    for step in range(start, steps):
        for k in range(d_steps):                  # d_A, d_C: tell real from made-up
            D_loss(g, d_A, d_C, batch(step, k)).backward(); opt_d.step()
        if step >= d_warmup:                      # g: R1..R4 + GAN_A + GAN_C
            G_loss(g, d_A, d_C, batch(step, d_steps)).backward(); opt_g.step(); ema.update(g)
        log; every val_every: score g (or its EMA) on validation songs, keep the best; every ckpt_every: save

With ``shared_batch`` (the authors' loop) there is one batch per iteration: ``g``'s step reuses the last
discriminator step's, and ``d_A``'s real mixtures are the very mixtures that build ``ā``.

Batches are a pure function of ``(seed, step, k)`` (see ``data.SegmentDataset``), and the checkpoint holds the
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
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import torch
import torch.distributed as dist
from tqdm.auto import tqdm

from . import data as data_lib
from .checkpoint import bf16_available, checkpoint_header, load_checkpoint, load_weights, pick_device, save_checkpoint
from .config import Config
from .data import TrainingData
from .errors import CheckpointError, TrainingError, UsageError
from .fileio import atomic_write_text, run_lock
from .losses import discriminator_losses, generator_losses, supervised_loss
from .metrics import energy_fraction, median_sdr
from .models import build_models
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
        self.mix = data_lib.SegmentDataset(td.mixtures, n, seed=seed * 4 + 0, length=big)
        self.inst = data_lib.SegmentDataset(td.instrumentals, n, seed=seed * 4 + 1, length=big)
        self.real = data_lib.SegmentDataset(td.mixtures, n, seed=seed * 4 + 2, length=big)
        self.pairs = data_lib.SegmentDataset(td.pairs, n, seed=seed * 4 + 3, length=big) if td.pairs else None
        d_steps, self.shared = cfg.train.d_steps, bool(cfg.train.shared_batch)
        self.g_k = max(d_steps - 1, 0) if self.shared else d_steps
        self.bs, self.per_step = cfg.train.batch_size, self.g_k + 1
        self.rank, self.world = rank, world

    def _index(self, step: int, k: int) -> int:
        return (step * self.per_step + k) * self.world + self.rank

    def get(self, ds, step: int, k: int) -> torch.Tensor:
        return data_lib.batch(ds, self._index(step, k), self.bs)

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
def _average_gradients(modules, world: int) -> None:
    """Data parallelism by hand: average every gradient over the processes (one all-reduce per tensor)."""
    if world == 1:
        return
    for m in modules:
        for p in m.parameters():
            if p.grad is not None:
                dist.all_reduce(p.grad)
                p.grad /= world


def _check_finite(log: dict[str, float], step: int, run_dir: Path, last_ckpt_step: int | None) -> None:
    bad = {k: v for k, v in log.items() if not math.isfinite(v)}
    if bad:
        name, value = next(iter(bad.items()))
        kept = (f"the last good checkpoint (step {last_ckpt_step}) is kept in {run_dir / 'checkpoint.pt'}"
                if last_ckpt_step is not None else "no checkpoint had been written yet")
        raise TrainingError(f"Loss {name} became {value} at step {step}; training stopped and {kept}. "
                            "Try a lower learning rate or check the data for silent or corrupt audio.")


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
    run_dir = Path(run_dir)
    world = dist.get_world_size() if dist.is_initialized() else 1
    rank = dist.get_rank() if dist.is_initialized() else 0
    with run_lock(run_dir) if rank == 0 else contextlib.nullcontext():
        return _train(_Trainer(cfg, td, run_dir, objective, rank, world, validator), progress and rank == 0)


def untrained_checkpoint(cfg: Config, td: TrainingData, run_dir: str | Path, step: int,
                         objective: str = "supervised") -> Path:
    """Write ``run_dir/checkpoint.pt`` as a run of ``cfg`` that has done ``step`` steps without training ``g``;
    returns its path. ``g``, its EMA, its optimiser and the batches of every later step are those a
    discriminator-only warm-up of ``step`` steps leaves (the warm-up never steps ``g``), so a row that uses no
    discriminator — the supervised row — continues from this exactly as from the warm-up's checkpoint, without
    waiting for it (``tests/test_reproduce.py``)."""
    t = _Trainer(cfg, td, Path(run_dir), objective, 0, 1)
    t.run_dir.mkdir(parents=True, exist_ok=True)
    t.save(step, 0.0)
    return t.ckpt_path


def _train(t: "_Trainer", progress: bool) -> dict:
    """The loop of the module docstring; everything around the step is a method of :class:`_Trainer`."""
    tc = t.cfg.train
    t.resume()
    t0 = time.perf_counter() - t.elapsed
    bar = tqdm(range(t.start, tc.steps), initial=t.start, total=tc.steps, disable=not progress,
               desc=f"train {t.run_dir.name}", dynamic_ncols=True)
    log_f = open(t.log_path, "a") if t.main else None
    try:
        t.open_board()
        for step in bar:
            t.set_learning_rates(step)
            log: dict[str, float] = {"step": step}
            if t.train_d:
                log.update(t.d_step(step))
            g_loss = None
            if step >= tc.d_warmup or not t.train_d:
                g_loss, g_log = t.g_loss(step)
                log.update(g_log)
            _check_finite(log, step, t.run_dir, t.last_ckpt)  # before g's update: g's weights stay finite
            if g_loss is not None:
                t.g_update(g_loss)  # and its EMA
            log["lr_g"] = t.opt_g.param_groups[0]["lr"]
            log["time"] = round(time.perf_counter() - t0, 3)
            done = step + 1
            if t.main:
                log_f.write(json.dumps(log) + "\n")
                t.board_scalars("train", log, step)
                if "G_total" in log:
                    bar.set_postfix(G=f"{log['G_total']:.3f}", mask_a=f"{log['mask_a']:.2f}", refresh=False)
                if t.validator and (done % tc.val_every == 0 or done == tc.steps):
                    t.validate(done, log["time"])
                if done % tc.ckpt_every == 0 or done == tc.steps:
                    log_f.flush()
                    t.save(done, time.perf_counter() - t0)
    finally:
        if log_f:
            log_f.close()
        t.close_board()
        bar.close()
    if t.main and not t.best_path.exists():  # no validation songs: the last weights are the best we know
        save_checkpoint(t.best_path, t.header(tc.steps, t.kept))
    return {"steps": tc.steps, "seconds": round(time.perf_counter() - t0, 2), "best": t.best,
            "run_dir": str(t.run_dir)}


class _Trainer:
    """One run: ``g``, ``d_A``, ``d_C``, their optimisers, ``g``'s :class:`EMA` (``ema``, or ``None``), the
    batches, where its files go, and how far it got (``start``, ``best``, ``elapsed``, ``last_ckpt``). Rank 0
    (``main``) validates and writes every file."""

    def __init__(self, cfg: Config, td: TrainingData, run_dir: Path, objective: str, rank: int, world: int,
                 validator: Validator | None = None):
        tc = cfg.train
        self.cfg, self.run_dir, self.objective, self.world, self.main = cfg, run_dir, objective, world, rank == 0
        self.device = device = pick_device(tc.device)
        if tc.threads:
            torch.set_num_threads(tc.threads)
        torch.manual_seed(tc.seed)
        g, d_A, d_C = build_models(cfg)
        # channels-last weights: oneDNN's CPU convolutions run faster on that layout (docs/decisions.md,
        # "Channels-last weights in training on the CPU")
        layout = torch.channels_last if device.type == "cpu" else torch.contiguous_format
        self.g, self.d_A, self.d_C = (m.to(device, memory_format=layout) for m in (g, d_A, d_C))
        self.stft = STFT(cfg.spectral).to(device)
        adam = lambda params, lr: torch.optim.Adam(params, lr=lr, betas=tuple(tc.betas),  # noqa: E731
                                                   weight_decay=tc.weight_decay)
        self.opt_g = adam(self.g.parameters(), tc.lr_g)
        self.opt_d = adam(list(self.d_A.parameters()) + list(self.d_C.parameters()), tc.lr_d)
        self.ema = EMA(self.g, tc.ema_decay) if tc.ema_decay else None
        self.ckpt_path, self.best_path = run_dir / "checkpoint.pt", run_dir / "best.pt"
        self.log_path, self.val_path = run_dir / "log.jsonl", run_dir / "valid.jsonl"
        self.start, self.best, self.elapsed, self.last_ckpt = 0, {"val_sdr": -math.inf, "step": None}, 0.0, None
        self.td, self.rank = td, rank
        weights = cfg.loss.weights()
        self.train_d = objective == "semi" and (weights["GAN_A"] > 0 or weights["GAN_C"] > 0)
        self.bf16 = bool(tc.bf16) and bf16_available(device)  # elsewhere the request is ignored: fp32
        self.autocast = lambda: torch.autocast(device.type if self.bf16 else "cpu", dtype=torch.bfloat16,
                                               enabled=self.bf16)
        self.validator, self.board, self._mixture_logged = validator if self.main else None, None, False
        if tc.tensorboard and self.main:
            try:  # optional: only --tensorboard needs the tensorboard package
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:
                raise UsageError("Logging to TensorBoard needs the tensorboard package: "
                                 "pip install tensorboard (or train without --tensorboard).") from None
            self._writer = SummaryWriter

    @property
    def kept(self) -> torch.nn.Module:
        """The model that is validated and kept as ``best.pt``: ``g``'s EMA when on, else ``g``."""
        return self.ema.module if self.ema else self.g

    def to_spec(self, wave: torch.Tensor) -> torch.Tensor:
        """Waveforms ``(B, samples)`` → complex spectrogram ``(B, F, T)``, Nyquist bin dropped."""
        return crop(self.stft(wave.to(self.device)))

    # -- before the loop -----------------------------------------------------------------------------------------
    def resume(self) -> None:
        """Continue from ``checkpoint.pt`` if there is one (weights, optimisers, RNG, progress; log lines past it
        are dropped); write ``config.yaml``; prepare the batches and the validation chunks."""
        if self.ckpt_path.exists():
            self._load(load_checkpoint(self.ckpt_path))
        if self.main:
            self.cfg.save(self.run_dir / "config.yaml")
        self.batches = Batches(self.td, self.cfg, self.rank, self.world)
        self.chunks = validation_chunks(self.td, self.cfg) if self.main else []
        if self.main and self.validator is None and self.chunks:
            self.validator = lambda model: validate(model, self.stft, self.chunks, self.cfg, self.device)

    def _load(self, state: dict) -> None:
        path = self.ckpt_path
        missing = [k for k in RESUME_KEYS if k not in state]
        if missing:
            raise CheckpointError(f"{path} cannot be resumed: it holds no {missing[0]} (a model file such as "
                                  "best.pt, not a training checkpoint); move it away or use a new --out.")
        if Config.from_dict(state["config"]).architecture() != self.cfg.architecture():
            raise CheckpointError(f"{path} was trained with another architecture; use a new --out.")
        for module, key in ((self.g, "g"), (self.d_A, "d_A"), (self.d_C, "d_C")):
            load_weights(module, state[key], key, str(path))
        if self.ema and "g_ema" in state:
            load_weights(self.ema.module, state["g_ema"], "g_ema", str(path))
            self.ema.updates = int(state["ema_updates"])
        elif self.ema:  # EMA switched on for a run that had none: average from here
            self.ema = EMA(self.g, self.cfg.train.ema_decay)
        self.opt_g.load_state_dict(state["opt_g"]), self.opt_d.load_state_dict(state["opt_d"])
        torch.set_rng_state(state["rng"])
        self.start = self.last_ckpt = state["step"]
        self.best, self.elapsed = state["best"], state["elapsed"]
        if self.main:
            _truncate_jsonl(self.log_path, self.start - 1)
            _truncate_jsonl(self.val_path, self.start)

    # -- one step ------------------------------------------------------------------------------------------------
    def set_learning_rates(self, step: int) -> None:
        """Step decay: both rates times ``lr_decay_gamma ** (step // lr_decay_every)``, a function of the step."""
        tc = self.cfg.train
        decay = tc.lr_decay_gamma ** (step // tc.lr_decay_every)
        for opt, lr in ((self.opt_g, tc.lr_g), (self.opt_d, tc.lr_d)):
            for group in opt.param_groups:
                group["lr"] = lr * decay

    def d_step(self, step: int) -> dict[str, float]:
        """``d_steps`` updates of ``d_A`` and ``d_C``, on batches ``k = 0 .. d_steps − 1``; the last one's losses.
        ``d_A``'s real mixtures: a batch of their own, or with ``shared_batch`` those that build ``ā``."""
        b = self.batches
        for k in range(self.cfg.train.d_steps):
            A, C = self.to_spec(b.get(b.mix, step, k)), self.to_spec(b.get(b.inst, step, k))
            A_real = A if b.shared else self.to_spec(b.get(b.real, step, k))
            with self.autocast():
                d_loss, d_log = discriminator_losses(self.g, self.d_A, self.d_C, A, C, A_real, self.cfg.loss)
            self.opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            _average_gradients((self.d_A, self.d_C), self.world)
            self.opt_d.step()
        return d_log

    def g_loss(self, step: int) -> tuple[torch.Tensor, dict[str, float]]:
        """``g``'s loss on batch ``k = g_k`` (:class:`Batches`): R1..R4 + GAN_A + GAN_C, or the supervised loss;
        and its terms."""
        b, k, compress = self.batches, self.batches.g_k, self.cfg.spectral.compress
        with self.autocast():
            if self.objective == "semi":
                A, C = self.to_spec(b.get(b.mix, step, k)), self.to_spec(b.get(b.inst, step, k))
                return generator_losses(self.g, self.d_A, self.d_C, A, C, self.cfg.loss, compress)
            pair = b.get_pairs(step, k)  # (B, 2, samples): mixture, its accompaniment
            A, C = self.to_spec(pair[:, 0]), self.to_spec(pair[:, 1])
            return supervised_loss(self.g, A, C, compress)

    def g_update(self, loss: torch.Tensor) -> None:
        """One Adam step of ``g`` on ``loss``, then one update of its EMA."""
        self.opt_g.zero_grad(set_to_none=True)
        loss.backward()
        _average_gradients((self.g,), self.world)
        self.opt_g.step()
        if self.ema:
            self.ema.update(self.g)

    # -- files ---------------------------------------------------------------------------------------------------
    def header(self, step: int, g: torch.nn.Module, **extra) -> dict:
        """:func:`~semisep_lib.checkpoint.checkpoint_header` of this run after ``step`` steps, with ``g``'s
        weights; then ``extra``."""
        return checkpoint_header(self.cfg, step, self.objective, g, **extra)

    def save(self, done: int, elapsed: float) -> None:
        """``checkpoint.pt``: everything needed to resume after ``done`` steps (:data:`RESUME_KEYS`; ``g`` raw,
        its EMA as ``g_ema``)."""
        ema = {"g_ema": self.ema.module.state_dict(), "ema_updates": self.ema.updates} if self.ema else {}
        save_checkpoint(self.ckpt_path, self.header(
            done, self.g, d_A=self.d_A.state_dict(), d_C=self.d_C.state_dict(), opt_g=self.opt_g.state_dict(),
            opt_d=self.opt_d.state_dict(), rng=torch.get_rng_state(), best=self.best, elapsed=elapsed, **ema))
        self.last_ckpt = done
        if self.board:
            self.board.flush()

    def validate(self, done: int, time_s: float) -> None:
        """Score :attr:`kept` after ``done`` steps, append the scores to ``valid.jsonl``; a new best is saved as
        ``best.pt`` (its weights as ``g``, the scores under ``valid``)."""
        model = self.kept
        was_training = model.training
        try:
            v = self.validator(model)
        finally:
            model.train(was_training)  # a separator puts g in eval mode
        v.update(step=done, time=time_s)
        with open(self.val_path, "a") as vf:
            vf.write(json.dumps(v) + "\n")
        self.board_scalars("valid", v, done)
        self.board_audio(model, done)
        if v["val_sdr"] > self.best["val_sdr"] or self.best["step"] is None:
            self.best = {"val_sdr": v["val_sdr"], "step": done}
            save_checkpoint(self.best_path, self.header(done, model, valid=v))

    # -- TensorBoard ---------------------------------------------------------------------------------------------
    def open_board(self) -> None:
        """With ``tensorboard`` on: a writer into ``RUN/tensorboard/``; events a resumed run repeats are purged."""
        if self.main and self.cfg.train.tensorboard:
            self.board = self._writer(str(self.run_dir / "tensorboard"), purge_step=self.start or None)

    def close_board(self) -> None:
        if self.board:
            self.board.close()

    def board_scalars(self, section: str, values: dict, step: int) -> None:
        """Every number of ``values`` but ``step`` and ``time`` as ``section/name``."""
        if self.board:
            for name, value in values.items():
                if name not in ("step", "time"):
                    self.board.add_scalar(f"{section}/{name}", value, step)

    def board_audio(self, model: torch.nn.Module, step: int) -> None:
        """``audio/vocals``: ``model``'s vocal estimate (:func:`vocals_of`) of the middle
        :data:`TENSORBOARD_AUDIO_SECONDS` of the first validation song; ``audio/mixture`` beside it, once."""
        if not (self.board and self.td.valid):
            return
        rate = self.cfg.spectral.sample_rate
        mix = self.td.valid[0][1]
        n = min(len(mix), int(TENSORBOARD_AUDIO_SECONDS * rate))
        start = (len(mix) - n) // 2
        wave = torch.from_numpy(mix[start:start + n])[None].to(self.device)  # (1, samples)
        was_training = model.training
        model.eval()
        vocals = vocals_of(model, self.stft, wave)[0].clamp(-1, 1).cpu()  # (samples,)
        model.train(was_training)
        self.board.add_audio("audio/vocals", vocals, step, sample_rate=rate)
        if not self._mixture_logged:
            self.board.add_audio("audio/mixture", wave[0].clamp(-1, 1).cpu(), step, sample_rate=rate)
            self._mixture_logged = True
