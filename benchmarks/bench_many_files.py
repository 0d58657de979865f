"""Peak memory of ``semisep separate`` over many short files: it must not grow with the number of files.

Writes ``N`` clips of 5–12 s of 16 kHz mono noise (lengths drawn at random, seed 0), separates the first 10 and
then all ``N`` with the shipped model, one ``semisep separate`` process each (peak RSS of the child, from
``resource.getrusage(RUSAGE_CHILDREN)``), and writes ``results/many_files.json``. Before batches of blocks came
in a fixed set of sizes (``separate._batches``) the same measurement gave 1.28 GB for 10 files and 1.63 GB for
100 (``/usr/bin/time -f %M`` on ``semisep separate``, this machine, 2026-12-03).

    python benchmarks/bench_many_files.py [--files 200] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

HERE = Path(__file__).resolve().parent
MB = 1 << 20


def peak_of_child(cmd: list[str]) -> tuple[float, float]:
    """Run ``cmd``; return (its peak RSS in MiB, seconds). Each call is the only child alive, so the
    children's maximum RSS after it is that child's (it starts below every later one)."""
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env={**os.environ, "OMP_NUM_THREADS": "1"})
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, time.perf_counter() - t


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--files", type=int, default=200)
    p.add_argument("--json", type=Path, default=HERE / "results" / "many_files.json")
    args = p.parse_args(argv)
    rng = np.random.default_rng(0)
    rows = {"load_avg_start": os.getloadavg()[0]}
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for i in range(args.files):
            path = Path(tmp) / f"clip{i:03d}.wav"
            sf.write(path, (0.1 * rng.standard_normal(int(rng.uniform(5, 12) * 16000))).astype(np.float32), 16000)
            files.append(str(path))
        for n in (10, args.files):  # the small case first: RUSAGE_CHILDREN keeps the largest child's peak
            peak, secs = peak_of_child([sys.executable, "-m", "semisep_lib", "separate", *files[:n],
                                        "--out", str(Path(tmp) / f"out{n}")])
            rows[f"{n} files"] = {"peak_rss_mib": round(peak, 1), "seconds": round(secs, 1)}
            print(f"{n:4d} files: peak {peak:7.1f} MiB, {secs:6.1f} s", flush=True)
    rows["load_avg_end"] = os.getloadavg()[0]
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
