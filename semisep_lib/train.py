"""Training: one discriminator step, then one generator step, repeated — with checkpoints that resume exactly.

The loop a reader should hold in their head::

    for step in range(start, steps):
        for k in range(d_steps):                  # d_A, d_C: tell real from made-up
            D_loss(g, d_A, d_C, batch(step, k)).backward(); opt_d.step()
        if step >= d_warmup:                      # g: R1..R4 + GAN_A + GAN_C
            G_loss(g, d_A, d_C, batch(step, d_steps)).backward(); opt_g.step()
        log; every val_every: fast SDR on validation songs, keep the best; every ckpt_every: checkpoint

Batches are a pure function of ``(seed, step, k)`` (see ``data.SegmentDataset``), and the checkpoint holds the
models, both optimisers, the torch RNG state and the step, so a resumed run on the CPU ends
bit-for-bit where an uninterrupted one would. ``objective="supervised"`` trains the same ``g`` on true
(mixture, accompaniment) pairs — the upper bound for the architecture, a baseline of Table 1.
"""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from tqdm.auto import tqdm

from . import data as data_lib
from .checkpoint import CHECKPOINT_VERSION, PROGRAM, load_checkpoint, load_weights, pick_device, save_checkpoint
from .config import TERMS, Config, read_overrides
from .data import TrainingData, load_training_data, resolve_data_root
from .errors import CheckpointError, TrainingError, UsageError
from .fileio import atomic_write_text, run_lock
from .losses import discriminator_losses, generator_losses, supervised_loss
from .metrics import median_sdr
from .models import build_models
from .spectral import STFT, apply_mask, crop, magnitude, uncrop_mask

#: What a checkpoint.pt holds besides the model ``g``, so that training can continue from it.
RESUME_KEYS = ("step", "d_A", "d_C", "opt_g", "opt_d", "rng", "best", "elapsed")


# ------------------------------------------------------------------------------------------------------------
# data
# ------------------------------------------------------------------------------------------------------------
class Batches:
    """The batches of a run as a pure function of ``(step, k)``: ``k < d_steps`` are discriminator batches,
    ``k = d_steps`` the generator's. Each returns waveforms ``(batch, segment_samples)``."""

    def __init__(self, td: TrainingData, cfg: Config, rank: int = 0, world: int = 1):
        n, seed, big = cfg.spectral.segment_samples, cfg.train.seed, 1 << 62
        self.mix = data_lib.SegmentDataset(td.mixtures, n, seed=seed * 4 + 0, length=big)
        self.inst = data_lib.SegmentDataset(td.instrumentals, n, seed=seed * 4 + 1, length=big)
        self.real = data_lib.SegmentDataset(td.mixtures, n, seed=seed * 4 + 2, length=big)
        self.pairs = data_lib.SegmentDataset(td.pairs, n, seed=seed * 4 + 3, length=big) if td.pairs else None
        self.bs, self.per_step = cfg.train.batch_size, cfg.train.d_steps + 1
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


def validate(g: torch.nn.Module, stft: STFT, chunks, cfg: Config, device) -> dict[str, float]:
    """Median fast SDR (museval v4 definition, 1 s windows) of vocals over the validation chunks, beside the
    mixture's own score; the silent estimate scores 0 dB. Also the vocal energy fraction."""
    if not chunks:
        return {}
    was_training = g.training
    g.eval()
    win = cfg.spectral.sample_rate
    sdrs, mix_sdrs, fracs = [], [], []
    for mix, voc in chunks:
        est = vocals_of(g, stft, torch.from_numpy(mix)[None].to(device))[0].cpu().numpy()
        if np.sum(voc**2) < 1e-8:
            continue
        sdrs.append(median_sdr(voc, est, win))
        mix_sdrs.append(median_sdr(voc, mix, win))
        fracs.append(float(np.sum(est**2) / max(np.sum(mix**2), 1e-12)))
    g.train(was_training)
    clean = lambda v: float(np.nanmedian(v)) if len(v) else float("nan")  # noqa: E731
    return {"val_sdr": clean(sdrs), "val_sdr_mixture": clean(mix_sdrs), "val_vocal_fraction": clean(fracs)}


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
          progress: bool = True) -> dict:
    """Train ``g`` (and ``d_A``, ``d_C``) into ``run_dir``, resuming from ``run_dir/checkpoint.pt`` if present.

    ``objective``: ``"semi"`` (the paper's method; terms with weight 0 are switched off) or ``"supervised"``.
    Returns a summary: steps, seconds, best validation score. Writes ``config.yaml``, ``checkpoint.pt``
    (everything needed to resume), ``best.pt`` (``g`` at the best validation SDR), ``log.jsonl`` (every term,
    every step) and ``valid.jsonl``.
    """
    if objective not in ("semi", "supervised"):
        raise UsageError(f"Unknown objective {objective!r}.")
    if not td.mixtures or (objective == "semi" and not td.instrumentals):
        raise UsageError("Training needs at least one mixture song and one instrumental song.")
    run_dir = Path(run_dir)
    world = dist.get_world_size() if dist.is_initialized() else 1
    rank = dist.get_rank() if dist.is_initialized() else 0
    main_proc = rank == 0
    with run_lock(run_dir) if main_proc else _nullcontext():
        return _train(cfg, td, run_dir, objective, progress and main_proc, rank, world)


class _nullcontext:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def _train(cfg: Config, td: TrainingData, run_dir: Path, objective: str, progress: bool, rank: int,
           world: int) -> dict:
    tc = cfg.train
    device = pick_device(tc.device)
    if tc.threads:
        torch.set_num_threads(tc.threads)
    torch.manual_seed(tc.seed)
    g, d_A, d_C = build_models(cfg)
    g, d_A, d_C = g.to(device), d_A.to(device), d_C.to(device)
    stft = STFT(cfg.spectral).to(device)
    opt_g = torch.optim.Adam(g.parameters(), lr=tc.lr_g, betas=tuple(tc.betas), weight_decay=tc.weight_decay)
    d_params = list(d_A.parameters()) + list(d_C.parameters())
    opt_d = torch.optim.Adam(d_params, lr=tc.lr_d, betas=tuple(tc.betas), weight_decay=tc.weight_decay)
    main_proc = rank == 0

    ckpt_path, best_path = run_dir / "checkpoint.pt", run_dir / "best.pt"
    log_path, val_path = run_dir / "log.jsonl", run_dir / "valid.jsonl"
    start, best, elapsed0, last_ckpt = 0, {"val_sdr": -math.inf, "step": None}, 0.0, None
    if ckpt_path.exists():
        state = load_checkpoint(ckpt_path)
        missing = [k for k in RESUME_KEYS if k not in state]
        if missing:
            raise CheckpointError(f"{ckpt_path} cannot be resumed: it holds no {missing[0]} (a model file such as "
                                  "best.pt, not a training checkpoint); move it away or use a new --out.")
        if Config.from_dict(state["config"]).architecture() != cfg.architecture():
            raise CheckpointError(f"{ckpt_path} was trained with another architecture; use a new --out.")
        for module, key in ((g, "g"), (d_A, "d_A"), (d_C, "d_C")):
            load_weights(module, state[key], key, str(ckpt_path))
        opt_g.load_state_dict(state["opt_g"]), opt_d.load_state_dict(state["opt_d"])
        torch.set_rng_state(state["rng"])
        start, best, elapsed0, last_ckpt = state["step"], state["best"], state["elapsed"], state["step"]
        if main_proc:
            _truncate_jsonl(log_path, start - 1)
            _truncate_jsonl(val_path, start)
    if main_proc:
        cfg.save(run_dir / "config.yaml")

    batches = Batches(td, cfg, rank, world)
    chunks = validation_chunks(td, cfg) if main_proc else []
    use_bf16 = tc.bf16 and device.type == "cuda"
    autocast = lambda: torch.autocast("cuda", dtype=torch.bfloat16, enabled=use_bf16)  # noqa: E731
    to_spec = lambda w: crop(stft(w.to(device)))  # noqa: E731 - (B, samples) → complex (B, F, T)
    weights = cfg.loss.weights()
    train_d = objective == "semi" and (weights["GAN_A"] > 0 or weights["GAN_C"] > 0)

    def state_dict(step: int, elapsed: float) -> dict:
        return {"program": PROGRAM, "version": CHECKPOINT_VERSION, "config": cfg.to_dict(), "step": step,
                "objective": objective, "g": g.state_dict(), "d_A": d_A.state_dict(), "d_C": d_C.state_dict(),
                "opt_g": opt_g.state_dict(), "opt_d": opt_d.state_dict(), "rng": torch.get_rng_state(), "best": best, "elapsed": elapsed}

    t0 = time.perf_counter() - elapsed0
    bar = tqdm(range(start, tc.steps), initial=start, total=tc.steps, disable=not progress,
               desc=f"train {run_dir.name}", dynamic_ncols=True)
    log_f = open(log_path, "a") if main_proc else None
    try:
        for step in bar:
            log: dict[str, float] = {"step": step}
            decay = tc.lr_decay_gamma ** (step // tc.lr_decay_every)  # step decay, a function of the step
            for opt, lr in ((opt_g, tc.lr_g), (opt_d, tc.lr_d)):
                for group in opt.param_groups:
                    group["lr"] = lr * decay
            # -- discriminators ---------------------------------------------------------------------------------
            if train_d:
                for k in range(tc.d_steps):
                    A = to_spec(batches.get(batches.mix, step, k))
                    C = to_spec(batches.get(batches.inst, step, k))
                    A_real = to_spec(batches.get(batches.real, step, k))
                    with autocast():
                        d_loss, d_log = discriminator_losses(g, d_A, d_C, A, C, A_real, cfg.loss)
                    opt_d.zero_grad(set_to_none=True)
                    d_loss.backward()
                    _average_gradients((d_A, d_C), world)
                    opt_d.step()
                log.update(d_log)
            # -- generator ------------------------------------------------------------------------------------
            if step >= tc.d_warmup or not train_d:
                k = tc.d_steps
                with autocast():
                    if objective == "semi":
                        A = to_spec(batches.get(batches.mix, step, k))
                        C = to_spec(batches.get(batches.inst, step, k))
                        g_loss, g_log = generator_losses(g, d_A, d_C, A, C, cfg.loss, cfg.spectral.compress)
                    else:
                        pair = batches.get_pairs(step, k)  # (B, 2, samples)
                        A, C = to_spec(pair[:, 0]), to_spec(pair[:, 1])
                        g_loss, g_log = supervised_loss(g, A, C, cfg.spectral.compress)
                log.update(g_log)
                _check_finite(log, step, run_dir, last_ckpt)
                opt_g.zero_grad(set_to_none=True)
                g_loss.backward()
                _average_gradients((g,), world)
                opt_g.step()
            _check_finite(log, step, run_dir, last_ckpt)
            log["lr_g"] = opt_g.param_groups[0]["lr"]
            log["time"] = round(time.perf_counter() - t0, 3)
            done = step + 1
            if main_proc:
                log_f.write(json.dumps(log) + "\n")
                if "G_total" in log:
                    bar.set_postfix(G=f"{log['G_total']:.3f}", mask_a=f"{log['mask_a']:.2f}", refresh=False)
                # -- validation and checkpoints ---------------------------------------------------------------
                if chunks and (done % tc.val_every == 0 or done == tc.steps):
                    v = validate(g, stft, chunks, cfg, device)
                    v.update(step=done, time=log["time"])
                    with open(val_path, "a") as vf:
                        vf.write(json.dumps(v) + "\n")
                    if v["val_sdr"] > best["val_sdr"] or best["step"] is None:
                        best = {"val_sdr": v["val_sdr"], "step": done}
                        save_checkpoint(best_path, {"program": PROGRAM, "version": CHECKPOINT_VERSION,
                                                    "config": cfg.to_dict(), "step": done, "objective": objective,
                                                    "g": g.state_dict(), "valid": v})
                if done % tc.ckpt_every == 0 or done == tc.steps:
                    log_f.flush()
                    save_checkpoint(ckpt_path, state_dict(done, time.perf_counter() - t0))
                    last_ckpt = done
    finally:
        if log_f:
            log_f.close()
        bar.close()
    if main_proc and not best_path.exists():  # no validation songs: the last weights are the best we know
        save_checkpoint(best_path, {"program": PROGRAM, "version": CHECKPOINT_VERSION, "config": cfg.to_dict(),
                                    "step": tc.steps, "objective": objective, "g": g.state_dict()})
    return {"steps": tc.steps, "seconds": round(time.perf_counter() - t0, 2), "best": best,
            "run_dir": str(run_dir)}


# ------------------------------------------------------------------------------------------------------------
# command line
# ------------------------------------------------------------------------------------------------------------
def config_from_args(args) -> Config:
    """Preset, then ``--config`` file values, then ``--steps``, ``--seed`` and ``--without`` on top."""
    cfg = Config.from_preset(args.preset)
    if getattr(args, "config", None):
        cfg = cfg.updated(read_overrides(args.config))
    if getattr(args, "steps", None):
        cfg.train.steps = args.steps
    if getattr(args, "seed", None) is not None:
        cfg.train.seed = args.seed
    if getattr(args, "device", None):
        cfg.train.device = args.device
    if getattr(args, "without", None):
        cfg.loss = cfg.loss.without(args.without)
    return cfg


def _init_distributed() -> None:
    """Under ``torchrun`` (``WORLD_SIZE`` > 1), join the process group: NCCL on GPUs, gloo on CPUs."""
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend)
        if torch.cuda.is_available():
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))


def _cmd_train(args) -> None:
    cfg = config_from_args(args)
    root = resolve_data_root(args.data, args.root)
    td = load_training_data(cfg, root, split_mode=args.split, seed=cfg.train.seed, tracks=args.tracks)
    _init_distributed()
    summary = train(cfg, td, args.out, objective=args.objective)
    if not dist.is_initialized() or dist.get_rank() == 0:
        best = summary["best"]
        print(f"trained {summary['steps']} steps in {summary['seconds']:.1f} s → {args.out} "
              f"(best validation SDR {best['val_sdr']:.2f} dB at step {best['step']})")
    if dist.is_initialized():
        dist.barrier()  # rank 0 may still be writing its last checkpoint: leave together
        dist.destroy_process_group()


def add_training_args(p) -> None:
    """Arguments shared by ``train`` and ``reproduce``: data, preset, config file."""
    p.add_argument("--data", choices=["toy", "musdb"], default="toy", help="built-in toy songs or MUSDB18")
    p.add_argument("--root", help="dataset root (musdb: else $MUSDB_PATH; toy: else the built-in cache)")
    p.add_argument("--preset", choices=["cpu", "paper", "smoke"], default="cpu")
    p.add_argument("--config", help="YAML file whose values override the preset")
    p.add_argument("--device", help="cpu, cuda, cuda:1 ... (default: CUDA when present)")


def add_commands(sub) -> None:
    p = sub.add_parser("train", help="train g (and d_A, d_C) on unmatched mixtures and instrumentals")
    add_training_args(p)
    p.add_argument("--steps", type=int, help="training iterations (default: the preset's)")
    p.add_argument("--without", nargs="+", metavar="TERM", choices=TERMS, help="switch loss terms off (ablation)")
    p.add_argument("--seed", type=int)
    p.add_argument("--split", choices=["disjoint", "authors"], default="disjoint",
                   help="disjoint: mixtures and instrumentals from different songs; authors: both from all songs")
    p.add_argument("--objective", choices=["semi", "supervised"], default="semi")
    p.add_argument("--tracks", type=int, help="use only the first N training songs")
    p.add_argument("--out", required=True, help="run directory (resumed if it holds a checkpoint)")
    p.set_defaults(func=_cmd_train)
