"""One registry of methods: every separator that ``reproduce``, the model card and the listening page score.

A :class:`Method` says what a method is called (``name``, as the listening page shows it; its rows in Table 1,
Table 3 and on the model card), where a reproduction keeps it (``key``: ``runs/<key>[-seed<k>]/`` and
``scores/<key>[-seed<k>].json``), what kind of separator it is, and how to get one:

* ``"bound"`` — needs nothing (``build(cfg)``): the mixture called vocals, silence;
* ``"oracle"`` — the ideal ratio mask with the model's STFT (``build(cfg)``); it needs each song's true stems,
  so it is scored through ``separate_with_references`` (``evaluate`` does this for any separator that has it);
* ``"baseline"`` — learns from the same unmatched data as ours (``fit(cfg, td, seed, device, progress)``: NMF once,
  NES once per seed) and is kept as one file in its run folder (``file``, read back by ``load``);
* ``"g"`` — our masking network, trained by ``reproduce`` with the terms ``without`` switched off and its
  ``objective``, read back from its run folder (``load``: the best ``g`` with its tuned post-processing).

Every one is built, fitted or loaded from a resolved :class:`~semisep_lib.method.config.Config` passed down (its STFT,
``cfg.nes``, ``cfg.nmf``), never from a preset's name. All of them are scored alike: museval on the evaluation
songs (``evaluate.evaluate_separator``).

**Adding a method** (say an eighth baseline): write its separator (a
:class:`~semisep_lib.method.separator.Separator`: ``separate(audio, rate)`` returns the vocals; a learned one with
``fit`` and ``save``/``load``, as ``baselines.NMFBaseline``), name its model file in :mod:`semisep_lib.runs` (as
``NMF_FILE``), and add one :class:`Method` line to :data:`METHODS`. Give it a Table 1 row key (a new key needs
its label in ``tables.TABLE1_ROWS``): ``reproduce`` then fits, saves, scores and tabulates it and the listening
page plays it (``semisep baselines``, which fits NMF and NES by name, does not); ``card=`` puts it on the model
card as well.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..runs import NES_FILE, NMF_FILE
from ..method.config import Config
from ..method.segments import TrainingData
from ..method.separate import load_separator
from ..method.separator import Separator
from .baselines import MixtureBaseline, NMFBaseline, OracleIRM, SilentBaseline
from .nes import NESSeparator, train_nes

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
KINDS = ("bound", "oracle", "baseline", "g")


def run_name(label: str) -> str:
    """The run folder's name of a row label, ``runs/<run_name>-seed<k>``: ``"w/o GAN_A & GAN_C"`` →
    ``"wo-GAN_A-GAN_C"`` (``listen.run_labels`` maps it back)."""
    return label.replace("w/o ", "wo-").replace(" & ", "-").replace(" ", "-")


def row_key(label: str, seed: int) -> str:
    """A trained row's key for one seed: its run folder ``runs/<key>`` and its scores ``scores/<key>.json``."""
    return f"{run_name(label)}-seed{seed}"


@dataclass(frozen=True)
class Method:
    """One method. ``table1``: its Table 1 row key (``tables.TABLE1_ROWS``), ``table3``: its Table 3 label,
    ``card``: its row on the model card (``None``: not there). ``per_seed``: one model per seed (``-seed<k>``
    after its key). ``build``, ``fit`` and ``load`` as the module docstring says; ``load`` takes
    :meth:`model_path` of a run folder and a device."""

    name: str
    key: str
    kind: str
    table1: str | None = None
    table3: str | None = None
    card: str | None = None
    per_seed: bool = False
    file: str | None = None  # a baseline's model file in its run folder (a g's run folder is read whole)
    without: tuple[str, ...] = ()
    objective: str = "semi"
    build: Callable[[Config], Separator] | None = None
    fit: Callable[..., Separator] | None = None
    load: Callable[[Path, str], Separator] | None = None

    @property
    def row(self) -> str:
        """The label ``reproduce`` trains a ``g`` under: its Table 3 label, else its name."""
        return self.table3 or self.name

    def folder(self, seed: int = 0) -> str:
        """Its run folder and score key in a reproduction: ``key``, with ``-seed<k>`` for a method per seed."""
        return f"{self.key}-seed{seed}" if self.per_seed else self.key

    def model_path(self, folder: str | Path) -> Path:
        """What :attr:`load` reads in a run folder: the folder itself (a ``g``), or the baseline's file in it."""
        return Path(folder) / self.file if self.file else Path(folder)


def _fit_nmf(cfg: Config, td: TrainingData, seed: int = 0, device: str | None = None,
             progress: bool = False) -> NMFBaseline:
    return NMFBaseline(cfg).fit(td)  # one dictionary for every seed: its draws are NMF's own seed, 0


def _fit_nes(cfg: Config, td: TrainingData, seed: int = 0, device: str | None = None,
             progress: bool = False) -> NESSeparator:
    nes_cfg = cfg.nes if device is None else dataclasses.replace(cfg.nes, device=device)
    return train_nes(td, cfg, nes_cfg, seed=seed, progress=progress)


def _load_g(path: Path, device: str = "cpu") -> Separator:
    return load_separator(path, device=device)


def _g(label: str, without: tuple[str, ...] = (), objective: str = "semi", name: str | None = None,
       table1: str | None = None, card: str | None = None) -> Method:
    return Method(name or label, run_name(label), "g", table1=table1, table3=label if label in ABLATION else None,
                  card=card, per_seed=True, without=without, objective=objective, load=_load_g)


#: The registry, in the order the model card lists its methods; the trained rows in the order ``reproduce`` trains
#: them (Table 3's, then the supervised and GAN-only rows).
METHODS: dict[str, Method] = {m.name: m for m in (
    Method("mixture", "mixture", "bound", table1="mixture", card="mixture", build=lambda cfg: MixtureBaseline()),
    Method("silent", "silent", "bound", card="silent", build=lambda cfg: SilentBaseline()),
    Method("oracle", "oracle", "oracle", table1="oracle_irm", card="oracle IRM", build=OracleIRM),
    _g("all losses", name="ours", table1="ours", card="ours (this model)"),
    *(_g(label, without) for label, without in ABLATION.items() if without),
    _g("supervised", objective="supervised", table1="supervised", card="supervised same g"),
    _g("GAN only", GAN_ONLY, table1="gan"),
    Method("nes", "nes", "baseline", table1="nes", card="NES", per_seed=True, file=NES_FILE, fit=_fit_nes,
           load=lambda path, device="cpu": NESSeparator.load(path, device=device)),
    Method("nmf", "nmf", "baseline", table1="nmf", card="NMF", file=NMF_FILE, fit=_fit_nmf,
           load=lambda path, device="cpu": NMFBaseline.load(path)),
)}


def of_kind(*kinds: str) -> list[Method]:
    """The methods of these kinds, in registry order."""
    return [m for m in METHODS.values() if m.kind in kinds]


#: What ``reproduce`` scores: every method with a row in Table 1 or Table 3.
REPRODUCED = [m for m in METHODS.values() if m.table1 or m.table3]
#: The rows that train a ``g``, by the label ``reproduce`` trains them under (:attr:`Method.row`): Table 3's, then
#: Table 1's own (the supervised and GAN-only rows).
TRAINED_ROWS = {m.row: m for m in of_kind("g")}
