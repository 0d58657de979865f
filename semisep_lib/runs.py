"""Where a run keeps its files: the one module that spells their names.

Two folders have a layout:

* a **training run** (:class:`Run`; ``semisep train --out RUN``, and each ``runs/<key>/`` of a reproduction)::

      RUN/config.yaml       the resolved Config it was trained with     (train, at its start)
      RUN/checkpoint.pt     everything needed to resume                  (train, every ckpt_every steps)
      RUN/best.pt           g at its best validation SDR                 (train, at each new best)
      RUN/log.jsonl         every loss term, every step                  (train; plots.loss_curves)
      RUN/valid.jsonl       the validation scores, one line a validation (train; plots.validation_curves)
      RUN/tensorboard/      the same for TensorBoard, when asked         (train --tensorboard)
      RUN/separate.yaml     the mask post-processing chosen by tune-mask (separate.save_tuning / read_tuning)
      RUN/summary.json      a finished run's summary                     (reproduce, once trained and tuned)

  A baseline's run folder holds its one model file instead (:data:`NMF_FILE`, :data:`NES_FILE`). The shipped
  model (``semisep_lib/pretrained/``) is a run folder with only ``best.pt`` and ``separate.yaml`` (and the model
  card, ``pretrained``'s own files).

* a **reproduction** (:class:`ReproductionFolder`; ``semisep reproduce --out OUT``)::

      OUT/runs/<key>/             a training run (a row: ``all-losses-seed0``) or a baseline (``nes-seed0``, ``nmf``)
      OUT/runs/warm-up-seed<k>/   the discriminator warm-up every row of seed k starts from
      OUT/scores/<key>.json       a method's museval v4 scores (scores-v3/ for the paper's protocol)
      OUT/museval/<key>/          evaluate's folder of the method: its museval per-song files (museval-v3/)
      OUT/table1.md, .json, table3.md, .json, ablation.png   the tables (v3's in paper-protocol/)
      OUT/ordering.json, timing.json

Every module that reads or writes one of these files asks this module for its path; none spells the name
(``tests/test_runs.py`` checks). The module depends on nothing but ``pathlib``, so the lowest one that reads a
run (``method.checkpoint``) can use it: it lies underneath all three parts, beside ``fileio``. An evaluation's own
folder (``semisep evaluate``: ``results.json``, ``museval/``) is ``evaluate``'s.
"""

from __future__ import annotations

from pathlib import Path

#: A baseline's model file in its run folder (``methods.METHODS``' ``file``; ``baselines.fit_baselines``).
NMF_FILE = "nmf.npz"
NES_FILE = "nes.pt"
#: What ``semisep fit-baselines`` writes beside them: the fitted baselines and their timings.
BASELINES_SUMMARY = "baselines.json"
#: The run folder name of a reproduction's warm-up, before ``-seed<k>``.
WARM_UP = "warm-up"
#: The folder of a reproduction's runs (the folder name, for a reader that walks a path's parts).
RUNS = "runs"
#: The folders of a reproduction's scores, museval files and tables, per scoring protocol (``""``: ``OUT`` itself).
PROTOCOL_FOLDERS = {
    "v4": {"scores": "scores", "museval": "museval", "tables": ""},
    "v3": {"scores": "scores-v3", "museval": "museval-v3", "tables": "paper-protocol"},
}


def table_file(folder: str | Path, number: int, suffix: str = ".json") -> Path:
    """Table ``number`` (1 or 3) in ``folder``, as ``tables.table1`` / ``tables.table3`` write it: ``.json``
    (its rows and ``info``: what was run, on which songs) or ``.md`` (the markdown shown)."""
    return Path(folder) / f"table{number}{suffix}"


class Run:
    """One training run's folder and the paths of its files (see the module docstring for who writes each)."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)

    def __repr__(self) -> str:
        return f"Run({str(self.folder)!r})"

    @property
    def config(self) -> Path:
        """The resolved :class:`~semisep_lib.method.config.Config` as YAML, written when training starts."""
        return self.folder / "config.yaml"

    @property
    def checkpoint(self) -> Path:
        """The training checkpoint: ``g`` (raw, and its EMA), the discriminators, optimisers, RNG and step."""
        return self.folder / "checkpoint.pt"

    @property
    def best(self) -> Path:
        """The model kept: ``g`` (its EMA when on) at the best validation SDR, with its scores under ``valid``."""
        return self.folder / "best.pt"

    @property
    def log(self) -> Path:
        """JSON lines, one per step: every loss term and the time."""
        return self.folder / "log.jsonl"

    @property
    def valid(self) -> Path:
        """JSON lines, one per validation: the step and the validation scores (``val_sdr`` ...)."""
        return self.folder / "valid.jsonl"

    @property
    def tensorboard(self) -> Path:
        """TensorBoard's event files (``train --tensorboard``)."""
        return self.folder / "tensorboard"

    @property
    def tuning(self) -> Path:
        """``separate:`` the post-processing chosen by ``semisep tune-mask`` and ``tuning:`` its record (YAML)."""
        return self.folder / "separate.yaml"

    @property
    def summary(self) -> Path:
        """A finished run's summary (steps, seconds, best score; a reproduction's row adds its tuning)."""
        return self.folder / "summary.json"

    def weights(self) -> Path | None:
        """The model file a reader of the run loads: :attr:`best`, else :attr:`checkpoint`; ``None`` if neither."""
        return next((p for p in (self.best, self.checkpoint) if p.is_file()), None)


class ReproductionFolder:
    """One reproduction's folder ``OUT`` and the paths of its files (see the module docstring)."""

    def __init__(self, out: str | Path):
        self.out = Path(out)

    def __repr__(self) -> str:
        return f"ReproductionFolder({str(self.out)!r})"

    @property
    def runs(self) -> Path:
        """The folder of every run: the trained rows, the baselines' models and the warm-ups."""
        return self.out / RUNS

    def run(self, key: str) -> Run:
        """The run folder of a method's key (``methods.row_key``, ``Method.folder``)."""
        return Run(self.runs / key)

    def warm_up(self, seed: int) -> Run:
        """The discriminator warm-up of ``seed``, shared by that seed's rows."""
        return self.run(f"{WARM_UP}-seed{seed}")

    def scores_dir(self, protocol: str = "v4") -> Path:
        """The folder of every method's scores under ``protocol``."""
        return self.out / PROTOCOL_FOLDERS[protocol]["scores"]

    def scores(self, key: str, protocol: str = "v4") -> Path:
        """A method's scores under ``protocol`` (``evaluate.evaluate_separator``'s result, as JSON)."""
        return self.scores_dir(protocol) / f"{key}.json"

    def museval(self, key: str, protocol: str = "v4") -> Path:
        """The folder of a method's museval files under ``protocol``."""
        return self.out / PROTOCOL_FOLDERS[protocol]["museval"] / key

    def tables(self, protocol: str = "v4") -> Path:
        """The folder of the tables under ``protocol`` (``OUT`` itself for v4)."""
        return self.out / PROTOCOL_FOLDERS[protocol]["tables"]

    def table(self, number: int, suffix: str = ".json", protocol: str = "v4") -> Path:
        """Table ``number`` (1 or 3) under ``protocol``: :func:`table_file` of :meth:`tables`."""
        return table_file(self.tables(protocol), number, suffix)

    def ablation(self, protocol: str = "v4") -> Path:
        """Table 3 as a figure, ours beside the paper (``plots.ablation``)."""
        return self.tables(protocol) / "ablation.png"

    @property
    def ordering(self) -> Path:
        """Kendall's τ between our Table 3 order and the paper's, per protocol."""
        return self.out / "ordering.json"

    @property
    def timing(self) -> Path:
        """Wall seconds of this call's stages, its threads and row processes."""
        return self.out / "timing.json"
