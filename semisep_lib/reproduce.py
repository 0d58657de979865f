"""The main job: regenerate Table 1 (semi-supervised methods) and Table 3 (the ablation) from one command.

``semisep reproduce --profile {smoke,cpu,paper} --data {toy,musdb} [--root PATH] [--seeds N] --out DIR``

1. Loads the unmatched training data (mixtures and instrumentals from different songs) and the report songs:
   the test subset, or, when the data has none, the *report* half of the validation songs. The other half, the
   *selection* songs, chooses every trained ``g``'s best checkpoint and mask exponent; the tables say which
   songs chose and which reported.
2. Trains, for each seed, our method with all losses, the seven ablation rows of Table 3, the GAN-only row and
   the supervised same-``g`` bound; fits NMF and NES; each trained ``g`` gets its mask exponent chosen on the
   selection songs.
3. Scores everything with museval (BSS Eval v4, 1 s windows, SiSEC-2018 medians) and writes ``table1.md``,
   ``table3.md``, their JSON and ``ablation.png`` beside the paper's numbers.

Re-running continues: every finished step leaves a file (``runs/<row>/summary.json``, ``scores/<row>.json``)
that is found and kept, an interrupted training resumes from its checkpoint, and all files are written
atomically.
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .checkpoint import pick_device
from .config import Config
from .data import list_tracks, load_songs, load_training_data, resolve_data_root
from .errors import DataError, UsageError
from .fileio import atomic_write_bytes, atomic_write_json, atomic_write_text, run_lock
from .paper import PAPER_TABLE3
from .train import train

#: Table 3 of the paper: row label → terms switched off.
ABLATION = {
    "all losses": (),
    "w/o R1": ("R1",),
    "w/o R2": ("R2",),
    "w/o R3": ("R3",),
    "w/o R4": ("R4",),
    "w/o GAN_A": ("GAN_A",),
    "w/o GAN_C": ("GAN_C",),
    "w/o GAN_A & GAN_C": ("GAN_A", "GAN_C"),
}
#: The GAN-only row of Table 1: g trained with GAN_C alone.
GAN_ONLY = ("R1", "R2", "R3", "R4", "GAN_A")


@dataclass
class Profile:
    """How big a reproduction is: the preset, training steps, how much data, and the NES budget."""

    preset: str
    steps: int | None = None  # None: the preset's
    train_tracks: int | None = None  # None: all training songs
    eval_tracks: int | None = None  # None: all evaluation songs
    eval_seconds: float | None = None  # None: whole songs; else each evaluation song is cut to this length
    # (museval 0.4.1 gives nonsense SIR/ISR/SAR, not SDR, for some excerpts of a whole number of 1 s windows,
    # e.g. 4.0 s of a toy song: hence 4.5 s)
    nes: str = "cpu"  # NESConfig size
    workers: int = 2  # museval processes
    overrides: dict = dataclasses.field(default_factory=dict)  # config values on top of the preset
    threads: int = 0  # torch threads for the whole job (0: torch's default); tiny models run best on one


PROFILES = {
    "smoke": Profile("smoke", steps=20, train_tracks=6, eval_tracks=2, eval_seconds=4.5, nes="smoke", workers=1,
                     threads=1),
    # ≤ 20 minutes on two cores: a 500-step discriminator warm-up shared by all rows, then 150 g steps per row
    "cpu": Profile("cpu", steps=650, nes="cpu", threads=1,
                   overrides={"train": {"d_warmup": 500, "val_every": 25, "ckpt_every": 50}}),
    "paper": Profile("paper", nes="paper", workers=8),
}


def slug(label: str) -> str:
    """A file-system name for a row label: ``"w/o GAN_A & GAN_C"`` → ``"wo-GAN_A-GAN_C"``."""
    return label.replace("w/o ", "wo-").replace(" & ", "-").replace(" ", "-")


def _done(path: Path) -> dict | None:
    return json.loads(path.read_text()) if path.is_file() else None


class Reproduction:
    """One reproduction's state on disk (``out``); each method below is a step that skips itself when done."""

    def __init__(self, profile: str, data: str, root: str | None, seeds: int, out: str | Path,
                 device: str = "auto", progress: bool = True):
        if profile not in PROFILES:
            raise UsageError(f"Unknown profile {profile!r}; choose from {', '.join(PROFILES)}.")
        if seeds < 1:
            raise UsageError("--seeds must be at least 1.")
        self.profile, self.p = profile, PROFILES[profile]
        self.data, self.seeds, self.out, self.progress = data, seeds, Path(out), progress
        self.root = resolve_data_root(data, root)
        self.cfg = Config.from_preset(self.p.preset).updated(self.p.overrides)
        if self.p.steps:
            self.cfg.train.steps = self.p.steps
        self.cfg.train.device = device
        self.device = str(pick_device(device))  # every stage that runs a network: train, tune, separate
        self.td = load_training_data(self.cfg, self.root, tracks=self.p.train_tracks)
        self.eval_songs, self.eval_subset = self._evaluation_songs()

    def _evaluation_songs(self):
        try:
            songs, subset = load_songs(self.root, subset="test"), "test"
        except DataError:  # no test subset (e.g. the MUSDB18 7-second preview's train folder alone)
            songs, subset = load_songs(self.root, subset="train", split="report"), "report"
        if self.p.eval_tracks:
            songs = songs[: self.p.eval_tracks]
        if self.p.eval_seconds:
            n = int(self.p.eval_seconds * songs[0].rate)
            songs = [dataclasses.replace(s, mixture=s.mixture[:, :n], vocals=s.vocals[:, :n],
                                         accompaniment=s.accompaniment[:, :n]) for s in songs]
        return songs, subset

    # -- steps --------------------------------------------------------------------------------------------------
    def warm_up(self, seed: int) -> Path:
        """The discriminator-only warm-up, run once per seed and shared by every row: during it ``g`` is not
        trained, so it is the same for all rows (a row without a GAN term just ignores the discriminator)."""
        run = self.out / "runs" / f"warm-up-seed{seed}"
        cfg = dataclasses.replace(self.cfg, train=dataclasses.replace(
            self.cfg.train, seed=seed, steps=self.cfg.train.d_warmup, val_segments=0))  # g is not trained yet
        if cfg.train.steps and not _done(run / "summary.json"):
            summary = train(cfg, self.td, run, progress=self.progress)
            atomic_write_json(run / "summary.json", summary)
        return run / "checkpoint.pt"

    def train_row(self, name: str, without: tuple[str, ...], seed: int, objective: str = "semi") -> Path:
        """Train (or resume, or find finished) one ``g`` and choose its mask exponent on the selection songs.
        Every row starts from the shared warm-up and then gets the same number of ``g`` steps."""
        run = self.out / "runs" / f"{slug(name)}-seed{seed}"
        if _done(run / "summary.json"):
            return run
        cfg = dataclasses.replace(self.cfg, loss=self.cfg.loss.without(list(without)),
                                  train=dataclasses.replace(self.cfg.train, seed=seed))
        warm = self.warm_up(seed)
        if warm.is_file() and not (run / "checkpoint.pt").exists():
            run.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(run / "checkpoint.pt", warm.read_bytes())
        summary = train(cfg, self.td, run, objective=objective, progress=self.progress)
        from .checkpoint import load_g
        from .separate import save_tuning, tune_mask_power

        g, gcfg = load_g(run, device=self.device)
        select = load_songs(self.root, subset="train", split="select")
        power, table = tune_mask_power(g, gcfg, select, device=self.device)
        save_tuning(run, power, table, {"chosen_on": "selection songs", "songs": [s.name for s in select]})
        atomic_write_json(run / "summary.json", {**summary, "mask_power": power, "row": name, "seed": seed})
        return run

    def score(self, key: str, make_separator) -> dict:
        """museval scores of one method on the evaluation songs (cached in ``scores/<key>.json``)."""
        path = self.out / "scores" / f"{key}.json"
        if (found := _done(path)) is not None:
            return found
        from .evaluate import evaluate_separator

        result = evaluate_separator(make_separator(), self.eval_songs, self.out / "museval" / key, key,
                                    workers=self.p.workers)
        atomic_write_json(path, result)
        return result

    def trained_row(self, name: str, without: tuple[str, ...], objective: str = "semi") -> list[dict]:
        """Scores of a trained row, one per seed."""
        from .separate import load_separator

        scores = []
        for seed in range(self.seeds):
            run = self.train_row(name, without, seed, objective)
            scores.append(self.score(f"{slug(name)}-seed{seed}", lambda: load_separator(run, device=self.device)))
        return scores

    def baselines(self) -> dict[str, list[dict]]:
        """Mixture and oracle bounds, NMF and NES (NES once per seed)."""
        from .baselines import MixtureBaseline, NMFBaseline, OracleIRM
        from .nes import NESConfig, train_nes

        rows = {"mixture (lower bound)": [self.score("mixture", MixtureBaseline)],
                "oracle IRM (upper bound)": [self.score("oracle", lambda: OracleIRM(self.cfg))],
                "NMF": [self.score("nmf", lambda: NMFBaseline(self.cfg).fit(self.td))]}
        nes_cfg = getattr(NESConfig, self.p.nes)()
        rows["NES"] = [self.score(f"nes-seed{s}", lambda s=s: train_nes(self.td, self.cfg, nes_cfg, seed=s,
                                                                          progress=self.progress))
                       for s in range(self.seeds)]
        return rows

    def run(self) -> dict:
        """All steps, then the tables."""
        t0 = time.perf_counter()
        threads = torch.get_num_threads()
        if self.p.threads:
            torch.set_num_threads(self.p.threads)
        try:
            return self._run(t0)
        finally:
            torch.set_num_threads(threads)

    def _run(self, t0: float) -> dict:
        with run_lock(self.out):
            table3 = {label: self.trained_row(label, without) for label, without in ABLATION.items()}
            table1 = self.baselines()
            table1["supervised same g (upper bound)"] = self.trained_row("supervised", (), "supervised")
            table1["GAN (GAN_C only)"] = self.trained_row("GAN only", GAN_ONLY)
            table1["ours"] = table3["all losses"]
            info = {"profile": self.profile, "data": self.data, "root": str(self.root),
                    "evaluated_on": self.eval_subset, "evaluation_songs": len(self.eval_songs),
                    "report_songs": [s.name for s in self.eval_songs],
                    "selection_songs": list_tracks(self.root, "train", "select"),
                    "seeds": self.seeds, "steps": self.cfg.train.steps, "preset": self.p.preset}
            write_tables(self.out, table1, table3, info)
            atomic_write_json(self.out / "timing.json", {"seconds_this_call": round(time.perf_counter() - t0, 1)})
        return {"table1": table1, "table3": table3, "info": info}


# -- tables -------------------------------------------------------------------------------------------------------
def summarise(scores: list[dict]) -> dict:
    """Median over seeds of the per-run medians, with the spread (min, max), for each vocal metric."""
    def stat(values):
        vals = np.array([np.nan if v is None else v for v in values], dtype=float)
        if np.all(np.isnan(vals)):
            return {"median": None, "min": None, "max": None}
        return {"median": float(np.nanmedian(vals)), "min": float(np.nanmin(vals)), "max": float(np.nanmax(vals))}

    out = {m: stat([s["vocals"][m] for s in scores]) for m in ("SDR", "SIR", "SAR", "ISR")}
    out.update({k: stat([s[k] for s in scores]) for k in ("fast_sdr", "vocal_energy_fraction", "silent_floor")})
    out["runs"] = len(scores)
    return out


def _cell(stat: dict, runs: int) -> str:
    if runs == 1:
        return f"{stat['median']:.2f}"
    return f"{stat['median']:.2f} [{stat['min']:.2f}, {stat['max']:.2f}]"


def write_tables(out: Path, table1: dict, table3: dict, info: dict) -> None:
    """``table1.md``/``.json`` (through ``evaluate.table1``), ``table3.md``/``.json`` and ``ablation.png``."""
    from .evaluate import table1 as write_table1

    write_table1({k: summarise(v) for k, v in table1.items()}, out, info)
    rows = {label: summarise(v) for label, v in table3.items()}
    lines = [f"# Table 3 — ablation ({info['profile']} profile, {info['data']} data, evaluated on the "
             f"{info['evaluation_songs']} {info['evaluated_on']} songs, {info['seeds']} seed(s), "
             f"{info['steps']} steps)", "",
             "Median vocal SDR / SIR in dB (museval v4, 1 s windows, median over frames then tracks; "
             "with several seeds: median [min, max] over seeds). Paper: DSD100 test set, authors' scale.", "",
             "| losses | SDR | SIR | vocal energy fraction | paper SDR | paper SIR |",
             "|---|---|---|---|---|---|"]
    for label, r in rows.items():
        p_sdr, p_sir = PAPER_TABLE3[label]["SDR"], PAPER_TABLE3[label]["SIR"]
        lines.append(f"| {label} | {_cell(r['SDR'], r['runs'])} | {_cell(r['SIR'], r['runs'])} | "
                     f"{r['vocal_energy_fraction']['median']:.3f} | {p_sdr:.1f} | {p_sir:.1f} |")
    floor = np.median([r["silent_floor"]["median"] for r in rows.values()])
    lines += ["", f"Silent-estimate floor (vocal SDR of an all-zero estimate): {floor:.2f} dB.", ""]
    if info.get("report_songs") is not None:
        lines += [f"Reported on: {', '.join(info['report_songs'])}.",
                  f"Chose checkpoints and mask exponents (never reported): "
                  f"{', '.join(info.get('selection_songs') or []) or 'none'}.", ""]
    atomic_write_text(out / "table3.md", "\n".join(lines))
    atomic_write_json(out / "table3.json", {"info": info, "rows": rows, "paper": PAPER_TABLE3})
    from .plots import ablation_plot

    fig = ablation_plot(rows, PAPER_TABLE3)
    fig.savefig(out / "ablation.png.tmp.png", dpi=120, bbox_inches="tight")
    (out / "ablation.png.tmp.png").replace(out / "ablation.png")


def reproduce(profile: str = "smoke", data: str = "toy", root: str | None = None, seeds: int = 1,
              out: str | Path = "runs/reproduce", device: str = "auto", progress: bool = True) -> dict:
    """Regenerate Table 1 and Table 3 into ``out``; see the module docstring."""
    return Reproduction(profile, data, root, seeds, out, device, progress).run()


def _cmd_reproduce(args) -> None:
    t0 = time.perf_counter()
    reproduce(args.profile, args.data, args.root, args.seeds, args.out, args.device or "auto")
    out = Path(args.out)
    print((out / "table1.md").read_text())
    print((out / "table3.md").read_text())
    print(f"reproduce --profile {args.profile}: {time.perf_counter() - t0:.0f} s; tables in {out}")


def add_commands(sub) -> None:
    p = sub.add_parser("reproduce", help="train and evaluate every row of Table 1 and Table 3")
    p.add_argument("--profile", choices=list(PROFILES), default="smoke")
    p.add_argument("--data", choices=["toy", "musdb"], default="toy")
    p.add_argument("--root", help="dataset root (musdb: else $MUSDB_PATH; toy: else the built-in set)")
    p.add_argument("--seeds", type=int, default=1, help="seeds per trained row (median and spread)")
    p.add_argument("--device", help="cpu, cuda ... (default: CUDA when present)")
    p.add_argument("--out", required=True)
    p.set_defaults(func=_cmd_reproduce)
