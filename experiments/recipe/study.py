"""Recipe study: which CPU training recipe makes ``g`` keep improving on real songs?

Each recipe (a set of config overrides on the ``cpu`` preset) is trained on MUSDB18-7's train split for
``--g-steps`` generator steps (after its own discriminator warm-up), for each seed. Every ``--every`` ``g`` steps
the current weights (``checkpoint.pt``, not the best ones) separate the **report** songs (the odd-numbered half of
the validation songs; the even half, the selection songs, is what training's own validation sees) and museval
scores them. No recipe is tuned on the report songs: the curves are read, and the recipe is chosen by its score
at the end of training and by its stability, on the selection songs' curves as well.

Resumable: training resumes exactly from its checkpoint, and a point already in ``results/<run>.jsonl`` is not
scored again. Stop it at any time (``--minutes`` stops cleanly after the point that crosses the budget).

    python experiments/recipe/study.py                 # run (or continue) every recipe, seeds 0 and 1
    python experiments/recipe/study.py --only cpu --seeds 0
    python experiments/recipe/study.py --report        # write results/summary.json, curves.png, README tables

Scores are museval v4 (1 s windows, median over windows then songs) at the model's rate, mono (16 kHz): the
same metric as the tables, on the signal ``g`` actually sees; the mask is used raw (``(1 − m)``, no exponent,
no smoothing), so recipes are compared on what training produced, not on post-processing.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from semisep_lib.fileio import write_between_markers
from semisep_lib.method.checkpoint import load_g
from semisep_lib.method.config import Config
from semisep_lib.method.separate import MaskSeparator
from semisep_lib.method.train import train
from semisep_lib.runs import Run
from semisep_lib.study.data import list_tracks, load_songs, load_training_data
from semisep_lib.study.evaluate import evaluate_separator

HERE = Path(__file__).resolve().parent
G_STEPS = 3000  #: g steps per run (the issue's minimum)
DEFAULT_ROOT = HERE.parents[1].parent / "shared" / "data" / "musdb18-7"

#: The cpu preset as it was before this study chose its recipe (renormalising discriminators, no EMA): every
#: recipe's overrides apply on top of it, so the curves stay what they were when they were made.
BASE = {"model": {"d_sees_level": False}, "train": {"ema_decay": 0.0, "lr_d": 1e-3, "d_steps": 2}}

#: name → (why it is tried, overrides on the cpu preset before the study (BASE), data split).
RECIPES: dict[str, tuple[str, dict, str]] = {
    "cpu": ("the cpu preset as shipped before this study: GAN 3 : reconstruction 1, lr_d 1e-3, 2 D steps, "
            "800-step D warm-up",
            {}, "disjoint"),
    "slow-d": ("the cpu preset with a slower discriminator (lr_d 2e-4, 1 D step): D should win less easily",
               {"train": {"lr_d": 2e-4, "d_steps": 1}}, "disjoint"),
    "gan1": ("the cpu preset with GAN weight 1 (reconstruction : GAN = 1 : 1): less push to remove more",
             {"loss": {"GAN_A": 1.0, "GAN_C": 1.0}}, "disjoint"),
    "authors": ("the authors' balance: reconstruction 2 : GAN 1, equal learning rates 1e-4, 1 D step, "
                "200-step warm-up (cpu-sized networks)",
                {"loss": {"R1": 2.0, "R2": 2.0, "R3": 2.0, "R4": 2.0, "GAN_A": 1.0, "GAN_C": 1.0},
                 "train": {"lr_g": 1e-4, "lr_d": 1e-4, "d_steps": 1, "d_warmup": 200}}, "disjoint"),
    "level": ("the cpu preset with discriminators that see levels as the authors' do (inputs scaled to unit "
              "peak once, no renormalisation inside d_A/d_C): a uniformly attenuated g(a) no longer looks like c",
              {"model": {"d_sees_level": True}}, "disjoint"),
    "level-ema": ("level, evaluated on an exponential moving average of g's weights (decay 0.999): the "
                  "level curve oscillates by ±1 dB from one point to the next, which an average should smooth",
                  {"model": {"d_sees_level": True}, "train": {"ema_decay": 0.999}}, "disjoint"),
    "level-ema-decay": ("level-ema with both learning rates halved every 1000 steps: the level and level-ema "
                        "curves reach 3.5 dB and then wander, so the game is slowed as it goes",
                        {"model": {"d_sees_level": True}, "train": {"ema_decay": 0.999, "lr_decay_every": 1000}},
                        "disjoint"),
    "level-ema-gan1": ("level-ema with GAN weight 1 (reconstruction : GAN = 1 : 1): every level run removes more "
                       "and more (vocal fraction 0.25 → 0.36) after its early peak, so the push to remove is weakened",
                       {"model": {"d_sees_level": True}, "train": {"ema_decay": 0.999},
                        "loss": {"GAN_A": 1.0, "GAN_C": 1.0}}, "disjoint"),
    "level-ema-slow-d": ("level-ema with a slower discriminator (lr_d 2e-4, one D step per g step): after the "
                         "early peak g keeps removing more, as if chasing a discriminator that learns five times "
                         "faster than it does", {"model": {"d_sees_level": True}, "train": {"ema_decay": 0.999,
                                                                                           "lr_d": 2e-4, "d_steps": 1}},
                         "disjoint"),
    "wide-level-ema": ("level-ema with a wider g (16 channels, 4 residual blocks, about 4x the parameters): does "
                       "capacity, not the game, limit what g keeps?",
                       {"model": {"d_sees_level": True, "g_channels": 16, "g_res_blocks": 4},
                        "train": {"ema_decay": 0.999}}, "disjoint"),
    "level-compressed": ("level, with the mask in the authors' compressed domain too",
                         {"model": {"d_sees_level": True, "mask_domain": "compressed"}}, "disjoint"),
    "compressed": ("the cpu preset with the mask in the authors' compressed domain (it multiplies |X|^0.3, so "
                   "the linear mask is σ^(1/0.3))", {"model": {"mask_domain": "compressed"}}, "disjoint"),
    "cpu-decay": ("the cpu preset with both learning rates halved every 1000 steps (a schedule that freezes the "
                  "game as it goes)", {"train": {"lr_decay_every": 1000}}, "disjoint"),
    "level-ema-slow-d-decay": ("level-ema-slow-d with both learning rates halved every 1000 steps: on the CPU the "
                               "chosen recipe peaks 200-400 g steps after the warm-up and then sinks 0.3-0.6 dB on "
                               "the selection songs (the shipped model's run, the long ablation's first row)",
                               {"model": {"d_sees_level": True},
                                "train": {"ema_decay": 0.999, "lr_d": 2e-4, "d_steps": 1, "lr_decay_every": 1000}},
                               "disjoint"),
    "level-ema-slow-d-bf16": ("level-ema-slow-d in bf16 autocast (train.bf16), on a CPU with bf16 kernels: a step "
                              "is about 1.4x the fp32 one there (benchmarks/README.md); does g learn the same? (on a "
                              "CPU without them it is level-ema-slow-d itself)",
                              {"model": {"d_sees_level": True},
                               "train": {"ema_decay": 0.999, "lr_d": 2e-4, "d_steps": 1, "bf16": True}}, "disjoint"),
    "level-ema-slow-d-anchor": ("level-ema-slow-d with anchored discriminators (loss.d_anchor 1): d_C also learns "
                                "that a real mixture is not an instrumental, d_A that an instrumental is not a "
                                "mixture. On held-out songs d_C tells mixtures from instrumentals with AUC 0.78 "
                                "after the warm-up but near or below 0.5 a few hundred g steps later "
                                "(experiments/discriminators): it forgets the voice while chasing g",
                                {"model": {"d_sees_level": True},
                                 "train": {"ema_decay": 0.999, "lr_d": 2e-4, "d_steps": 1},
                                 "loss": {"d_anchor": 1.0}}, "disjoint"),
    "wide-slow-d": ("slow-d with a wider g (16 channels, 4 residual blocks)",
                    {"train": {"lr_d": 2e-4, "d_steps": 1}, "model": {"g_channels": 16, "g_res_blocks": 4}},
                    "disjoint"),
}

#: The order runs are made in (every recipe's first seed before any second seed).
ORDER = ["level", "cpu", "level-ema", "authors", "level-ema-decay", "level-ema-gan1", "level-ema-slow-d", "wide-level-ema", "gan1", "level-compressed", "slow-d", "compressed", "cpu-decay", "wide-slow-d",
         "level-ema-slow-d-decay", "level-ema-slow-d-bf16", "level-ema-slow-d-anchor"]
assert sorted(ORDER) == sorted(RECIPES)


def run_name(recipe: str, seed: int, device: str = "cpu") -> str:
    """``<recipe>-seed<k>``, with ``-cuda`` for a run trained on a GPU (its own curve beside the CPU one)."""
    return f"{recipe}-seed{seed}" + ("" if device == "cpu" else f"-{device.split(':')[0]}")


def read_curve(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    return [json.loads(ln) for ln in path.read_text().splitlines() if ln.strip()]


def score_point(run_dir: Path, songs, workers: int, device: str = "cpu") -> dict:
    """museval of the run's current ``g`` on ``songs`` (raw mask)."""
    g, cfg = load_g(Run(run_dir).checkpoint, device)
    bare = cfg.updated({"separate": {"mask_family": "ours", "mask_power": 1.0, "smooth_frames": 1}})  # g's raw mask
    sep = MaskSeparator(g, bare, device)
    with tempfile.TemporaryDirectory(prefix="recipe-museval-") as tmp:
        r = evaluate_separator(sep, songs, tmp, "ours", workers=workers, progress=False)
    return {"SDR": r["vocals"]["SDR"], "SIR": r["vocals"]["SIR"], "SAR": r["vocals"]["SAR"],
            "vocal_energy_fraction": r["vocal_energy_fraction"]}


def run_recipe(name: str, seed: int, args, songs, deadline: float) -> bool:
    """Train and score one (recipe, seed) up to ``args.g_steps``; False when the time budget ran out."""
    why, overrides, split = RECIPES[name]
    cfg = Config.from_preset("cpu").updated(BASE).updated(overrides)
    cfg.train.seed, cfg.train.device, cfg.train.val_every = seed, args.device, args.every
    cfg.train.threads = args.threads
    td = load_training_data(cfg, args.root, split_mode=split, seed=seed)
    run_dir = args.runs / run_name(name, seed, args.device)
    curve_path = args.results / f"{run_name(name, seed, args.device)}.jsonl"
    done = {row["g_step"] for row in read_curve(curve_path)}
    warm = cfg.train.d_warmup
    for g_step in range(0, args.g_steps + 1, args.every):
        if g_step in done:
            continue
        if time.time() > deadline:
            return False
        cfg.train.steps = warm + g_step
        summary = train(cfg, td, run_dir, progress=False)
        t = time.perf_counter()
        point = score_point(run_dir, songs, args.workers, args.device)
        val = read_curve(Run(run_dir).valid)
        sel = next((v for v in reversed(val) if v["step"] == cfg.train.steps), {})
        row = {"recipe": name, "seed": seed, "g_step": g_step, "step": cfg.train.steps,
               "train_seconds": summary["seconds"], "score_seconds": round(time.perf_counter() - t, 1),
               "load_avg": round(os.getloadavg()[0], 2), "device": args.device, "data": args.root.name, **point,
               "selection_sdr_fast": sel.get("val_sdr"), "selection_vocal_fraction": sel.get("val_vocal_fraction")}
        args.results.mkdir(parents=True, exist_ok=True)
        with open(curve_path, "a") as f:
            f.write(json.dumps(row) + "\n")
        print(f"{name} seed {seed} g_step {g_step}: SDR {point['SDR']:.2f} SIR {point['SIR']:.2f} "
              f"frac {point['vocal_energy_fraction']:.3f} (train {summary['seconds']:.0f} s)", flush=True)
    return True


# -- report ----------------------------------------------------------------------------------------------------
def _last_mean(curve: list[dict], key: str, last: int = 1000) -> float | None:
    """Mean of ``key`` over the points from g step ``G_STEPS - last`` on, of a finished run (None if unfinished)."""
    if curve[-1]["g_step"] < G_STEPS:
        return None
    vals = [p[key] for p in curve if p["g_step"] >= G_STEPS - last and p.get(key) is not None]
    return round(sum(vals) / len(vals), 3) if vals else None


def summarise(results: Path) -> dict:
    """Per run: final and best SDR/SIR, steps, training minutes and device, stability (final within 0.5 dB of
    best), and the selection songs' mean over the last 1,000 steps (what the choice is made by)."""
    out = {}
    for path in sorted(results.glob("*.jsonl")):
        curve = read_curve(path)
        if not curve:
            continue
        final = curve[-1]
        best = max(curve, key=lambda r: r["SDR"])
        out[path.stem] = {
            "recipe": final["recipe"], "seed": final["seed"], "g_steps": final["g_step"],
            "final_SDR": final["SDR"], "final_SIR": final["SIR"],
            "final_vocal_energy_fraction": final["vocal_energy_fraction"],
            "best_SDR": best["SDR"], "best_SIR": best["SIR"], "best_at_g_step": best["g_step"],
            "stable": bool(final["SDR"] >= best["SDR"] - 0.5),
            "device": final.get("device", "cpu"),
            "train_minutes": round(final["train_seconds"] / 60, 1),
            "selection_sdr_fast_last_1000": _last_mean(curve, "selection_sdr_fast"),
        }
    return out


def write_report(results: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    summary = summarise(results)
    (results / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    fig, axes = plt.subplots(1, 3, figsize=(15, 5.5))
    colours = {r: f"C{i}" for i, r in enumerate(ORDER)}
    for path in sorted(results.glob("*.jsonl")):
        curve = read_curve(path)
        if not curve:
            continue
        r, seed = curve[0]["recipe"], curve[0]["seed"]
        x = [p["g_step"] for p in curve]
        on_gpu = curve[0].get("device", "cpu") != "cpu"
        style = ("-" if seed == 0 else "--") + ("." if on_gpu else "")
        for ax, key in zip(axes, ("SDR", "SIR", "vocal_energy_fraction")):
            ax.plot(x, [p[key] for p in curve], style, color=colours.get(r, "k"), markersize=3,
                    label=f"{r} s{seed}" + (" (GPU)" if on_gpu else ""))
    for ax, title in zip(axes, ("report songs: vocal SDR (dB)", "report songs: vocal SIR (dB)",
                                "vocal energy fraction")):
        ax.set_title(title)
        ax.set_xlabel("g steps")
        ax.grid(alpha=0.3)
    fig.tight_layout()
    handles, labels = axes[0].get_legend_handles_labels()
    fig.subplots_adjust(bottom=0.36)
    fig.legend(handles, labels, loc="lower center", ncol=5, fontsize=7)
    fig.savefig(results / "curves.png", dpi=110)
    lines = ["| run | g steps | final SDR | final SIR | final vocal fraction | best SDR (at g step) | stable | "
             "selection SDR, last 1000 steps | trained on | train min |", "|---|---|---|---|---|---|---|---|---|---|"]
    for name, s in summary.items():
        sel = s["selection_sdr_fast_last_1000"]
        lines.append(f"| {name} | {s['g_steps']}{'' if s['g_steps'] >= G_STEPS else ' (stopped)'} | {s['final_SDR']:.2f} | "
                     f"{s['final_SIR']:.2f} | {s['final_vocal_energy_fraction']:.3f} | {s['best_SDR']:.2f} "
                     f"({s['best_at_g_step']}) | {'yes' if s['stable'] else 'no'} | "
                     f"{'–' if sel is None else f'{sel:.2f}'} | {s['device']} | {s['train_minutes']} |")
    recipes = ["| recipe | what it changes, and why |", "|---|---|"]
    recipes += [f"| {name} | {RECIPES[name][0]} (data split: {RECIPES[name][2]}) |" for name in ORDER]
    text = "\n".join(lines) + "\n\n" + "\n".join(recipes) + "\n"
    (results / "table.md").write_text(text)
    readme = HERE / "README.md"
    # the generated part of the README sits between two markers
    write_between_markers(readme, text)
    print(text)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--root", type=Path, default=DEFAULT_ROOT, help="MUSDB18-7 root (default ../shared/...)")
    p.add_argument("--runs", type=Path, default=HERE / "runs", help="training run folders (not committed)")
    p.add_argument("--results", type=Path, default=HERE / "results", help="curves (committed)")
    p.add_argument("--only", nargs="+", choices=list(RECIPES), help="recipes to run (default: all)")
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    p.add_argument("--g-steps", type=int, default=G_STEPS)
    p.add_argument("--every", type=int, default=250)
    p.add_argument("--workers", type=int, default=1, help="museval worker processes")
    p.add_argument("--threads", type=int, default=0,
                   help="torch threads per run (0: torch's default); two studies of 1 thread each share 2 cores")
    p.add_argument("--device", default="cpu", help="cpu, or cuda (a GPU run's curve is <run>-cuda.jsonl)")
    p.add_argument("--minutes", type=float, default=1e9, help="stop after the point that crosses this budget")
    p.add_argument("--report", action="store_true", help="only write summary.json, curves.png, table.md")
    args = p.parse_args(argv)
    if args.report:
        write_report(args.results)
        return
    if not list_tracks(args.root, "train", "report"):
        sys.exit(f"{args.root} has no report songs")
    songs = load_songs(args.root, subset="train", split="report", sample_rate=16000, mono=True)
    print(f"report songs: {', '.join(s.name for s in songs)}", flush=True)
    deadline = time.time() + 60 * args.minutes
    for seed in args.seeds:  # every recipe's first seed before any second seed
        for name in args.only or ORDER:
            if not run_recipe(name, seed, args, songs, deadline):
                print("time budget reached; run again to continue", flush=True)
                return


if __name__ == "__main__":
    main()
