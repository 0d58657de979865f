"""Copy what the project's commands wrote into results/ (committed), so README numbers point at files.

    python scripts/collect_results.py reproduce runs/reproduce-cpu-toy results/reproduce-cpu-toy
    python scripts/collect_results.py curve runs/pretrained results/pretrained

Nothing is computed here: tables, JSON and timings are copied as the commands wrote them (with, where the run
has them, Kendall's τ in ordering.json, the paper's-protocol tables in paper-protocol/, and the per-method
scores in scores/ and scores-v3/ — from which `reproduce` continues a run whose models are gone); the learning
curve is drawn from the run's own valid.jsonl (copied beside it).
"""

import shutil
import sys
from pathlib import Path

from semisep_lib.plots import validation_curves


def main(kind: str, src: str, dest: str) -> None:
    src_p, dest_p = Path(src), Path(dest)
    dest_p.mkdir(parents=True, exist_ok=True)
    if kind == "reproduce":
        for name in ("table1.md", "table1.json", "table3.md", "table3.json", "ablation.png", "timing.json"):
            shutil.copy(src_p / name, dest_p / name)
        if (src_p / "ordering.json").is_file():
            shutil.copy(src_p / "ordering.json", dest_p / "ordering.json")
        for folder in ("paper-protocol", "scores", "scores-v3"):
            if (src_p / folder).is_dir():
                shutil.copytree(src_p / folder, dest_p / folder, dirs_exist_ok=True)
    elif kind == "curve":
        shutil.copy(src_p / "valid.jsonl", dest_p / "valid.jsonl")
        validation_curves(src_p).savefig(dest_p / "learning_curve.png", dpi=110)
    else:
        raise SystemExit(f"unknown kind {kind!r}: reproduce or curve")


if __name__ == "__main__":
    main(*sys.argv[1:4])
