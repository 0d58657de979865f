"""Does bf16 change what `g` does? Two questions, each answered on the selection songs (never the report songs):
does `g` *learn* the same in bf16 (``training``), and does separating with `g`'s mask in bf16 score the same
(``separation``)? Both write their section of ``results/bf16.json``.

**training** compares the selection-song curves of runs trained with ``train.bf16`` against the fp32 runs of the
same seed, warm-up and data order. The runs are trained elsewhere (this only reads their ``valid.jsonl``): the fp32
runs are the long ablation's ``all losses`` rows, the bf16 runs the same rows continued from the same warm-up with
bf16 autocast::

    python experiments/discriminators/probe.py --set train.bf16=true --seed S --steps 2800 \\
        --warm-up runs/reproduce-long-musdb/runs/warm-up-seedS --out runs/probes/bf16-seedS   # S = 0, 1
    python benchmarks/bench_bf16.py training --fp32 runs/reproduce-long-musdb/runs/all-losses-seed{0,1} \\
        --bf16 runs/probes/bf16-seed{0,1}

The rule (the speed issue's): bf16 is kept only if ``g``'s validation score after a fixed number of steps is
unchanged within seed noise. The score is the mean selection-song SDR over the validations of the last 1,000 steps
(the recipe study's criterion; one validation alone wanders by tenths of a dB from one to the next), and "within
seed noise" is what the ablation tables call it (``tables.ranges_apart``, ``removal_costs``' ``beyond_seeds``): the bf16 runs' range
over seeds overlaps the fp32 runs' range. The final and best scores are reported beside it. Seconds per ``g`` step
come from the ``time`` column (validation included) between the first and the last validation; they are
end-to-end figures of runs that each had one thread beside another process, not the benchmark's A/B ratio
(``bench_training.py``).

**separation** separates the selection songs (44.1 kHz stereo, as they are) with a model (default: the shipped
one) in fp32 and in bf16, scores both with museval v4 and times both (``_common.score_and_time``)::

    python benchmarks/bench_bf16.py separation --root ../shared/data/musdb18-7

The rule, as for the block layout (``bench_blocks.py``): bf16 is kept if its SDR is within 0.05 dB of fp32's.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import torch

from _common import RESULTS, machine_info, score_and_time, write_json  # first: puts the repository on sys.path
from semisep_lib.method.checkpoint import cpu_has_bf16
from semisep_lib.method.separate import PRETRAINED_DIR, load_separator
from semisep_lib.runs import Run
from semisep_lib.study.data import load_songs
from semisep_lib.study.tables import ranges_apart

TOLERANCE_DB = 0.05  # separation: the SDR bf16 may lose against fp32 on the selection songs


def curve(run: Path) -> list[dict]:
    """The run's validations on the selection songs, in step order."""
    rows = [json.loads(line) for line in Run(run).valid.read_text().splitlines() if line.strip()]
    return sorted(rows, key=lambda r: r["step"])


LATE_STEPS = 1000  # the score: the mean over the validations of the last LATE_STEPS steps


def summary(run: Path) -> dict:
    """Late-mean, final and best selection-song SDR, the final vocal energy fraction and seconds per step."""
    c = curve(run)
    best = max(c, key=lambda r: r["val_sdr"])
    span = c[-1]["step"] - c[0]["step"]
    late = [r["val_sdr"] for r in c if r["step"] >= c[-1]["step"] - LATE_STEPS]
    return {"run": str(run), "steps": c[-1]["step"], "late_mean_sdr": round(sum(late) / len(late), 3),
            "final_sdr": round(c[-1]["val_sdr"], 3),
            "best_sdr": round(best["val_sdr"], 3), "best_step": best["step"],
            "final_vocal_fraction": round(c[-1]["val_vocal_fraction"], 4),
            "seconds_per_step": round((c[-1]["time"] - c[0]["time"]) / span, 3) if span else None,
            "curve": {r["step"]: round(r["val_sdr"], 3) for r in c}}


SCORES = ("late_mean_sdr", "final_sdr", "best_sdr")


def compare(fp32: list[Path], bf16: list[Path]) -> dict:
    """Per seed (the i-th fp32 run beside the i-th bf16 run) the differences; over seeds, each score's range per
    precision and whether they overlap; the verdict of the rule above (on the late mean)."""
    if len(fp32) != len(bf16) or len(fp32) < 2:
        raise SystemExit("Give the same number (at least 2) of fp32 and bf16 runs, seed by seed.")
    a, b = [summary(r) for r in fp32], [summary(r) for r in bf16]
    ranges = {k: {"fp32": [min(r[k] for r in a), max(r[k] for r in a)],
                  "bf16": [min(r[k] for r in b), max(r[k] for r in b)]} for k in SCORES}
    overlap = {k: not ranges_apart(r["bf16"], r["fp32"]) for k, r in ranges.items()}
    seeds = []
    for x, y in zip(a, b):
        common = sorted(set(x["curve"]) & set(y["curve"]), key=int)
        seeds.append({"fp32": x, "bf16": y, "difference": {k: round(y[k] - x[k], 3) for k in SCORES},
                      "max_pointwise_difference": round(max(abs(y["curve"][s] - x["curve"][s]) for s in common), 3)})
    speed = [x["fp32"]["seconds_per_step"] / x["bf16"]["seconds_per_step"] for x in seeds
             if x["fp32"]["seconds_per_step"] and x["bf16"]["seconds_per_step"]]
    fractions = [r["final_vocal_fraction"] for r in a + b]
    return {"late_steps": LATE_STEPS, "ranges_over_seeds": ranges, "ranges_overlap": overlap, "seeds": seeds,
            "end_to_end_speedup": [round(s, 2) for s in speed],
            "final_vocal_fractions": [min(fractions), max(fractions)],
            "keep_bf16": overlap["late_mean_sdr"]}


def markdown(result: dict) -> str:
    """The comparison as a table (one row per seed and precision)."""
    lines = [f"| seed | precision | mean of the last {result['late_steps']:,} steps | final | best (step) | "
             "final vocal fraction | s / step |", "|---|---|---|---|---|---|---|"]
    for i, s in enumerate(result["seeds"]):
        for name in ("fp32", "bf16"):
            r = s[name]
            lines.append(f"| {i} | {name} | {r['late_mean_sdr']:.2f} | {r['final_sdr']:.2f} | {r['best_sdr']:.2f} "
                         f"({r['best_step']}) | {r['final_vocal_fraction']:.3f} | {r['seconds_per_step']} |")
    span = lambda r: f"[{r[0]:.2f}, {r[1]:.2f}]"  # noqa: E731
    lines += ["", "Selection-song SDR (dB) over seeds, fp32 / bf16: " + "; ".join(
        f"{k.replace('_sdr', '').replace('_', ' ')} {span(r['fp32'])} / {span(r['bf16'])}"
        + ("" if result["ranges_overlap"][k] else " (no overlap)") for k, r in result["ranges_over_seeds"].items())
        + f". Keep bf16 (the late means overlap): {result['keep_bf16']}."]
    return "\n".join(lines)


def separation(model: Path, root: Path) -> dict:
    """fp32 against bf16 separation of the selection songs with ``model``: SDR, SIR, speed, and the verdict."""
    songs = load_songs(root, subset="train", split="select")
    rows = {name: score_and_time(load_separator(model, device="cpu", separate={"bf16": flag}), songs)
            for name, flag in (("fp32", False), ("bf16", True))}
    for name, r in rows.items():
        print(f"{name}: SDR {r['SDR']:.3f}  SIR {r['SIR']:.3f}  {r['times_real_time']}x real time", flush=True)
    return {"model": str(model), "songs": [s.name for s in songs], "chosen_on": "selection songs",
            "rule": f"bf16 if its SDR is within {TOLERANCE_DB} dB of fp32's", "rows": rows,
            "sdr_difference": round(rows["bf16"]["SDR"] - rows["fp32"]["SDR"], 4),
            "speedup": round(rows["fp32"]["seconds"] / rows["bf16"]["seconds"], 2),
            "cpu_has_bf16": cpu_has_bf16(),
            "keep_bf16": cpu_has_bf16() and rows["bf16"]["SDR"] >= rows["fp32"]["SDR"] - TOLERANCE_DB,
            "threads": torch.get_num_threads(), "load_average_before": os.getloadavg(), "machine": machine_info()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="section", required=True)
    t = sub.add_parser("training", help="compare bf16 and fp32 runs' selection-song curves")
    t.add_argument("--fp32", nargs="+", type=Path, required=True, help="fp32 run folders, one per seed")
    t.add_argument("--bf16", nargs="+", type=Path, required=True, help="bf16 run folders, the same seeds in order")
    s = sub.add_parser("separation", help="separate the selection songs in fp32 and in bf16")
    s.add_argument("--root", type=Path, required=True, help="MUSDB18(-7) root with musdb's validation songs")
    s.add_argument("--model", type=Path, default=PRETRAINED_DIR)
    s.add_argument("--threads", type=int, default=2)
    p.add_argument("--json", type=Path, default=RESULTS / "bf16.json")
    args = p.parse_args()
    if args.section == "training":
        result = compare(args.fp32, args.bf16)
        result["markdown"] = markdown(result)
        print(result["markdown"])
    else:
        torch.set_num_threads(args.threads)
        result = separation(args.model, args.root)
    old = json.loads(args.json.read_text()) if args.json.is_file() else {}
    write_json(args.json, {**old, args.section: result})


if __name__ == "__main__":
    main()
