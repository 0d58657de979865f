"""The level sweep for every model the project has shipped: how each separates the selection songs remixed with the
vocals at -6, 0, +6, +12 dB (and three accompaniment changes), beside the trivial answers.

Models: the one shipped from 2026-12-05 to 2026-12-07 (the weights of commit 315e182, separated as
``semisep separate`` does today) and the ones shipped before it, read from git history (``git show
COMMIT:semisep_lib/pretrained/{best.pt,separate.yaml,card.json}``) and separated as they were when they shipped
(``levels.model_separator(..., settings="checkpoint")``). Before scoring, each model's vocal SDR on stempeg's example
track is measured again and set beside the figure its card recorded: a model that loads with today's code but no
longer separates as it did shows there.

Writes ``results/<model>.json`` (one per model), ``results/baselines.json`` (the mixture, silence, half the mixture
and the oracle mask: the same for every model, scored once) and ``results/table.md`` from whatever results are
there. A model whose file exists is not scored again (``--force`` to redo).

    python experiments/levels/sweep.py --root ../shared/data/musdb18-7             # every model, then the baselines
    python experiments/levels/sweep.py --root ../shared/data/musdb18-7 --models 315e182 --no-baselines  # one model
"""

from __future__ import annotations

import argparse
import json
import platform
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from semisep_lib.config import Config
from semisep_lib.evaluate import score_track
from semisep_lib.fileio import atomic_write_json, atomic_write_text, jsonable
from semisep_lib.levels import changes_by_name, merge, model_separator, render, robustness, trivial_baselines
from semisep_lib.pretrained import example_song
from semisep_lib.reproduce import git_commit
from semisep_lib.runs import Run

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
RESULTS = HERE / "results"
SHIPPED = "semisep_lib/pretrained"
#: label → (commit, date, recipe, settings); each read from its commit. The model shipped since (the level study's
#: level-blind-seed1-rerun) is scored by study.py (results/study-level-blind-seed1-rerun.json).
MODELS = {
    "da3af31": ("da3af31", "2026-11-27", "the first shipped g: level-blind discriminators", "checkpoint"),
    "65644db": ("65644db", "2026-12-04", "level-ema: discriminators that see levels, an EMA of g", "checkpoint"),
    "e11b630": ("e11b630", "2026-12-04", "slow discriminators (lr 2e-4, one step per g step)", "checkpoint"),
    "315e182": ("315e182", "2026-12-05", "the long ablation's full-method g (all losses, seed 1): shipped to 2026-12-07",
                "current"),
}


def extract(commit: str, dest: Path) -> Path:
    """The shipped model of ``commit`` (best.pt, separate.yaml, card.json) written into ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    shipped = Run("")  # the file names of a run folder, as the shipped model keeps them
    for name in (shipped.best.name, shipped.tuning.name, "card.json"):  # card.json: pretrained's own file
        blob = subprocess.run(["git", "-C", str(REPO), "show", f"{commit}:{SHIPPED}/{name}"], capture_output=True,
                              check=True).stdout
        (dest / name).write_bytes(blob)
    return dest


def card_check(model: Path, settings: str) -> dict:
    """The model's vocal SDR on stempeg's example track now, beside its card's figure (the card's own check)."""
    song = example_song()
    sep = model_separator(model, settings=settings, device="cpu")
    stems = sep.stems(song.mixture, song.rate)
    now = score_track(song.name, song.rate, song.mixture,
                      {"vocals": song.vocals, "accompaniment": song.accompaniment}, stems)["vocals"]["SDR"]
    card = json.loads((model / "card.json").read_text()).get("example_track_vocal_sdr")
    return {"card": card, "now": now, "difference": None if card is None else now - card}


def table(results: dict[str, dict], order: list[str]) -> str:
    """``table.md``: which model is which, its card check and level-sweep number, then the full tables."""
    merged = merge([results[k] for k in order if k in results])
    for key in ("command", "git_commit", "machine", "card_check", "model", "seconds"):  # each file's own
        merged.pop(key, None)
    lines = ["# The level sweep of every shipped model", "",
             "Written by `python experiments/levels/sweep.py` from `results/*.json`; see README.md for the protocol.",
             "", "| model | shipped | recipe | separated | example-track SDR, card → now | level-sweep SDR | "
             "over half the mixture |", "|---|---|---|---|---|---|---|"]
    for label in order:
        if label not in results or label not in MODELS:
            continue
        commit, date, recipe, settings = MODELS[label]
        r = results[label]
        check = r.get("card_check") or {}
        fmt = lambda v: "–" if v is None else f"{v:.2f}"  # noqa: E731
        s = merged["methods"][label]["summary"]
        lines.append(f"| {label} | {date} | {recipe} | {settings} settings | {fmt(check.get('card'))} → "
                     f"{fmt(check.get('now'))} | **{fmt(s.get('level_sweep_sdr'))}** | "
                     f"{fmt(s.get('level_sweep_margin_over_half'))} |")
    missing = [k for k in MODELS if k not in results]
    if missing:
        lines += ["", f"Not yet scored: {', '.join(missing)}."]
    lines += ["", "Each file of `results/` records the command, git commit, machine and seconds that wrote it: "
              + "; ".join(f"`{k}.json` {results[k].get('seconds', 0):.0f} s" for k in order) + "."]
    body = render(merged).split("\n", 1)[1]  # its own title dropped
    return "\n".join(lines) + "\n" + body


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", required=True, help="the MUSDB18 root (../shared/data/musdb18-7)")
    ap.add_argument("--models", nargs="+", choices=list(MODELS), default=list(MODELS))
    ap.add_argument("--changes", nargs="+", help="mix changes (default: all of levels.default_changes)")
    ap.add_argument("--no-baselines", action="store_true", help="do not score the trivial baselines")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--limit", type=int, help="only the first N selection songs (a quick check; not for results/)")
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--force", action="store_true", help="score again models whose results exist")
    args = ap.parse_args()
    changes = changes_by_name(args.changes)
    if (args.limit or args.changes) and args.out.resolve() == RESULTS:
        sys.exit("A run on fewer songs or changes than the protocol's writes elsewhere: give --out.")
    command = "python experiments/levels/sweep.py " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    info = {"command": command, "git_commit": git_commit(),
            "machine": f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads"}
    with tempfile.TemporaryDirectory(prefix="semisep-shipped-") as tmp:
        for label in args.models:
            path = args.out / f"{label}.json"
            if path.is_file() and not args.force:
                print(f"{label}: {path} exists; skipped (--force to redo)")
                continue
            commit, date, recipe, settings = MODELS[label]
            model = extract(commit, Path(tmp) / label)  # "current": separated with today's options
            t0 = time.perf_counter()
            check = card_check(model, settings)
            print(f"{label}: loads; example-track vocal SDR {check['now']:.2f} dB (card: {check['card']})", flush=True)
            result = robustness({label: lambda m=model, s=settings: model_separator(m, settings=s)}, args.root,
                                changes=changes, workers=args.workers, limit=args.limit)
            result.update(info, model={"commit": commit, "shipped": date, "recipe": recipe, "settings": settings},
                          card_check=check, seconds=round(time.perf_counter() - t0, 1))
            atomic_write_json(path, jsonable(result))
            print(f"{label}: level-sweep SDR {result['methods'][label]['summary']['level_sweep_sdr']:.2f} dB in "
                  f"{result['seconds']:.0f} s → {path}", flush=True)
    base = args.out / "baselines.json"
    if not args.no_baselines and (args.force or not base.is_file()):
        t0 = time.perf_counter()
        baselines = trivial_baselines(Config.from_preset("cpu"))  # the oracle IRM at the shipped g's STFT
        result = robustness(baselines, args.root, changes=changes, workers=args.workers, limit=args.limit)
        result.update(info, seconds=round(time.perf_counter() - t0, 1))
        atomic_write_json(base, jsonable(result))
        print(f"baselines in {result['seconds']:.0f} s → {base}", flush=True)
    results = {p.stem: json.loads(p.read_text()) for p in sorted(args.out.glob("*.json"))}
    order = [k for k in MODELS if k in results] + (["baselines"] if "baselines" in results else [])
    atomic_write_text(args.out / "table.md", table(results, order))
    print(f"wrote {args.out / 'table.md'}")


if __name__ == "__main__":
    main()
