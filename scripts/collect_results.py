"""Copy what the project's commands wrote into results/ (committed), so README numbers point at files.

    python scripts/collect_results.py reproduce runs/reproduce-cpu-toy results/reproduce-cpu-toy
    python scripts/collect_results.py curve runs/pretrained results/pretrained

Nothing is computed here: tables, JSON and timings are copied as the commands wrote them; the learning curve
is drawn from the run's own valid.jsonl (copied beside it).
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
    elif kind == "curve":
        shutil.copy(src_p / "valid.jsonl", dest_p / "valid.jsonl")
        validation_curves(src_p).savefig(dest_p / "learning_curve.png", dpi=110)
    else:
        raise SystemExit(f"unknown kind {kind!r}: reproduce or curve")


if __name__ == "__main__":
    main(*sys.argv[1:4])
