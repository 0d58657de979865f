"""Copy what the project's commands wrote into results/ (committed), so README numbers point at files.

    python scripts/collect_results.py reproduce runs/reproduce-cpu-toy results/reproduce-cpu-toy
    python scripts/collect_results.py curve runs/pretrained results/pretrained

Nothing is computed here: tables, JSON and timings are copied as the commands wrote them (with, where the run
has them, Kendall's τ in ordering.json, the paper's-protocol tables in paper-protocol/, and the per-method
scores in scores/ and scores-v3/ — from which `reproduce` continues a run whose models are gone). Of every
trained row only its small files travel (runs/<row>/summary.json and valid.jsonl: the best step and the curve on
the selection songs; never its weights), drawn per seed in selection-curves-seed<N>.png. A reproduction still
running (no tables yet: the long profile scores each row as it is trained) gives what it has so far: its scores
and rows, so that it can continue from a clone —
`cp -r results/reproduce-long-musdb/. runs/reproduce-long-musdb/` and the same command. The learning curve of
`curve` is drawn from the run's own valid.jsonl (copied beside it).
"""

import shutil
import sys
from pathlib import Path

from semisep_lib.plots import compare_runs, validation_curves


def rows_on_selection_songs(src: Path, dest: Path) -> None:
    """Copy each trained row's summary.json and valid.jsonl (no weights) and draw, per seed, every row's
    validation SDR and vocal energy fraction on the selection songs against the step."""
    curves: dict[str, dict[str, Path]] = {}
    for summary in sorted((src / "runs").glob("*/summary.json")):
        row = dest / "runs" / summary.parent.name
        row.mkdir(parents=True, exist_ok=True)
        for name in ("summary.json", "valid.jsonl"):
            if (summary.parent / name).is_file():
                shutil.copy(summary.parent / name, row / name)
        if (row / "valid.jsonl").is_file():
            label, _, seed = summary.parent.name.rpartition("-seed")
            curves.setdefault(seed, {})[label] = row / "valid.jsonl"
    for seed, runs in curves.items():
        fig = compare_runs(runs, ("val_sdr", "val_vocal_fraction"), window=1)
        fig.suptitle(f"seed {seed}: every row on the selection songs (median vocal SDR in dB; vocal energy fraction)")
        fig.savefig(dest / f"selection-curves-seed{seed}.png", dpi=100)


def main(kind: str, src: str, dest: str) -> None:
    src_p, dest_p = Path(src), Path(dest)
    dest_p.mkdir(parents=True, exist_ok=True)
    if kind == "reproduce":
        finished = (src_p / "table3.json").is_file()
        tables = ("table1.md", "table1.json", "table3.md", "table3.json", "ablation.png", "timing.json")
        for name in tables if finished else ():
            shutil.copy(src_p / name, dest_p / name)
        if (src_p / "ordering.json").is_file():
            shutil.copy(src_p / "ordering.json", dest_p / "ordering.json")
        for folder in ("paper-protocol", "scores", "scores-v3"):
            if (src_p / folder).is_dir():
                shutil.copytree(src_p / folder, dest_p / folder, dirs_exist_ok=True)
        rows_on_selection_songs(src_p, dest_p)
        if not finished:
            scored = sorted(p.stem for p in (src_p / "scores").glob("*.json"))
            print(f"{src}: still running (no tables yet); copied the {len(scored)} methods scored so far: "
                  f"{', '.join(scored) or 'none'}")
    elif kind == "curve":
        shutil.copy(src_p / "valid.jsonl", dest_p / "valid.jsonl")
        validation_curves(src_p).savefig(dest_p / "learning_curve.png", dpi=110)
    else:
        raise SystemExit(f"unknown kind {kind!r}: reproduce or curve")


if __name__ == "__main__":
    main(*sys.argv[1:4])
