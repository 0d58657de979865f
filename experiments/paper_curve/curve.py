"""The ``paper`` preset's training curve on MUSDB18-7, as far as one lent GPU call goes (issue 31, deliverable 4).

Does the ``paper`` preset — the authors' settings and code details (``semisep_lib.method.config``: 20,480 Hz, 256×256
images, the 11M-parameter ``g``, weights 20/20/20/20/10/10, Adam 1e-4, batch 1) — learn on MUSDB18-7's 80 training
songs, or does ``g`` collapse to the **identity** (it removes nothing: the vocal estimate is silent, vocal energy
fraction → 0) or to **silence** (it removes everything: the vocal estimate is the mixture, fraction → 1)?

* Training: ``semisep_lib.method.train.train`` on the preset as it is (only the bookkeeping is set: seed, device, when
  to validate and save), on the training songs' mixtures and instrumentals from disjoint halves (``--split``), in
  chunks of ``--every`` steps; each chunk resumes exactly from the last one's ``checkpoint.pt``.
* After each chunk, and once before the first: the **current** ``g`` (``checkpoint.pt``, not the best) separates
  the 7 **selection** songs (``semisep_lib.study.data.selection_report_split``; the report songs are never looked at),
  whole, mono at 20,480 Hz, and is scored three ways:
  - ``raw``: the raw vocal mask ``1 − m`` (no exponent, no smoothing: what training produced), museval v4 (1 s
    windows, median over windows then songs, as everywhere in the project): SDR, SIR, SAR, and the vocal energy
    fraction (the share of the mixture's energy called voice);
  - ``preset``: the preset's own separation (the authors' test.py: ``σ^9``, their smoothing and block layout),
    fast v4 SDR (``metrics.median_sdr``, equal to museval's) and vocal energy fraction;
  - ``train``: training's own validation of the selection songs' fixed chunks (``valid.jsonl``'s ``val_sdr``).
  Beside them, per run: the silent estimate's and the mixture's own fast SDR on the same songs (the two collapses).
* Each point is appended to ``RESULTS/<run>.jsonl`` as soon as it is scored, so a killed run keeps its points;
  throughput (steps/s from ``log.jsonl``'s per-step times, and training wall) and the device are in every point.
* The time budget (``--budget-s``): before a chunk, the time left is compared with what the chunk and its
  scoring cost at the rates measured so far; the last chunk is shortened to fit, none under ``--min-chunk``
  steps is started. At the end: ``RESULTS/<run>.summary.json`` (device, throughput, config, why it stopped, the
  checkpoint's size), ``g``'s weights in fp16 split into parts that the device tool can bring back (``--keep-g``),
  and ``--report``'s plot and table.

    python experiments/paper_curve/curve.py --device cuda --budget-s 480 --results $OUT --keep-g $OUT
    python experiments/paper_curve/curve.py --report                 # curve.png, table.md, README from results/
    python experiments/paper_curve/curve.py --device cpu --shrink --every 2 --max-steps 4   # a CPU try-out

``--shrink`` (CPU try-outs only) swaps the paper's networks and segments for tiny ones; its runs are named
``-shrunk`` and are not the paper preset. ``scripts/gpu_session.sh paper-curve`` is the lent-GPU entry point.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import math
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
if str(REPO) not in sys.path:  # run from a checkout without `pip install -e .`
    sys.path.insert(0, str(REPO))

from semisep_lib.fileio import write_between_markers  # noqa: E402
from semisep_lib.method.checkpoint import load_checkpoint, load_g  # noqa: E402
from semisep_lib.method.config import Config  # noqa: E402
from semisep_lib.method.metrics import energy_fraction, median_sdr  # noqa: E402
from semisep_lib.method.separate import MaskSeparator  # noqa: E402
from semisep_lib.method.train import train  # noqa: E402
from semisep_lib.runs import Run  # noqa: E402
from semisep_lib.study.data import list_tracks, load_songs, load_training_data  # noqa: E402
from semisep_lib.study.evaluate import evaluate_separator  # noqa: E402

DEFAULT_ROOT = REPO / ".gpu" / "musdb18-7-20k"
DEFAULT_RESULTS = HERE / "results"
#: The most one file may hold to come back from the device tool (16 MiB), less a little.
PART_BYTES = 16 * 2**20 - 64 * 1024
#: CPU try-outs only: the paper's sample rate, STFT and losses with tiny networks and segments.
SHRINK = {"spectral": {"segment_frames": 32},
          "model": {"g_channels": 4, "g_res_blocks": 1, "d_channels": 8, "d_layers": 2, "d_scales": 1}}
#: Below this vocal energy fraction the vocal estimate is all but silent: g is (close to) the identity.
IDENTITY_FRACTION = 0.01


def read_points(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    return [json.loads(ln) for ln in path.read_text().splitlines() if ln.strip()]


def device_name(device: str) -> str:
    import torch

    if device.startswith("cuda") and torch.cuda.is_available():
        return torch.cuda.get_device_name(torch.device(device))
    return platform.processor() or platform.machine()


def run_name(args) -> str:
    """``paper-seed<k>-<device kind>`` (e.g. ``-h100``, ``-h200``, ``-cpu``), ``-shrunk`` for a try-out."""
    kind = "cpu"
    if args.device.startswith("cuda"):
        gpu = device_name(args.device).lower()
        kind = next((k for k in ("h200", "h100", "a100", "l40s", "l4") if k in gpu), "cuda")
    return f"paper-seed{args.seed}-{kind}" + ("-shrunk" if args.shrink else "")


def make_config(args) -> Config:
    cfg = Config.from_preset("paper")
    if args.shrink:
        cfg = cfg.updated(SHRINK)
    # bookkeeping only: training validates (its own fast check) at the end of every chunk and saves there
    return cfg.updated({"train": {"seed": args.seed, "device": args.device, "val_every": args.every,
                                  "ckpt_every": 10 ** 9, "threads": args.threads}})


def steps_per_second(log_path: Path, first: int, last: int) -> float | None:
    """Training steps/s over steps ``first .. last − 1`` from ``log.jsonl``'s per-step ``time`` (the wall between
    the first and the last step logged: no start-up, checkpoint or validation inside)."""
    times = {}
    for ln in log_path.read_text().splitlines():
        row = json.loads(ln)
        if first <= row["step"] < last:
            times[row["step"]] = row["time"]
    if len(times) < 3:
        return None
    steps = sorted(times)
    return (steps[-1] - steps[0]) / (times[steps[-1]] - times[steps[0]])


def references(songs) -> dict:
    """The two collapses' fast SDR on ``songs``, median over songs: a silent vocal estimate (``g`` the identity)
    and the mixture as the vocal estimate (``g`` silences everything)."""
    silent, mixture = [], []
    for s in songs:
        voc, mix = s.vocals.T, s.mixture.T  # (samples, channels)
        silent.append(median_sdr(voc, np.zeros_like(voc), s.rate))
        mixture.append(median_sdr(voc, mix, s.rate))
    return {"silent_sdr": float(np.nanmedian(silent)), "mixture_sdr": float(np.nanmedian(mixture))}


def score_point(ckpt: Path, songs, workers: int, device: str) -> dict:
    """The current ``g`` on ``songs``: museval of the raw mask, and the fast SDR of the preset's separation."""
    g, cfg = load_g(ckpt, device)
    bare = cfg.updated({"separate": {"mask_family": "ours", "mask_power": 1.0, "smooth_frames": 1}})  # g's raw mask
    raw = MaskSeparator(g, bare, device)
    with tempfile.TemporaryDirectory(prefix="paper-curve-museval-") as tmp:
        r = evaluate_separator(raw, songs, tmp, "raw", workers=workers, progress=False)
    preset = MaskSeparator(g, cfg, device)
    sdrs, fracs = [], []
    for s in songs:
        v = preset.separate(s.mixture, s.rate)  # (channels, samples)
        sdrs.append(median_sdr(s.vocals.T, v.T, s.rate))
        fracs.append(energy_fraction(v, s.mixture))
    return {"SDR": r["vocals"]["SDR"], "SIR": r["vocals"]["SIR"], "SAR": r["vocals"]["SAR"],
            "fast_SDR": r["fast_sdr"], "vocal_energy_fraction": r["vocal_energy_fraction"],
            "suspect_share": r["suspect_share"],
            "preset_SDR_fast": float(np.nanmedian(sdrs)), "preset_vocal_energy_fraction": float(np.nanmedian(fracs))}


def save_g_parts(run_dir: Path, out_dir: Path, name: str) -> dict:
    """``g``'s weights of ``checkpoint.pt`` (fp16; a model file ``load_g`` reads once the parts are joined with
    ``cat``) in parts of at most :data:`PART_BYTES`, the most the device tool brings back per file."""
    import torch

    state = load_checkpoint(Run(run_dir).checkpoint)
    weights = state.get("g_ema", state["g"])
    half = {k: v.half() if v.is_floating_point() else v for k, v in weights.items()}
    model = {**{k: state[k] for k in ("program", "version", "config", "step", "objective")}, "g": half}
    buf = io.BytesIO()
    torch.save(model, buf)
    blob = buf.getvalue()
    parts = []
    for i in range(math.ceil(len(blob) / PART_BYTES)):
        part = out_dir / f"{name}.g-fp16.pt.{i:03d}"
        part.write_bytes(blob[i * PART_BYTES:(i + 1) * PART_BYTES])
        parts.append(part.name)
    return {"g_fp16_bytes": len(blob), "g_fp16_sha256": hashlib.sha256(blob).hexdigest(), "g_fp16_parts": parts,
            "step": state["step"],
            "join": f"cat {name}.g-fp16.pt.* > {name}.g-fp16.pt  # then semisep_lib.method.checkpoint.load_g(it)"}


def run(args) -> dict:
    import torch

    t_start = time.time()
    deadline = t_start + args.budget_s
    if args.device.startswith("cuda"):
        if not torch.cuda.is_available():
            sys.exit("no CUDA device here (use --device cpu for a try-out)")
        torch.backends.cudnn.benchmark = args.cudnn_benchmark  # fixed shapes: let cuDNN pick its fastest kernels
    cfg = make_config(args)
    name = args.name or run_name(args)
    run_dir = args.run or (REPO / "runs" / "paper-curve" / name)
    args.results.mkdir(parents=True, exist_ok=True)
    curve_path = args.results / f"{name}.jsonl"
    rate = cfg.spectral.sample_rate
    if not list_tracks(args.root, "train", "select"):
        sys.exit(f"{args.root} has no selection songs")
    songs = load_songs(args.root, subset="train", split="select", sample_rate=rate, mono=True,
                       limit=args.limit_songs)
    td = load_training_data(cfg, args.root, split_mode=args.split, seed=args.seed)
    refs = references(songs)
    gpu = device_name(args.device)
    print(f"{name}: {gpu}; {len(td.mixtures)} mixture + {len(td.instrumentals)} instrumental songs; selection "
          f"songs: {', '.join(s.name for s in songs)}; silent-estimate SDR {refs['silent_sdr']:.2f} dB, "
          f"mixture-as-vocals SDR {refs['mixture_sdr']:.2f} dB; budget {args.budget_s:.0f} s", flush=True)
    done = {p["step"] for p in read_points(curve_path)}
    files = Run(run_dir)
    ckpt, best = files.checkpoint, files.best
    step = int(load_checkpoint(ckpt)["step"]) if ckpt.is_file() else 0
    max_steps = args.max_steps or cfg.train.steps
    if not ckpt.is_file() and not best.is_file():  # a call of no steps writes best.pt: the untrained g
        cfg.train.steps = 0
        train(cfg, td, run_dir, progress=False)
    chunk_rate = wall_rate = score_s = None
    train_seconds = 0.0
    stop = "max steps reached"
    while True:
        if step not in done:  # score the current g (checkpoint.pt; before any training, best.pt)
            t = time.perf_counter()
            point = score_point(ckpt if ckpt.is_file() else best, songs, args.workers, args.device)
            score_s = max(score_s or 0.0, time.perf_counter() - t)
            val = read_points(files.valid)
            sel = next((v for v in reversed(val) if v["step"] == step), {})
            row = {"run": name, "step": step, "g_step": max(0, step - cfg.train.d_warmup), **point,
                   "train_val_sdr_fast": sel.get("val_sdr"), "train_val_vocal_fraction": sel.get("val_vocal_fraction"),
                   **refs, "steps_per_s": chunk_rate, "wall_steps_per_s": wall_rate,
                   "score_seconds": round(time.perf_counter() - t, 1), "train_seconds": round(train_seconds, 1),
                   "wall_seconds": round(time.time() - t_start, 1), "device": args.device, "gpu": gpu,
                   "preset": cfg.preset, "shrunk": bool(args.shrink), "split": args.split, "seed": args.seed,
                   "data": args.root.name, "songs": len(songs)}
            with open(curve_path, "a") as f:
                f.write(json.dumps(row) + "\n")
            done.add(step)
            print(f"step {step}: SDR {point['SDR']:.2f} SIR {point['SIR']:.2f} SAR {point['SAR']:.2f} vocal fraction "
                  f"{point['vocal_energy_fraction']:.4f} | preset's separation: SDR {point['preset_SDR_fast']:.2f} "
                  f"fraction {point['preset_vocal_energy_fraction']:.3f} | "
                  f"{'-' if chunk_rate is None else f'{chunk_rate:.2f}'} steps/s | scored in {row['score_seconds']} s "
                  f"| {time.time() - t_start:.0f} s", flush=True)
        if step >= max_steps:
            break
        # the next chunk: to the next multiple of --every, shortened to what the time left holds (at the last
        # chunk's wall rate, start-up and checkpoint included, and the slowest scoring so far)
        left = deadline - time.time() - args.reserve_s
        n = full = min(args.every - step % args.every, max_steps - step)
        if wall_rate:
            fits = int((left - (score_s or 0.0)) * wall_rate)
            if fits < n:
                n = fits // 10 * 10
        elif left < (score_s or 0.0):
            n = 0
        if n <= 0 or (n < full and n < args.min_chunk):
            stop = f"time budget ({args.budget_s:.0f} s)"
            break
        cfg.train.steps = step + n
        t = time.perf_counter()
        train_seconds = train(cfg, td, run_dir, progress=False)["seconds"]
        wall_rate = n / (time.perf_counter() - t)
        chunk_rate = steps_per_second(files.log, step, step + n)
        step += n
    # -- at the end -----------------------------------------------------------------------------------------------
    points = read_points(curve_path)
    rates = [p["steps_per_s"] for p in points if p.get("steps_per_s")]
    summary = {
        "run": name, "device": args.device, "gpu": gpu, "torch": torch.__version__,
        "cuda": torch.version.cuda, "cudnn_benchmark": bool(args.device.startswith("cuda") and args.cudnn_benchmark),
        "steps": step, "stopped_because": stop, "budget_s": args.budget_s, "every": args.every,
        "wall_seconds": round(time.time() - t_start, 1), "points": len(points),
        "steps_per_s_median": float(np.median(rates)) if rates else None,
        "train_seconds": points[-1]["train_seconds"] if points else None,
        "checkpoint_bytes": ckpt.stat().st_size if ckpt.is_file() else None,
        "selection_songs": [s.name for s in songs], **refs, "split": args.split, "shrunk": bool(args.shrink),
        "config": cfg.to_dict(), "command": "python " + " ".join(sys.argv),
    }
    if args.keep_g and ckpt.is_file():
        summary["g_weights"] = save_g_parts(run_dir, args.keep_g, name)
    (args.results / f"{name}.summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    print(f"{name}: {step} steps, stopped: {stop}; {len(points)} points; median "
          f"{summary['steps_per_s_median'] or float('nan'):.2f} steps/s; checkpoint.pt "
          f"{(summary['checkpoint_bytes'] or 0) / 1e6:.0f} MB"
          + (f"; g fp16 {summary['g_weights']['g_fp16_bytes'] / 1e6:.1f} MB in "
             f"{len(summary['g_weights']['g_fp16_parts'])} part(s)" if "g_weights" in summary else ""), flush=True)
    return summary


# -- report ----------------------------------------------------------------------------------------------------------
def reading(points: list[dict]) -> str:
    """One sentence, from the numbers, on where ``g`` ended: the identity, silence, or neither."""
    last = points[-1]
    frac = last["vocal_energy_fraction"]
    if frac < IDENTITY_FRACTION:
        where = (f"at the identity: its raw vocal estimate holds {frac:.4f} of the mixture's energy (SDR "
                 f"{last['SDR']:.2f} dB against the silent estimate's {last['silent_sdr']:.2f} dB)")
    elif frac > 0.9:
        where = (f"at silence: its vocal estimate is nearly the mixture (fraction {frac:.3f}, SDR {last['SDR']:.2f} dB "
                 f"against the mixture's {last['mixture_sdr']:.2f} dB)")
    else:
        where = (f"neither at the identity nor at silence: vocal energy fraction {frac:.3f}, SDR {last['SDR']:.2f} dB "
                 f"(silent estimate {last['silent_sdr']:.2f}, mixture {last['mixture_sdr']:.2f} dB)")
    return f"After {last['step']} steps, `g` of {last['run']} is {where}."


def write_report(results: Path, readme: Path | None = None) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = {p.stem: read_points(p) for p in sorted(results.glob("*.jsonl"))}
    runs = {k: v for k, v in runs.items() if v}
    if not runs:
        sys.exit(f"no points in {results}")
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.8))
    for i, (name, pts) in enumerate(runs.items()):
        x = [p["step"] for p in pts]
        c = f"C{i}"
        axes[0].plot(x, [p["SDR"] for p in pts], "o-", color=c, label=f"{name}: raw mask, museval")
        axes[0].plot(x, [p["preset_SDR_fast"] for p in pts], "s--", color=c, alpha=0.6,
                     label=f"{name}: preset's separation (σ^9), fast SDR")
        axes[0].axhline(pts[-1]["silent_sdr"], color="grey", lw=0.8, ls=":")
        axes[0].axhline(pts[-1]["mixture_sdr"], color="k", lw=0.8, ls=":")
        axes[1].plot(x, [p["vocal_energy_fraction"] for p in pts], "o-", color=c, label=f"{name}: raw mask")
        axes[1].plot(x, [p["preset_vocal_energy_fraction"] for p in pts], "s--", color=c, alpha=0.6,
                     label=f"{name}: preset's separation")
    axes[0].set_title("selection songs: vocal SDR (dB)\n(dotted: silent estimate = identity g, black: mixture)")
    axes[1].set_title("vocal energy fraction\n(0: g is the identity, 1: g silences everything)")
    axes[1].set_ylim(-0.02, 1.02)
    for ax in axes:
        ax.set_xlabel("training steps (batch 1)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(results / "curve.png", dpi=110)
    plt.close(fig)
    lines = []
    for name, pts in runs.items():
        first = pts[0]
        summ = results / f"{name}.summary.json"
        s = json.loads(summ.read_text()) if summ.is_file() else {}
        rate = s.get("steps_per_s_median") or next((p["steps_per_s"] for p in reversed(pts) if p.get("steps_per_s")), None)
        lines += [f"**{name}** — {first['gpu']} ({first['device']}), preset `{first['preset']}`"
                  + (" **shrunk (a try-out, not the paper preset)**" if first.get("shrunk") else "")
                  + (f" **{first['songs']} selection song(s) only**" if first.get("songs", 7) < 7 else "")
                  + f", split {first['split']}, data {first['data']}; "
                  + (f"{rate:.2f} training steps/s (median over chunks); " if rate else "")
                  + (f"stopped after {s['steps']} steps: {s['stopped_because']}; " if s else "(no summary: killed?) ")
                  + f"silent-estimate SDR {first['silent_sdr']:.2f} dB, mixture-as-vocals {first['mixture_sdr']:.2f} dB.",
                  "", "| step | SDR | SIR | SAR | vocal fraction | preset SDR (fast) | preset vocal fraction | "
                  "train's val SDR (fast) | steps/s | train s | wall s |", "|---|---|---|---|---|---|---|---|---|---|---|"]
        f = lambda v, d=2: "–" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{d}f}"  # noqa: E731
        for p in pts:
            lines.append(f"| {p['step']} | {f(p['SDR'])} | {f(p['SIR'])} | {f(p['SAR'])} | "
                         f"{f(p['vocal_energy_fraction'], 4)} | {f(p['preset_SDR_fast'])} | "
                         f"{f(p['preset_vocal_energy_fraction'], 3)} | {f(p.get('train_val_sdr_fast'))} | "
                         f"{f(p.get('steps_per_s'))} | {f(p['train_seconds'], 0)} | {f(p['wall_seconds'], 0)} |")
        lines += ["", reading(pts), ""]
    text = "\n".join(lines)
    (results / "table.md").write_text(text)
    if readme is not None:  # the generated part of the README sits between two markers
        write_between_markers(readme, text)
    print(text)
    return text


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--root", type=Path, default=DEFAULT_ROOT, help="MUSDB18-7 at 20,480 Hz (WAV song folders)")
    p.add_argument("--results", type=Path, default=DEFAULT_RESULTS, help="points, summary, plot, table")
    p.add_argument("--run", type=Path, help="training folder (default runs/paper-curve/<run>)")
    p.add_argument("--name", help="run name (default paper-seed<k>-<device kind>)")
    p.add_argument("--device", default="cuda")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--split", default="disjoint", choices=["disjoint", "authors"],
                   help="mixtures and instrumentals from disjoint halves of the songs, or both from all (authors)")
    p.add_argument("--every", type=int, default=1000, help="training steps between points")
    p.add_argument("--max-steps", type=int, help="default: the preset's schedule (300,000)")
    p.add_argument("--budget-s", type=float, default=480.0, help="wall seconds for the whole run, from its start")
    p.add_argument("--reserve-s", type=float, default=10.0, help="seconds kept for the end (summary, g's parts)")
    p.add_argument("--min-chunk", type=int, default=200, help="no shorter last chunk is started")
    p.add_argument("--workers", type=int, default=max(1, min(7, (os.cpu_count() or 2) - 1)),
                   help="museval processes")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    p.add_argument("--no-cudnn-benchmark", dest="cudnn_benchmark", action="store_false")
    p.add_argument("--keep-g", type=Path, help="write g's final weights (fp16, in ≤16 MiB parts) here")
    p.add_argument("--shrink", action="store_true", help="CPU try-outs: tiny networks, not the paper preset")
    p.add_argument("--limit-songs", type=int, help="CPU try-outs: score only the first N selection songs")
    p.add_argument("--report", action="store_true", help="only write curve.png and table.md from --results")
    args = p.parse_args(argv)
    readme = HERE / "README.md" if args.results.resolve() == DEFAULT_RESULTS.resolve() else None
    if not args.report:
        run(args)
    write_report(args.results, readme)


if __name__ == "__main__":
    main()
