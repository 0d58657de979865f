"""Pack a compact WAV copy of MUSDB18-7 (``experiments/recipe/compact_data.py``) into FLAC for the trip to a lent
GPU, and unpack it there: the same 16-bit samples, bit for bit, in 71 % of the bytes (40 MB instead of 56 MB at the
paper preset's 20,480 Hz), so that the data, the wheels and the checkout fit one 64 MiB carry with room to spare.

``semisep_lib.study.data`` reads WAV song folders only (``mixture.wav``), so the device unpacks before training
(about a second); this script needs numpy and soundfile alone (no torch, no semisep_lib).

    python experiments/paper_curve/flac.py pack .gpu/musdb18-7-20k .gpu/musdb18-7-20k-flac     # here
    python3 experiments/paper_curve/flac.py unpack .gpu/musdb18-7-20k-flac /tmp/musdb18-7-20k   # on the device

Both directions skip a file whose target exists and is newer (idempotent), copy ``valid.txt``, and end by checking
that every target file holds exactly the source's samples (``--no-verify`` skips that).
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import numpy as np
import soundfile as sf


def convert(src: Path, dst: Path, to: str, verify: bool = True) -> tuple[int, int]:
    """Every ``*.wav`` (``to="flac"``) or ``*.flac`` (``to="wav"``) under ``src`` into the same layout under
    ``dst``, 16-bit PCM; returns (files, bytes written in all)."""
    ext_in = "wav" if to == "flac" else "flac"
    files = sorted(src.rglob(f"*.{ext_in}"))
    if not files:
        sys.exit(f"{src} holds no .{ext_in} file")
    for f in files:
        out = dst / f.relative_to(src).with_suffix(f".{to}")
        if out.is_file() and out.stat().st_mtime >= f.stat().st_mtime:
            continue
        x, rate = sf.read(f, dtype="int16", always_2d=True)  # the 16-bit integers themselves, no float round trip
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(out.name + ".part")
        sf.write(tmp, x, rate, format=to.upper(), subtype="PCM_16")
        tmp.replace(out)
    for extra in ("valid.txt",):
        if (src / extra).is_file():
            shutil.copyfile(src / extra, dst / extra)
    if verify:
        for f in files:
            a, ra = sf.read(f, dtype="int16", always_2d=True)
            b, rb = sf.read(dst / f.relative_to(src).with_suffix(f".{to}"), dtype="int16", always_2d=True)
            if ra != rb or a.shape != b.shape or not np.array_equal(a, b):
                sys.exit(f"{f}: the {to} copy differs from it")
    size = sum(p.stat().st_size for p in dst.rglob("*") if p.is_file())
    return len(files), size


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("direction", choices=["pack", "unpack"], help="pack: WAV → FLAC; unpack: FLAC → WAV")
    p.add_argument("src", type=Path)
    p.add_argument("dst", type=Path)
    p.add_argument("--no-verify", action="store_true")
    args = p.parse_args(argv)
    n, size = convert(args.src, args.dst, "flac" if args.direction == "pack" else "wav", not args.no_verify)
    print(f"{args.direction}: {n} files, {size / 1e6:.1f} MB in {args.dst}" + ("" if args.no_verify else ", verified"))


if __name__ == "__main__":
    main()
