#!/usr/bin/env python
"""On a CUDA GPU: training throughput of the paper and cpu presets, and the paper profile's stages on the GPU.

1. **Throughput.** ``train.train`` itself (data batching, the six losses, Adam, logging) for ``--steps`` steps
   of each preset on a small toy set, discriminator warm-up off so that every step is a full semi-supervised
   step (``d_steps`` discriminator updates and one generator update). Steps/s come from the per-step times in
   ``log.jsonl`` (each step logs its losses with ``.item()``, which waits for the GPU), the first ``--skip``
   steps left out (CUDA start-up, cuDNN's algorithm search).
2. **The paper profile on the GPU, for real.** One trained row of ``reproduce --profile paper`` (``all losses``,
   with ``--check-steps`` training steps: the paper architecture, a handful of steps) and NES, through
   :class:`semisep_lib.study.reproduce.Reproduction` with every stage that runs a network wrapped so that it records
   the device it was asked for and the device its model's weights are on: training, loading ``g``, tuning the
   mask, separating the report songs for museval, NES. The check passes when every one is the GPU.

Writes ``--json`` (default ``benchmarks/results/gpu.json``; a part run alone is merged into an existing file, with
its own command and machine) and, with ``--readme``, the GPU section of ``benchmarks/README.md`` from that file.
Without a GPU it says so and exits 2.

    python benchmarks/bench_gpu.py --steps 300
    python benchmarks/bench_gpu.py --readme-only     # re-render the README section from the JSON
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import _common as C  # noqa: E402


def throughput(preset: str, steps: int, skip: int, root: Path, work: Path, device: str) -> dict:
    """Steps/s of ``train.train`` on ``device`` for ``preset`` (warm-up off, no validation inside the timing)."""
    import torch

    from semisep_lib.method.config import Config
    from semisep_lib.method.models import build_models, count_parameters
    from semisep_lib.method.train import train
    from semisep_lib.runs import Run
    from semisep_lib.study.data import load_training_data

    cfg = Config.from_preset(preset).updated({"train": {
        "steps": steps, "d_warmup": 0, "val_every": 10 ** 9, "ckpt_every": 10 ** 9, "val_segments": 0,
        "device": device}})
    td = load_training_data(cfg, root)
    run = work / f"throughput-{preset}"
    if device != "cpu":
        torch.cuda.reset_peak_memory_stats()  # each preset's own peak
    t0 = time.perf_counter()
    train(cfg, td, run, progress=False)
    wall = time.perf_counter() - t0
    its, timed = C.log_steps_per_second(Run(run).log, skip)
    tc, sp = cfg.train, cfg.spectral
    seg_s = (sp.segment_frames - 1) * sp.hop / sp.sample_rate
    return {"preset": preset, "steps": steps, "timed_steps": timed, "it_per_s": round(its, 2),
            "ms_per_step": round(1000 / its, 1), "examples_per_s": round(its * tc.batch_size, 1),
            "audio_seconds_per_s": round(its * tc.batch_size * seg_s, 1), "batch_size": tc.batch_size,
            "d_steps": tc.d_steps, "segment_frames": sp.segment_frames,
            "g_parameters": count_parameters(build_models(cfg)[0]), "wall_seconds": round(wall, 1),
            "peak_gpu_memory_mb": round(torch.cuda.max_memory_allocated() / C.MB) if device != "cpu" else None}


def _device_of(obj) -> str | None:
    """The device of the first weight of what a stage returned: a model, ``(g, cfg)``, a separator's ``g`` or
    NES's ``net``; ``None`` for results that hold no model (the mask tuning's scores)."""
    import torch

    if isinstance(obj, tuple) and obj and isinstance(obj[0], torch.nn.Module):
        obj = obj[0]
    model = obj if isinstance(obj, torch.nn.Module) else getattr(obj, "g", getattr(obj, "net", None))
    if not isinstance(model, torch.nn.Module):
        return None
    return str(next(model.parameters()).device)


def paper_stages_on_gpu(root: Path, work: Path, steps: int, device: str) -> dict:
    """One row and NES of ``reproduce --profile paper`` on ``device``, every stage's device recorded."""
    from semisep_lib.study import methods, reproduce

    asked: list[dict] = []

    def spy(stage: str, fn, device_of_args):
        def wrapped(*a, **k):
            t = time.perf_counter()
            result = fn(*a, **k)
            asked.append({"stage": stage, "asked": str(device_of_args(a, k)), "weights_on": _device_of(result),
                          "seconds": round(time.perf_counter() - t, 1)})
            return result
        return wrapped

    reproduce.train = spy("train", reproduce.train, lambda a, k: a[0].train.device)
    reproduce.load_g = spy("load_g", reproduce.load_g, lambda a, k: k.get("device", a[1] if len(a) > 1 else "?"))
    reproduce.tune_mask = spy("tune_mask", reproduce.tune_mask, lambda a, k: k.get("device", a[3] if len(a) > 3 else "?"))
    methods.load_separator = spy("separate", methods.load_separator,
                                 lambda a, k: k.get("device", a[1] if len(a) > 1 else "?"))
    methods.train_nes = spy("nes", methods.train_nes, lambda a, k: a[2].device)
    t0 = time.perf_counter()
    r = reproduce.Reproduction("paper", "toy", str(root), 1, work / "paper", device=device, progress=False,
                               steps=steps)
    r.trained_row("all losses")
    r.separator(methods.METHODS["nes"], 0)
    stages = {a["stage"] for a in asked}
    kind = device.split(":")[0]
    on_gpu = all(a["asked"].startswith(kind) and (a["weights_on"] is None or a["weights_on"].startswith(kind))
                 for a in asked)
    return {"steps": steps, "stages": asked, "every_stage_seen": sorted(stages),
            "passed": bool(on_gpu and {"train", "load_g", "tune_mask", "separate", "nes"} <= stages),
            "wall_seconds": round(time.perf_counter() - t0, 1)}


START, END = "<!-- gpu:start -->", "<!-- gpu:end -->"


def render(result: dict) -> str:
    """The README's GPU section, from ``gpu.json``."""
    L = []
    for part, run in result.get("runs", {}).items():
        m = run["machine"]
        L.append(f"* {part}: `{run['command']}` on {m['gpu']} (CUDA {m['cuda']}, torch {m['torch']}, "
                 f"{m['logical_cores']} cores), {m['date']}")
    if "throughput" in result:
        L.append("\n| preset | g parameters | batch × frames | D steps | steps/s | ms/step | examples/s | "
                 "audio s/s | peak GPU memory |\n|---|---|---|---|---|---|---|---|---|")
        for r in result["throughput"]:
            L.append(f"| {r['preset']} | {r['g_parameters']:,} | {r['batch_size']} × {r['segment_frames']} | "
                     f"{r['d_steps']} | {r['it_per_s']} | {r['ms_per_step']} | {r['examples_per_s']} | "
                     f"{r['audio_seconds_per_s']} | {r['peak_gpu_memory_mb']:,} MiB |")
    if "paper_stages_on_gpu" in result:
        c = result["paper_stages_on_gpu"]
        L.append(f"\nThe paper profile's stages on the GPU (one row, {c['steps']} training steps, and NES): "
                 f"**{'passed' if c['passed'] else 'FAILED'}**.\n\n| stage | device asked for | weights on | "
                 f"seconds |\n|---|---|---|---|")
        for st in c["stages"]:
            L.append(f"| {st['stage']} | {st['asked']} | {st['weights_on'] or '–'} | {st['seconds']} |")
    return "\n".join(L) + "\n"


def update_readme(result: dict, readme: Path = HERE / "README.md") -> None:
    doc = readme.read_text()
    if START not in doc:
        doc = doc.rstrip() + f"\n\n## On a GPU\n\n{START}\n{END}\n"
    head, rest = doc.split(START, 1)
    readme.write_text(f"{head}{START}\n{render(result)}{END}{rest.split(END, 1)[1]}")


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=300, help="training steps per preset for the throughput")
    p.add_argument("--skip", type=int, default=20, help="first steps left out of the timing")
    p.add_argument("--check-steps", type=int, default=8, help="training steps of the paper row in the check")
    p.add_argument("--presets", nargs="+", default=["paper", "cpu"])
    p.add_argument("--json", type=Path, default=C.RESULTS / "gpu.json")
    p.add_argument("--device", default="cuda", help="cuda; cpu only to try the script out")
    p.add_argument("--parts", nargs="+", choices=["throughput", "check"], default=["throughput", "check"])
    p.add_argument("--readme", action="store_true", help="also rewrite the README's GPU section")
    p.add_argument("--readme-only", action="store_true", help="only re-render the README's GPU section")
    args = p.parse_args(argv)
    if args.readme_only:
        update_readme(json.loads(args.json.read_text()))
        return {}
    import torch

    if args.device != "cpu" and not torch.cuda.is_available():
        print("no CUDA device here: this benchmark needs a GPU", file=sys.stderr)
        sys.exit(2)
    from semisep_lib.study.toy import make_toy_dataset

    result = json.loads(args.json.read_text()) if args.json.is_file() else {}
    run = {"machine": {**C.machine_info(), "device": args.device,
                       "gpu": torch.cuda.get_device_name(0) if args.device != "cpu" else None,
                       "cuda": torch.version.cuda, "cudnn": torch.backends.cudnn.version()},
           "command": "python benchmarks/bench_gpu.py " + " ".join(argv if argv is not None else sys.argv[1:])}
    result.setdefault("runs", {}).update({part: run for part in args.parts})
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        os.environ["SEMISEP_CACHE"] = str(work / "cache")  # decoded-song cache: not the user's
        root = make_toy_dataset(work / "toy", tracks=8, test_tracks=2, seconds=6.0, seed=0)
        if "throughput" in args.parts:
            result["throughput"] = []
            for preset in args.presets:
                result["throughput"].append(throughput(preset, args.steps, args.skip, root, work, args.device))
                print(json.dumps(result["throughput"][-1]), flush=True)
        if "check" in args.parts:
            result["paper_stages_on_gpu"] = paper_stages_on_gpu(root, work, args.check_steps, args.device)
            print(json.dumps(result["paper_stages_on_gpu"]), flush=True)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1) + "\n")
    if args.readme:
        update_readme(result)
    return result


if __name__ == "__main__":
    main()
