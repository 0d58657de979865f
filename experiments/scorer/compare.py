"""Two decodes of MUSDB18's stems, one scorer: how far SIR, SAR and ISR move when the references move by 1e-5.

The shipped model separates the 14 validation songs of the MUSDB18 7-second preview; each separation is scored
three ways, every window kept: museval against the references decoded as musdb decodes them (16-bit, what the
project does now), museval against ffmpeg's float decode (what it did until December 7, 2026), and
``museval.eval_mus_track`` itself. Writes ``results/decodes.json`` and ``results/decodes.md``.

    python experiments/scorer/compare.py --root ../shared/data/musdb18-7        # about two minutes on two cores
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from semisep_lib.fileio import atomic_write_json, atomic_write_text
from semisep_lib.method.separate import PRETRAINED_DIR, load_separator
from semisep_lib.study.data import list_tracks, read_stem_file
from semisep_lib.study.evaluate import METRICS, TARGETS, score_track, suspect_windows

HERE = Path(__file__).resolve().parent


def windows(r: dict) -> dict:
    return {t: {m: np.array([np.nan if v is None else v for v in r["frames"][t][m]], float) for m in METRICS}
            for t in TARGETS}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", required=True)
    args = ap.parse_args()
    import musdb
    import museval

    sep = load_separator(PRETRAINED_DIR, device="cpu")
    tracks = {t.name: t for t in musdb.DB(root=args.root, subsets="train", split="valid").tracks}
    rows = []
    for name in list_tracks(args.root, "train", "valid"):
        path = Path(args.root) / "train" / f"{name}.stem.mp4"
        rate, grid = read_stem_file(path)
        _, floats = read_stem_file(path, grid="float")
        est = sep.stems(grid["mixture"], rate)
        scored = {}
        for label, s in (("int16", grid), ("float", floats)):
            refs = {"vocals": s["vocals"], "accompaniment": s["drums"] + s["bass"] + s["other"]}
            scored[label] = windows(score_track(name, rate, s["mixture"], refs, est))
        store = museval.eval_mus_track(tracks[name], {t: est[t].T.astype(np.float64) for t in TARGETS})
        theirs = {t["name"]: {m: np.array([f["metrics"][m] for f in t["frames"]], float) for m in METRICS}
                  for t in store.scores["targets"]}
        row = {"song": name}
        for label, w in (*scored.items(), ("eval_mus_track", theirs)):
            row[label] = {m: float(np.nanmedian(w["vocals"][m])) for m in METRICS}
            frames = {m: [None if np.isnan(v) else float(v) for v in w["vocals"][m]] for m in ("SDR", "ISR")}
            row[label]["suspect"] = list(suspect_windows(frames))
        row["largest window difference, int16 vs eval_mus_track"] = float(max(
            np.nanmax(np.abs(scored["int16"][t][m] - theirs[t][m])) for t in TARGETS for m in METRICS))
        row["largest window difference, float vs eval_mus_track"] = float(max(
            np.nanmax(np.abs(scored["float"][t][m] - theirs[t][m])) for t in TARGETS for m in METRICS))
        rows.append(row)
        print(name, {k: round(row[k]["SIR"], 2) for k in ("int16", "float", "eval_mus_track")}, flush=True)
    out = HERE / "results"
    atomic_write_json(out / "decodes.json", {"command": "python experiments/scorer/compare.py --root "
                                             + args.root, "rows": rows})
    lines = ["| song | SIR int16 | SIR float | SIR eval_mus_track | SAR int16 | SAR float | ISR int16 | ISR float "
             "| suspect int16 | suspect float | max window diff int16 / float vs eval_mus_track |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        frac = lambda s: f"{s[0]}/{s[1]}"  # noqa: E731
        lines.append(f"| {r['song']} | {r['int16']['SIR']:.2f} | {r['float']['SIR']:.2f} | "
                     f"{r['eval_mus_track']['SIR']:.2f} | {r['int16']['SAR']:.2f} | {r['float']['SAR']:.2f} | "
                     f"{r['int16']['ISR']:.2f} | {r['float']['ISR']:.2f} | {frac(r['int16']['suspect'])} | "
                     f"{frac(r['float']['suspect'])} | "
                     f"{r['largest window difference, int16 vs eval_mus_track']:.4f} / "
                     f"{r['largest window difference, float vs eval_mus_track']:.2f} |")
    d = lambda m: max(abs(r["int16"][m] - r["float"][m]) for r in rows)  # noqa: E731
    sus = lambda k: sum(r[k]["suspect"][0] for r in rows) / sum(r[k]["suspect"][1] for r in rows)  # noqa: E731
    lines += ["", f"Vocal medians per song (dB), the shipped model on the {len(rows)} validation songs. Largest "
              f"change of a song's median between the two decodes: SDR {d('SDR'):.3f}, SIR {d('SIR'):.2f}, SAR "
              f"{d('SAR'):.2f}, ISR {d('ISR'):.2f} dB. Suspect vocal windows (SDR > ISR + 0.5 dB), all songs: "
              f"{100 * sus('int16'):.0f}% against the 16-bit references, {100 * sus('float'):.0f}% against the float "
              "decode.", ""]
    atomic_write_text(out / "decodes.md", "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
