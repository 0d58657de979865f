#!/usr/bin/env python
"""Training throughput on the CPU: iterations/s and examples/s of the real training step, both presets,
torch threads 1 and 2.

One *iteration* is what ``train.train`` does per step after the discriminator warm-up: ``d_steps``
discriminator updates (``losses.discriminator_losses`` → backward → Adam) and one generator update
(``losses.generator_losses`` with all six terms → backward → Adam), on batches of ``train.batch_size``
waveform segments turned into cropped complex spectrograms by ``spectral.STFT``. *Examples/s* counts the
generator's batch (``batch_size × iterations/s``); *audio s/s* multiplies that by the segment length.
Batches are random segments of a generated signal at the model rate (the values do not change the cost).
A few warm-up iterations run first; each case is a fresh subprocess (its own peak RSS).

An end-to-end case times ``train.train`` itself (data batching, logging, the loop) on a tiny toy set made
with ``toy.make_toy_dataset``, from the per-step times in its ``log.jsonl`` (validation and checkpoints at the
end excluded).

Usage::

    python benchmarks/bench_training.py [--quick] [--json benchmarks/results/training.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import _common as C  # noqa: E402

SECTIONS = ("steps", "ab", "e2e")
SIZES = {
    "full": {"cpu": {"warmup": 3, "steps": 20}, "paper": {"warmup": 1, "steps": 3}, "e2e_steps": 40,
             "ab": {"rounds": 6, "per_round": 3}},
    "quick": {"cpu": {"warmup": 1, "steps": 2}, "paper": None, "e2e_steps": 4, "ab": {"rounds": 1, "per_round": 1}},
}


def run_step_case(preset: str, threads: int, warmup: int, steps: int, variant: dict) -> dict:
    import numpy as np
    import torch

    from semisep_lib.method.config import Config
    from semisep_lib.method.losses import discriminator_losses, generator_losses
    from semisep_lib.method.models import build_models
    from semisep_lib.method.spectral import STFT, crop

    C.set_threads(threads)
    cfg = Config.from_preset(preset)
    tc = cfg.train
    torch.manual_seed(0)
    g, d_A, d_C = build_models(cfg)
    if variant.get("channels_last"):
        g, d_A, d_C = (m.to(memory_format=torch.channels_last) for m in (g, d_A, d_C))
    if variant.get("compile"):  # the networks' layers, not the losses (compiled during the warm-up iterations)
        g.net = torch.compile(g.net, dynamic=False)
        for d in (d_A, d_C):
            for i, scale in enumerate(d.scales):
                d.scales[i] = torch.compile(scale, dynamic=False)
    stft = STFT(cfg.spectral)
    opt_g = torch.optim.Adam(g.parameters(), lr=tc.lr_g, betas=tuple(tc.betas), weight_decay=tc.weight_decay)
    opt_d = torch.optim.Adam(list(d_A.parameters()) + list(d_C.parameters()), lr=tc.lr_d, betas=tuple(tc.betas),
                             weight_decay=tc.weight_decay)
    rate, n, bs = cfg.spectral.sample_rate, cfg.spectral.segment_samples, tc.batch_size
    pool = torch.from_numpy(C.test_signal(20.0, rate, 2, seed=1).reshape(-1))  # 40 s of mono material
    rng = np.random.default_rng(0)

    def batch() -> torch.Tensor:
        starts = rng.integers(0, pool.numel() - n, size=bs)
        return crop(stft(torch.stack([pool[s:s + n] for s in starts])))

    def autocast():
        return torch.autocast("cpu", dtype=torch.bfloat16, enabled=bool(variant.get("bf16")))

    t_d = t_g = 0.0

    def iteration() -> None:
        nonlocal t_d, t_g
        t0 = time.perf_counter()
        for _ in range(tc.d_steps):
            A, Cc, A_real = batch(), batch(), batch()
            with autocast():
                d_loss, _ = discriminator_losses(g, d_A, d_C, A, Cc, A_real, cfg.loss)
            opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            opt_d.step()
        t1 = time.perf_counter()
        A, Cc = batch(), batch()
        with autocast():
            g_loss, log = generator_losses(g, d_A, d_C, A, Cc, cfg.loss, cfg.spectral.compress)
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()
        t2 = time.perf_counter()
        t_d += t1 - t0
        t_g += t2 - t1
        if not np.isfinite(log["G_total"]):
            raise RuntimeError("non-finite generator loss")

    t_warm = time.perf_counter()
    for _ in range(warmup):
        iteration()
    warmup_seconds = time.perf_counter() - t_warm
    t_d = t_g = 0.0
    t0 = time.perf_counter()
    for _ in range(steps):
        iteration()
    dt = time.perf_counter() - t0
    its = steps / dt
    seg_s = n / rate
    return {"preset": preset, "threads": torch.get_num_threads(), "variant": variant, "batch_size": bs,
            "d_steps": tc.d_steps, "segment_frames": cfg.spectral.segment_frames, "segment_seconds": round(seg_s, 4),
            "warmup": warmup, "warmup_seconds": round(warmup_seconds, 2), "steps": steps, "seconds": round(dt, 3),
            "it_per_s": round(its, 3),
            "examples_per_s": round(its * bs, 2), "audio_s_per_s": round(its * bs * seg_s, 2),
            "share_discriminator": round(t_d / dt, 3), "share_generator": round(t_g / dt, 3),
            "g_parameters": sum(p.numel() for p in g.parameters()),
            "d_parameters": sum(p.numel() for p in d_A.parameters()) * 2}


def plain_norms(g) -> None:
    """Swap ``g``'s ``models.InstanceNorm2d`` / ``models.LayerNorm2d`` for PyTorch's own classes (same weights)."""
    from torch import nn

    from semisep_lib.method.models import InstanceNorm2d, LayerNorm2d

    for module in list(g.modules()):
        for name, m in list(module.named_children()):
            if isinstance(m, LayerNorm2d):
                plain = nn.GroupNorm(1, m.num_channels, m.eps)
            elif isinstance(m, InstanceNorm2d):
                plain = nn.InstanceNorm2d(m.num_features, m.eps, m.momentum, affine=m.affine,
                                          track_running_stats=m.track_running_stats)
            else:
                continue
            plain.load_state_dict(m.state_dict())
            setattr(module, name, plain)


def run_ab_case(preset: str, rounds: int, per_round: int) -> dict:
    """Interleaved timings in one process, old training step against new: each setting trains its own models
    (same seed) ``per_round`` iterations in turn, ``rounds`` times, so that load changes hit all alike.

    *before* is the step as it was until December 2026: ``g`` called four times (R1, phase I, R2, R3/R4 —
    ``losses.batched`` replaced by a loop), the discriminators' weight gradients computed in ``g``'s step too
    (``losses.frozen`` replaced by a no-op), contiguous weights, and — for the cpu preset — two discriminator
    updates per step (``d_steps`` 2, the preset's until the recipe study chose one slower discriminator step).
    *now* is what ``train.train`` runs on a CPU: the library's functions, channels-last weights and the preset's
    ``d_steps``; the row with *PyTorch's norms* puts ``nn.InstanceNorm2d`` and ``nn.GroupNorm`` back in place of
    ``models.InstanceNorm2d`` and ``models.LayerNorm2d`` (the same values; the library's until December 5, 2026).
    Reports iterations/s per setting (median over rounds) and the median per-round ratio to *before, 2 threads*; every iteration trains ``g`` once on one batch, so the ratio is one of examples/s too."""
    import contextlib
    import statistics

    import numpy as np
    import torch

    from semisep_lib.method import losses
    from semisep_lib.method.config import Config
    from semisep_lib.method.models import build_models
    from semisep_lib.method.spectral import STFT, crop

    cfg = Config.from_preset(preset)
    tc = cfg.train
    stft = STFT(cfg.spectral)
    rate, n, bs = cfg.spectral.sample_rate, cfg.spectral.segment_samples, tc.batch_size
    pool = torch.from_numpy(C.test_signal(20.0, rate, 2, seed=1).reshape(-1))
    rng = np.random.default_rng(0)
    library = {"batched": losses.batched, "frozen": losses.frozen}
    before = {"batched": lambda net, *xs: [net(x) for x in xs], "frozen": lambda *m: contextlib.nullcontext()}

    def batch():
        starts = rng.integers(0, pool.numel() - n, size=bs)
        return crop(stft(torch.stack([pool[s:s + n] for s in starts])))

    def models(layout, torch_norms=False):
        torch.manual_seed(0)
        g, d_A, d_C = build_models(cfg)
        if torch_norms:
            plain_norms(g)
        g, d_A, d_C = (m.to(memory_format=layout) for m in (g, d_A, d_C))
        adam = lambda ps, lr: torch.optim.Adam(ps, lr=lr, betas=tuple(tc.betas), weight_decay=tc.weight_decay)  # noqa: E731
        return g, d_A, d_C, adam(g.parameters(), tc.lr_g), adam(list(d_A.parameters()) + list(d_C.parameters()), tc.lr_d)

    old_d_steps = 2 if preset == "cpu" else tc.d_steps
    settings = {"before, 2 threads": (2, before, torch.contiguous_format, False, old_d_steps),
                "now, 1 thread": (1, library, torch.channels_last, False, tc.d_steps),
                "now, 2 threads": (2, library, torch.channels_last, False, tc.d_steps),
                "now, 2 threads, bf16 autocast, PyTorch's norms": (2, library, torch.channels_last, True,
                                                                   tc.d_steps),
                "now, 2 threads, bf16 autocast": (2, library, torch.channels_last, True, tc.d_steps)}
    state = {k: models(v[2], torch_norms="PyTorch's norms" in k) for k, v in settings.items()}

    def iteration(label: str) -> None:
        threads, functions, _, bf16, d_steps = settings[label]
        torch.set_num_threads(threads)
        for name, fn in functions.items():
            setattr(losses, name, fn)
        g, d_A, d_C, opt_g, opt_d = state[label]
        for _ in range(d_steps):
            A, Cc, A_real = batch(), batch(), batch()
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                d_loss, _ = losses.discriminator_losses(g, d_A, d_C, A, Cc, A_real, cfg.loss)
            opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            opt_d.step()
        A, Cc = batch(), batch()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            g_loss, _ = losses.generator_losses(g, d_A, d_C, A, Cc, cfg.loss, cfg.spectral.compress)
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()

    def norms_difference() -> float:
        """max |Δ| of g's output and weight gradients, ours against PyTorch's norms (bf16, same weights, one
        batch)."""
        a = batch().abs()
        results = []
        for label in ("now, 2 threads, bf16 autocast, PyTorch's norms", "now, 2 threads, bf16 autocast"):
            g = state[label][0]
            g.zero_grad(set_to_none=True)
            with torch.autocast("cpu", dtype=torch.bfloat16):
                y = g(a)
            y.float().square().mean().backward()
            results.append([y.detach().float()] + [p.grad.clone() for p in g.parameters()])
            g.zero_grad(set_to_none=True)
        return max(float((u - v).abs().max()) for u, v in zip(*results))

    torch.set_num_threads(2)
    difference = norms_difference()
    try:
        for label in settings:  # warm-up
            iteration(label)
        rates: dict[str, list[float]] = {k: [] for k in settings}
        for _ in range(rounds):
            for label in settings:
                t0 = time.perf_counter()
                for _ in range(per_round):
                    iteration(label)
                rates[label].append(per_round / (time.perf_counter() - t0))
    finally:
        for name, fn in library.items():
            setattr(losses, name, fn)
    base = rates["before, 2 threads"]
    rows = [{"label": k, "threads": settings[k][0], "d_steps": settings[k][4], "it_per_s": round(statistics.median(v), 3),
             "examples_per_s": round(statistics.median(v) * bs, 2),
             "vs_before": round(statistics.median([x / b for x, b in zip(v, base)]), 3),
             "rates": [round(x, 3) for x in v]} for k, v in rates.items()]
    return {"preset": preset, "rounds": rounds, "per_round": per_round, "batch_size": bs,
            "load_average": C.load_average(), "rows": rows, "norms_max_abs_difference": difference}


def run_e2e_case(threads: int, steps: int) -> dict:
    """``train.train`` for ``steps`` steps on a tiny toy set (cpu preset, discriminator warm-up off)."""
    import torch

    from semisep_lib.method.config import Config
    from semisep_lib.method.train import train
    from semisep_lib.runs import Run
    from semisep_lib.study.data import load_training_data
    from semisep_lib.study.toy import make_toy_dataset

    C.set_threads(threads)
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["SEMISEP_CACHE"] = str(Path(tmp) / "cache")  # decoded-song cache: not the user's
        root = make_toy_dataset(Path(tmp) / "toy", tracks=4, test_tracks=1, seconds=4.0, seed=0)
        cfg = Config.from_preset("cpu").updated({"train": {"steps": steps, "d_warmup": 0, "val_every": 10 ** 9,
                                                            "ckpt_every": 10 ** 9, "val_segments": 2,
                                                            "threads": threads}})
        td = load_training_data(cfg, root)
        summary = train(cfg, td, Path(tmp) / "run", progress=False)
        its, timed = C.log_steps_per_second(Run(Path(tmp) / "run").log, skip=min(3, steps - 2))  # warm-up steps
    bs = cfg.train.batch_size
    return {"preset": "cpu", "threads": torch.get_num_threads(), "steps": steps, "timed_steps": timed,
            "it_per_s": round(its, 3), "examples_per_s": round(its * bs, 2), "batch_size": bs,
            "d_steps": cfg.train.d_steps, "train_seconds_total": summary["seconds"]}


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="a couple of steps, cpu preset only (< 60 s)")
    p.add_argument("--json", type=Path, help="write the results here")
    p.add_argument("--case", choices=["step", "e2e", "ab"], help=argparse.SUPPRESS)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--sections", nargs="+", choices=SECTIONS, default=list(SECTIONS),
                   help="run only these sections (merged into an existing --json file)")
    p.add_argument("--preset")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--steps", type=int, default=2)
    p.add_argument("--variant", default="{}")
    args = p.parse_args(argv)
    if args.case == "step":
        C.emit_case(run_step_case(args.preset, args.threads, args.warmup, args.steps, json.loads(args.variant)))
        return {}
    if args.case == "ab":
        C.emit_case(run_ab_case(args.preset, args.rounds, args.steps))
        return {}
    if args.case == "e2e":
        C.emit_case(run_e2e_case(args.threads, args.steps))
        return {}

    mode = "quick" if args.quick else "full"
    S = SIZES[mode]
    out: dict = {"benchmark": "training", "mode": mode, "machine": C.machine_info(), "sizes": S, "cases": [],
                 "variants": [], "end_to_end": []}
    t_start = time.perf_counter()
    print(f"training ({mode}), load {C.load_average()}", flush=True)

    def step_case(preset, threads, size, variant=None, label=None):
        variant = variant or {}
        r = C.run_case(Path(__file__), ["--case", "step", "--preset", preset, "--threads", str(threads),
                                        "--warmup", str(size["warmup"]), "--steps", str(size["steps"]),
                                        "--variant", json.dumps(variant)])
        r["label"] = label or f"{preset}, {threads} thread(s)"
        print(f"  {r['label']:<36} {r['it_per_s']:>8.3f} it/s  {r['examples_per_s']:>8.2f} ex/s  "
              f"(D {100 * r['share_discriminator']:.0f}%, G {100 * r['share_generator']:.0f}%)  "
              f"peak {r['peak_rss_mb']:.0f} MB", flush=True)
        return r

    sections = set(args.sections)
    if sections != set(SECTIONS):  # a partial run: merge into the existing file
        if not args.json or not args.json.exists():
            raise SystemExit("--sections with a subset needs an existing --json file to merge into")
        old = json.loads(args.json.read_text())
        old.setdefault("partial_reruns", []).append({"sections": sorted(sections), "machine": out["machine"]})
        out = old
    if "steps" in sections:
        out["cases"], out["variants"] = [], []
        for preset in ("cpu", "paper"):
            if S[preset] is None:
                continue
            for threads in (1, 2):
                out["cases"].append(step_case(preset, threads, S[preset]))
        if mode == "full":
            cl_bf16 = {"channels_last": True, "bf16": True}
            for label, var in (("channels_last", {"channels_last": True}), ("bf16 autocast", {"bf16": True}),
                               ("channels_last + bf16 (as train.train)", cl_bf16),
                               ("channels_last + bf16 + torch.compile", {**cl_bf16, "compile": True})):
                out["variants"].append(step_case("cpu", 2, S["cpu"], var, f"cpu, 2 threads, {label}"))
    if "ab" in sections:
        ab = S["ab"]
        r = C.run_case(Path(__file__), ["--case", "ab", "--preset", "cpu", "--rounds", str(ab["rounds"]), "--steps",
                                        str(ab["per_round"])])
        for row in r["rows"]:
            print(f"  A/B cpu: {row['label']:<28} {row['it_per_s']:>8.3f} it/s  {row['vs_before']:.2f}× vs before, "
                  f"2 threads", flush=True)
        out["ab"] = r
    if "e2e" in sections:
        out["end_to_end"] = []
        for threads in ((1, 2) if mode == "full" else (2,)):
            r = C.run_case(Path(__file__), ["--case", "e2e", "--threads", str(threads), "--steps",
                                            str(S["e2e_steps"])])
            r["label"] = f"train.train end-to-end, cpu, {threads} thread(s)"
            print(f"  {r['label']:<36} {r['it_per_s']:>8.3f} it/s  {r['examples_per_s']:>8.2f} ex/s  "
                  f"peak {r['peak_rss_mb']:.0f} MB", flush=True)
            out["end_to_end"].append(r)
    return C.finish(out, t_start, args.json)


if __name__ == "__main__":
    main()
