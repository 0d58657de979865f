"""The main job: regenerate Table 1 (semi-supervised methods) and Table 3 (the ablation) from one command.

``semisep reproduce --profile {smoke,cpu,paper} --data {toy,musdb} [--root PATH] [--seeds N] --out DIR``; a
profile is a scale of the preset registry (``config.PRESETS``): its config (NES and NMF sizes included) and its
``ReproduceProfile`` (steps, songs, museval workers, threads).

1. Loads the unmatched training data (mixtures and instrumentals from different songs) and the report songs:
   the test subset, or, when the data has none, the *report* half of the validation songs. The other half, the
   *selection* songs, chooses every trained ``g``'s best checkpoint and mask exponent; the tables say which
   songs chose and which reported.
2. Trains, for each seed, our method with all losses, the seven ablation rows of Table 3, the GAN-only row and
   the supervised same-``g`` bound; fits NMF and NES — every method of the registry with a row in Table 1 or 3
   (``methods.REPRODUCED``), built, fitted or loaded as the registry says. Each trained ``g`` is validated on the selection songs
   by :func:`mask_validator` (the songs separated whole, as ``separate`` would), which keeps its best checkpoint,
   and gets its mask exponent chosen on them.
3. Scores everything with museval (BSS Eval v4, 1 s windows, SiSEC-2018 medians) and writes ``table1.md``,
   ``table3.md``, their JSON (``tables``) and ``ablation.png`` (``plots``) beside the paper's numbers; where the
   profile asks (``long``), also with the paper's protocol (BSS Eval v3, whole excerpts, per-track means) into
   ``paper-protocol/``. ``ordering.json``: Kendall's τ between our Table 3 order and the paper's, per protocol.

Re-running continues: every finished step leaves a file (``runs/<row>/summary.json``, ``scores/<row>.json``)
that is found and kept, an interrupted training resumes from its checkpoint, and all files are written
atomically. A row whose scores are all there is not trained again even when its run folder is gone, so a long
reproduction can continue in another session from its committed ``scores*/`` folders alone.

``semisep tune-mask`` chooses one run's mask exponent on the selection songs as step 2 does (:func:`tune_run`).
"""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import os
import subprocess
import time
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import torch

from ..errors import UsageError
from ..fileio import atomic_write_bytes, atomic_write_json, run_lock
from ..paper import PAPER_TABLE3
from ..runs import PROTOCOL_FOLDERS, ReproductionFolder, Run
from ..method.checkpoint import load_g, pick_device
from ..method.config import TERMS, Config, ReproduceProfile, preset
from ..method.segments import TrainingData
from ..method.separate import MaskSeparator, save_tuning, tune_mask
from ..method.train import Validator, separator_validation, train, untrained_checkpoint
from .data import evaluation_songs, list_tracks, load_songs, load_training_data, resolve_data_root
from .evaluate import evaluate_separator
from .methods import ABLATION, REPRODUCED, TRAINED_ROWS, Method, row_key
from .plots import ablation
from .tables import ordering, write_tables

#: protocol → where its scores, museval files and tables go (``runs.PROTOCOL_FOLDERS``), how its windows are
#: pooled, and how the tables name it
PROTOCOL_FILES = {
    "v4": {**PROTOCOL_FOLDERS["v4"], "aggregation": "median", "name": "museval v4 (1 s windows, medians)"},
    "v3": {**PROTOCOL_FOLDERS["v3"], "aggregation": "mean",
           "name": "the paper's: BSS Eval v3 images, 30 s windows (a whole 7 s excerpt is one), per-track means"},
}

def mask_validator(td: TrainingData, cfg: Config) -> Validator | None:
    """The validation of every training path above ``train`` (``semisep train``, :func:`reproduce`, the
    notebooks): ``train.separator_validation`` through ``separate.MaskSeparator(g, cfg, device)``, so that the
    ``val_sdr`` in ``valid.jsonl``, and the ``best.pt`` it chooses, are those of separating the selection songs
    whole as ``semisep separate`` does with ``cfg``'s post-processing — not ``train.validate``'s fixed chunks.
    The device is ``g``'s own, the trainer's: the separator leaves ``g`` there (and ``train`` puts it back in
    training mode). ``None`` without validation songs: ``train`` then keeps the last weights."""
    return separator_validation(td, cfg, lambda g: MaskSeparator(g, cfg, next(g.parameters()).device))


def _done(path: Path) -> dict | None:
    return json.loads(path.read_text()) if path.is_file() else None


def _trained(run: Run) -> dict | None:
    """A finished run's summary, if its weights are there too: a run folder copied back from ``results/`` holds
    only its small files, and counts as not trained."""
    return _done(run.summary) if run.weights() is not None else None


def git_commit(path: Path | None = None) -> str | None:
    """``HEAD`` of the git work tree holding ``path`` (default: this library), with ``+ local changes`` when
    tracked files differ from it; ``None`` outside git."""
    where = str(path or Path(__file__).resolve().parents[1])
    try:
        head = subprocess.run(["git", "-C", where, "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10)
        if head.returncode:
            return None
        dirty = subprocess.run(["git", "-C", where, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return head.stdout.strip() + (" + local changes" if dirty else "")


def relative(path) -> str:
    """``path`` relative to the current directory, as a run records its folders: no table or caption carries an
    absolute path of the machine that ran it."""
    try:
        return os.path.relpath(path)
    except ValueError:  # another drive (Windows): no relative path exists
        return Path(path).name


def recorded_root(data: str, given, resolved: Path) -> str | None:
    """The data root as a run records it (its tables' ``info`` and caption, its command): ``None`` for the
    built-in toy set (found again in the cache, wherever that lies), else :func:`relative` of it."""
    return None if data == "toy" and not given else relative(resolved)


def command_line(profile: str, data: str, root, seeds: int, out) -> str:
    """The ``reproduce`` command line with these settings (what a run records, and what a reader re-runs)."""
    where = f" --root {root}" if data == "musdb" and root else ""
    return f"python -m semisep_lib reproduce --profile {profile} --data {data}{where} --seeds {seeds} --out {out}"


#: The stages of ``timing.json``. With row processes, NMF and NES are fitted during the training stage, beside
#: the warm-up; the baselines' stage then only scores them. A profile that scores as it trains
#: (``score_as_trained``) scores every row in its row process and the baselines beside the warm-up, all in its
#: first stage (then named ``SCORING_STAGE``); the other two then only read the scores back.
TRAINING_STAGE = "training (warm-up, rows, their mask tuning; NMF and NES fitted beside the warm-up)"
SCORING_STAGE = ("training and scoring (warm-up; rows, their mask tuning and scores; NMF and NES fitted and the "
                 "baselines scored beside the warm-up)")
BASELINES_STAGE = "baselines (fit where not yet fitted, and evaluation)"


def row_cost(name: str) -> int:
    """A trained row's cost per step, for ordering only: its active terms (each adds a pass of ``g`` or of a
    discriminator), the supervised row (one plain pass of ``g``, no discriminator) cheapest."""
    m = TRAINED_ROWS[name]
    return 0 if m.objective == "supervised" else len(TERMS) - len(m.without)

_WORKER: "Reproduction | None" = None  # a row process's own Reproduction, built once per process


def _init_row_process(args: tuple, kwargs: dict, profile: ReproduceProfile) -> None:
    global _WORKER
    if profile.threads:
        torch.set_num_threads(profile.threads)
    _WORKER = Reproduction(*args, progress=False, **kwargs)
    _WORKER.p = dataclasses.replace(profile, workers=1)  # the parent's profile; museval beside the other rows: one each


def _train_row_in_process(name: str, seed: int) -> str:
    return str(_WORKER.row(name, seed))


def _warm_up_in_process(seed: int) -> str:
    return str(_WORKER.warm_up(seed))


def _baselines_in_process() -> None:
    _WORKER.fit_baselines()
    if _WORKER.p.score_as_trained:  # and scored, while the warm-up holds the other process
        _WORKER.baselines()


class Reproduction:
    """One reproduction's state on disk (``out``); each method below is a step that skips itself when done."""

    def __init__(self, profile: str, data: str, root: str | None, seeds: int, out: str | Path,
                 device: str = "auto", progress: bool = True, steps: int | None = None,
                 row_processes: int | None = None):
        # what a row process rebuilds this from (progress is a keyword of its own there)
        self.args = (profile, data, root, seeds, str(out), device)
        self.kwargs = {"steps": steps, "row_processes": row_processes}
        self.seconds: dict[str, float] = {}  # wall seconds per stage in this call (timing.json)
        p = preset(profile, "profile")
        if seeds < 1:
            raise UsageError("--seeds must be at least 1.")
        self.profile, self.p = profile, p.reproduce  # the scale's ReproduceProfile (config.PRESETS)
        if row_processes:  # an explicit override: rows trained at once (e.g. 1 to leave a core free)
            self.p = dataclasses.replace(self.p, row_processes=row_processes)
        self.data, self.seeds, self.out, self.progress = data, seeds, Path(out), progress
        self.files = ReproductionFolder(self.out)  # where every file below goes
        self.root = resolve_data_root(data, root)
        self.cfg = p.config().updated(self.p.overrides)  # the one look-up of the profile; NES and NMF sizes with it
        if steps or self.p.steps:  # an explicit override (a quick check of a profile), else the profile's
            self.cfg.train.steps = steps or self.p.steps
        self.device = str(pick_device(device))  # every stage that runs a network: train, tune, separate, NES
        self.cfg.train.device = self.device
        self.td = load_training_data(self.cfg, self.root, tracks=self.p.train_tracks)
        self.eval_songs, self.eval_subset = self._evaluation_songs()

    def _evaluation_songs(self):
        songs, subset = evaluation_songs(self.root, limit=self.p.eval_tracks or None)
        if self.p.eval_seconds:
            n = int(self.p.eval_seconds * songs[0].rate)
            songs = [dataclasses.replace(s, mixture=s.mixture[:, :n], vocals=s.vocals[:, :n],
                                         accompaniment=s.accompaniment[:, :n]) for s in songs]
        return songs, subset

    # -- steps --------------------------------------------------------------------------------------------------
    def warm_up(self, seed: int) -> Path:
        """The discriminator-only warm-up, run once per seed and shared by every row: during it ``g`` is not
        trained, so it is the same for all rows (a row without a GAN term just ignores the discriminator)."""
        run = self.files.warm_up(seed)
        cfg = dataclasses.replace(self.cfg, train=dataclasses.replace(
            self.cfg.train, seed=seed, steps=self.cfg.train.d_warmup, val_segments=0))  # g is not trained yet
        if cfg.train.steps and not _trained(run):
            summary = train(cfg, self.td, run.folder, progress=self.progress)  # no validation chunks: not validated
            atomic_write_json(run.summary, summary)
        return run.checkpoint

    def train_row(self, name: str, without: tuple[str, ...], seed: int, objective: str = "semi") -> Path:
        """Train (or resume, or find finished) one ``g``, validated by :func:`mask_validator`, and choose its mask
        exponent on the selection songs. Every row starts from the shared warm-up and then gets the same number
        of ``g`` steps (the supervised row, which uses no discriminator, starts at the same step from the state
        the warm-up would leave it: :func:`~semisep_lib.method.train.untrained_checkpoint`)."""
        run = self.files.run(row_key(name, seed))
        if _trained(run):
            return run.folder
        cfg = dataclasses.replace(self.cfg, loss=self.cfg.loss.without(list(without)),
                                  train=dataclasses.replace(self.cfg.train, seed=seed))
        if objective == "supervised":  # no discriminator: it starts where the warm-up would leave it, without it
            if cfg.train.d_warmup and not run.checkpoint.exists():
                untrained_checkpoint(cfg, self.td, run.folder, cfg.train.d_warmup)
        elif (warm := self.warm_up(seed)).is_file() and not run.checkpoint.exists():
            run.folder.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(run.checkpoint, warm.read_bytes())
        summary = train(cfg, self.td, run.folder, objective=objective, progress=self.progress,
                        validator=mask_validator(self.td, cfg))
        t0 = time.perf_counter()
        g, gcfg = load_g(run.folder, device=self.device)
        select = load_songs(self.root, subset="train", split="select", sample_rate=gcfg.spectral.sample_rate,
                            mono=True)  # at the model's rate, mono: the tuning's cost is museval's
        by_sdr, by_sir, curve = tune_mask(g, gcfg, select, device=self.device)
        save_tuning(run.folder, by_sdr, by_sir, curve,
                    {"chosen_on": "selection songs", "songs": [s.name for s in select]})
        atomic_write_json(run.summary, {**summary, **by_sdr, "row": name, "seed": seed,
                                        "tuning_seconds": round(time.perf_counter() - t0, 2)})
        return run.folder

    def row(self, name: str, seed: int) -> Path:
        """:meth:`train_row` for a row of :data:`TRAINED_ROWS`, and, where the profile scores rows as they are
        trained (``score_as_trained``), its scores under every protocol right away."""
        m = TRAINED_ROWS[name]
        run = self.train_row(name, m.without, seed, m.objective)
        if self.p.score_as_trained:
            self.scores(row_key(name, seed), lambda: m.load(run, self.device))
        return run

    def train_rows(self) -> None:
        """Every trained row for every seed, after the shared warm-ups: ``row_processes`` rows at a time, each in
        its own process (``threads`` threads each; a row's result does not depend on which process trains it,
        since it starts from the warm-up checkpoint with its own seed). With more than one process, the
        baselines that learn (NMF, NES) are fitted beside the warm-ups, which use one process each: a core that
        would wait for the warm-up works instead (where the profile scores as it trains, it scores all the
        baselines there too; otherwise their scoring comes later, in :meth:`baselines`). Within a seed the
        costliest rows (:func:`row_cost`) go first, so that the processes finish together, not one of them
        alone on a last long row; the supervised row, which needs no warm-up, is trained beside it."""
        warm_ups = [seed for seed in range(self.seeds)
                    if not all(self.scored(row_key(name, seed)) for name in TRAINED_ROWS)]
        # one seed after another (a run stopped part-way leaves whole seeds), the costliest rows first
        jobs = [(name, seed) for seed in range(self.seeds)
                for name in sorted(TRAINED_ROWS, key=lambda n: -row_cost(n))
                if not _trained(self.files.run(row_key(name, seed))) and not self.scored(row_key(name, seed))]
        if self.p.row_processes <= 1 or len(jobs) < 2:
            for seed in warm_ups:
                self.warm_up(seed)
            for name, seed in jobs:
                self.row(name, seed)
            return
        if self.progress:
            print(f"training {len(jobs)} rows, {self.p.row_processes} at a time", flush=True)
        with ProcessPoolExecutor(self.p.row_processes, mp_context=multiprocessing.get_context("spawn"),
                                 initializer=_init_row_process, initargs=(self.args, self.kwargs, self.p)) as pool:
            warm = [pool.submit(_warm_up_in_process, seed) for seed in warm_ups]
            fitting = pool.submit(_baselines_in_process)
            early = [job for job in jobs if TRAINED_ROWS[job[0]].objective == "supervised"]  # no warm-up needed
            beside = [pool.submit(_train_row_in_process, *job) for job in early]
            for done in warm:
                done.result()  # every other row starts from its seed's warm-up
            rest = [job for job in jobs if job not in early]
            for run in pool.map(_train_row_in_process, *zip(*rest)) if rest else ():
                if self.progress:
                    print(f"  trained {Path(run).name}", flush=True)
            for done in (fitting, *beside):
                done.result()

    @contextmanager
    def stage(self, name: str):
        """Add the block's wall time to ``self.seconds[name]``."""
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = round(self.seconds.get(name, 0.0) + time.perf_counter() - t0, 1)

    def scored(self, key: str) -> bool:
        """Whether ``key`` has its scores under every protocol of the profile (its model is then not needed:
        a later session that has only the committed scores skips its training)."""
        return all(_done(self.files.scores(key, p)) is not None for p in self.p.protocols)

    def score(self, key: str, make_separator, protocol: str = "v4") -> dict:
        """museval scores of one method on the evaluation songs under ``protocol`` (:data:`PROTOCOL_FILES`: cached
        in ``scores/<key>.json`` for v4, ``scores-v3/<key>.json`` for the paper's v3, aggregated by the mean)."""
        path, files = self.files.scores(key, protocol), PROTOCOL_FILES[protocol]
        if (found := _done(path)) is not None:
            return found
        result = evaluate_separator(make_separator(), self.eval_songs, self.files.museval(key, protocol), key,
                                    protocol=protocol, workers=self.p.workers, aggregation=files["aggregation"])
        atomic_write_json(path, result)
        return result

    def scores(self, key: str, make_separator) -> dict[str, dict]:
        """:meth:`score` under every protocol of the profile, by protocol."""
        return {p: self.score(key, make_separator, p) for p in self.p.protocols}

    def trained_row(self, name: str) -> dict[str, list[dict]]:
        """Scores of a trained row of :data:`TRAINED_ROWS`, by protocol, one per seed (trained only if a seed
        is not scored yet)."""
        m = TRAINED_ROWS[name]
        per_seed = []
        for seed in range(self.seeds):
            key = row_key(name, seed)
            run = None if self.scored(key) else self.train_row(name, m.without, seed, m.objective)
            per_seed.append(self.scores(key, lambda: m.load(run, self.device)))
        return {p: [s[p] for s in per_seed] for p in self.p.protocols}

    def seeds_of(self, m: Method) -> range:
        """The seeds a method has a model for: every seed, or one (0) for a method fitted once."""
        return range(self.seeds if m.per_seed else 1)

    def separator(self, m: Method, seed: int = 0):
        """A method of the registry that needs no ``g`` (:data:`~semisep_lib.study.methods.METHODS`): a bound or the
        oracle built from the run's config, or a baseline fitted once (per seed) and kept in
        ``runs/<key>[-seed<k>]/`` (``nmf.npz``, ``nes.pt``: the listening page separates with them)."""
        if m.build is not None:
            return m.build(self.cfg)
        path = m.model_path(self.files.run(m.folder(seed)).folder)
        if path.is_file():
            return m.load(path, self.device)
        model = m.fit(self.cfg, self.td, seed, self.device, self.progress)
        path.parent.mkdir(parents=True, exist_ok=True)
        model.save(path)
        return model

    def fit_baselines(self) -> None:
        """Fit (or find) the baselines that learn — NMF, and NES for each seed — where their scores are missing."""
        for m in REPRODUCED:
            for seed in self.seeds_of(m):
                if m.kind == "baseline" and not self.scored(m.folder(seed)):
                    self.separator(m, seed)

    def baselines(self) -> dict[str, dict[str, list[dict]]]:
        """Every Table 1 method without a ``g`` — the mixture, the oracle mask, NES (once per seed) and NMF — by
        protocol, then Table 1 row key."""
        runs = {m.table1: [self.scores(m.folder(s), lambda m=m, s=s: self.separator(m, s)) for s in self.seeds_of(m)]
                for m in REPRODUCED if m.kind != "g"}
        return {p: {k: [r[p] for r in v] for k, v in runs.items()} for p in self.p.protocols}

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
            with self.stage(SCORING_STAGE if self.p.score_as_trained and self.p.row_processes > 1
                            else TRAINING_STAGE):
                self.train_rows()
            with self.stage("evaluation of the trained rows"):
                rows = {label: self.trained_row(label) for label in TRAINED_ROWS}
            with self.stage(BASELINES_STAGE):
                baselines = self.baselines()
            root = recorded_root(self.data, self.args[2], self.root)
            info = {"profile": self.profile, "data": self.data, **({"root": root} if root else {}),
                    "evaluated_on": self.eval_subset, "evaluation_songs": len(self.eval_songs),
                    "report_songs": [s.name for s in self.eval_songs],
                    "selection_songs": list_tracks(self.root, "train", "select"),
                    "seeds": self.seeds, "steps": self.cfg.train.steps, "preset": self.profile,
                    "command": command_line(self.profile, self.data, root, self.seeds, relative(self.out)),
                    "git_commit": git_commit()}
            orders, tables = {}, {}
            for protocol in self.p.protocols:
                table3 = {label: rows[label][protocol] for label in ABLATION}
                table1 = {**baselines[protocol], **{m.table1: rows[m.row][protocol] for m in REPRODUCED
                                                    if m.kind == "g" and m.table1}}
                files = PROTOCOL_FILES[protocol]
                where = self.files.tables(protocol)
                _, rows3 = write_tables(where, table1, table3, {**info, "protocol": files["name"]},
                                        aggregation=files["aggregation"])
                orders[protocol], tables[protocol] = ordering(rows3, PAPER_TABLE3), (table1, table3)
                fig = ablation(rows3, PAPER_TABLE3)
                figure = self.files.ablation(protocol)
                tmp = figure.with_name(figure.name + ".tmp.png")
                fig.savefig(tmp, dpi=120, bbox_inches="tight")
                tmp.replace(figure)
            atomic_write_json(self.files.ordering, {PROTOCOL_FILES[p]["name"]: o for p, o in orders.items()})
            atomic_write_json(self.files.timing, {"seconds_this_call": round(time.perf_counter() - t0, 1),
                                                  "stages": self.seconds, "threads": self.p.threads,
                                                  "row_processes": self.p.row_processes})
        table1, table3 = tables[self.p.protocols[0]]  # v4's (the SiSEC 2018 tables in OUT/)
        return {"table1": table1, "table3": table3, "info": info, "ordering": orders}


def reproduce(profile: str = "smoke", data: str = "toy", root: str | None = None, seeds: int = 1,
              out: str | Path = "runs/reproduce", device: str = "auto", progress: bool = True,
              steps: int | None = None, row_processes: int | None = None) -> dict:
    """Regenerate Table 1 and Table 3 into ``out``; see the module docstring. ``steps`` overrides every row's
    training steps (warm-up included), for a quick end-to-end check of a profile; ``row_processes`` the number
    of rows trained at once (the profile's by default). Neither changes a row's result."""
    return Reproduction(profile, data, root, seeds, out, device, progress, steps, row_processes).run()


def tune_run(model: str | Path, root: str | Path, powers: dict | None = None, device: str = "auto",
             record: dict | None = None) -> tuple[dict, dict, list[dict], Path]:
    """``semisep tune-mask``: choose the mask exponent of the run ``model`` on the *selection* songs of the dataset
    ``root`` (at the model's rate, mono, for speed) with :func:`tune_mask`, and store it in the run with
    :func:`save_tuning`, with ``record`` (e.g. the data's name) in the tuning record. Returns ``(by SDR,
    favouring SIR, curve, path of separate.yaml)``."""
    dev = pick_device(device or "auto")
    g, cfg = load_g(model, device=str(dev))
    songs = load_songs(root, "train", "select", sample_rate=cfg.spectral.sample_rate, mono=True)
    by_sdr, by_sir, curve = tune_mask(g, cfg, songs, powers=powers, device=dev)
    path = save_tuning(model, by_sdr, by_sir, curve, {"model": str(model), **(record or {}), "root": str(root),
                                            "songs": [s.name for s in songs],
                                            "rate": cfg.spectral.sample_rate, "mono": True})
    return by_sdr, by_sir, curve, path
