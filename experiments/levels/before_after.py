"""What the level study's change to the ``cpu`` preset did to the main jobs' full-method row, on one machine.

The main job (``reproduce --profile cpu --data toy``) and its MUSDB18 twin were re-run after the ``cpu`` preset
turned level-blind with ā at a real mixture's peak, on another CPU than their previous tables (bf16 kernels differ
between CPUs, and earlier CPU changes moved these tables by up to 0.6 dB). To tell the preset's share from the
CPU's, this trains the row *all losses* of the same job again with the preset as it was before the study
(``model.d_sees_level: true``, ``loss.abar_level: free``: the ``long`` preset's discriminators and ā), same seed,
same warm-up length, same songs, on this machine, and scores it on the job's evaluation songs beside the
committed row of today's preset (``results/reproduce-cpu-<data>/scores/all-losses-seed0.json``).

    python experiments/levels/before_after.py --data toy
    python experiments/levels/before_after.py --data musdb --root ../shared/data/musdb18-7

Writes ``results/before-after-<data>.json`` (runs in ``runs/before-after-<data>/``, not committed).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from pathlib import Path

import torch

from semisep_lib.fileio import atomic_write_json
from semisep_lib.method.separate import load_separator
from semisep_lib.runs import ReproductionFolder, Run
from semisep_lib.study.reproduce import Reproduction, row_key

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
BEFORE = {"model": {"d_sees_level": True}, "loss": {"abar_level": "free"}}


def cpu_name() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").is_file() else []:
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", choices=["toy", "musdb"], required=True)
    ap.add_argument("--root", default=None)
    args = ap.parse_args(argv)
    committed = ReproductionFolder(REPO / "results" / f"reproduce-cpu-{args.data}").scores(row_key("all losses", 0))
    if not committed.is_file():
        sys.exit(f"{committed} is missing: run and collect the job first (README).")
    torch.set_num_threads(1)  # as each row of the job trains
    rep = Reproduction("cpu", args.data, args.root, seeds=1, out=REPO / "runs" / f"before-after-{args.data}",
                       row_processes=1)
    rep.cfg = rep.cfg.updated(BEFORE)
    run = rep.row("all losses", 0)
    before = rep.score(row_key("all losses", 0), lambda: load_separator(run))
    after = json.loads(committed.read_text())
    pick = lambda r: {"SDR": r["vocals"]["SDR"], "SIR": r["vocals"]["SIR"],  # noqa: E731
                      "vocal_energy_fraction": r["vocal_energy_fraction"]}
    out = HERE / "results" / f"before-after-{args.data}.json"
    atomic_write_json(out, {
        "command": "python experiments/levels/before_after.py " + " ".join(sys.argv[1:]),
        "cpu": cpu_name(), "songs": [s.name for s in rep.eval_songs], "row": "all losses, seed 0",
        "before (d_sees_level true, abar_level free)": pick(before),
        "after (today's cpu preset; the committed table's row)": pick(after),
        "after_scored_by": str(committed.relative_to(REPO)),
        "selection_sdr": {"before": json.loads(Run(run).summary.read_text())["best"]}})
    print(out.read_text())


if __name__ == "__main__":
    main()
