"""How `separate` cuts a spectrogram into blocks for g: what each choice costs in SDR and buys in speed.

`MaskSeparator` runs g on blocks of the training segment's length (64 frames in the cpu preset) that overlap by
`overlap` and are blended with a triangular window. Fewer, larger or non-overlapping blocks are faster; do they
change the separation? Every setting below separates the **selection** songs of MUSDB18-7 (the half of musdb's
validation songs that chooses; never the report songs) with the shipped model (or `--model`) and its tuned
post-processing, scored by museval v4 (1 s windows, median over windows then songs), and times the separation
of the same songs (wall seconds, after one untimed warm-up pass). The decision rule, stated before measuring: the
fastest setting whose SDR is within 0.05 dB of the old default's (64-frame blocks, overlap 0.5). Its first
choice (4x longer blocks, no overlap) is now the cpu preset's (``separate.block_factor``, ``separate.overlap``).

    python benchmarks/bench_blocks.py --root ../shared/data/musdb18-7 --json benchmarks/results/blocks.json
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import torch

from _common import RESULTS, machine_info, score_and_time  # first: _common puts the repository on sys.path
from semisep_lib.method.separate import PRETRAINED_DIR, load_separator
from semisep_lib.study.data import load_songs

#: label → SeparateConfig settings (every row names both, so that the model's own config does not decide)
BASELINE = "overlap 0.5 (the default until 2026-12)"
SETTINGS = {
    BASELINE: {"overlap": 0.5, "block_factor": 1},
    "overlap 0.25": {"overlap": 0.25, "block_factor": 1},
    "overlap 0": {"overlap": 0.0, "block_factor": 1},
    "blocks 4x longer, overlap 0.5": {"overlap": 0.5, "block_factor": 4},
    "blocks 4x longer, overlap 0": {"overlap": 0.0, "block_factor": 4},
    "one block per song (whole 7 s excerpt)": {"overlap": 0.0, "block_factor": 16},
}
TOLERANCE_DB = 0.05


def measure(model: Path, root: Path) -> dict:
    probe = load_separator(model, device="cpu")
    rate = probe.rate
    songs = load_songs(root, subset="train", split="select", sample_rate=rate, mono=True)
    rows = {}
    for label, settings in SETTINGS.items():
        sep = load_separator(model, device="cpu", separate=settings)
        rows[label] = {"settings": settings, "block_frames": sep.block, **score_and_time(sep, songs)}
        print(f"{label:42s} SDR {rows[label]['SDR']:6.2f}  SIR {rows[label]['SIR']:6.2f}  "
              f"{rows[label]['times_real_time']:7.1f}x real time", flush=True)
    base = rows[BASELINE]["SDR"]
    eligible = [k for k, r in rows.items() if r["SDR"] >= base - TOLERANCE_DB]
    choice = max(eligible, key=lambda k: rows[k]["times_real_time"])
    return {"model": str(model), "songs": [s.name for s in songs], "chosen_on": "selection songs",
            "rule": f"the fastest setting within {TOLERANCE_DB} dB of the SDR of {BASELINE!r}", "choice": choice,
            "rows": rows, "threads": torch.get_num_threads(), "load_average_before": os.getloadavg()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--root", type=Path, required=True, help="MUSDB18(-7) root with musdb's validation songs")
    p.add_argument("--model", type=Path, default=PRETRAINED_DIR)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json", type=Path, default=RESULTS / "blocks.json")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    result = measure(args.model, args.root)
    result["machine"] = machine_info()
    args.json.write_text(json.dumps(result, indent=1) + "\n")
    print(f"choice: {result['choice']} ({result['rule']}) → {args.json}")


if __name__ == "__main__":
    main()
