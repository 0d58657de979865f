"""Can the discriminators tell? The adversarial signal of a training checkpoint, measured on held-out songs.

``g`` learns to remove the voice only as far as ``d_C`` can hear it: GAN_C rewards ``g(a)`` for looking like a
real instrumental *to d_C*. This script asks, for a checkpoint's own ``g``, ``d_A`` and ``d_C`` (the weights
training was playing with, not the EMA), how well each discriminator separates its real inputs from its fakes on
the **selection** songs — never trained on, and paired stems, so the only difference between a mixture and its
accompaniment is the voice:

* ``d_C``: real instrumentals ``c`` against ``g(a)`` (its game), and against the raw mixtures ``a`` (can it hear
  the voice at all?); and two controls for the level cue (where the discriminators see levels, ``g(a)`` is
  quieter than a unit-peak instrumental whatever it removed): ``g(a)`` brought back to unit peak, and the mixture
  brought down to ``g(a)``'s peak; and ``g(c)`` against ``g(a)``, both through ``g`` (the real side of
  ``loss.d_C_real_through_g``);
* ``d_A``: real mixtures against synthetic ones ``ā = b̄ + c'`` (``b̄ = (1 − mask(a))·A`` of one segment, ``c'``
  the accompaniment of a segment of another song).

Each is an **AUC**: the probability that a real example scores above a fake one (0.5: it cannot tell; 1: always
right), an example's score being the mean of its score maps over positions and scales. Segments are cut as
training cuts them (``segment_samples``, half-overlapping), levelled as training levels them (``unit_peak`` where
the discriminators see levels); "voiced" segments are those whose voice carries at least 10 % of the mixture's
energy.

    python experiments/discriminators/tell.py runs/reproduce-long-musdb/runs/warm-up-seed0 \\
        --out experiments/discriminators/results/warm-up-seed0.json
    # while a run trains, now and then: one line per (run, checkpoint step) not yet in the file
    python experiments/discriminators/tell.py runs/reproduce-long-musdb/runs/*-seed* \\
        --append experiments/discriminators/results/long-ablation.jsonl
    # the figure of such a file: every AUC against the step, one line per run
    python experiments/discriminators/tell.py --report experiments/discriminators/results/long-ablation.jsonl
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from semisep_lib.method.checkpoint import load_checkpoint, load_weights
from semisep_lib.method.config import Config
from semisep_lib.method.losses import synthetic_mixture, unit_peak
from semisep_lib.method.models import build_models
from semisep_lib.method.spectral import STFT, crop, magnitude
from semisep_lib.runs import Run
from semisep_lib.study.data import load_songs

DEFAULT_ROOT = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "musdb18-7"
VOICED = 0.1  #: a segment is voiced when the voice carries at least this share of the mixture's energy


def auc(real: np.ndarray, fake: np.ndarray) -> float:
    """P(score(real) > score(fake)) over all pairs, ties counting one half (the Mann–Whitney U statistic)."""
    real, fake = np.asarray(real)[:, None], np.asarray(fake)[None, :]
    return float(((real > fake).mean() + 0.5 * (real == fake).mean()))


def segments(songs, n: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Half-overlapping segments of ``n`` samples of every song: mixtures, accompaniments, song index."""
    mix, acc, which = [], [], []
    for i, s in enumerate(songs):
        m, a = s.mixture.reshape(-1), s.accompaniment.reshape(-1)
        for start in range(0, len(m) - n + 1, n // 2):
            mix.append(m[start:start + n])
            acc.append(a[start:start + n])
            which.append(i)
    as_tensor = lambda xs: torch.from_numpy(np.stack(xs).astype(np.float32))  # noqa: E731
    return as_tensor(mix), as_tensor(acc), torch.tensor(which)


def score(d, mag: torch.Tensor) -> np.ndarray:
    """One number per example: the mean of ``d``'s score maps over positions, then scales."""
    return torch.stack([s.flatten(1).mean(1) for s in d(mag)]).mean(0).numpy()


@torch.no_grad()
def tell(checkpoint: Path, root: Path, split: str = "select") -> dict:
    """The AUCs of one checkpoint on the selection songs (see the module docstring), or on another split of the
    train subset (``"train"``: the songs it trained on, whose mixtures and instrumentals it saw unpaired)."""
    state = load_checkpoint(checkpoint)
    cfg = Config.from_dict(state["config"])
    g, d_A, d_C = build_models(cfg)
    for net, key in ((g, "g"), (d_A, "d_A"), (d_C, "d_C")):
        load_weights(net, state[key], key, state["path"])
        net.eval()
    songs = load_songs(root, subset="train", split=split, sample_rate=cfg.spectral.sample_rate, mono=True)
    mix, acc, which = segments(songs, cfg.spectral.segment_samples)
    stft = STFT(cfg.spectral)
    A, C = crop(stft(mix)), crop(stft(acc))
    voiced = ((mix - acc).square().sum(1) / mix.square().sum(1).clamp_min(1e-12) >= VOICED).numpy()
    other = torch.roll(torch.arange(len(which)), int((which == which[0]).sum()))  # a segment of another song
    C_other = C[other]
    if d_C.sees_level:
        A, C, C_other = unit_peak(A, C, C_other)
    a, c = magnitude(A), magnitude(C)
    mask_a = g.mask(a)
    abar = magnitude(synthetic_mixture(A, mask_a, C_other)[1])
    g_a = mask_a * a
    peak = lambda x: x.flatten(1).amax(1).clamp_min(1e-8)[:, None, None]  # noqa: E731 - (batch, 1, 1)
    s = {"c": score(d_C, c), "g(a)": score(d_C, g_a), "a": score(d_C, a), "g(c)": score(d_C, g.mask(c) * c),
         "g(a) at unit peak": score(d_C, g_a / peak(g_a) * peak(a)), "a at g(a)'s peak": score(d_C, a / peak(a) * peak(g_a)),
         "real a": score(d_A, a), "abar": score(d_A, abar)}
    out = {"checkpoint": str(checkpoint), "step": state["step"], "split": split, "songs": [x.name for x in songs],
           "segments": len(which), "voiced_segments": int(voiced.sum()),
           "mean_mask_on_mixtures": round(float(mask_a.mean()), 4)}
    for name, subset in (("all", np.ones_like(voiced)), ("voiced", voiced)):
        out[name] = {"d_C: instrumental vs g(a)": auc(s["c"], s["g(a)"][subset]),
                     "d_C: instrumental vs mixture": auc(s["c"], s["a"][subset]),
                     "d_C: g(instrumental) vs g(a)": auc(s["g(c)"], s["g(a)"][subset]),
                     "d_C: instrumental vs g(a) at the mixture's peak": auc(s["c"], s["g(a) at unit peak"][subset]),
                     "d_C: instrumental vs mixture at g(a)'s peak": auc(s["c"], s["a at g(a)'s peak"][subset]),
                     "d_A: mixture vs synthetic": auc(s["real a"][subset], s["abar"])}
        out[name] = {k: round(v, 3) for k, v in out[name].items()}
    return out


def report(path: Path, subset: str = "voiced") -> Path:
    """``<path>.png``: every AUC of an ``--append`` file against the training step, one line per run (a row's
    first point is its seed's warm-up), with the 0.5 of a discriminator that cannot tell; ``<path>.md``: each
    run's first and last point, also written into this folder's README between ``<!-- <stem>:start -->`` and
    ``<!-- <stem>:end -->``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs: dict[str, list[dict]] = {}
    for line in path.read_text().splitlines():
        r = json.loads(line)
        runs.setdefault(r["run"], []).append({"step": r["step"], **r[subset]})
    warm = {name.rpartition("-seed")[2]: rows[0] for name, rows in runs.items() if name.startswith("warm-up")}
    runs = {name: sorted({r["step"]: r for r in [warm.get(name.rpartition("-seed")[2], rows[0])] + rows}.values(),
                         key=lambda r: r["step"])
            for name, rows in sorted(runs.items()) if not name.startswith("warm-up") or len(runs) == len(warm)}
    keys = list(dict.fromkeys(k for rows in runs.values() for r in rows for k in r if k != "step"))
    fig, axes = plt.subplots(1, len(keys), figsize=(4 * len(keys), 3.8), sharey=True, layout="constrained")
    for i, (name, rows) in enumerate(runs.items()):
        for ax, key in zip(axes, keys):
            have = [r for r in rows if key in r]  # a question added later is missing from earlier lines
            ax.plot([r["step"] for r in have], [r[key] for r in have], marker="o", ms=3, color=f"C{i // 2 % 10}",
                    ls="-" if name.endswith("seed0") else "--", label=name)
    for ax, key in zip(axes, keys):
        ax.axhline(0.5, color="k", ls=":", lw=0.8)
        ax.set_title(key, fontsize=9)
        ax.set_xlabel("step")
    axes[0].set_ylabel("AUC")
    axes[0].legend(fontsize=7)
    fig.suptitle(f"AUC on the selection songs' {subset} segments against the training step (0.5: cannot tell)")
    out = path.with_suffix(".png")
    fig.savefig(out, dpi=90)
    short = {k: k.replace("instrumental", "instr.").replace(" vs ", " / ") for k in keys}
    lines = ["| run | step | " + " | ".join(short.values()) + " |", "|---" * (len(keys) + 2) + "|"]
    for name, rows in runs.items():
        for r in (rows[0], rows[-1]) if len(rows) > 1 else rows:
            lines.append(f"| {name} | {r['step']} | " + " | ".join(f"{r[k]:.2f}" if k in r else "–" for k in keys)
                         + " |")
    table = "\n".join(lines) + "\n"
    path.with_suffix(".md").write_text(table)
    readme = Path(__file__).with_name("README.md")
    start, end = f"<!-- {path.stem}:start -->", f"<!-- {path.stem}:end -->"
    if readme.is_file() and start in (doc := readme.read_text()) and end in doc:
        head, rest = doc.split(start, 1)
        readme.write_text(head + start + "\n" + table + end + rest.split(end, 1)[1])
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("runs", nargs="*", type=Path, help="run folders (their checkpoint.pt) or checkpoint files")
    p.add_argument("--report", type=Path, help="draw an --append file's AUCs against the step (FILE.png)")
    p.add_argument("--root", type=Path, default=DEFAULT_ROOT, help="MUSDB18-7 (its selection songs are used)")
    p.add_argument("--split", default="select", choices=("select", "train"),
                   help="the songs: held out (select, the default) or those training drew from (train)")
    p.add_argument("--out", type=Path, help="a JSON file for the results (default: print only)")
    p.add_argument("--append", type=Path, help="a JSON-lines file: one line per run and checkpoint step, each "
                   "measured once (a checkpoint whose step is already there is skipped)")
    args = p.parse_args()
    if args.report:
        print(report(args.report))
        return
    torch.set_num_threads(1)
    seen = set()
    if args.append and args.append.is_file():
        seen = {(r["run"], r["step"]) for r in map(json.loads, args.append.read_text().splitlines())}
    results = {}
    for run in args.runs:
        path = Run(run).checkpoint if run.is_dir() else run
        name = run.name if run.is_dir() else run.stem
        if not path.is_file() or (args.append and (name, load_checkpoint(path)["step"]) in seen):
            continue
        results[name] = r = tell(path, args.root, args.split)
        if args.append:
            args.append.parent.mkdir(parents=True, exist_ok=True)
            with open(args.append, "a") as f:
                f.write(json.dumps({"run": name, **r}) + "\n")
        print(f"{run}: step {r['step']}, {r['segments']} segments ({r['voiced_segments']} voiced): "
              f"all {r['all']} | voiced {r['voiced']}", flush=True)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
