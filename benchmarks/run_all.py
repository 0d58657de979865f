#!/usr/bin/env python
"""Run the three benchmarks and rewrite the figures section of ``benchmarks/README.md`` from their JSON.

    python benchmarks/run_all.py            # full run (~30-40 min on 2 cores): results/*.json + README figures
    python benchmarks/run_all.py --quick    # smoke run (short inputs), results/quick/*.json, README untouched
    python benchmarks/run_all.py --readme-only   # re-render the README from the existing results/*.json

The figures section is the text between ``<!-- figures:start -->`` and ``<!-- figures:end -->``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import _common as C  # noqa: E402

BENCHES = {"separation": "bench_separation.py", "training": "bench_training.py", "evaluation": "bench_evaluation.py"}
README = HERE / "README.md"
START, END = "<!-- figures:start -->", "<!-- figures:end -->"


def f(x, d: int = 2) -> str:
    return C.fmt(x, d)


def yes(ok: bool) -> str:
    return "**met**" if ok else "**missed**"


# ---------------------------------------------------------------------------------------------------------------
# rendering


def render(results: dict, command: str) -> str:
    sep, tr, ev = results.get("separation"), results.get("training"), results.get("evaluation")
    any_r = sep or tr or ev
    m = any_r["machine"]
    L: list[str] = []
    L.append(f"Produced by the commands below (`{command}` runs all three; the JSON files are in "
             f"`benchmarks/results/`, rendered here by `python benchmarks/run_all.py --readme-only`):\n")
    for name, r in (("separation", sep), ("training", tr), ("evaluation", ev)):
        if not r:
            continue
        script = f"benchmarks/{BENCHES[name]}"
        line = f"* {name}: `python {script}{' --quick' if r.get('mode') == 'quick' else ''}` started {r['machine']['date']}"
        extra = []
        for name_, row in (r.get("main") or {}).items():
            if row.get("remeasured"):
                extra.append(f"`{name_}` re-measured {row['remeasured']['date']}")
        if any(row.get("remeasured") for row in (r.get("main") or {}).values()):
            names = " ".join(k for k, v in r["main"].items() if v.get("remeasured"))
            extra.append(f"(`python {script} --remeasure {names} --json benchmarks/results/{name}.json`)")
        covered: set = set()
        shown = []
        for pr in reversed(r.get("partial_reruns", [])):  # only re-runs whose figures were not replaced later
            if set(pr["sections"]) - covered:
                shown.append(pr)
            covered |= set(pr["sections"])
        for pr in reversed(shown):
            extra.append(f"sections {', '.join(pr['sections'])} re-run {pr['machine']['date']} (load "
                         f"{pr['machine']['load_average_at_start'][0]}; `python {script} --sections "
                         f"{' '.join(pr['sections'])} --json benchmarks/results/{name}.json`)")
        L.append(line + ("; " + "; ".join(extra) if extra else "") + ".")
    L.append("")
    L.append("| machine | |\n|---|---|")
    L.append(f"| CPU | {m['cpu']} (torch CPU capability {m.get('cpu_capability')}) |")
    L.append(f"| cores | {m['logical_cores']} logical, {m['usable_cores']} usable |")
    L.append(f"| memory | {m['memory_gb']} GB |")
    L.append(f"| software | Python {m['python']}, torch {m['torch']} (default {m['torch_default_threads']} threads, "
             f"{m['torch_interop_threads']} inter-op), mkldnn {m['mkldnn']} |")
    loads = []
    for name, r in (("separation", sep), ("training", tr), ("evaluation", ev)):
        if r:
            loads.append(f"{name} {r['machine']['load_average_at_start'][0]} → {r['load_average_at_end'][0]}")
    L.append(f"| 1-min load average (start → end) | {'; '.join(loads)} |")
    L.append("")

    targets: list[tuple[str, str, str]] = []
    if sep:
        S = sep["sizes"]
        main = sep["main"]
        L.append(f"### Separation — the same {S['main']:g} s 44.1 kHz stereo input, {sep['threads']} torch threads\n")
        L.append("| method | audio timed | seconds | × real time | peak RSS (MiB) | ours-cpu is … × faster |")
        L.append("|---|---|---|---|---|---|")
        for name, r in main.items():
            if "extrapolated_seconds" in r:
                secs = f"{f(r['extrapolated_seconds'])} (extrapolated from {f(r['seconds'])} s)"
                rt = S["main"] / r["extrapolated_seconds"]
                timed = f"{r['audio_seconds']:g} s excerpt"
            else:
                secs, rt, timed = f(r["seconds"], 3), r["x_realtime"], f"{r['audio_seconds']:g} s"
                if r.get("times") and len(r["times"]) > 1:
                    secs += f" (best of {len(r['times'])}, median {f(r['seconds_median'], 3)})"
            L.append(f"| {name} | {timed} | {secs} | {f(rt)} | {f(r['peak_rss_mb'], 0)} | "
                     f"{'—' if name == 'ours-cpu' else f(r['ours_cpu_speedup'])} |")
        for name, why in sep.get("skipped", {}).items():
            L.append(f"| {name} | skipped: {why} | | | | |")
        again = [f"{k} (load {r['remeasured']['load_average'][0]})" for k, r in main.items() if r.get("remeasured")]
        if again:
            L.append(f"\nRe-measured together with `--remeasure` (see above): {', '.join(again)}; the ratios use "
                     f"those figures.")
        imp = main["ours-cpu"].get("rss_after_import_mb")
        L.append(f"\nPeak RSS is `ru_maxrss` of a fresh process per case; it includes the interpreter with torch "
                 f"loaded ({f(imp, 0)} MiB before the case does anything — the CUDA build of torch maps large "
                 f"libraries).\n")
        lg = sep["long"]
        lc, est = lg["ours-cpu"], lg["ours-paper-estimate"]
        L.append(f"**Long input ({lg['seconds_audio']:g} s = {lg['seconds_audio'] / 60:g} min, stereo 44.1 kHz).** "
                 f"ours-cpu: peak RSS **{f(lc['peak_rss_mb'], 0)} MiB** measured ({f(lc['seconds'])} s, "
                 f"{f(lc['x_realtime'])}× real time). ours-paper: **{f(est['peak_rss_mb'], 0)} MiB** estimated "
                 f"({est['how']}; a measured run would take ~{f(est['extrapolated_seconds'] / 60, 0)} min).")
        b8 = lg.get("ours-cpu-batch_blocks=8")
        if b8:
            L.append(f"With `batch_blocks=8` (see the experiments below) ours-cpu peaks at **{f(b8['peak_rss_mb'], 0)} MiB**"
                     f" on the same input ({f(b8['seconds'])} s, {f(b8['x_realtime'])}× real time).")
        L.append("")
        cpu = main["ours-cpu"]
        best = min(sep.get("recommended") or [cpu], key=lambda r: r["seconds"])
        with_best = (f"; {f(best['x_realtime'])}× with {best['label']}" if best is not cpu else "")
        targets.append(("separation, cpu preset, 44.1 kHz stereo, 2 cores: ≥ 100× real time",
                        f"{f(cpu['x_realtime'])}× (defaults){with_best}", yes(cpu["x_realtime"] >= 100)))
        for other, label, goal in (("openunmix", "Open-Unmix", 2.5), ("hdemucs", "Hybrid Demucs", 20)):
            if other in main:
                o = main[other]["seconds"]
                with_best = (f"; {f(o / best['seconds'])}× with {best['label']}" if best is not cpu else "")
                targets.append((f"ours-cpu ≥ {goal:g}× faster than {label} (same run)",
                                f"{f(main[other]['ours_cpu_speedup'])}× (defaults){with_best}",
                                yes(main[other]["ours_cpu_speedup"] >= goal)))

        def mem(mib):
            return f"{f(mib, 0)} MiB = {mib / 1024:.2f} GiB"

        def mem_ok(mib):  # the speed issue's limit: 1.2 GiB
            return yes(mib <= 1.2 * 1024)

        b8 = lg.get("ours-cpu-batch_blocks=8")
        targets.append((f"peak memory ≤ 1.2 GiB for a {lg['seconds_audio'] / 60:g}-minute track (cpu preset, whole "
                        f"process incl. torch)", mem(lc["peak_rss_mb"]) + " (defaults)"
                        + (f"; {mem(b8['peak_rss_mb'])} with batch_blocks=8" if b8 else ""),
                        mem_ok(lc["peak_rss_mb"])))
        targets.append(("… paper preset (estimated)", mem(est["peak_rss_mb"]), mem_ok(est["peak_rss_mb"])))
        if cpu.get("gflop_per_audio_second"):
            L.append(f"**Arithmetic of ours-cpu** (`torch.utils.flop_counter`, convolutions only): "
                     f"{f(cpu['gflop_per_audio_second'])} GFLOP per second of stereo audio; the run above "
                     f"sustained {f(cpu['achieved_gflops'])} GFLOP/s; 100× real time needs "
                     f"{f(cpu['gflops_needed_for_100x'])} GFLOP/s.\n")
        prof = cpu.get("profile")
        if prof:
            L.append(f"**Profile of ours-cpu** (`torch.profiler`, one more pass over the {S['main']:g} s input; self "
                     "CPU time):\n")
            L.append("| op | self ms | share | calls |\n|---|---|---|---|")
            for e in prof:
                L.append(f"| `{e['op']}` | {f(e['self_ms'], 0)} | {100 * e['share']:.1f}% | {e['calls']} |")
            L.append("")
        var = sep.get("variants")
        if var:
            for preset, rows in var.items():
                if not rows:
                    continue
                base = rows[0]["seconds"]
                L.append(f"**Variants in fresh processes, {preset}** ({rows[0]['audio_seconds']:g} s input, timed "
                         f"after a warm-up pass over the same input; best of {len(rows[0]['times'])}; "
                         f"`MaskSeparator` and `g` used as they are, changes made from outside; each row's own "
                         f"peak RSS):\n")
                L.append("| variant | threads | seconds | × real time | vs default | peak RSS (MiB) | first pass (s) |")
                L.append("|---|---|---|---|---|---|---|")
                for r in rows:
                    L.append(f"| {r['label']} | {r['threads']} | {f(r['seconds'], 3)} | {f(r['x_realtime'])} | "
                             f"{f(base / r['seconds'])}× | {f(r['peak_rss_mb'], 0)} | {f(r['warmup_seconds'], 1)} |")
                L.append("")
        rec = sep.get("recommended")
        if rec:
            base = main["ours-cpu"]["seconds"]
            L.append(f"**Recommended settings on the {S['main']:g} s input** (fresh processes, best of "
                     f"{len(rec[0]['times'])} after a warm-up pass; output unchanged up to float rounding):\n")
            L.append("| ours-cpu with | seconds | × real time | vs default | vs Hybrid Demucs | peak RSS (MiB) |")
            L.append("|---|---|---|---|---|---|")
            hd = main.get("hdemucs", {}).get("seconds")
            for r in rec:
                L.append(f"| {r['label']} | {f(r['seconds'], 3)} | {f(r['x_realtime'])} | {f(base / r['seconds'])}× | "
                         f"{f(hd / r['seconds']) + '× faster' if hd else '–'} | {f(r['peak_rss_mb'], 0)} |")
            L.append("")
        for preset, ab in (sep.get("ab") or {}).items():
            L.append(f"**Interleaved A/B timings, {preset}** ({ab['audio_seconds']:g} s input; one process builds the "
                     f"default separator and each variant, warms each up on the input, then they take turns "
                     f"{ab['rounds']} times so that load changes hit all alike; speed-up = median over rounds of "
                     f"default / variant, range in brackets; max output change = max |vocals − default vocals| / "
                     f"max |default vocals|; load at the end {ab['load_average'][0]}):\n")
            L.append("| variant | threads | median seconds | × real time | speed-up vs default | first pass (s) | "
                     "max output change |")
            L.append("|---|---|---|---|---|---|---|")
            for r in ab["rows"]:
                d = r.get("max_rel_diff")
                L.append(f"| {r['label']} | {r['threads']} | {f(r['seconds_median'], 3)} | {f(r['x_realtime'])} | "
                         f"**{f(r['speedup_median'])}×** ({f(r['speedup_min'])}–{f(r['speedup_max'])}) | "
                         f"{f(r['first_pass_seconds'], 1)} | {'–' if d is None else f'{d:.1e}'} |")
            L.append("")
    if tr:
        L.append("### Training — the real step (`discriminator_losses` ×`d_steps` + `generator_losses`, backward, "
                 "Adam), CPU\n")
        L.append("| case | threads | batch | d_steps | it/s | examples/s | audio s/s | time in D / G | "
                 "peak RSS (MiB) |")
        L.append("|---|---|---|---|---|---|---|---|---|")
        for r in tr["cases"] + tr.get("variants", []):
            label = r["label"] + (f" ({r['warmup_seconds']:.0f} s to compile)" if r["variant"].get("compile") else "")
            L.append(f"| {label} | {r['threads']} | {r['batch_size']} | {r['d_steps']} | {f(r['it_per_s'], 3)} | "
                     f"{f(r['examples_per_s'])} | {f(r['audio_s_per_s'])} | {100 * r['share_discriminator']:.0f}% / "
                     f"{100 * r['share_generator']:.0f}% | {f(r['peak_rss_mb'], 0)} |")
        for r in tr.get("end_to_end", []):
            L.append(f"| {r['label']} ({r['timed_steps']} steps timed) | {r['threads']} | {r['batch_size']} | "
                     f"{r['d_steps']} | {f(r['it_per_s'], 3)} | {f(r['examples_per_s'])} | – | – | "
                     f"{f(r['peak_rss_mb'], 0)} |")
        L.append("")
        ab = tr.get("ab")
        if ab:
            L.append(f"**Interleaved A/B, {ab['preset']} preset** (one process, each setting its own models from the same seed; {ab['per_round']} "
                     f"iterations per setting per round, {ab['rounds']} rounds taking turns, so load changes hit all "
                     f"settings alike; load at the end {ab['load_average'][0]}):\n")
            ref = "vs before, 2 threads" if "vs_before" in ab["rows"][0] else "vs 1 thread"
            L.append(f"| setting | it/s (median) | examples/s | {ref} (median of per-round ratios) |")
            L.append("|---|---|---|---|")
            for r in ab["rows"]:
                label = r["label"] + (f" (D steps {r['d_steps']})" if "d_steps" in r else "")
                L.append(f"| {label} | {f(r['it_per_s'], 3)} | {f(r['examples_per_s'])} | "
                         f"**{f(r.get('vs_before', r.get('vs_1_thread')))}×** |")
            if "norms_max_abs_difference" in ab:
                L.append(f"\n*PyTorch's norms*: `nn.InstanceNorm2d` and `nn.GroupNorm` in place of "
                         f"`models.InstanceNorm2d` and `models.LayerNorm2d`; on one batch in bf16 the largest "
                         f"difference of `g`'s output and "
                         f"weight gradients between the two is {ab['norms_max_abs_difference']:.3g}.")
            L.append("")
    if ev:
        s = ev["single"]
        L.append(f"### Evaluation — {s['seconds_audio']:g} s stereo 44.1 kHz tracks, museval v4 (1 s windows)\n")
        L.append("| what | seconds | vs museval |\n|---|---|---|")
        L.append(f"| museval.evaluate, one track (both targets, SDR/ISR/SIR/SAR) | {f(s['museval_seconds'], 3)} | 1× |")
        L.append(f"| metrics.framewise_sdr, vocals | {s['fast_vocals_seconds'] * 1000:.2f} ms | "
                 f"{f(s['speedup_vocals'], 0)}× faster |")
        L.append(f"| metrics.framewise_sdr, both targets | {s['fast_both_seconds'] * 1000:.2f} ms | "
                 f"{f(s['speedup_both'], 0)}× faster |")
        for r in ev["tracks"]:
            workers = (f" + {f(r['peak_rss_children_mb'], 0)} MiB per worker" if r["workers"] > 1 else "")
            L.append(f"| evaluate.evaluate_estimates, {r['tracks']} tracks, workers={r['workers']} | "
                     f"{f(r['seconds'], 2)} ({f(r['seconds_per_track'], 2)} per track; peak RSS "
                     f"{f(r['peak_rss_mb'], 0)} MiB{workers}) | – |")
        L.append(f"\nSDR equality: {s['windows_compared']} windows compared (vocals and accompaniment), largest "
                 f"|museval − framewise_sdr| = **{s['max_abs_diff_db']:.1e} dB** (the script fails above "
                 f"{s['tolerance_db']:g} dB); parallel speed-up with {ev['tracks'][-1]['workers']} workers: "
                 f"{f(ev['parallel_speedup'])}×.\n")
        targets.append(("fast SDR ≥ 100× faster than museval", f"{f(s['speedup_vocals'], 0)}×",
                        yes(s["speedup_vocals"] >= 100)))
        targets.append(("fast SDR equal to museval's SDR", f"max diff {s['max_abs_diff_db']:.1e} dB",
                        yes(s["max_abs_diff_db"] <= s["tolerance_db"])))
    if targets:
        L.append("### Targets\n")
        L.append("| target | measured | |\n|---|---|---|")
        for t, v, ok in targets:
            L.append(f"| {t} | {v} | {ok} |")
        L.append("")
    return "\n".join(L)


def update_readme(text: str, readme: Path = README) -> None:
    old = readme.read_text() if readme.exists() else f"# Benchmarks\n\n## Figures\n\n{START}\n{END}\n"
    if START not in old or END not in old:
        old = old.rstrip() + f"\n\n## Figures\n\n{START}\n{END}\n"
    head, rest = old.split(START, 1)
    _, tail = rest.split(END, 1)
    readme.write_text(f"{head}{START}\n{text.rstrip()}\n{END}{tail}")


# ---------------------------------------------------------------------------------------------------------------


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="short inputs; writes results/quick/, not the README")
    p.add_argument("--only", nargs="+", choices=list(BENCHES), help="run only these")
    p.add_argument("--out", type=Path, help="folder for the JSON results")
    p.add_argument("--readme", action="store_true", help="rewrite the README figures even with --quick")
    p.add_argument("--no-readme", action="store_true", help="leave the README alone")
    p.add_argument("--readme-only", action="store_true", help="only re-render the README from existing JSON")
    args = p.parse_args(argv)
    out = args.out or (C.RESULTS / "quick" if args.quick else C.RESULTS)
    names = args.only or list(BENCHES)
    command = "python benchmarks/run_all.py" + (" --quick" if args.quick else "")
    if not args.readme_only:
        for name in names:
            cmd = [sys.executable, str(HERE / BENCHES[name]), "--json", str(out / f"{name}.json")]
            if args.quick:
                cmd.append("--quick")
            t0 = time.perf_counter()
            rc = subprocess.call(cmd, cwd=str(C.ROOT))
            print(f"[{name}: {time.perf_counter() - t0:.0f} s, rc {rc}]", flush=True)
            if rc:
                return rc
    results = {}
    for name in BENCHES:
        path = out / f"{name}.json"
        if path.exists():
            results[name] = json.loads(path.read_text())
    if not results:
        print("no results to render", file=sys.stderr)
        return 1
    if args.readme_only:
        modes = {r.get("mode") for r in results.values()}
        command = "python benchmarks/run_all.py" + (" --quick" if modes == {"quick"} else "")
    text = render(results, command)
    if (not args.quick or args.readme) and not args.no_readme:
        update_readme(text)
        print(f"updated {README}")
    else:
        (out / "figures.md").write_text(text + "\n")
        print(f"wrote {out / 'figures.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
