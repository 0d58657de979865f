#!/usr/bin/env python
"""Where the main job's time goes: ``reproduce --profile cpu --data toy`` (what ``make reproduce`` runs) timed
end to end, with its training stage taken apart, on the CPU as it is or as a CPU without AVX-512.

Two modes:

* ``native`` — the CPU as it is (bf16 autocast where it has bf16 kernels, as the ``cpu`` preset asks);
* ``no-avx512`` — this CPU made to behave like one without AVX-512 (most laptops and many cloud CPUs):
  ``ONEDNN_MAX_CPU_ISA=AVX2`` (oneDNN's convolutions use AVX2 kernels) and ``ATEN_CPU_CAPABILITY=avx2``
  (PyTorch's own kernels too). oneDNN then reports no bf16 support, so the ``cpu`` preset trains and separates
  in fp32, as it would there. The same two variables let anyone check a README number on such a CPU.

Each mode runs the main job in a fresh output folder in a subprocess with nothing else running, and records:
the job's stages (``timing.json``), and from the run's own files the warm-up, each trained row's steps (median
seconds per step, the share spent validating) and its mask tuning (``tuning_seconds`` in its
``summary.json``); the tables' headline numbers (ours' SDR, Kendall's τ against the paper), so that the README
can say how much a fp32 run's numbers move. ``--step-profile`` adds a short op-level profile of one training
iteration in that mode (``torch.profiler``; which layers of ``g`` cost most).

Usage::

    python benchmarks/bench_main_job.py --mode native      [--json benchmarks/results/main_job-native.json]
    python benchmarks/bench_main_job.py --mode no-avx512   [--json benchmarks/results/main_job-no-avx512.json]
    python benchmarks/bench_main_job.py --report            # both JSONs → benchmarks/results/main_job.md
    python benchmarks/bench_main_job.py --mode native --steps 520 --profile cpu   # a quick check (not a timing)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import _common as C  # noqa: E402  (first: puts the repository on sys.path)
from semisep_lib.runs import ReproductionFolder, Run  # noqa: E402

#: what each mode sets in the job's environment
MODES = {"native": {}, "no-avx512": C.NO_AVX512}
RESULTS = HERE / "results"
CPU_FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile")


def cpu_flags() -> dict[str, bool]:
    """Which of the flags that decide the kernels this CPU has (from /proc/cpuinfo)."""
    try:
        flags = next(ln.split(":", 1)[1].split() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                     if ln.startswith("flags"))
    except (OSError, StopIteration):
        flags = []
    return {f: f in flags for f in CPU_FLAGS}


def precision_in(env: dict) -> dict:
    """What torch sees in a process with ``env``: its kernel level and whether bf16 runs natively (the rule
    ``checkpoint.bf16_available`` uses), hence the precision the ``cpu`` preset trains in."""
    code = ("import json, torch; from semisep_lib.method.checkpoint import cpu_has_bf16; "
            "print(json.dumps({'cpu_capability': torch.backends.cpu.get_cpu_capability(), 'bf16': cpu_has_bf16()}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    info = json.loads(out.stdout.strip().splitlines()[-1])
    info["precision"] = "bf16 autocast" if info["bf16"] else "fp32"
    return info


def row_breakdown(out: Path) -> dict:
    """The training stage from the run's files: the warm-up, and per trained row its steps and tuning."""
    folder = ReproductionFolder(out)
    warm = json.loads(folder.warm_up(0).summary.read_text())
    rows = {}
    for run in sorted((Run(p) for p in folder.runs.glob("*-seed0")), key=lambda r: r.folder.name):
        if run.folder == folder.warm_up(0).folder or not run.summary.is_file() or not run.log.is_file():
            continue
        s = json.loads(run.summary.read_text())
        log = [json.loads(ln) for ln in run.log.read_text().splitlines()]
        own = [r for r in log if r["step"] >= warm["steps"]]  # the row's own steps, after the shared warm-up
        # its first step's time is its log's first time beyond where it started (the warm-up's end, or 0 for
        # the supervised row, which starts from an untrained checkpoint beside the warm-up)
        began = warm["seconds"] if own[0]["time"] > warm["seconds"] else 0.0
        times = [own[0]["time"] - began] + [b["time"] - a["time"] for a, b in zip(own, own[1:])]
        val_every = json.loads(run.valid.read_text().splitlines()[0])["step"] - warm["steps"] \
            if run.valid.is_file() else None
        median = statistics.median(times)
        # a validation's cost: what the steps that end with one take beyond the median step
        val_steps = [t for r, t in zip(own, times) if val_every and (r["step"] + 1 - warm["steps"]) % val_every == 0]
        rows[run.folder.name] = {"steps": len(own), "seconds": round(sum(times), 1), "median_step_s": round(median, 3),
                          "validation_s": round(sum(max(0.0, t - median) for t in val_steps), 1),
                          "tuning_s": s.get("tuning_seconds"),
                          "selection_sdr": s.get("best", {}).get("val_sdr")}  # its kept checkpoint's, in dB
    return {"warm_up": {"steps": warm["steps"], "seconds": warm["seconds"],
                        "s_per_step": round(warm["seconds"] / max(1, warm["steps"]), 3)}, "rows": rows}


def headline(out: Path) -> dict:
    """Table 1's and Table 3's SDRs (museval v4 medians on the report songs) and Kendall's τ of Table 3 against
    the paper."""
    folder = ReproductionFolder(out)
    order = json.loads(folder.ordering.read_text())
    tau = next(iter(order.values()))["kendall_tau"]
    sdr = {}
    t1 = json.loads(folder.table(1).read_text())["rows"]  # a list of rows
    sdr["table1"] = {r["method"]: round(r["SDR"]["median"], 2) for r in t1 if r.get("SDR")}
    t3 = json.loads(folder.table(3).read_text())["rows"]  # label → row
    sdr["table3"] = {label: round(r["SDR"]["median"], 2) for label, r in t3.items() if r.get("SDR")}
    return {"table1_sdr": sdr["table1"], "table3_sdr": sdr["table3"], "kendall_tau": tau}


def git_commit() -> str:
    """The commit the job ran, short (with ``+`` when tracked files had changes): ``reproduce.git_commit``'s."""
    from semisep_lib.study.reproduce import git_commit as full

    commit = full(C.ROOT) or "?"
    return commit[:7] + ("+" if commit.endswith("local changes") else "")

def case_step(preset: str) -> None:
    """Time the D step and the G step of the preset's training iteration (1 thread, as the job's rows run),
    then profile three iterations: the share of each layer kind of ``g`` and of the discriminators."""
    import torch
    from torch.profiler import ProfilerActivity, profile

    from semisep_lib.method.checkpoint import bf16_available
    from semisep_lib.method.config import Config
    from semisep_lib.method.losses import discriminator_losses, generator_losses
    from semisep_lib.method.models import build_models
    from semisep_lib.method.spectral import STFT, crop

    torch.set_num_threads(1)
    cfg = Config.from_preset(preset)
    torch.manual_seed(0)
    g, d_A, d_C = (m.to(memory_format=torch.channels_last) for m in build_models(cfg))
    stft = STFT(cfg.spectral)
    opt_g = torch.optim.Adam(g.parameters(), 1e-4)
    opt_d = torch.optim.Adam([*d_A.parameters(), *d_C.parameters()], 1e-4)
    bf16 = cfg.train.bf16 and bf16_available(torch.device("cpu"))
    n = (cfg.spectral.segment_frames - 1) * cfg.spectral.hop
    batch = lambda: crop(stft(0.1 * torch.randn(cfg.train.batch_size, n)))  # noqa: E731

    def d_step():
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss, _ = discriminator_losses(g, d_A, d_C, batch(), batch(), batch(), cfg.loss)
        opt_d.zero_grad(), loss.backward(), opt_d.step()

    def g_step():
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss, _ = generator_losses(g, d_A, d_C, batch(), batch(), cfg.loss, cfg.spectral.compress)
        opt_g.zero_grad(), loss.backward(), opt_g.step()

    for _ in range(2):
        d_step(), g_step()
    times = {"d_step": [], "g_step": []}
    for _ in range(5):
        for name, fn in (("d_step", d_step), ("g_step", g_step)):
            t = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t)
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        for _ in range(3):
            d_step(), g_step()
    total = sum(e.self_cpu_time_total for e in prof.key_averages())
    convs = []
    for e in prof.key_averages(group_by_input_shape=True):
        if e.key in ("aten::mkldnn_convolution", "aten::convolution_backward") and e.input_shapes:
            convs.append({"op": e.key.split("::")[1], "shapes": [list(s) for s in e.input_shapes[:3]],
                          "share": round(e.self_cpu_time_total / total, 3)})
    convs.sort(key=lambda r: -r["share"])
    ops = sorted(((e.key, e.self_cpu_time_total / total) for e in prof.key_averages()), key=lambda r: -r[1])
    C.emit_case({"precision": "bf16 autocast" if bf16 else "fp32",
                 "d_step_s": round(statistics.median(times["d_step"]), 3),
                 "g_step_s": round(statistics.median(times["g_step"]), 3),
                 "top_ops": [{"op": k, "share": round(v, 3)} for k, v in ops[:8]],
                 "top_convolutions": convs[:8]})


def run_job(mode: str, preset: str, steps: int | None, keep: Path | None) -> dict:
    env = {**os.environ, **MODES[mode], "PYTHONUNBUFFERED": "1"}
    with tempfile.TemporaryDirectory(prefix="main-job-") as tmp:
        out = keep or Path(tmp) / "out"
        cmd = [sys.executable, "-m", "semisep_lib", "reproduce", "--profile", preset, "--data", "toy",
               "--out", str(out)]
        if steps:
            cmd += ["--steps", str(steps)]
        load = C.load_average()
        t = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=str(C.ROOT))
        wall = round(time.perf_counter() - t, 1)
        if proc.returncode:
            raise RuntimeError(f"reproduce failed:\n{proc.stderr[-4000:]}")
        timing = json.loads(ReproductionFolder(out).timing.read_text())
        return {"command": " ".join(["reproduce", *cmd[4:-2]]), "wall_seconds": wall, "load_average_before": load,
                "load_average_after": C.load_average(), "stages": timing["stages"],
                "seconds_this_call": timing["seconds_this_call"], "training": row_breakdown(out),
                "tables": headline(out)}


def main(argv=None) -> dict | None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mode", choices=sorted(MODES))
    ap.add_argument("--profile", default="cpu")
    ap.add_argument("--steps", type=int, help="override every row's steps (a quick check, not a timing)")
    ap.add_argument("--step-profile", action="store_true", help="add an op-level profile of one iteration")
    ap.add_argument("--no-job", action="store_true", help="skip the main job (with --step-profile)")
    ap.add_argument("--keep", type=Path, help="keep the job's output folder here")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--report", action="store_true", help="write results/main_job.md from the modes' JSONs")
    ap.add_argument("--case-step", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.case_step:
        case_step(args.profile)
        return None
    if args.report:
        write_report()
        return None
    if not args.mode:
        ap.error("--mode is required (or --report)")
    t0 = time.perf_counter()
    env = {**os.environ, **MODES[args.mode]}
    result = {"benchmark": "main_job", "mode": args.mode, "commit": git_commit(), "environment": MODES[args.mode],
              "machine": {**C.machine_info(), "cpu_flags": cpu_flags()}, "in_mode": precision_in(env)}
    if not args.no_job:
        result["job"] = run_job(args.mode, args.profile, args.steps, args.keep)
        result["job"]["quick"] = bool(args.steps)
    if args.step_profile:
        result["step"] = C.run_case(Path(__file__), ["--case-step", "--profile", args.profile], timeout=1200,
                                    env=MODES[args.mode])
    return C.finish(result, t0, args.json or (RESULTS / f"main_job-{args.mode}.json" if not args.steps else None))


def _minutes(s: float) -> str:
    return f"{int(s // 60)} min {round(s % 60):02d} s"


def write_report(path: Path = RESULTS / "main_job.md") -> Path:
    """Every ``results/main_job-<mode>[-before].json`` side by side (a mode before and after a change, when both
    are there): machine, precision, the job's stages, its training stage taken apart, and its tables' numbers."""
    # main_job-<mode>[-<run>][-before].json: a mode, which pair of runs, before or after a change
    pairs = {}  # (mode, run) → {"before": r, "now": r}
    for p in sorted(RESULTS.glob("main_job-*.json")):
        stem = p.stem[len("main_job-"):]
        when = "before" if stem.endswith("-before") else "now"
        stem = stem.removesuffix("-before")
        mode = next((m for m in MODES if stem == m or stem.startswith(m + "-")), None)
        if mode:
            pairs.setdefault((mode, stem[len(mode) + 1:]), {})[when] = json.loads(p.read_text())
    found = {f"{mode}{f' ({run} pair)' if run else ''}, {when} ({r.get('commit', '?')})": r
             for (mode, run), pair in pairs.items() for when, r in sorted(pair.items())}
    if not found:
        raise SystemExit("no results/main_job-<mode>.json yet: run a mode first")
    lines = ["# The main job on two kinds of CPU", "",
             "Written by `python benchmarks/bench_main_job.py --report` from `results/main_job-<mode>[-before].json` "
             "(each written by `--mode <mode> --json <file>`, the machine otherwise idle, one job at a time). "
             "`no-avx512` is this CPU limited to AVX2 kernels (`ONEDNN_MAX_CPU_ISA=AVX2 ATEN_CPU_CAPABILITY=avx2`): "
             "no bf16 kernels, so the `cpu` preset trains and separates in fp32, as on most laptops and many cloud "
             "CPUs. *before* is the commit before the main job's speed-up for such CPUs (issue 35), *now* the commit "
             "after it. The tables' numbers are SDRs in dB (museval v4, medians) on the four toy report songs.",
             "", "| | " + " | ".join(found) + " |", "|---|" + "---|" * len(found)]

    def row(label, get):
        vals = []
        for r in found.values():
            try:
                vals.append(str(get(r)))
            except (KeyError, TypeError, IndexError):
                vals.append("–")
        lines.append(f"| {label} | " + " | ".join(vals) + " |")

    row("CPU", lambda r: r["machine"]["cpu"])
    row("its flags", lambda r: ", ".join(f for f, on in r["machine"]["cpu_flags"].items() if on))
    row("kernels used / precision", lambda r: f"{r['in_mode']['cpu_capability']} / {r['in_mode']['precision']}")
    row("date", lambda r: r["machine"]["date"])
    row("load average before → after", lambda r: f"{r['job']['load_average_before'][0]} → "
                                                  f"{r['job']['load_average_after'][0]}")
    row("**main job (`reproduce`)**", lambda r: f"**{_minutes(r['job']['seconds_this_call'])}**")
    stages = list(dict.fromkeys(st for r in found.values() for st in r["job"]["stages"]))
    for stage in stages:
        row(f"– {stage}", lambda r, s=stage: f"{r['job']['stages'][s]:.0f} s")
    row("warm-up (one process)", lambda r: f"{r['job']['training']['warm_up']['seconds']:.0f} s "
                                           f"({r['job']['training']['warm_up']['s_per_step']} s/step)")
    row("rows: median s per g step", lambda r: ", ".join(
        f"{v['median_step_s']}" for v in r["job"]["training"]["rows"].values()))
    row("rows: steps / validation / tuning (s, summed)", lambda r: "{:.0f} / {:.0f} / {:.0f}".format(
        *(sum(v[k] or 0 for v in r["job"]["training"]["rows"].values())
          for k in ("seconds", "validation_s", "tuning_s"))))
    if any("step" in r for r in found.values()):
        row("one iteration: D step / G step (1 thread)", lambda r: f"{r['step']['d_step_s']} / {r['step']['g_step_s']} s")
        row("its costliest convolutions (share)", lambda r: "; ".join(
            f"{c['op']} {c['shapes'][0]}: {c['share']:.0%}" for c in r["step"]["top_convolutions"][:3]))
    first = next(iter(found.values()))["job"]["tables"]
    for method in first["table1_sdr"]:
        row(f"Table 1: {method}", lambda r, m=method: r["job"]["tables"]["table1_sdr"][m])
    for label in first.get("table3_sdr", {}):
        if label != "all losses":
            row(f"Table 3: {label}", lambda r, m=label: r["job"]["tables"]["table3_sdr"][m])
    row("Kendall's τ (Table 3 vs the paper)", lambda r: r["job"]["tables"]["kendall_tau"])
    row("selection songs: the rows' mean SDR (kept checkpoints)", lambda r: round(statistics.mean(
        v["selection_sdr"] for v in r["job"]["training"]["rows"].values()), 3))
    for (mode, run), pair in pairs.items():  # what a change did to the numbers: now against before, row by row
        if len(pair) < 2:
            continue
        before, now = pair["before"]["job"], pair["now"]["job"]
        moves = {k: now["tables"]["table3_sdr"][k] - v for k, v in before["tables"]["table3_sdr"].items()}
        moves.update({k: now["tables"]["table1_sdr"][k] - v for k, v in before["tables"]["table1_sdr"].items()
                      if k.startswith(("GAN", "supervised"))})
        size = sorted(abs(v) for v in moves.values())
        sel = {k: now["training"]["rows"][k]["selection_sdr"] - v["selection_sdr"]
               for k, v in before["training"]["rows"].items() if v.get("selection_sdr") is not None}
        worst = min(sel, key=sel.get)
        lines += ["", f"**{mode}{f' ({run} pair)' if run else ''}, now against before:** "
                  f"{_minutes(before['seconds_this_call'])} → {_minutes(now['seconds_this_call'])}. "
                  f"The trained rows' report-song SDRs (Table 3 and Table 1's "
                  f"supervised and GAN rows) moved by up to {size[-1]:.2f} dB (median "
                  f"{statistics.median(size):.2f}); Kendall's τ {before['tables']['kendall_tau']} → "
                  f"{now['tables']['kendall_tau']}. On the selection songs the rows' kept checkpoints moved by "
                  f"{statistics.mean(sel.values()):+.3f} dB on average ({sum(v < 0 for v in sel.values())} of "
                  f"{len(sel)} lower, {sum(v > 0 for v in sel.values())} higher; from {sel[worst]:+.3f} ({worst}) "
                  f"to {max(sel.values()):+.3f})."]
    path.write_text("\n".join(lines) + "\n")
    print(f"wrote {path}")
    return path


if __name__ == "__main__":
    main()
