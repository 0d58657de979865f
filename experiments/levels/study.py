"""Level study (issues 31 and 32): which change to the ``cpu`` recipe keeps its in-domain score and follows a
voice that sits louder or quieter than MUSDB18's?

Every variant continues the long ablation's shared discriminator warm-up of its seed
(``runs/reproduce-long-musdb/runs/warm-up-seed<k>``, the ``long`` preset = the ``cpu`` preset; a variant that
changes the networks trains a warm-up of its own, the same 800 steps) for the same 2,000 ``g`` steps as the
ablation's rows, with the variant's overrides on top; training's own validation (the
selection songs) keeps ``best.pt`` and the mask exponent is tuned on the selection songs, exactly as every
ablation row (``reproduce.Reproduction.train_row``). The baseline, ``all-losses``, *is* the ablation's full-method
row of the same seed: it is not trained here, only scored. Each model is then scored on the **selection** songs
remixed with the vocals at −6, 0, +6 and +12 dB (``semisep_lib.study.levels``): the level-sweep SDR (mean over the four
levels of the median vocal SDR) and the vocal energy called against the true one. The report songs are never
used.

    python experiments/levels/study.py --variant voice-gain --seed 0    # train (or resume) one run, then score it
    python experiments/levels/study.py --report                         # results/study.md from the scored runs

Runs go to ``experiments/levels/runs/`` (not committed: checkpoints); ``results/study-<variant>-seed<k>.json``
(and ``.md``) are committed. Resumable: training resumes exactly from its checkpoint; a scored run is skipped.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import sys
from pathlib import Path

import numpy as np
import torch

from semisep_lib.method.checkpoint import bf16_available, load_checkpoint
from semisep_lib.method.separate import load_separator
from semisep_lib.runs import ReproductionFolder, Run
from semisep_lib.study.levels import level_changes, robustness, write
from semisep_lib.study.reproduce import Reproduction, row_key

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
RESULTS = HERE / "results"
RUNS = HERE / "runs"
ABLATION = REPO / "runs" / "reproduce-long-musdb"
DEFAULT_ROOT = REPO.parent / "shared" / "data" / "musdb18-7"

#: name → (why it is tried, overrides on the cpu (long) preset; None: the ablation's own row, not trained here)
VARIANTS: dict[str, tuple[str, dict | None]] = {
    "all-losses": ("the cpu preset as it is: the long ablation's full-method row of the same seed", None),
    "rescale": ("issue 31 row 8: ā, b̄ and c scaled together so that ā peaks where a real mixture does "
                "(loss.abar_level rescale). With ā free, removing more voice makes ā peak higher, a cue d_A can "
                "hold against g: a push towards removing less",
                {"loss": {"abar_level": "rescale"}}),
    "voice-gain": ("R3/R4 take apart synthetic mixtures with the estimated voice at a random gain, 20·log10(α) "
                   "uniform in [−6, +12] dB (loss.voice_gain_db); GAN_A still sees the paper's ā. The mixture set "
                   "fixes how loud its voices are; synthetic mixtures need not",
                   {"loss": {"voice_gain_db": [-6.0, 12.0]}}),
    "level-blind": ("the issue's candidate: discriminators that renormalise every input by its own peak (as the "
                    "shipped model of 2026-11-27, the most robust on songs mixed otherwise), with the slow "
                    "discriminators and the EMA that stopped the drift; its own warm-up (the networks differ)",
                    {"model": {"d_sees_level": False}}),
    "d-c-jitter": ("d_C sees its real instrumentals at a random level, 20·log10 uniform in [−12, 0] dB "
                   "(loss.d_C_real_gain_db): with levels seen, g(a) of a mixture whose voice is loud is much "
                   "quieter than a unit-peak instrumental, and d_C would ask g to keep voice to make up the level",
                   {"loss": {"d_C_real_gain_db": [-12.0, 0.0]}}),
    "voice-gain-rescale": ("voice-gain and rescale together",
                           {"loss": {"voice_gain_db": [-6.0, 12.0], "abar_level": "rescale"}}),
    "level-blind-rescale": ("issue 31 row 8 on the cpu preset as this study left it: level-blind with ā, b̄ and c "
                            "scaled together (loss.abar_level rescale); its own warm-up (d_A sees ā in it)",
                            {"model": {"d_sees_level": False}, "loss": {"abar_level": "rescale"}}),
}


def train_variant(variant: str, seed: int, root: Path) -> Path:
    """Train (or resume, or find) one variant × seed from the ablation's warm-up; returns its run folder."""
    why, overrides = VARIANTS[variant]
    if overrides is None:
        run = ReproductionFolder(ABLATION).run(row_key("all losses", seed)).folder
        if not Run(run).summary.is_file():
            sys.exit(f"{run} is not trained: run the long ablation (README) first.")
        return run
    out = RUNS
    if "model" in overrides:  # the networks differ from the ablation's: a warm-up of the variant's own
        out = RUNS / variant
    else:
        warm = ReproductionFolder(ABLATION).warm_up(seed).folder
        if not Run(warm).checkpoint.is_file():
            sys.exit(f"{warm} has no checkpoint: run the long ablation's warm-up (README) first.")
        mine = ReproductionFolder(RUNS).warm_up(seed).folder
        if not mine.exists():  # the shared warm-up, found done by Reproduction.warm_up
            shutil.copytree(warm, mine, ignore=shutil.ignore_patterns(".lock"))
    torch.set_num_threads(1)  # as each ablation row trains: two runs at once, one thread each
    rep = Reproduction("long", "musdb", str(root), seeds=seed + 1, out=out, row_processes=1)
    rep.cfg = rep.cfg.updated(overrides)
    return rep.train_row(variant, (), seed)


def cpu_name() -> str:
    """The processor's model name (bf16 runs differ between CPUs: their kernels round differently)."""
    info = Path("/proc/cpuinfo")
    if info.is_file():
        for line in info.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def score(variant: str, seed: int, run: Path, root: Path, workers: int, tag: str = "") -> Path:
    suffix = f"-{tag}" if tag else ""
    out = RESULTS / f"study-{variant}-seed{seed}{suffix}.json"
    if out.is_file():
        r = json.loads(out.read_text())
        if r["study"].get("late_selection_sdr") is None and Run(run).valid.is_file():
            # scored before the result kept it: add it from the run, if the run is the one that was scored
            if json.loads(Run(run).summary.read_text())["best"] != r["study"]["summary"]["best"]:
                sys.exit(f"{run} is not the run {out.name} scored (another best checkpoint): not adding to it.")
            r["study"]["late_selection_sdr"] = late_selection_sdr(run)
            write(r, out)
        return out
    label = f"{variant}-seed{seed}{suffix}"
    result = robustness({label: lambda: load_separator(run)}, root, songs="select", changes=level_changes(),
                        workers=workers)
    result["study"] = {"variant": variant, "seed": seed, "why": VARIANTS[variant][0],
                       "overrides": VARIANTS[variant][1], "run": str(run.relative_to(REPO)),
                       "summary": json.loads(Run(run).summary.read_text()),
                       "late_selection_sdr": late_selection_sdr(run), "tag": tag, "cpu": cpu_name(),
                       "bf16": bool(load_checkpoint(Run(run).checkpoint)["config"]["train"]["bf16"]
                                    and bf16_available(torch.device("cpu")))}
    write(result, out)
    keep_small_files(run, label)
    return out


def keep_small_files(run: Path, label: str) -> Path:
    """The run's small files (summary, validation curve, mask tuning) into ``results/runs/<label>/``: runs/ holds
    the checkpoints and is not committed."""
    source, dest = Run(run), ReproductionFolder(RESULTS).run(label)
    dest.folder.mkdir(parents=True, exist_ok=True)
    for kept, copy in ((source.summary, dest.summary), (source.valid, dest.valid), (source.tuning, dest.tuning)):
        if kept.is_file():
            shutil.copy2(kept, copy)
    return dest.folder


def late_selection_sdr(run: Path, last: int = 1000) -> float | None:
    """The mean of training's own validation SDR (selection songs, the run's post-processing) over its last
    ``last`` ``g`` steps — the recipe study's rule for choosing a recipe (``valid.jsonl``)."""
    path = Run(run).valid
    if not path.is_file():
        return None
    points = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    end = max(p["step"] for p in points)
    late = [p["val_sdr"] for p in points if p["step"] > end - last]
    return float(np.mean(late)) if late else None


#: models shipped before this study, scored on the same conditions by sweep.py (levels-only/): label → recipe
SHIPPED_BEFORE = {
    "da3af31": "shipped 2026-11-27: level-blind D, fast, no EMA",
    "65644db": "shipped 2026-12-04: level-seeing D, EMA, fast D",
    "e11b630": "shipped 2026-12-04: slow D",
    "315e182": "shipped 2026-12-05: all-losses, the previous long ablation's seed 1",
}


def baseline_rows() -> list[str]:
    """Half the mixture and the oracle mask on the same conditions (``results/levels-only/baselines.json``), and the
    models shipped before (``results/levels-only/<commit>.json``), in italics: not runs of this study."""
    path = RESULTS / "levels-only" / "baselines.json"
    if not path.is_file():
        return []
    r = json.loads(path.read_text())
    methods = dict(r["methods"])
    for label, why in SHIPPED_BEFORE.items():  # the models shipped before, for scale (levels-only/<label>.json)
        shipped = RESULTS / "levels-only" / f"{label}.json"
        if shipped.is_file():
            methods[f"{label} ({why})"] = json.loads(shipped.read_text())["methods"][label]
    out = []
    for label in ["half the mixture", "oracle IRM", *(k for k in methods if k.split(" (")[0] in SHIPPED_BEFORE)]:
        m = methods.get(label)
        if m:
            cond = m["conditions"]
            names = m["summary"]["level_conditions"]
            out.append(f"| *{label}* | {m['summary']['level_sweep_sdr']:.2f} | "
                       + " · ".join(f"{cond[n]['vocals']['SDR']:.2f}" for n in names) + " | "
                       + " · ".join(f"{100 * cond[n]['vocal_energy_called']:.0f}/{100 * cond[n]['vocal_energy_true']:.0f}"
                                    for n in names) + " | – |")
    return out


def report() -> Path:
    """``results/study.md``: one line per scored run, then the mean over seeds per variant."""
    rows, by_variant = [], {}
    for path in sorted(RESULTS.glob("study-*-seed*.json")):
        r = json.loads(path.read_text())
        v, seed = r["study"]["variant"], r["study"]["seed"]
        seed = f"{seed}-{r['study']['tag']}" if r["study"].get("tag") else seed
        (m,) = r["methods"].values()
        cond = m["conditions"]
        sdr = [cond[n]["vocals"]["SDR"] for n in m["summary"]["level_conditions"]]
        called = [f"{100 * cond[n]['vocal_energy_called']:.0f}/{100 * cond[n]['vocal_energy_true']:.0f}"
                  for n in m["summary"]["level_conditions"]]
        sel = r["study"].get("late_selection_sdr")  # kept in the result: runs/ (checkpoints) is not committed
        run = REPO / r["study"]["run"]
        if sel is None and Run(run).summary.is_file() and \
                json.loads(Run(run).summary.read_text())["best"] == r["study"]["summary"]["best"]:
            sel = late_selection_sdr(run)  # only from the very run that was scored, not a rerun in its folder
        rows.append((v, seed, m["summary"]["level_sweep_sdr"], sdr, called, sel))
        by_variant.setdefault(v, []).append((m["summary"]["level_sweep_sdr"], sdr[1], sel))
    levels = "−6 · 0 · +6 · +12 dB"
    lines = ["# Level study: selection songs only (`experiments/levels/study.py --report`)", "",
             "Vocal SDR (museval v4 medians, dB) on the 7 selection songs remixed with the vocals at " + levels +
             "; *called/true*: vocal energy (% of the mixture) the model calls against the truth; *"
             "late selection SDR*: the mean of training's own validation SDR on the selection songs over the last 1,000 `g` "
             "steps (the recipe study's rule).", "",
             "| run | level-sweep SDR | SDR at " + levels + " | called/true % at " + levels + " | late selection SDR |",
             "|---|---|---|---|---|"]
    lines += baseline_rows()
    for v, seed, mean, sdr, called, sel in rows:
        lines.append(f"| {v}-seed{seed} | {mean:.2f} | {' · '.join(f'{x:.2f}' for x in sdr)} | "
                     f"{' · '.join(called)} | {'–' if sel is None else f'{sel:.2f}'} |")
    lines += ["", "| variant | runs | mean level-sweep SDR | mean SDR at 0 dB | mean late selection SDR |", "|---|---|---|---|---|"]
    for v, xs in by_variant.items():
        a = np.array([[np.nan if x is None else x for x in t] for t in xs], dtype=float)
        known = a[~np.isnan(a[:, 2]), 2]
        lines.append(f"| {v} | {len(xs)} | {a[:, 0].mean():.2f} | {a[:, 1].mean():.2f} | "
                     f"{f'{known.mean():.2f} ({len(known)})' if len(known) else '–'} |")
    lines += ["", "| variant | what it changes, and why |", "|---|---|"]
    lines += [f"| {v} | {why} |" for v, (why, _) in VARIANTS.items()]
    out = RESULTS / "study.md"
    out.write_text("\n".join(lines) + "\n")
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--variant", choices=sorted(VARIANTS))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--root", type=Path, default=DEFAULT_ROOT)
    ap.add_argument("--workers", type=int, default=1, help="museval processes")
    ap.add_argument("--report", action="store_true")
    ap.add_argument("--tag", default="", help="a rerun of a variant and seed already scored (e.g. on another CPU): "
                                              "scored as results/study-V-seedS-TAG.json beside the first")
    args = ap.parse_args(argv)
    if args.variant:
        run = train_variant(args.variant, args.seed, args.root)
        print(score(args.variant, args.seed, run, args.root, args.workers, args.tag))
    if args.report or not args.variant:
        print(report())


if __name__ == "__main__":
    main()
