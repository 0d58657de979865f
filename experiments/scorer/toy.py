"""Are the toy songs' references well posed for BSS Eval? The oracle mask's separations of the toy test songs,
scored against the references as they are on disk and against the same references plus white noise of a 16-bit
rounding's size (uniform ±0.5/32768, two seeds). If SIR, SAR and ISR move, the projection is ill-conditioned.
Writes ``results/toy.md`` and ``results/toy.json``.

    python experiments/scorer/toy.py        # about a minute on two cores

``results/toy-float-stems.md`` is this script's output with the toy generator of commit ``3443b43``, whose stems were exact floats:
the noise moved the oracle's SIR by 7 to 12 dB. Since then the toy generator puts every stem on the 16-bit grid
(``semisep_lib/study/toy.py``), and ``results/toy.md`` is the same script on those stems.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from semisep_lib.fileio import atomic_write_json, atomic_write_text
from semisep_lib.method.config import Config
from semisep_lib.study.baselines import OracleIRM
from semisep_lib.study.data import ensure_toy_dataset, load_songs
from semisep_lib.study.evaluate import METRICS, score_track, suspect_windows

HERE = Path(__file__).resolve().parent
SECONDS = None  # whole songs, as the cpu profile scores them (its ReproduceProfile.eval_seconds is None)


def main() -> None:
    rows = []
    for song in load_songs(ensure_toy_dataset(), "test"):
        n = song.samples if SECONDS is None else int(SECONDS * song.rate)
        mix, voc, acc = song.mixture[:, :n], song.vocals[:, :n], song.accompaniment[:, :n]
        est = OracleIRM(Config.from_preset("cpu")).with_references(voc, acc).stems(mix, song.rate)
        row = {"song": song.name}
        for label, seed in (("exact", None), ("noise seed 0", 0), ("noise seed 1", 1)):
            rng = np.random.default_rng(seed)
            noisy = (lambda x: x) if seed is None else (
                lambda x: (x + rng.uniform(-0.5, 0.5, x.shape) / 32768).astype(np.float32))
            r = score_track(song.name, song.rate, mix, {"vocals": noisy(voc), "accompaniment": noisy(acc)}, est)
            row[label] = {m: r["vocals"][m] for m in METRICS} | {"suspect": list(suspect_windows(r["frames"]["vocals"]))}
        rows.append(row)
    atomic_write_json(HERE / "results" / "toy.json", {"command": "python experiments/scorer/toy.py", "rows": rows})
    lines = ["| toy song (oracle mask) | SDR on disk / +noise | SIR on disk | SIR +noise (seed 0, 1) | ISR on disk | "
             "ISR +noise | suspect on disk | suspect +noise |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        e, a, b = r["exact"], r["noise seed 0"], r["noise seed 1"]
        lines.append(f"| {r['song']} | {e['SDR']:.2f} / {a['SDR']:.2f} | {e['SIR']:.2f} | {a['SIR']:.2f}, "
                     f"{b['SIR']:.2f} | {e['ISR']:.2f} | {a['ISR']:.2f} | {e['suspect'][0]}/{e['suspect'][1]} | "
                     f"{a['suspect'][0]}/{a['suspect'][1]} |")
    atomic_write_text(HERE / "results" / "toy.md", "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
