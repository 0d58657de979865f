"""A compact copy of MUSDB18-7 for a machine the data set cannot travel to whole (the lent GPU: 64 MiB).

Every song as the study trains and scores it — mono at the ``cpu`` preset's 16 kHz (or another preset's rate,
``--preset paper``: 20,480 Hz, for ``experiments/paper_curve``), decoded and resampled by
``semisep_lib.study.data.load_songs`` exactly as on this machine — written as 16-bit WAV song folders: ``mixture.wav``
and ``accompaniment.wav`` for the training songs (their vocals are never used), plus ``vocals.wav`` for the
validation songs, and a ``valid.txt`` naming them (so the copy needs no musdb list and no ffmpeg). About 45 MB
at 16 kHz, 58 MB at 20,480 Hz.
The only change to the signals is 16-bit rounding (about −96 dBFS); the script prints the largest sample so a
clipped copy would show. The copy is data, not code: it lives in an ignored folder and is never committed.

    .venv/bin/python experiments/recipe/compact_data.py --out .gpu/musdb18-7-16k
    .venv/bin/python experiments/recipe/compact_data.py --preset paper --out .gpu/musdb18-7-20k
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import soundfile as sf

from semisep_lib.method.config import Config
from semisep_lib.study.data import load_songs, validation_names
from study import DEFAULT_ROOT  # the study beside this script: the same MUSDB18-7 root


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--root", type=Path, default=DEFAULT_ROOT)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--preset", default="cpu", help="the preset whose sample rate the copy is at (default cpu)")
    args = p.parse_args(argv)
    rate = Config.from_preset(args.preset).spectral.sample_rate
    valid = set(validation_names(args.root))
    peak, files = 0.0, 0
    for song in load_songs(args.root, subset="train", sample_rate=rate, mono=True):
        folder = args.out / "train" / song.name
        folder.mkdir(parents=True, exist_ok=True)
        stems = {"mixture": song.mixture, "accompaniment": song.accompaniment}
        if song.name in valid:
            stems["vocals"] = song.vocals
        for stem, x in stems.items():
            peak = max(peak, float(np.abs(x).max()))
            sf.write(folder / f"{stem}.wav", x.reshape(-1), rate, subtype="PCM_16")
            files += 1
    (args.out / "valid.txt").write_text("\n".join(sorted(valid)) + "\n")
    size = sum(f.stat().st_size for f in args.out.rglob("*") if f.is_file())
    print(f"{files} files, {size / 1e6:.1f} MB in {args.out}; largest sample {peak:.3f}"
          + (" (CLIPPED at 1.0)" if peak > 1.0 else ""))


if __name__ == "__main__":
    main()
