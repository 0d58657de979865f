"""The narrated notebooks: running them headless, and the small helpers their cells call.

Running. :func:`run_notebooks` executes ``notebooks/NN_*.ipynb`` in order with papermill, injecting
``profile``, ``data``, ``root``, ``device`` and ``out`` into each notebook's cell tagged ``parameters``, and
writes the executed copies to ``out/``. The kernel works in ``out/``, so relative paths land there. It stops at
the first failing cell and raises :class:`NotebookError` naming the notebook and the cell. From a shell::

    semisep notebooks --profile smoke --out runs/nb            # all of them, in order
    semisep notebooks --profile cpu --out runs/nb --only 04 06

Helpers. The notebooks stay short by calling the library; what is specific to a notebook's demonstration lives
here: :func:`setup` (a :class:`Session`: configuration of a profile, data root, output folder, training data;
:meth:`Session.schedule` gives each training run of :data:`NOTEBOOK_RUNS` its warm-up plus ``g`` steps;
:meth:`Session.train` trains one, validated as ``separate`` would separate),
:func:`layer_shapes` and :func:`parameter_table` (notebook 03), :class:`FixedMask`, :func:`map_terms` and
:func:`fit_terms` and :func:`method_signals` (notebook 04: one example of a batch as the method forms it, to hear),
:func:`superposition_errors` (notebook 02), :func:`window_scores` (notebook 07: one song's museval windows),
:func:`committed_ablations` (notebook 08: the ablations run on real songs and committed under ``results/``).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import platform
import sys
import time
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np
import torch

from .checkpoint import pick_device
from .config import PRESETS, TERMS, Config, NotebookProfile, TrainConfig, preset
from .data import evaluation_songs, load_songs, load_training_data, resolve_data_root
from .errors import DataError, SemisepError, UsageError
from .fileio import atomic_write_json
from .losses import generator_losses, level_abar, peak, synthetic_mixture, unit_peak
from .models import MaskNet, build_models, count_parameters
from .reproduce import PROTOCOL_FILES, mask_validator
from .runs import ReproductionFolder, table_file
from .spectral import STFT, crop, features, magnitude, uncrop_mask
from .train import Batches, train

#: Where the notebooks live: ``<repository>/notebooks``.
NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
#: The repository's committed results (``results/``): tables that ``reproduce`` wrote, copied there by
#: ``scripts/collect_results.py``. Absent from an installed package; the notebooks then skip what reads it.
RESULTS_DIR = NOTEBOOK_DIR.parent / "results"
#: The repository's experiments (``experiments/``): studies with their own scripts and committed results.
EXPERIMENTS_DIR = NOTEBOOK_DIR.parent / "experiments"
#: The profiles a notebook runs at: the scales of the preset registry (``config.PRESETS``), each with its
#: ``NotebookProfile`` (training songs, threads, and the length of every run below).
PROFILES = tuple(name for name, p in PRESETS.items() if p.notebook is not None)

#: Every training run the notebooks start, by key. A run's length per profile is the registry's
#: (``NotebookProfile.g_steps``: the ``g`` steps *after* the discriminator warm-up, and ``warmups``: a shorter
#: warm-up); a run the registry does not name (``06-main``) follows the profile's own schedule. A run's total is
#: warm-up + ``g`` steps, so ``g`` trains at least one step on every profile (:func:`training_steps`; the cpu
#: preset's warm-up alone is 800 steps).
NOTEBOOK_RUNS: dict[str, str] = {
    "04-terms": "notebook 04: g trained with one set of reconstruction terms",
    "05-gan": "notebook 05: the GAN terms alone",
    "06-main": "notebook 06: the method, on the profile's own schedule",
    "06-resume": "notebook 06: the resume demonstration, stopped after a short warm-up and a few g steps",
    "06-resume-longer": "notebook 06: the same run, resumed to more steps",
}


def notebook_profile(profile: str) -> NotebookProfile:
    """The registry's ``NotebookProfile`` of ``profile``; :class:`UsageError` for an unknown profile or one the
    notebooks do not run at (``long``)."""
    nb = preset(profile, "profile").notebook
    if nb is None:
        raise UsageError(f"{profile!r} is not a notebook profile; choose {', '.join(PROFILES)}.")
    return nb


def training_steps(key: str, nb: NotebookProfile, tc: TrainConfig) -> tuple[int, int]:
    """``(total steps, discriminator warm-up steps)`` of the notebook run ``key`` (of :data:`NOTEBOOK_RUNS`)
    under a profile's notebook schedule ``nb`` and training settings ``tc``; ``g`` trains ``total − warm-up``
    steps."""
    if key not in NOTEBOOK_RUNS:
        raise UsageError(f"Unknown notebook run {key!r}; there are {', '.join(NOTEBOOK_RUNS)}.")
    warmup = nb.warmups.get(key, tc.d_warmup)
    g_steps = nb.g_steps[key] if key in nb.g_steps else tc.steps - tc.d_warmup
    return warmup + g_steps, warmup


class NotebookError(SemisepError):
    """A notebook failed while running headless."""

    exit_code = 1


# ------------------------------------------------------------------------------------------------------------
# running the notebooks
# ------------------------------------------------------------------------------------------------------------
def list_notebooks(directory: str | Path | None = None) -> list[Path]:
    """The numbered notebooks ``NN_*.ipynb`` of ``directory`` (default :data:`NOTEBOOK_DIR`), in order."""
    directory = Path(directory) if directory is not None else NOTEBOOK_DIR
    if not directory.is_dir():
        raise UsageError(f"Notebook folder {directory} does not exist.")
    found = sorted(p for p in directory.glob("[0-9][0-9]_*.ipynb"))
    if not found:
        raise UsageError(f"Notebook folder {directory} holds no numbered notebooks (NN_name.ipynb).")
    return found


def _select(notebooks: list[Path], only: Sequence[str] | None) -> list[Path]:
    if not only:
        return notebooks
    chosen = [nb for nb in notebooks if any(nb.name.startswith(str(o)) or nb.stem == str(o) for o in only)]
    unknown = [o for o in only if not any(nb.name.startswith(str(o)) or nb.stem == str(o) for nb in notebooks)]
    if unknown:
        raise UsageError(f"No notebook matches {', '.join(map(str, unknown))}; there are "
                         f"{', '.join(nb.stem for nb in notebooks)}.")
    return chosen


def _source_cell(executed: Path, cell_index: int) -> int:
    """The failing cell's number (from 1) in the *source* notebook. ``cell_index`` counts the cells of the
    executed notebook as papermill ran it: with its ``injected-parameters`` cell, before it added its error
    marker cells (which we drop again)."""
    try:
        import nbformat  # here, not at the top: papermill and nbformat take seconds to import, and only
        from papermill.execute import ERROR_MARKER_TAG  # running notebooks headless needs them

        cells = [c for c in nbformat.read(str(executed), as_version=4).cells
                 if ERROR_MARKER_TAG not in c.get("metadata", {}).get("tags", [])]
        injected = sum(1 for c in cells[:cell_index] if "injected-parameters" in c.get("metadata", {}).get("tags", []))
        return cell_index - injected + 1
    except Exception:  # noqa: BLE001 - the message is still useful with papermill's own index
        return cell_index + 1


def run_notebooks(profile: str, out: str | Path, data: str = "toy", root: str | Path | None = None,
                  device: str = "auto", only: Sequence[str] | None = None, directory: str | Path | None = None,
                  extra: Mapping[str, object] | None = None, progress: bool = True,
                  timeout: int | None = None) -> list[dict]:
    """Execute the notebooks in order (or those named in ``only``, by number or name) with papermill.

    Each runs in the current Python's ``python3`` kernel with ``out`` as its working directory, with the
    parameters ``profile``, ``data``, ``root``, ``device`` and ``out`` (absolute) plus ``extra``; the executed
    copy is written to ``out/<name>.ipynb``. Stops at the first error with :class:`NotebookError` naming the
    notebook and the cell. ``timeout``: seconds allowed per cell (None: no limit). Returns, per notebook,
    ``{"notebook", "output", "seconds", "load_average_before"}`` (1, 5, 15 minutes)."""
    import papermill as pm  # see _source_cell
    from papermill.exceptions import PapermillExecutionError

    notebook_profile(profile)  # an unknown profile is refused before anything runs
    notebooks = _select(list_notebooks(directory), only)
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    root = None if root is None else str(Path(root).expanduser().resolve())  # the kernel works in out/
    params = {"profile": profile, "data": data, "root": root, "device": device,
              "out": str(out), **(extra or {})}
    done = []
    for nb in notebooks:
        target = out / nb.name
        load = [round(x, 2) for x in os.getloadavg()]
        t0 = time.perf_counter()
        if progress:
            print(f"running {nb.name} ...", file=sys.stderr, flush=True)
        try:
            pm.execute_notebook(str(nb), str(target), parameters=params, kernel_name="python3", cwd=str(out),
                                progress_bar=False, log_output=False, execution_timeout=timeout)
        except PapermillExecutionError as err:
            first = (err.source or "").strip().splitlines()[0] if (err.source or "").strip() else ""
            where = f"cell {_source_cell(target, err.cell_index)}" + (f" ({first!r})" if first else "")
            raise NotebookError(f"Notebook {nb.name} failed in {where}: {err.ename}: {err.evalue} "
                                f"(the executed copy is {target}).") from None
        except Exception as err:  # kernel died, timeout, unreadable notebook ...
            raise NotebookError(f"Notebook {nb.name} could not be run ({type(err).__name__}: {err}).") from None
        seconds = round(time.perf_counter() - t0, 1)
        if progress:
            print(f"  {nb.name} done in {seconds:.1f} s", file=sys.stderr, flush=True)
        done.append({"notebook": nb.name, "output": str(target), "seconds": seconds, "load_average_before": load})
    return done


#: The measured run time of every notebook per profile, written by ``semisep notebooks --record-times``.
RUN_TIMES = NOTEBOOK_DIR / "run-times.json"
#: Where a notebook's first cell states its run times (the line after this marker is regenerated).
RUN_TIME_MARK = "<!-- run times: written by `semisep notebooks --record-times`; do not edit -->"


def record_run_times(done: Sequence[dict], profile: str, data: str, path: str | Path = RUN_TIMES) -> dict:
    """Merge the ``seconds`` of :func:`run_notebooks`' result into ``path`` (JSON: profile → notebook →
    seconds, data, load average, machine, date) and return the whole record. Only a run that started on an idle
    machine (1-minute load average under 0.5) should be recorded: the load average is stored beside each time."""
    path = Path(path)
    record = json.loads(path.read_text()) if path.is_file() else {}
    for d in done:
        record.setdefault(profile, {})[Path(d["notebook"]).stem] = {
            "seconds": d["seconds"], "data": data, "load_average_before": d.get("load_average_before"),
            "machine": f"{platform.machine()}, {os.cpu_count()} CPUs", "date": time.strftime("%Y-%m-%d")}
    atomic_write_json(path, record)
    return record


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"


def run_time_line(name: str, record: Mapping) -> str:
    """The sentence a notebook's first cell states about its run time, from :data:`RUN_TIMES`."""
    parts = []
    for profile in PROFILES:
        r = record.get(profile, {}).get(name)
        parts.append(f"`{profile}` {_duration(r['seconds'])}" if r else f"`{profile}` not measured yet")
    machine = next((r["machine"] for p in record.values() for r in p.values()), "this project's CI machine")
    return (f"**Run time** (measured headless with `semisep notebooks`, toy data, {machine}; "
            f"`notebooks/run-times.json`): " + " · ".join(parts) + ".")


def stamp_run_times(record: Mapping, directory: str | Path | None = None) -> list[Path]:
    """Write :func:`run_time_line` into each notebook's first cell after :data:`RUN_TIME_MARK` (appended to the
    cell where the mark is missing); outputs and other cells are left as they are. Returns the notebooks changed."""
    import nbformat  # see _source_cell

    changed = []
    for nb_path in list_notebooks(directory):
        nb = nbformat.read(nb_path, as_version=4)
        cell = nb.cells[0]
        head = cell.source.split(RUN_TIME_MARK)[0].rstrip()
        source = f"{head}\n\n{RUN_TIME_MARK}\n{run_time_line(nb_path.stem, record)}"
        if source != cell.source:
            cell.source = source
            nbformat.write(nb, nb_path)
            changed.append(nb_path)
    return changed


# ------------------------------------------------------------------------------------------------------------
# what every notebook starts with
# ------------------------------------------------------------------------------------------------------------
@dataclasses.dataclass
class Session:
    """What a notebook works with: the profile's configuration (device set) and notebook schedule, the data
    root, its own output folder, and the unmatched training data (loaded on first use)."""

    profile: str
    data: str
    root: Path
    device: torch.device
    cfg: Config
    out: Path
    notebook: NotebookProfile
    _td: object = None

    def __repr__(self) -> str:
        return (f"Session(profile={self.profile!r}, data={self.data!r} at {str(self.root)!r}, "
                f"device={str(self.device)!r}, out={str(self.out)!r})")

    def pick(self, **by_profile):
        """A value chosen by profile (a number of steps, of songs, seconds ...), one keyword per profile of the
        registry: ``pick(smoke=25, cpu=150, paper=300)``."""
        if set(by_profile) != set(PROFILES):
            raise UsageError(f"pick() takes one value per profile ({', '.join(PROFILES)}), got {sorted(by_profile)}.")
        return by_profile[self.profile]

    def config(self, **sections: Mapping) -> Config:
        """A copy of the configuration with nested overrides, e.g. ``config(train={"steps": 40})``."""
        return self.cfg.updated({k: dict(v) for k, v in sections.items()})

    def schedule(self, key: str, **sections: Mapping) -> Config:
        """The configuration of the notebook run ``key`` (:data:`NOTEBOOK_RUNS`): the warm-up, then its ``g``
        steps on this profile, validated and checkpointed at the end; ``sections`` as in :meth:`config`. A run
        whose ``loss`` section switches both GAN terms off has no discriminator to warm up: it trains its ``g``
        steps from step 0."""
        total, warmup = training_steps(key, self.notebook, self.cfg.train)
        loss = self.config(loss=sections.get("loss", {})).loss
        if loss.GAN_A == 0 and loss.GAN_C == 0:
            total, warmup = total - warmup, 0
        train = {"steps": total, "d_warmup": warmup, "val_every": total, "ckpt_every": total}
        if key not in self.notebook.g_steps:  # the profile's own schedule, bookkeeping included
            train = {"steps": total, "d_warmup": warmup}
        return self.config(**{**sections, "train": {**train, **dict(sections.get("train", {}))}})

    def training_data(self):
        """The unmatched split of the training songs (S_A mixtures, S_C instrumentals) and validation songs."""
        if self._td is None:
            self._td = load_training_data(self.cfg, self.root, seed=self.cfg.train.seed,
                                          tracks=self.notebook.train_tracks)
        return self._td

    def songs(self, subset: str = "test", limit: int | None = 2, mono: bool = False, seconds: float | None = None,
              sample_rate: int | None = None, split: str | None = None):
        """A few songs with their true stems (default: the first two test songs), at the file's rate unless
        ``sample_rate`` is given, cut to ``seconds``. A dataset without a test subset gives its report songs
        instead, as ``reproduce`` does (:func:`~semisep_lib.data.evaluation_songs`)."""
        if subset == "test" and split is None:  # the songs reproduce reports on: test, else the report songs
            songs, _ = evaluation_songs(self.root, limit=limit, mono=mono, sample_rate=sample_rate)
        else:
            songs = load_songs(self.root, subset=subset, split=split, limit=limit, mono=mono, sample_rate=sample_rate)
        if seconds:
            for s in songs:
                n = int(seconds * s.rate)
                s.mixture = s.mixture[..., :n]
                s.vocals = None if s.vocals is None else s.vocals[..., :n]
                s.accompaniment = None if s.accompaniment is None else s.accompaniment[..., :n]
        return songs

    def batch(self, step: int = 0, seconds: float | None = None):
        """A training batch as the loop sees it: complex cropped spectrograms ``(A, C)`` of mixtures (S_A) and
        instrumentals (S_C), each ``(batch, F, T)``. ``seconds``: segments about this long instead of the profile's
        (a whole number of 16 frames, so that any ``g`` of the presets takes them), to listen to."""
        cfg = self.cfg
        if seconds:
            frames = 16 * max(1, math.ceil(seconds * cfg.spectral.sample_rate / cfg.spectral.hop / 16))
            cfg = self.config(spectral={"segment_frames": frames})
        b = Batches(self.training_data(), cfg)
        stft = STFT(cfg.spectral)
        A = crop(stft(b.get(b.mix, step, 0)))
        C = crop(stft(b.get(b.inst, step, 0)))
        return A, C

    def train(self, name: str, cfg: Config | None = None, objective: str = "semi", progress: bool = True) -> Path:
        """Train (or resume) ``out/name`` with ``cfg`` (default: the profile's); returns the run folder. Validation
        separates the validation songs as ``separate`` does (``reproduce.mask_validator``), so ``best.pt`` is
        the best ``g`` by the scores ``separate`` would give it."""
        run, cfg, td = self.out / name, cfg or self.cfg, self.training_data()
        train(cfg, td, run, objective=objective, progress=progress, validator=mask_validator(td, cfg))
        return run


def setup(profile: str = "smoke", data: str = "toy", root: str | Path | None = None, device: str = "auto",
          out: str | Path = "runs/notebooks", name: str = "notebook", seed: int = 0) -> Session:
    """The :class:`Session` of a notebook: preset ``profile`` with ``device`` (``auto``: CUDA when present),
    the data root (``toy``: the built-in set, generated on first use), and ``out/name`` created. The profile's
    ``NotebookProfile`` (``config.PRESETS``) sets the CPU threads and how many training songs a session loads."""
    nb = notebook_profile(profile)
    if profile == "paper" and data == "toy":
        raise UsageError("The paper profile needs MUSDB18 (data=\"musdb\"), not the built-in toy songs; "
                         "use the smoke or cpu profile with the toy data.")
    cfg = Config.from_preset(profile)
    dev = pick_device(device)
    cfg.train.device = str(dev)
    cfg.train.seed = seed
    if nb.threads and dev.type == "cpu":
        # tiny tensors (smoke): one thread is faster, and far faster when other processes share the cores
        cfg.train.threads = nb.threads
        torch.set_num_threads(nb.threads)
    torch.manual_seed(seed)
    folder = Path(out) / name
    folder.mkdir(parents=True, exist_ok=True)
    return Session(profile, data, resolve_data_root(data, root), dev, cfg, folder, nb)


# ------------------------------------------------------------------------------------------------------------
# notebook 02: superposition
# ------------------------------------------------------------------------------------------------------------
def superposition_errors(mixture: np.ndarray, vocals: np.ndarray, accompaniment: np.ndarray, cfg: Config) -> dict:
    """How far ``STFT(mixture)`` is from ``STFT(vocals) + STFT(accompaniment)`` (complex: float rounding only)
    and ``|STFT(mixture)|`` from ``|STFT(vocals)| + |STFT(accompaniment)|`` (magnitudes: they do not add),
    as relative L1 errors. Inputs are 1-D at ``cfg``'s rate."""
    stft = STFT(cfg.spectral)
    X, V, A = (stft(torch.as_tensor(np.asarray(x, dtype=np.float32))[None])[0]
               for x in (mixture, vocals, accompaniment))  # complex (bins, frames)
    rel = lambda e, ref: float(e.abs().sum() / ref.abs().sum())  # noqa: E731
    return {"complex: |X − (V + A)| / |X|": rel(X - (V + A), X),
            "magnitude: | |X| − (|V| + |A|) | / |X|": rel(X.abs() - (V.abs() + A.abs()), X)}


# ------------------------------------------------------------------------------------------------------------
# notebook 03: the network
# ------------------------------------------------------------------------------------------------------------
def layer_shapes(net: torch.nn.Module, mag: torch.Tensor) -> list[tuple[str, tuple[int, ...]]]:
    """The output shape of each top-level layer of ``g`` (``net.net``) for a magnitude ``(batch, F, T)``."""
    x = features(mag, getattr(net, "power", 0.3))
    rows = [("features (input)", tuple(x.shape))]
    with torch.no_grad():
        for i, layer in enumerate(net.net):
            x = layer(x)
            rows.append((f"{i:2d} {type(layer).__name__}", tuple(x.shape)))
    return rows


def parameter_table(presets: Sequence[str] = PROFILES) -> dict[str, dict[str, int]]:
    """Trainable parameters of ``g``, ``d_A`` and ``d_C`` for each preset."""
    out = {}
    for p in presets:
        g, d_A, d_C = build_models(Config.from_preset(p))
        out[p] = {"g": count_parameters(g), "d_A": count_parameters(d_A), "d_C": count_parameters(d_C)}
    return out


# ------------------------------------------------------------------------------------------------------------
# notebook 04: the reconstruction terms
# ------------------------------------------------------------------------------------------------------------
class FixedMask(torch.nn.Module):
    """A hand-made "network": ``mask(mag)`` is ``fn(mag)`` (e.g. all ones — the identity map). It has the
    interface of :class:`~semisep_lib.models.MaskNet`, so the loss functions accept it."""

    down_factor = 1

    def __init__(self, fn: Callable[[torch.Tensor], torch.Tensor]):
        super().__init__()
        self.fn = fn

    def mask(self, mag: torch.Tensor) -> torch.Tensor:
        return self.fn(mag).expand_as(mag)

    def forward(self, mag: torch.Tensor) -> torch.Tensor:
        return self.mask(mag) * mag


def hand_made_maps(cfg: Config) -> dict[str, FixedMask]:
    """Maps that say what each term rules out: the identity (keeps everything), silence (removes everything),
    a half mask (removes half of everything), a low-pass mask (keeps what is below 1 kHz)."""
    bins = cfg.spectral.bins
    cut = int(1000 / (cfg.spectral.sample_rate / 2) * bins)
    low = torch.zeros(bins, 1)
    low[:cut] = 1.0
    return {"identity": FixedMask(lambda m: torch.ones(1, 1, 1)),
            "silence": FixedMask(lambda m: torch.zeros(1, 1, 1)),
            "half": FixedMask(lambda m: torch.full((1, 1, 1), 0.5)),
            "low-pass 1 kHz": FixedMask(lambda m: low[None])}


def map_terms(maps: Mapping[str, torch.nn.Module], A: torch.Tensor, C: torch.Tensor, cfg: Config) -> dict:
    """R1–R4 of each map on one batch (GAN terms off), plus the vocal energy fraction it leaves:
    ``{map: {"R1":.., ..., "vocal_fraction":..}}``."""
    loss = cfg.loss.without(["GAN_A", "GAN_C"])
    out = {}
    with torch.no_grad():
        for name, g in maps.items():
            _, log = generator_losses(g, None, None, A, C, loss, cfg.spectral.compress)
            out[name] = {k: round(v, 4) for k, v in log.items() if k in TERMS or k == "vocal_fraction"}
    return out


def fit_terms(cfg: Config, A: torch.Tensor, C: torch.Tensor, terms: Sequence[str], steps: int = 40,
              lr: float = 3e-3, mask_bias: float = 0.0, seed: int = 0) -> dict[str, np.ndarray]:
    """Train a fresh ``g`` on one fixed batch with only ``terms`` switched on (weight 1, GAN terms need
    discriminators and are not allowed here), starting from a half-open mask (``mask_bias`` 0). Returns the
    history: ``step``, the active terms, ``mask_a`` and ``mask_c`` (mean mask on the mixtures and on the
    instrumentals) and ``vocal_fraction``."""
    bad = [t for t in terms if t not in ("R1", "R2", "R3", "R4")]
    if bad:
        raise UsageError(f"fit_terms trains reconstruction terms only, not {', '.join(bad)}.")
    torch.manual_seed(seed)
    g = MaskNet(dataclasses.replace(cfg.model, g_mask_bias=mask_bias), cfg.spectral)
    loss = dataclasses.replace(cfg.loss, **{t: (1.0 if t in terms else 0.0) for t in TERMS})
    opt = torch.optim.Adam(g.parameters(), lr=lr, betas=(0.5, 0.999))
    c_mag = magnitude(C)
    hist: dict[str, list] = {}
    for step in range(steps + 1):
        total, log = generator_losses(g, None, None, A, C, loss, cfg.spectral.compress)
        with torch.no_grad():
            log["mask_c"] = float(g.mask(c_mag).mean())
        for k in ("step", *terms, "mask_a", "mask_c", "vocal_fraction"):
            hist.setdefault(k, []).append(step if k == "step" else log[k])
        if step < steps:
            opt.zero_grad(set_to_none=True)
            total.backward()
            opt.step()
    return {k: np.asarray(v, dtype=float) for k, v in hist.items()}


@torch.no_grad()
def method_signals(g, A: torch.Tensor, C: torch.Tensor, cfg: Config, example: int = 0) -> dict[str, np.ndarray]:
    """What the method makes of one example of a batch, as waveforms ``(samples,)`` at ``cfg``'s rate: the mixture
    ``a``, ``g(a)``, the estimated voice ``b̄ = a − g(a)``, the instrumental ``c`` (of another song), the synthetic
    mixture ``ā = b̄ + c`` and ``g(ā)``. ``A``, ``C``: complex spectrograms ``(batch, F, T)`` as
    :meth:`Session.batch` gives them. Formed as :func:`~semisep_lib.losses.generator_losses` forms them — on
    complex spectrograms, ``ā`` at the level ``cfg.loss.abar_level`` sets, ``g``'s second pass on ``a``'s peak
    with ``cfg.loss.second_pass_as_is`` — and heard with the phase of the spectrogram ``g``'s mask multiplies."""
    A, C = A[example:example + 1], C[example:example + 1]
    if cfg.model.d_sees_level:  # the losses then start from unit-peak mixtures and instrumentals
        A, C = unit_peak(A, C)
    a, c = magnitude(A), magnitude(C)
    mask_a = g.mask(a)
    B_bar, A_bar = synthetic_mixture(A, mask_a, C)
    abar, bbar = magnitude(A_bar), magnitude(B_bar)
    leveled = level_abar(abar, bbar, c, peak(a), cfg.loss.abar_level)
    # the level's change of each magnitude, carried over to its complex spectrogram (the phase stays)
    A_bar, B_bar, C = (X * (new / old.clamp_min(1e-8))
                       for X, new, old in zip((A_bar, B_bar, C), leveled, (abar, bbar, c)))
    mask_abar = g.mask(leveled[0], peak(a)) if cfg.loss.second_pass_as_is else g.mask(leveled[0])
    spectra = {"a": A, "g(a)": mask_a * A, "b̄ = a − g(a)": B_bar, "c": C, "ā = b̄ + c": A_bar,
               "g(ā)": mask_abar * A_bar}
    stft = STFT(cfg.spectral)
    length = cfg.spectral.hop * (A.shape[-1] - 1)
    # each spectrogram gets back its Nyquist bin (which g never sees) as 0
    return {name: stft.inverse(uncrop_mask(X, "zero"), length=length)[0].float().cpu().numpy()
            for name, X in spectra.items()}


# ------------------------------------------------------------------------------------------------------------
# notebook 07: inside the scores
# ------------------------------------------------------------------------------------------------------------
def window_scores(scores: str | Path, keys: Mapping[str, str], song: str | None = None, metric: str = "SDR",
                  target: str = "vocals") -> tuple[str, dict[str, np.ndarray]]:
    """One song's per-window ``metric`` of ``target`` for several methods, from the museval frames a ``reproduce``
    run wrote: ``scores`` is its ``scores/`` folder, ``keys`` maps a label to a score key (``{"ours":
    "all-losses-seed0", "mixture": "mixture"}``). Returns ``(song, {label: values})``, NaN where museval left a
    window out (a silent reference). ``song`` ``None``: the song where the first method's median and mean over
    windows differ most — where the choice of pooling matters most."""
    tracks = {}
    for label, key in keys.items():
        path = Path(scores) / f"{key}.json"
        if not path.is_file():
            raise DataError(f"No scores {path}; run reproduce first.")
        tracks[label] = {t["name"]: np.array([np.nan if x is None else float(x) for x in t["frames"][target][metric]])
                         for t in json.loads(path.read_text())["tracks"]}
    first = next(iter(tracks.values()))
    if song is None:
        def gap(v):
            v = v[np.isfinite(v)]
            return abs(float(np.median(v) - np.mean(v))) if v.size else -1.0
        song = max(first, key=lambda name: gap(first[name]))
    missing = [label for label, t in tracks.items() if song not in t]
    if missing:
        raise DataError(f"Song {song!r} has no scores for {', '.join(missing)}.")
    return song, {label: t[song] for label, t in tracks.items()}


# ------------------------------------------------------------------------------------------------------------
# notebook 08: the committed runs on real songs
# ------------------------------------------------------------------------------------------------------------
def committed_ablations(directory: str | Path = RESULTS_DIR, data: str = "musdb") -> dict[str, dict]:
    """The committed ``reproduce`` runs on ``data`` (folders ``results/reproduce-<profile>-<data>`` with a
    ``table3.json``), by folder name, each ``{"tables": {protocol name: {"json": table3.json, "markdown":
    table3.md}}, "ordering": ordering.json, "curves": [png], "game": [png]}``: the tables of every protocol it
    was scored with (:data:`~semisep_lib.reproduce.PROTOCOL_FILES`), Kendall's τ against the paper per protocol
    name (``{}`` when the run wrote none), and, one per seed, the figures of every row's validation on the
    selection songs (``selection-curves-seed<N>.png``) and of its adversarial losses (``game-seed<N>.png``),
    both drawn by ``scripts/collect_results.py``. A run still in progress has no tables of its own: its
    ``so-far/`` tables (the rows scored so far) stand in, and ``"finished"`` is ``False``. ``{}`` when
    ``directory`` is absent (an installed package has no ``results/``)."""
    found = {}
    for folder in sorted(Path(directory).glob(f"reproduce-*-{data}")):
        finished = table_file(folder, 3).is_file()
        tables, base = {}, ReproductionFolder(folder if finished else folder / "so-far")
        for protocol, files in PROTOCOL_FILES.items():
            if base.table(3, protocol=protocol).is_file():
                tables[files["name"]] = {"json": json.loads(base.table(3, protocol=protocol).read_text()),
                                         "markdown": base.table(3, ".md", protocol).read_text()}
        if tables:
            order = base.ordering
            found[folder.name] = {"tables": tables, "finished": finished,
                                  "ordering": json.loads(order.read_text()) if order.is_file() else {},
                                  "curves": sorted(folder.glob("selection-curves-seed*.png")),
                                  "game": sorted(folder.glob("game-seed*.png"))}
    return found


def committed_discriminator_tests(directory: str | Path = EXPERIMENTS_DIR / "discriminators" / "results",
                                  name: str = "long-ablation") -> dict:
    """What ``experiments/discriminators/tell.py --report`` committed for a run: ``{"table": <name>.md,
    "figure": <name>.png}`` — how well the discriminators of every row tell real from fake on held-out songs,
    against the step. ``{}`` when absent (an installed package has no ``experiments/``)."""
    table, figure = Path(directory) / f"{name}.md", Path(directory) / f"{name}.png"
    return {"table": table.read_text(), "figure": figure} if table.is_file() and figure.is_file() else {}


__all__ = ["NOTEBOOK_DIR", "NOTEBOOK_RUNS", "PROFILES", "training_steps", "NotebookError", "list_notebooks",
           "run_notebooks", "Session", "setup", "superposition_errors", "layer_shapes", "parameter_table", "FixedMask", "hand_made_maps", "map_terms",
           "fit_terms", "method_signals", "window_scores", "RESULTS_DIR", "committed_ablations", "EXPERIMENTS_DIR",
           "committed_discriminator_tests"]
