#!/usr/bin/env python
"""Evaluation cost: museval (BSS Eval v4) on one track vs ``metrics.framewise_sdr``, and museval over four
tracks through ``evaluate.evaluate_estimates`` (serial, and its parallel path with worker processes).

The track is 44.1 kHz stereo (30 s in full mode): generated "vocals" and "accompaniment" references and
estimates that leak a little of each into the other plus noise. museval scores both targets (SDR, ISR, SIR, SAR,
1 s windows); the fast SDR computes the vocal SDR only, which is all it needs to stand in for museval's SDR —
timed both for the vocals alone and for both targets. The SDR values must agree window by window (the script
fails otherwise); the largest difference is reported. Each case is a fresh subprocess (its own peak RSS;
``peak_rss_children_mb`` is the largest worker).

Usage::

    python benchmarks/bench_evaluation.py [--quick] [--json benchmarks/results/evaluation.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import _common as C  # noqa: E402

RATE = 44100
SIZES = {"full": {"seconds": 30.0, "tracks": 4, "workers": 2}, "quick": {"seconds": 4.0, "tracks": 4, "workers": 2}}
TOLERANCE_DB = 1e-6


def track(seconds: float, index: int):
    """References and estimates ``(channels, samples)`` float32 of one generated track."""
    import numpy as np

    voc = C.test_signal(seconds, RATE, 2, seed=10 + 2 * index)
    acc = C.test_signal(seconds, RATE, 2, seed=11 + 2 * index)
    rng = np.random.default_rng(index)
    noise = (0.02 * rng.standard_normal(voc.shape)).astype(np.float32)
    est_v = 0.8 * voc + 0.1 * acc + noise
    mix = voc + acc
    return {"vocals": voc, "accompaniment": acc, "mixture": mix,
            "est": {"vocals": est_v, "accompaniment": mix - est_v}}


def case_single(seconds: float) -> dict:
    import numpy as np
    import museval
    from torch.utils.benchmark import Timer

    from semisep_lib.method.metrics import framewise_sdr

    t = track(seconds, 0)
    targets = ("vocals", "accompaniment")
    refs = np.stack([t[k].T for k in targets]).astype(np.float64)  # (2, samples, channels) as museval wants
    ests = np.stack([t["est"][k].T for k in targets]).astype(np.float64)
    t0 = time.perf_counter()
    sdr, isr, sir, sar = museval.evaluate(refs, ests, win=RATE, hop=RATE, mode="v4")
    museval_s = time.perf_counter() - t0

    def fast_vocals():
        return framewise_sdr(t["vocals"].T, t["est"]["vocals"].T, RATE)

    def fast_both():
        return [framewise_sdr(t[k].T, t["est"][k].T, RATE) for k in targets]

    # torch.utils.benchmark's Timer: warm-up, enough runs for a stable median (one thread: pure numpy)
    m_v = Timer("f()", globals={"f": fast_vocals}).blocked_autorange(min_run_time=1.0)
    m_b = Timer("f()", globals={"f": fast_both}).blocked_autorange(min_run_time=1.0)
    ours = fast_both()
    diffs, windows = [], 0
    for i, k in enumerate(targets):
        a, b = np.asarray(sdr[i], dtype=np.float64), ours[i]
        if a.shape != b.shape:
            raise AssertionError(f"{k}: museval gives {a.shape} windows, framewise_sdr {b.shape}")
        if not np.array_equal(np.isnan(a), np.isnan(b)):
            raise AssertionError(f"{k}: NaN windows differ")
        ok = np.isfinite(a)
        if not np.array_equal(ok, np.isfinite(b)):
            raise AssertionError(f"{k}: infinite windows differ")
        diffs.append(float(np.max(np.abs(a[ok] - b[ok]))) if ok.any() else 0.0)
        windows += int(ok.sum())
    max_diff = max(diffs)
    if not max_diff <= TOLERANCE_DB:
        raise AssertionError(f"framewise_sdr differs from museval by {max_diff} dB (> {TOLERANCE_DB})")
    return {"seconds_audio": seconds, "museval_seconds": round(museval_s, 3),
            "fast_vocals_seconds": m_v.median, "fast_both_seconds": m_b.median,
            "speedup_vocals": round(museval_s / m_v.median, 1), "speedup_both": round(museval_s / m_b.median, 1),
            "max_abs_diff_db": max_diff, "windows_compared": windows, "tolerance_db": TOLERANCE_DB,
            "vocal_sdr_median_museval": float(np.nanmedian(sdr[0])),
            "vocal_sdr_median_fast": float(np.nanmedian(ours[0]))}


def case_tracks(seconds: float, tracks: int, workers: int) -> dict:
    import resource

    from semisep_lib.study.data import Song
    from semisep_lib.study.evaluate import evaluate_estimates

    songs = []
    for i in range(tracks):
        t = track(seconds, i)
        songs.append((Song(name=f"track{i}", rate=RATE, mixture=t["mixture"], vocals=t["vocals"],
                           accompaniment=t["accompaniment"]), t["est"]))
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        res = evaluate_estimates(iter(songs), tmp, "bench", protocol="v4", workers=workers, progress=False,
                                 total=tracks)
        dt = time.perf_counter() - t0
    return {"seconds_audio": seconds, "tracks": tracks, "workers": workers, "seconds": round(dt, 3),
            "seconds_per_track": round(dt / tracks, 3), "vocal_sdr": res["vocals"]["SDR"],
            "fast_sdr": res["fast_sdr"],
            "peak_rss_children_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)}


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="4 s tracks (< 60 s)")
    p.add_argument("--json", type=Path, help="write the results here")
    p.add_argument("--case", choices=["single", "tracks"], help=argparse.SUPPRESS)
    p.add_argument("--seconds", type=float)
    p.add_argument("--tracks", type=int)
    p.add_argument("--workers", type=int)
    args = p.parse_args(argv)
    if args.case == "single":
        C.emit_case(case_single(args.seconds))
        return {}
    if args.case == "tracks":
        C.emit_case(case_tracks(args.seconds, args.tracks, args.workers))
        return {}

    mode = "quick" if args.quick else "full"
    S = SIZES[mode]
    out: dict = {"benchmark": "evaluation", "mode": mode, "machine": C.machine_info(), "sizes": S}
    t_start = time.perf_counter()
    print(f"evaluation ({mode}), load {C.load_average()}", flush=True)
    r = C.run_case(Path(__file__), ["--case", "single", "--seconds", str(S["seconds"])])
    print(f"  one {S['seconds']:g} s stereo track: museval {r['museval_seconds']:.2f} s, framewise_sdr "
          f"{1000 * r['fast_vocals_seconds']:.2f} ms (vocals) / {1000 * r['fast_both_seconds']:.2f} ms (both) → "
          f"{r['speedup_vocals']:.0f}× / {r['speedup_both']:.0f}×, max |ΔSDR| {r['max_abs_diff_db']:.2e} dB",
          flush=True)
    out["single"] = r
    out["tracks"] = []
    for workers in (1, S["workers"]):
        r = C.run_case(Path(__file__), ["--case", "tracks", "--seconds", str(S["seconds"]), "--tracks",
                                        str(S["tracks"]), "--workers", str(workers)])
        print(f"  {S['tracks']} tracks, workers={workers}: {r['seconds']:.2f} s ({r['seconds_per_track']:.2f} s/track),"
              f" peak {r['peak_rss_mb']:.0f} MB (+ workers {r['peak_rss_children_mb']:.0f} MB each)", flush=True)
        out["tracks"].append(r)
    serial, parallel = out["tracks"][0]["seconds"], out["tracks"][-1]["seconds"]
    out["parallel_speedup"] = round(serial / parallel, 2)
    return C.finish(out, t_start, args.json)


if __name__ == "__main__":
    main()
