#!/usr/bin/env python
"""Separation speed and peak memory: ours (``cpu`` and ``paper`` presets) against Open-Unmix and Hybrid Demucs.

All methods get the same deterministic 44.1 kHz stereo test signal (tones, noise, clicks; nothing is read from
disk) and random weights (speed and memory do not depend on the weights' values). Every case runs in a fresh
subprocess, so its peak RSS is its own; the cases of one run follow each other on the same machine.

* ``ours-cpu``, ``ours-paper``: ``models.build_models(Config.from_preset(p))[0]`` wrapped in
  ``separate.MaskSeparator`` with its defaults, ``separate(audio, 44100)``.
* ``openunmix``: ``openunmix.model.OpenUnmix`` with the ``umxhq`` sizes (n_fft 4096, hop 1024, 512 hidden,
  16 kHz bandwidth), one ``vocals`` target plus the residual (accompaniment), one Wiener EM iteration — i.e.
  ``umx --targets vocals --residual`` without the pretrained download.
* ``hdemucs``: ``torchaudio.models.hdemucs_high(sources=[drums, bass, other, vocals])`` (the MUSDB-HQ bundle's
  architecture), applied in 10 s segments overlapping by 1 s with linear cross-fades, as torchaudio's tutorial
  does (its code is not copied).

The ``paper`` preset needs ~1 s of CPU per 256×256 block and is timed on an excerpt; its 3-minute time is that
excerpt's time scaled by length (separation cost is linear in length: fixed-size blocks, fixed-size chunks).

Usage::

    python benchmarks/bench_separation.py [--quick] [--threads 2] [--json benchmarks/results/separation.json]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import _common as C  # noqa: E402

RATE = 44100
SECTIONS = ("main", "long", "variants")
#: full-mode and quick-mode sizes (seconds of audio)
SIZES = {
    "full": {"main": 180.0, "paper_excerpt": 32.0, "long": 600.0, "variants": 30.0, "paper_variants": 1.0,
             "repeats": 3, "ab_rounds": 5},
    "quick": {"main": 1.0, "paper_excerpt": 0.5, "long": 3.0, "variants": 1.0, "paper_variants": 0.5,
              "repeats": 1, "ab_rounds": 1},
}


# ---------------------------------------------------------------------------------------------------------------
# the methods (each returns a callable audio (C, n) float32 → vocals (C, n))


def make_ours(preset: str, variant: dict):
    import torch

    from semisep_lib.method.config import Config
    from semisep_lib.method.models import build_models
    from semisep_lib.method.separate import MaskSeparator

    cfg = Config.from_preset(preset)
    if "overlap" in variant:
        cfg.separate.overlap = float(variant["overlap"])
    torch.manual_seed(0)
    g = build_models(cfg)[0]
    if variant.get("channels_last"):
        g = g.to(memory_format=torch.channels_last)
    kwargs = {}
    if "batch_blocks" in variant:
        kwargs["batch_blocks"] = int(variant["batch_blocks"])
    if "chunk_seconds" in variant:
        kwargs["chunk_seconds"] = float(variant["chunk_seconds"])
    if variant.get("no_grad_params"):
        for p in g.parameters():
            p.requires_grad_(False)
    if variant.get("mkldnn") is False:
        torch.backends.mkldnn.enabled = False
    if "bf16" in variant:  # g's mask under bf16 autocast (separate.bf16; without the key: the preset's)
        cfg.separate.bf16 = bool(variant["bf16"])
    sep = MaskSeparator(g, cfg, device="cpu", **kwargs)
    if variant.get("compile"):
        # MaskSeparator(compile=True) compiles g.mask; here the whole mask call, autocast included
        sep._mask = torch.compile(sep._mask, dynamic=False)
    info = {"batch_blocks": sep.batch_blocks, "block_frames": sep.block, "model_rate": cfg.spectral.sample_rate,
            "g_parameters": sum(p.numel() for p in g.parameters())}
    return (lambda audio: sep.separate(audio, RATE)), info


def make_openunmix(variant: dict):
    import numpy as np
    import torch
    from openunmix.model import OpenUnmix, Separator
    from openunmix.utils import bandwidth_to_max_bin

    torch.manual_seed(0)
    n_fft, hop = 4096, 1024
    max_bin = bandwidth_to_max_bin(RATE, n_fft, 16000)
    target = OpenUnmix(nb_bins=n_fft // 2 + 1, nb_channels=2, hidden_size=512, max_bin=max_bin)
    sep = Separator({"vocals": target}, niter=1, residual=True, sample_rate=RATE, n_fft=n_fft, n_hop=hop,
                    nb_channels=2, wiener_win_len=300)
    sep.freeze()

    def run(audio: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            est = sep(torch.from_numpy(audio)[None])  # (1, targets, channels, samples)
        return est[0, 0].numpy()

    return run, {"g_parameters": sum(p.numel() for p in sep.parameters())}


def make_hdemucs(variant: dict):
    import numpy as np
    import torch
    from torchaudio.models import hdemucs_high

    sources = ["drums", "bass", "other", "vocals"]
    torch.manual_seed(0)
    model = hdemucs_high(sources=sources).eval()
    seg, over = int(variant.get("segment", 10.0) * RATE), int(variant.get("overlap", 1.0) * RATE)

    def run(audio: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(audio)
        mean, std = x.mean(), x.std().clamp_min(1e-8)  # the tutorial's normalisation
        x = (x - mean) / std
        n = x.shape[-1]
        out = torch.zeros(len(sources), x.shape[0], n)
        start = 0
        with torch.inference_mode():
            while start < n:
                end = min(n, start + seg)
                y = model(x[None, :, start:end])[0]  # (sources, channels, samples)
                w = torch.ones(end - start)
                if start > 0:  # fade in over the overlap with the previous segment
                    k = min(over, end - start)
                    w[:k] = (torch.arange(k) + 0.5) / over
                if end < n:  # fade out over the overlap with the next segment
                    w[-over:] *= 1 - (torch.arange(over) + 0.5) / over
                out[..., start:end] += y * w
                if end == n:
                    break
                start = end - over
        return (out[sources.index("vocals")] * std + mean).numpy()

    return run, {"g_parameters": sum(p.numel() for p in model.parameters()), "segment_s": seg / RATE,
                 "overlap_s": over / RATE}


# ---------------------------------------------------------------------------------------------------------------
# one case (in a fresh process)


def run_one(args) -> None:
    import json

    import torch

    C.set_threads(args.threads)
    rss_import = C.rss_mb()  # the interpreter with torch loaded, before anything of the case
    variant = json.loads(args.variant) if args.variant else {}
    audio = C.test_signal(args.seconds, RATE, 2, seed=0)
    if args.case == "ours-cpu":
        fn, info = make_ours("cpu", variant)
    elif args.case == "ours-paper":
        fn, info = make_ours("paper", variant)
    elif args.case == "openunmix":
        fn, info = make_openunmix(variant)
    elif args.case == "hdemucs":
        fn, info = make_hdemucs(variant)
    else:
        raise SystemExit(f"unknown case {args.case}")
    # warm-up: the whole input when asked (compiled variants: same shapes), else a 3 s excerpt
    t0 = time.perf_counter()
    fn(audio if args.warmup_full else audio[:, : min(audio.shape[1], 3 * RATE)])
    first = time.perf_counter() - t0
    rss_before = C.rss_mb()
    times = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        vocals = fn(audio)
        times.append(time.perf_counter() - t0)
    assert vocals.shape == audio.shape, (vocals.shape, audio.shape)
    assert bool(__import__("numpy").isfinite(vocals).all())
    best = min(times)
    result = {"case": args.case, "variant": variant, "audio_seconds": args.seconds, "threads": torch.get_num_threads(),
              "seconds": round(best, 4), "seconds_median": round(statistics.median(times), 4),
              "times": [round(t, 4) for t in times], "x_realtime": round(args.seconds / best, 2),
              "warmup_seconds": round(first, 3), "rss_after_import_mb": round(rss_import, 1),
              "rss_before_mb": round(rss_before, 1), **info}
    result["peak_rss_mb"] = round(C.peak_rss_mb(), 1)  # before the profiling passes, which hold event records
    if args.profile:
        from torch.profiler import ProfilerActivity, profile
        from torch.utils.flop_counter import FlopCounterMode

        # convolution/matmul FLOPs per second of audio (elementwise ops not counted), from up to 30 s of it
        part = audio[:, : min(audio.shape[1], 30 * RATE)]
        with FlopCounterMode(display=False) as fc:
            fn(part)
        per_s = fc.get_total_flops() / (part.shape[1] / RATE)
        result["gflop_per_audio_second"] = round(per_s / 1e9, 3)
        result["achieved_gflops"] = round(per_s * args.seconds / best / 1e9, 2)
        result["gflops_needed_for_100x"] = round(per_s * 100 / 1e9, 1)

        with profile(activities=[ProfilerActivity.CPU]) as prof:
            fn(audio)
        ev = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)
        total = sum(e.self_cpu_time_total for e in ev) or 1
        result["profile"] = [{"op": e.key, "self_ms": round(e.self_cpu_time_total / 1000, 1),
                              "share": round(e.self_cpu_time_total / total, 3), "calls": e.count}
                             for e in ev[:8]]
        result["peak_rss_mb_with_profiling"] = round(C.peak_rss_mb(), 1)
    C.emit_case(result)


def run_ab(args) -> None:
    """Interleaved before/after timings in one process: the default separator and each variant take turns on
    the same input, ``rounds`` times, so that a change of machine load hits both alike. Reports the median of
    the per-round ratios default / variant (> 1: the variant is faster)."""
    import json

    import torch

    C.set_threads(args.threads)
    audio = C.test_signal(args.seconds, RATE, 2, seed=0)
    spec = json.loads(args.variant)  # {label: variant}
    fns = {"default": make_ours(args.preset, {})[0]}
    threads = {"default": args.threads}
    for label, var in spec.items():
        var = dict(var)
        threads[label] = int(var.pop("threads", args.threads))
        fns[label] = make_ours(args.preset, var)[0]
    first, diff = {}, {}
    ref = None
    for label, fn in fns.items():  # warm-up on the whole input (compiled variants: the shapes of the run)
        torch.set_num_threads(threads[label])
        t0 = time.perf_counter()
        y = fn(audio)
        first[label] = time.perf_counter() - t0
        ref = y if ref is None else ref
        # how much the variant changes the vocals, relative to the default's peak
        diff[label] = float(abs(y - ref).max() / max(float(abs(ref).max()), 1e-12))
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(args.repeats):
        for label, fn in fns.items():
            torch.set_num_threads(threads[label])
            t0 = time.perf_counter()
            fn(audio)
            times[label].append(time.perf_counter() - t0)
    rows = []
    for label in fns:
        ratios = [d / v for d, v in zip(times["default"], times[label])]
        rows.append({"label": label, "threads": threads[label], "variant": spec.get(label, {}),
                     "seconds_median": round(statistics.median(times[label]), 4),
                     "x_realtime": round(args.seconds / statistics.median(times[label]), 2),
                     "speedup_median": round(statistics.median(ratios), 3),
                     "speedup_min": round(min(ratios), 3), "speedup_max": round(max(ratios), 3),
                     "first_pass_seconds": round(first[label], 2), "max_rel_diff": diff[label],
                     "times": [round(t, 4) for t in times[label]]})
    C.emit_case({"case": "ab", "preset": args.preset, "audio_seconds": args.seconds, "rounds": args.repeats,
                 "load_average": C.load_average(), "rows": rows})


# ---------------------------------------------------------------------------------------------------------------
# the whole benchmark


def case(name: str, seconds: float, threads: int, repeats: int = 1, variant: dict | None = None,
         warmup_full: bool = False, profile: bool = False, label: str | None = None) -> dict:
    import json

    args = ["--case", name, "--seconds", str(seconds), "--threads", str(threads), "--repeats", str(repeats)]
    if variant:
        args += ["--variant", json.dumps(variant)]
    if warmup_full:
        args.append("--warmup-full")
    if profile:
        args.append("--profile")
    t0 = time.perf_counter()
    r = C.run_case(Path(__file__), args)
    r["label"] = label or name
    print(f"  {r['label']:<34} {seconds:>6g} s audio  {r['seconds']:>9.3f} s  {r['x_realtime']:>8.2f}× RT  "
          f"peak {r['peak_rss_mb']:>7.0f} MB  (case wall {time.perf_counter() - t0:.0f} s)", flush=True)
    return r


def speedups(main_cases: dict) -> None:
    ours = main_cases["ours-cpu"]["seconds"]
    for r in main_cases.values():
        t = r.get("extrapolated_seconds", r["seconds"])
        r["ours_cpu_speedup"] = round(t / ours, 2)  # how many times faster ours-cpu is than this method


#: what limits the kernels' instruction sets: oneDNN, PyTorch's own, MKL (Open-Unmix's matrix products, the
#: STFT), OpenBLAS (numpy). All four at AVX2 / Haswell make this CPU compute as one without AVX-512 would.
KERNEL_VARIABLES = ("ONEDNN_MAX_CPU_ISA", "ATEN_CPU_CAPABILITY", "MKL_ENABLE_INSTRUCTIONS", "OPENBLAS_CORETYPE")


def kernel_environment() -> dict:
    """The :data:`KERNEL_VARIABLES` set in this process's environment."""
    return {k: os.environ[k] for k in KERNEL_VARIABLES if k in os.environ}


def remeasure(args, S: dict, th: int) -> dict:
    """Re-run some main cases (e.g. after a noisy first run) and merge them into an existing result file."""
    import json

    if not args.json or not args.json.exists():
        raise SystemExit("--remeasure needs an existing --json file to merge into")
    out = json.loads(args.json.read_text())
    print(f"re-measuring {args.remeasure}, load {C.load_average()}", flush=True)
    for name in args.remeasure:
        r = case(name, S["main"], th, S["repeats"] if name == "ours-cpu" else 1, profile=name == "ours-cpu")
        r["remeasured"] = {"date": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "load_average": C.load_average(),
                           "environment": kernel_environment()}
        out["main"][name] = r
    speedups(out["main"])
    C.write_json(args.json, out)
    print(f"merged into {args.json}")
    return out


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="short inputs (smoke run, < 60 s)")
    p.add_argument("--threads", type=int, default=2, help="torch threads for every case (default 2)")
    p.add_argument("--json", type=Path, help="write the results here")
    p.add_argument("--skip-baselines", action="store_true", help="ours only")
    p.add_argument("--skip-variants", action="store_true", help="no speed-up experiments")
    p.add_argument("--sections", nargs="+", choices=SECTIONS, default=list(SECTIONS),
                   help="run only these sections (merged into an existing --json file)")
    p.add_argument("--remeasure", nargs="+", metavar="CASE", choices=["ours-cpu", "openunmix", "hdemucs"],
                   help="re-run these main cases only and merge them into the existing --json file")
    # one case (internal)
    p.add_argument("--case")
    p.add_argument("--seconds", type=float)
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument("--variant")
    p.add_argument("--warmup-full", action="store_true")
    p.add_argument("--profile", action="store_true")
    p.add_argument("--preset", default="cpu")
    args = p.parse_args(argv)
    if args.case == "ab":
        run_ab(args)
        return {}
    if args.case:
        run_one(args)
        return {}

    mode = "quick" if args.quick else "full"
    S = SIZES[mode]
    th = args.threads
    if args.remeasure:
        return remeasure(args, S, th)
    sections = set(args.sections)
    out: dict = {"benchmark": "separation", "mode": mode, "rate": RATE, "channels": 2, "machine": C.machine_info(),
                 "sizes": S, "threads": th}
    out["environment"] = kernel_environment()
    if sections != set(SECTIONS) and args.json and args.json.exists():  # a partial run: merge into the file
        import json

        old = json.loads(args.json.read_text())
        old.setdefault("partial_reruns", []).append({"sections": sorted(sections), "machine": out["machine"]})
        out = old
    t_start = time.perf_counter()
    print(f"separation ({mode}), {th} threads, load {C.load_average()}", flush=True)

    # 1. same input, every method
    if "main" in sections:
        main_cases = {"ours-cpu": case("ours-cpu", S["main"], th, S["repeats"], profile=True)}
        paper = case("ours-paper", S["paper_excerpt"], th, 1, label="ours-paper (excerpt)")
        paper["extrapolated_seconds"] = round(paper["seconds"] * S["main"] / S["paper_excerpt"], 2)
        main_cases["ours-paper"] = paper
        if not args.skip_baselines:
            if importlib.util.find_spec("openunmix"):
                main_cases["openunmix"] = case("openunmix", S["main"], th, 1)
            else:  # a benchmark-only package (benchmarks/requirements.txt): the rest runs without it
                why = "openunmix is not installed: .venv/bin/python -m pip install --no-deps -r benchmarks/requirements.txt"
                print(f"  openunmix: skipped ({why})", flush=True)
                out.setdefault("skipped", {})["openunmix"] = why
            main_cases["hdemucs"] = case("hdemucs", S["main"], th, 1)
        speedups(main_cases)
        out["main"] = main_cases

    # 2. peak memory on a long input (paper: estimated, see README)
    if "long" in sections:
        paper = out["main"]["ours-paper"]
        long_cpu = case("ours-cpu", S["long"], th, 1, label="ours-cpu (long)")
        short_cpu = case("ours-cpu", S["paper_excerpt"], th, 1, label="ours-cpu (paper-excerpt length)")
        long_bb8 = case("ours-cpu", S["long"], th, 1, {"batch_blocks": 8}, label="ours-cpu (long), batch_blocks=8")
        grow = long_cpu["peak_rss_mb"] - short_cpu["peak_rss_mb"]
        out["long"] = {
            "seconds_audio": S["long"],
            "ours-cpu": long_cpu,
            "ours-cpu-batch_blocks=8": long_bb8,
            "ours-cpu-short": short_cpu,
            "ours-paper-estimate": {
                "peak_rss_mb": round(paper["peak_rss_mb"] + grow, 1),
                "how": (f"peak(paper, {S['paper_excerpt']:g} s) + [peak(cpu, {S['long']:g} s) - peak(cpu, "
                        f"{S['paper_excerpt']:g} s)]: the model's working set is per 30 s chunk, the rest grows "
                        f"with the track and does not depend on the model"),
                "extrapolated_seconds": round(paper["seconds"] * S["long"] / S["paper_excerpt"], 1),
            },
        }

    # 3. speed-up experiments on ours: fresh processes (time and peak RSS), then interleaved A/B timings
    if "variants" in sections:
        v = S["variants"]
        if mode == "quick":
            trials = [("default", {}, th), ("batch_blocks=16", {"batch_blocks": 16}, th)]
            ab_cpu = {"batch_blocks=16": {"batch_blocks": 16}}
            ab_paper = {}
        else:
            trials = [
                ("default (batch_blocks from the memory rule)", {}, th),
                ("1 thread", {}, 1),
                ("batch_blocks=4", {"batch_blocks": 4}, th),
                ("batch_blocks=8", {"batch_blocks": 8}, th),
                ("batch_blocks=16", {"batch_blocks": 16}, th),
                ("batch_blocks=32", {"batch_blocks": 32}, th),
            ]
            ab_cpu = {
                "1 thread": {"threads": 1},
                "batch_blocks=4": {"batch_blocks": 4},
                "batch_blocks=8": {"batch_blocks": 8},
                "batch_blocks=16": {"batch_blocks": 16},
                "channels_last": {"channels_last": True},
                "channels_last + batch_blocks=8": {"channels_last": True, "batch_blocks": 8},
                "torch.compile": {"compile": True},
                "torch.compile + batch_blocks=8": {"compile": True, "batch_blocks": 8},
                "bf16 autocast (changes output slightly)": {"bf16": True},
                "bf16 autocast + batch_blocks=8 (changes output slightly)": {"bf16": True, "batch_blocks": 8},
                "overlap 0.25 (changes output)": {"overlap": 0.25},
                "overlap 0 (changes output)": {"overlap": 0.0},
                "torch.compile + batch_blocks=8 + bf16 autocast (changes output slightly)":
                    {"compile": True, "batch_blocks": 8, "bf16": True},
                "torch.compile + batch_blocks=8 + overlap 0.25 (changes output)":
                    {"compile": True, "batch_blocks": 8, "overlap": 0.25},
                "torch.compile + batch_blocks=8 + overlap 0 (changes output)":
                    {"compile": True, "batch_blocks": 8, "overlap": 0.0},
            }
            ab_paper = {"1 thread": {"threads": 1}, "channels_last": {"channels_last": True},
                        "bf16 autocast (changes output slightly)": {"bf16": True}}
        out["variants"] = {"ours-cpu": [], "ours-paper": []}
        for label, var, t in trials:
            r = case("ours-cpu", v, t, S["repeats"], var, warmup_full=True, label=f"cpu: {label}")
            r["label"] = label
            out["variants"]["ours-cpu"].append(r)
        # the recommended settings on the main input, in fresh processes (the ratio to the main ours-cpu row)
        out["recommended"] = []
        if mode == "full":
            for label, var in (("batch_blocks=8", {"batch_blocks": 8}),
                               ("batch_blocks=8 + torch.compile", {"batch_blocks": 8, "compile": True})):
                r = case("ours-cpu", S["main"], th, S["repeats"], var, warmup_full=True, label=f"cpu 3 min: {label}")
                r["label"] = label
                out["recommended"].append(r)
        out["ab"] = {}
        for preset, spec, secs, rounds in (("cpu", ab_cpu, v, S["ab_rounds"]),
                                           ("paper", ab_paper, S["paper_variants"], max(1, S["ab_rounds"] - 2))):
            if not spec:
                continue
            import json as _json

            r = C.run_case(Path(__file__), ["--case", "ab", "--preset", preset, "--seconds", str(secs), "--threads",
                                            str(th), "--repeats", str(rounds), "--variant", _json.dumps(spec)])
            for row in r["rows"]:
                print(f"  A/B {preset}: {row['label']:<40} {row['seconds_median']:>8.3f} s  "
                      f"{row['speedup_median']:>6.2f}× ({row['speedup_min']:.2f}–{row['speedup_max']:.2f})",
                      flush=True)
            out["ab"][f"ours-{preset}"] = r
    return C.finish(out, t_start, args.json)


if __name__ == "__main__":
    main()
