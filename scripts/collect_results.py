"""Copy what the project's commands wrote into results/ (committed), so README numbers point at files.

    python scripts/collect_results.py reproduce runs/reproduce-cpu-toy results/reproduce-cpu-toy
    python scripts/collect_results.py curve runs/pretrained results/pretrained

Tables, JSON and timings are copied as the commands wrote them (with, where the run has them, Kendall's τ in
ordering.json, the paper's-protocol tables in paper-protocol/, and the per-method scores in scores/ and
scores-v3/ — from which `reproduce` continues a run whose models are gone). Of every
trained row only its small files travel (runs/<row>/summary.json and valid.jsonl: the best step and the curve on
the selection songs; never its weights), drawn per seed in selection-curves-seed<N>.png, and its training log
averaged over blocks of 50 steps (runs/<row>/losses.jsonl), from which game-seed<N>.png draws the adversarial
game of every row: each discriminator's loss and g's GAN terms beside what a discriminator that cannot tell
real from fake scores (it answers 0.5 everywhere: 0.5 per scale for D, 0.25 per scale for g). A reproduction still
running (no tables yet: the long profile scores each row as it is trained) gives what it has so far: its scores
and rows, so that it can continue from a clone —
`cp -r results/reproduce-long-musdb/. runs/reproduce-long-musdb/` and the same command — and, in so-far/, the
one thing computed here: Table 3 of the rows scored so far under each protocol, by the library's own `tables`
(removed again once the run's own tables are copied).
The learning curve of `curve` is drawn from the run's own valid.jsonl (copied beside it).
"""

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import yaml

from semisep_lib.paper import PAPER_TABLE3
from semisep_lib.runs import PROTOCOL_FOLDERS, ReproductionFolder, Run
from semisep_lib.study.data import list_tracks
from semisep_lib.study.methods import ABLATION, row_key, run_name
from semisep_lib.study.plots import compare_runs, read_jsonl, validation_curves
from semisep_lib.study.reproduce import PROTOCOL_FILES
from semisep_lib.study.tables import ordering, summarise, table3

GAME = ("D_A", "D_C", "GAN_A", "GAN_C")  # the losses of game-seed<N>.png
DEFAULT_ROOT = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "musdb18-7"  # names the selection songs


def block_means(log: Path, every: int = 50) -> list[dict]:
    """A training log (one line per step) as the mean of every key over blocks of ``every`` steps, each line
    stamped with its block's last step: what of a row's log is committed."""
    columns = read_jsonl(log)
    if not columns:
        return []
    blocks = (columns["step"] // every).astype(int)
    lines = []
    for b in np.unique(blocks):
        at = blocks == b
        line = {"step": int(columns["step"][at].max())}
        for key, values in columns.items():
            if key != "step" and np.isfinite(values[at]).any():
                line[key] = round(float(np.nanmean(values[at])), 5)
        lines.append(line)
    return lines


def game(logs: dict[str, Path], scales: int):
    """Every row's adversarial terms against the step, with the level of a discriminator that cannot tell."""
    fig = compare_runs(logs, GAME, window=1)
    for ax, key in zip(fig.axes, GAME):
        ax.axhline((0.5 if key.startswith("D_") else 0.25) * scales, color="k", ls="--", lw=0.8)
    return fig


def rows_on_selection_songs(src: Path, dest: Path) -> None:
    """Copy each trained row's summary.json and valid.jsonl (no weights) and draw, per seed, every row's
    validation SDR and vocal energy fraction on the selection songs against the step."""
    curves: dict[str, dict[str, Path]] = {}
    logs: dict[str, dict[str, Path]] = {}
    scales = 0
    summary_name = Run("").summary.name
    for summary in sorted(ReproductionFolder(src).runs.glob(f"*/{summary_name}")):
        run, row = Run(summary.parent), ReproductionFolder(dest).run(summary.parent.name)
        row.folder.mkdir(parents=True, exist_ok=True)
        for path, copy in ((run.summary, row.summary), (run.valid, row.valid)):
            if path.is_file():
                shutil.copy(path, copy)
        label, _, seed = run.folder.name.rpartition("-seed")
        if row.valid.is_file():
            curves.setdefault(seed, {})[label] = row.valid
        if lines := block_means(run.log):
            (row.folder / "losses.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
            logs.setdefault(seed, {})[label] = row.folder / "losses.jsonl"
        if run.config.is_file():
            scales = yaml.safe_load(run.config.read_text())["model"]["d_scales"]
    for seed, runs in curves.items():
        fig = compare_runs(runs, ("val_sdr", "val_vocal_fraction"), window=1)
        fig.suptitle(f"seed {seed}: every row on the selection songs (median vocal SDR in dB; vocal energy fraction)")
        fig.savefig(dest / f"selection-curves-seed{seed}.png", dpi=100)
    for seed, runs in logs.items():
        fig = game(runs, scales)
        fig.suptitle(f"seed {seed}: the adversarial game of every row (means over 50 steps; dashed: a discriminator "
                     f"that cannot tell, {scales} scales)")
        fig.savefig(dest / f"game-seed{seed}.png", dpi=100)


def table3_so_far(src: Path, dest: Path, root: Path = DEFAULT_ROOT) -> list[str]:
    """While a reproduction runs: Table 3 of the rows scored so far under every protocol, from its scores/ and
    scores-v3/ as they are (``so-far/table3.md``, ``so-far/paper-protocol/table3.md``, their JSON and
    ``so-far/ordering.json``: what each removal costs against the full method, ours beside the paper's; τ only
    over the rows there). A row counts once every seed scored so far under v4 is also scored under v3; seeds
    are those of the full method. Returns the labels written (none: nothing is written)."""
    out, so_far = ReproductionFolder(src), ReproductionFolder(dest / "so-far")
    seeds = sorted(int(p.stem.rpartition("-seed")[2])
                   for p in out.scores_dir().glob(f"{run_name('all losses')}-seed*.json"))
    keys = {label: [row_key(label, s) for s in seeds] for label in ABLATION}
    done = [label for label, ks in keys.items() if seeds and all(
        out.scores(k, p).is_file() for k in ks for p in PROTOCOL_FILES)]
    if not done:
        return []
    config_file = out.run(keys[done[0]][0]).config
    config = yaml.safe_load(config_file.read_text()) if config_file.is_file() else {}
    select = list_tracks(root, "train", "select") if root.is_dir() else []
    orders = {}
    for protocol, files in PROTOCOL_FILES.items():
        scores = {label: [json.loads(out.scores(k, protocol).read_text()) for k in keys[label]]
                  for label in done}
        report = [t["name"] for t in scores[done[0]][0]["tracks"]]
        info = {"profile": config.get("preset", "?"), "data": "musdb",
                "evaluation_songs": len(report), "evaluated_on": "report", "seeds": len(seeds),
                "steps": config.get("train", {}).get("steps", "?"), "report_songs": report,
                "selection_songs": select or ["(not named: data root absent)"], "protocol": files["name"]}
        rows3 = {label: summarise(s) for label, s in scores.items()}
        so_far.tables(protocol).mkdir(parents=True, exist_ok=True)
        md = table3(rows3, so_far.tables(protocol), info, files["aggregation"])
        so_far.table(3, ".md", protocol).write_text(  # say it is not the run's table
            md.replace("# Table 3 — ablation", "# Table 3 so far (the run is not finished) — ablation", 1))
        orders[files["name"]] = ordering(rows3, PAPER_TABLE3)
    so_far.ordering.write_text(json.dumps(orders, indent=2) + "\n")
    return done


def main(kind: str, src: str, dest: str) -> None:
    src_p, dest_p = Path(src), Path(dest)
    dest_p.mkdir(parents=True, exist_ok=True)
    if kind == "reproduce":
        out = ReproductionFolder(src_p)
        finished = out.table(3).is_file()
        tables = (out.table(1, ".md"), out.table(1), out.table(3, ".md"), out.table(3), out.ablation(), out.timing)
        for path in tables if finished else ():
            shutil.copy(path, dest_p / path.name)
        if finished and (dest_p / "so-far").is_dir():
            shutil.rmtree(dest_p / "so-far")  # the run's own tables replace the tables of the rows so far
        if out.ordering.is_file():
            shutil.copy(out.ordering, dest_p / out.ordering.name)
        # v3's tables, then every protocol's scores (museval's per-song files stay behind: too many)
        for folder in (out.tables("v3"), *(out.scores_dir(p) for p in PROTOCOL_FOLDERS)):
            if folder.is_dir():
                shutil.copytree(folder, dest_p / folder.relative_to(src_p), dirs_exist_ok=True)
        rows_on_selection_songs(src_p, dest_p)
        if not finished:
            scored = sorted(p.stem for p in out.scores_dir().glob("*.json"))
            print(f"{src}: still running (no tables yet); copied the {len(scored)} methods scored so far: "
                  f"{', '.join(scored) or 'none'}")
            if rows := table3_so_far(src_p, dest_p):
                print(f"Table 3 of the rows scored so far ({', '.join(rows)}) in {dest_p / 'so-far'}")
    elif kind == "curve":
        shutil.copy(Run(src_p).valid, Run(dest_p).valid)
        validation_curves(src_p).savefig(dest_p / "learning_curve.png", dpi=110)
    else:
        raise SystemExit(f"unknown kind {kind!r}: reproduce or curve")


if __name__ == "__main__":
    main(*sys.argv[1:4])
