"""Figures for the notebooks and for ``reproduce``: spectrograms, masks, training curves, result bars.

Every function returns a :class:`matplotlib.figure.Figure` built without ``pyplot`` (so nothing is drawn
twice in a notebook and nothing leaks in a long session); a notebook shows it as the cell's value, a script
saves it with ``fig.savefig(path)``. Audio arrays are ``(samples,)`` or ``(channels, samples)`` (channels are
averaged for display).

* :func:`spectrogram` / :func:`spectrograms` — dB magnitude images of one or several signals.
* :func:`mask` — a soft mask in [0, 1] as an image; :func:`masks` — several side by side.
* :func:`exponent_curves` — SDR and SIR against the mask exponent, per post-processing family.
* :func:`window_sdr` — one song's per-window SDR, with the median and the mean over its windows.
* :func:`loss_curves`, :func:`compare_runs`, :func:`validation_curves` — from a run's ``log.jsonl`` /
  ``valid.jsonl`` (written by :func:`semisep_lib.method.train.train`).
* :func:`term_bars` — loss-term values of a few hand-made maps (notebook 04).
* :func:`ablation` — Table 3 rows, ours beside the paper's (``reproduce`` writes it as ``ablation.png``).
* :func:`method_diagram` — the method: the two sets, ``g``, ``b̄``, ``ā``, ``g(ā)`` and where each term attaches.
"""

from __future__ import annotations

import io
import json
import math
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np
from IPython import get_ipython
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch

from ..paper import PAPER_TABLE3
from ..runs import Run
from ..method.config import TERMS
from .tables import cell_stat

#: Terms a training log may hold, grouped as :func:`loss_curves` draws them.
CURVE_GROUPS = {
    "reconstruction terms (R1–R4)": ("R1", "R2", "R3", "R4"),
    "generator GAN terms": ("GAN_A", "GAN_C"),
    "discriminator losses": ("D_A", "D_C"),
    "supervised loss": ("supervised",),
    "weighted total of g": ("G_total",),
    "mean mask on mixtures / instrumentals": ("mask_a", "mask_c"),
    "vocal energy fraction ‖b̄‖²/‖a‖²": ("vocal_fraction",),
}


# ------------------------------------------------------------------------------------------------------------
# reading logs
# ------------------------------------------------------------------------------------------------------------
def read_jsonl(path: str | Path) -> dict[str, np.ndarray]:
    """A ``.jsonl`` log as columns: ``{key: float array}``, one entry per line, NaN where a line lacks the key.

    ``path`` may be a run directory (then its ``log.jsonl`` is read). A missing file gives ``{}``."""
    path = Path(path)
    if path.is_dir():
        path = Run(path).log
    if not path.is_file():
        return {}
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    keys: list[str] = []
    for r in rows:
        keys += [k for k in r if k not in keys and isinstance(r[k], (int, float))]
    return {k: np.array([float(r.get(k, math.nan)) for r in rows]) for k in keys}


def smooth(values: np.ndarray, window: int) -> np.ndarray:
    """Moving average over ``window`` points that ignores NaN (the first points average fewer)."""
    values = np.asarray(values, dtype=float)
    if window <= 1 or values.size == 0:
        return values
    ok = ~np.isnan(values)
    kernel = np.ones(int(window))
    num = np.convolve(np.where(ok, values, 0.0), kernel)[: values.size]
    den = np.convolve(ok.astype(float), kernel)[: values.size]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.maximum(den, 1), np.nan)


# ------------------------------------------------------------------------------------------------------------
# spectrograms and masks
# ------------------------------------------------------------------------------------------------------------
def _mono(audio: np.ndarray) -> np.ndarray:
    x = np.asarray(audio, dtype=np.float64)
    return x.mean(axis=0) if x.ndim == 2 else x


def stft_db(audio: np.ndarray, rate: int, n_fft: int = 1024, hop: int | None = None) -> tuple[np.ndarray, float]:
    """dB magnitude ``(n_fft//2+1, frames)`` of the mono mix of ``audio`` (Hann window), and the frame hop in s."""
    x = _mono(audio)
    hop = hop or n_fft // 4
    if x.size < n_fft:
        x = np.pad(x, (0, n_fft - x.size))
    frames = 1 + (x.size - n_fft) // hop
    idx = np.arange(n_fft)[None, :] + hop * np.arange(frames)[:, None]
    spec = np.abs(np.fft.rfft(x[idx] * np.hanning(n_fft)[None, :], axis=1)).T
    return 20 * np.log10(spec + 1e-8), hop / rate


def _image(ax, db: np.ndarray, rate: int, hop_s: float, vmin: float, vmax: float, max_freq: float | None,
           cmap: str = "magma"):
    extent = (0, db.shape[1] * hop_s, 0, rate / 2)
    im = ax.imshow(db, origin="lower", aspect="auto", extent=extent, vmin=vmin, vmax=vmax, cmap=cmap,
                   interpolation="nearest")
    ax.set_ylim(0, min(max_freq or rate / 2, rate / 2))
    ax.set_xlabel("time (s)")
    ax.set_ylabel("frequency (Hz)")
    return im


def spectrogram(audio: np.ndarray, rate: int, title: str | None = None, n_fft: int = 1024,
                max_freq: float | None = 8000, dynamic_range: float = 80.0, figsize=(7, 3)) -> Figure:
    """One dB spectrogram (mono mix of ``audio``), ``dynamic_range`` dB below its peak."""
    return spectrograms({title or "": audio}, rate, n_fft=n_fft, max_freq=max_freq, dynamic_range=dynamic_range,
                        figsize=figsize, columns=1)


def spectrograms(signals: Mapping[str, np.ndarray], rate: int, n_fft: int = 1024, max_freq: float | None = 8000,
                 dynamic_range: float = 80.0, columns: int = 2, figsize=None) -> Figure:
    """Spectrograms of several signals side by side, on one colour scale (the loudest signal's peak at the top),
    so that loudness differences between them are visible."""
    if not signals:
        raise ValueError("spectrograms() needs at least one signal")
    dbs = {name: stft_db(x, rate, n_fft) for name, x in signals.items()}
    vmax = max(float(np.max(db)) for db, _ in dbs.values())
    vmin = vmax - dynamic_range
    columns = max(1, min(columns, len(dbs)))
    rows = math.ceil(len(dbs) / columns)
    fig = Figure(figsize=figsize or (4.5 * columns + 1, 2.6 * rows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, columns, squeeze=False)).ravel()
    im = None
    for ax, (name, (db, hop_s)) in zip(axes, dbs.items()):
        im = _image(ax, db, rate, hop_s, vmin, vmax, max_freq)
        if name:
            ax.set_title(name)
    for ax in axes[len(dbs):]:
        ax.set_visible(False)
    fig.colorbar(im, ax=list(axes[: len(dbs)]), label="dB", shrink=0.9)
    return fig


def mask(mask_values: np.ndarray, rate: int | None = None, hop: int | None = None, title: str | None = None,
         figsize=(7, 3)) -> Figure:
    """A soft mask ``(bins, frames)`` in [0, 1] as an image (1 = keep, 0 = remove). With ``rate`` and ``hop``
    the axes are in seconds and Hz, otherwise in frames and bins. Extra leading axes of size 1 are dropped."""
    m = np.asarray(mask_values, dtype=float)
    while m.ndim > 2 and m.shape[0] == 1:
        m = m[0]
    if m.ndim != 2:
        raise ValueError(f"mask() needs a (bins, frames) array, got shape {m.shape}")
    fig = Figure(figsize=figsize, layout="constrained")
    ax = fig.subplots()
    if rate and hop:
        extent = (0, m.shape[1] * hop / rate, 0, rate / 2)
        ax.set_xlabel("time (s)"), ax.set_ylabel("frequency (Hz)")
    else:
        extent = (0, m.shape[1], 0, m.shape[0])
        ax.set_xlabel("frame"), ax.set_ylabel("bin")
    im = ax.imshow(m, origin="lower", aspect="auto", extent=extent, vmin=0, vmax=1, cmap="viridis",
                   interpolation="nearest")
    fig.colorbar(im, ax=ax, label="mask")
    ax.set_title(title or f"mask (mean {np.mean(m):.2f})")
    return fig


def masks(named: Mapping[str, np.ndarray], rate: int | None = None, hop: int | None = None,
          max_freq: float | None = 8000, columns: int | None = None, figsize=None) -> Figure:
    """Several masks ``(bins, frames)`` in [0, 1] side by side on one colour scale (e.g. a trained vocal mask
    beside the oracle's on the same song), with their means in the titles; axes in s and Hz with ``rate`` and
    ``hop``, or a mask's own given as ``(mask, rate, hop)``. ``max_freq``: the top of the frequency axis."""
    if not named:
        raise ValueError("masks() needs at least one mask")
    columns = max(1, min(columns or len(named), len(named)))
    rows = math.ceil(len(named) / columns)
    fig = Figure(figsize=figsize or (4.2 * columns + 1, 2.8 * rows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, columns, squeeze=False)).ravel()
    im = None
    for ax, (name, values) in zip(axes, named.items()):
        values, r, h = values if isinstance(values, tuple) else (values, rate, hop)
        m = np.asarray(values, dtype=float)
        while m.ndim > 2 and m.shape[0] == 1:
            m = m[0]
        timed = bool(r and h)
        extent = (0, m.shape[1] * h / r, 0, r / 2) if timed else (0, m.shape[1], 0, m.shape[0])
        im = ax.imshow(m, origin="lower", aspect="auto", extent=extent, vmin=0, vmax=1, cmap="viridis",
                       interpolation="nearest")
        if timed and max_freq:
            ax.set_ylim(0, min(max_freq, r / 2))
        ax.set_xlabel("time (s)" if timed else "frame")
        ax.set_ylabel("frequency (Hz)" if timed else "bin")
        ax.set_title(f"{name} (mean {np.mean(m):.2f})", fontsize=10)
    for ax in axes[len(named):]:
        ax.set_visible(False)
    fig.colorbar(im, ax=list(axes[: len(named)]), label="vocal mask (1 = voice)", shrink=0.9)
    return fig


def exponent_curves(curve: Sequence[Mapping], title: str | None = None,
                    chosen: Mapping | None = None, favouring_sir: Mapping | None = None) -> Figure:
    """Vocal SDR and SIR against the mask exponent, one line per post-processing family, from the ``curve``
    that ``separate.tune_mask`` writes (rows ``{"mask_family", "mask_power", "SDR", "SIR"}``): ``ours`` raises
    the vocal mask, ``(1 − m)^p``; ``authors`` raises the instrumental one, ``1 − σ^q``. A row without SIR (``None``:
    ``tune_mask`` computes it only near the best SDR) is left out of the SIR panel. ``chosen`` and
    ``favouring_sir`` (``{"mask_family", "mask_power"}``) are ringed: the SDR choice and the SIR-favouring one."""
    fig = Figure(figsize=(10, 3.2), layout="constrained")
    axes = fig.subplots(1, 2)
    families = list(dict.fromkeys(r["mask_family"] for r in curve))
    for ax, metric in zip(axes, ("SDR", "SIR")):
        for i, family in enumerate(families):
            rows = sorted((r for r in curve if r["mask_family"] == family and r.get(metric) is not None),
                          key=lambda r: r["mask_power"])
            what = "(1 − m)^p" if family == "ours" else "1 − σ^q" if family == "authors" else family
            ax.plot([r["mask_power"] for r in rows], [r[metric] for r in rows], "o-", color=f"C{i}",
                    label=f"{family}: {what}")
        for pick, style in ((chosen, dict(ms=14, mfc="none", mec="black", label="chosen by SDR")),
                            (favouring_sir, dict(ms=18, mfc="none", mec="grey", ls="none", label="favouring SIR"))):
            row = next((r for r in curve if pick and r["mask_family"] == pick.get("mask_family")
                        and float(r["mask_power"]) == float(pick.get("mask_power"))), None)
            if row is not None and row.get(metric) is not None:
                ax.plot([row["mask_power"]], [row[metric]], "o", **style)
        ax.set_xscale("log", base=2)
        ax.set_xlabel("mask exponent (p or q)")
        ax.set_ylabel(f"median vocal {metric} (dB)")
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def window_sdr(windows: Mapping[str, np.ndarray], title: str | None = None, window_seconds: float = 1.0) -> Figure:
    """Per-window vocal SDR of one song, one line per method (``{method: values}``, NaN for windows museval
    leaves out), with each method's **median** (dashed, what SiSEC 2018 reports per track) and **mean** (dotted,
    SiSEC 2016's per-track pooling) over its windows — a few bad windows pull the mean, not the median."""
    fig = Figure(figsize=(9, 3.2), layout="constrained")
    ax = fig.subplots()
    for i, (name, values) in enumerate(windows.items()):
        v = np.asarray(values, dtype=float)
        ok = np.isfinite(v)
        t = (np.arange(v.size) + 0.5) * window_seconds
        colour = f"C{i}"
        med, mean = (float(f(v[ok])) if ok.any() else math.nan for f in (np.median, np.mean))
        ax.plot(t[ok], v[ok], "o-", color=colour, ms=4, label=f"{name}: median {med:.2f}, mean {mean:.2f} dB")
        ax.axhline(med, color=colour, ls="--", lw=1)
        ax.axhline(mean, color=colour, ls=":", lw=1.2)
    ax.axhline(0.0, color="black", lw=0.6)
    ax.set_xlabel("time (s): one point per window")
    ax.set_ylabel("vocal SDR (dB)")
    ax.legend(fontsize=8, title="-- median   ·· mean", title_fontsize=8)
    if title:
        ax.set_title(title, fontsize=10)
    return fig


def png_bytes(fig: Figure, dpi: int = 80) -> bytes:
    """A figure as PNG bytes (for ``ipywidgets.Image``)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def image_bytes(fig: Figure, format: str = "jpeg", dpi: int = 60, quality: int = 70) -> bytes:
    """A figure as image bytes: ``"jpeg"`` (a spectrogram is a fifth of its PNG; ``quality`` 1–95) or ``"png"``."""
    buf = io.BytesIO()
    kwargs = {"pil_kwargs": {"quality": quality}} if format == "jpeg" else {}
    fig.savefig(buf, format=format, dpi=dpi, **kwargs)
    return buf.getvalue()


# ------------------------------------------------------------------------------------------------------------
# training curves
# ------------------------------------------------------------------------------------------------------------
def loss_curves(run: str | Path, groups: Mapping[str, Sequence[str]] | None = None, window: int = 5,
                columns: int = 2) -> Figure:
    """Every logged term of a run, against the step: one panel per group of :data:`CURVE_GROUPS` that the log
    holds (raw values faint, a ``window``-step moving average on top)."""
    log = read_jsonl(run)
    if not log:
        raise FileNotFoundError(f"No training log ({Run(run).log.name}) in {run}")
    groups = groups or CURVE_GROUPS
    present = {title: [k for k in keys if k in log and np.isfinite(log[k]).any()] for title, keys in groups.items()}
    present = {t: ks for t, ks in present.items() if ks}
    rows = max(1, math.ceil(len(present) / columns))
    fig = Figure(figsize=(5 * columns, 2.6 * rows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, columns, squeeze=False)).ravel()
    step = log["step"]
    for ax, (title, keys) in zip(axes, present.items()):
        for i, k in enumerate(keys):
            color = f"C{i}"
            ok = np.isfinite(log[k])
            ax.plot(step[ok], log[k][ok], color=color, alpha=0.25, lw=0.8)
            ax.plot(step[ok], smooth(log[k][ok], window), color=color, label=k)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("step")
        ax.legend(fontsize=8)
    for ax in axes[len(present):]:
        ax.set_visible(False)
    return fig


def as_log(run) -> dict[str, np.ndarray]:
    """Columns of a log given as a run folder or ``.jsonl`` path, a list of row dicts, or columns already."""
    if isinstance(run, (str, Path)):
        return read_jsonl(run)
    if isinstance(run, Mapping):
        return {k: np.asarray(v, dtype=float) for k, v in run.items()}
    rows = list(run)
    keys = list(dict.fromkeys(k for r in rows for k in r))
    return {k: np.array([float(r.get(k, math.nan)) for r in rows]) for k in keys}


def compare_runs(runs: Mapping[str, object], keys: Sequence[str] = ("mask_a", "vocal_fraction"),
                 window: int = 3) -> Figure:
    """The same logged quantities for several runs (one panel per key, one line per run). A run is a run
    folder, a ``.jsonl`` path, or a history ``{key: values}`` (e.g. from :func:`notebooks.fit_terms`)."""
    logs = {label: as_log(run) for label, run in runs.items()}
    fig = Figure(figsize=(4.5 * len(keys), 3), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(keys), squeeze=False)).ravel()
    for ax, key in zip(axes, keys):
        for i, (label, log) in enumerate(logs.items()):
            if key in log:
                ok = np.isfinite(log[key])
                ax.plot(log["step"][ok], smooth(log[key][ok], window), color=f"C{i}", label=label)
        ax.set_title(key, fontsize=10)
        ax.set_xlabel("step")
        if ax.lines:  # a key no run logged leaves its panel empty
            ax.legend(fontsize=8)
    return fig


def validation_curves(run: str | Path) -> Figure:
    """Validation SDR (on the selection songs) of the vocal estimate against the step and against wall-clock
    minutes, beside the mixture's own SDR (the score of doing nothing) and the silent estimate's 0 dB."""
    log = read_jsonl(Run(run).valid if Path(run).is_dir() else run)
    fig = Figure(figsize=(9, 3), layout="constrained")
    for ax, key, label in zip(fig.subplots(1, 2), ("step", "time"), ("step", "minutes")):
        if log and key in log:
            x = log[key] / (60.0 if key == "time" else 1.0)
            ax.plot(x, log["val_sdr"], "o-", ms=3, label="g's vocals")
            if "val_sdr_mixture" in log:
                ax.plot(x, log["val_sdr_mixture"], "--", label="mixture as vocals")
        ax.axhline(0.0, color="grey", lw=0.8, label="silent estimate (0 dB)")
        ax.set_xlabel(label), ax.set_ylabel("median SDR (dB)")
        ax.set_title(f"validation (selection songs) against {label}")
        ax.legend(fontsize=8)
    return fig


# ------------------------------------------------------------------------------------------------------------
# tables as bars
# ------------------------------------------------------------------------------------------------------------
def term_bars(table: Mapping[str, Mapping[str, float]], terms: Sequence[str] = ("R1", "R2", "R3", "R4")) -> Figure:
    """Grouped bars: for each map (row of ``table``, e.g. ``identity``, ``silence``), the value of each term."""
    names = list(table)
    fig = Figure(figsize=(1.6 * len(names) + 2, 3), layout="constrained")
    ax = fig.subplots()
    width = 0.8 / len(terms)
    x = np.arange(len(names))
    for i, t in enumerate(terms):
        ax.bar(x + (i - (len(terms) - 1) / 2) * width, [table[n].get(t, np.nan) for n in names], width, label=t)
    ax.set_xticks(x, names)
    ax.set_ylabel("loss value")
    ax.legend(fontsize=8)
    return fig


def _rows(rows: Iterable | Mapping) -> list[dict]:
    """Normalise result rows: a mapping ``{label: {"SDR":.., "SIR":..}}`` or a list of dicts with a label key
    (``row``, ``losses``, ``name`` or ``method``)."""
    if isinstance(rows, Mapping):
        return [{"label": k, **dict(v)} for k, v in rows.items()]
    out = []
    for r in rows:
        label = next((r[k] for k in ("row", "losses", "label", "name", "method") if k in r), None)
        out.append({"label": str(label), **dict(r)})
    return out


def _value(row, metric: str) -> float:
    """A row's number for ``metric``: a plain number, a ``{"median": ..}`` mapping, or — for paper rows given as
    ``(SDR, SIR)`` tuples — the tuple's entry."""
    if isinstance(row, (tuple, list)):
        row = dict(zip(("SDR", "SIR"), row))
    v = row.get(metric) if isinstance(row, Mapping) else None
    if isinstance(v, Mapping):  # a summary over seeds, {"median": .., "min": .., "max": ..}, or {"mean", "std"}
        v = cell_stat(dict(v))[0] if "median" in v else v.get("mean")
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def _spread(row: Mapping, metric: str) -> tuple[float, float]:
    """(below, above) the row's value: from ``min``/``max`` over seeds, or a symmetric ``std``; 0 if none."""
    v = row.get(metric)
    mid = _value(row, metric)
    if isinstance(v, Mapping):
        _, spread = cell_stat(dict(v))
        if spread is not None and None not in spread:
            return max(mid - float(spread[0]), 0.0), max(float(spread[1]) - mid, 0.0)
        if v.get("std") is not None:
            return float(v["std"]), float(v["std"])
    for key in (f"{metric}_std", f"{metric}_sd"):
        if row.get(key) is not None:
            return float(row[key]), float(row[key])
    return 0.0, 0.0


def ablation(rows: Iterable | Mapping, paper: Mapping | None = None, metrics: Sequence[str] = ("SDR", "SIR"),
             title: str | None = None) -> Figure:
    """Table 3 as bars: one panel per metric; for every row our median — with the spread over seeds (min–max)
    when the row has one — beside the paper's number for the row of the same label.

    ``rows``: ``{label: {"SDR": x or {"median", "min", "max"}, "SIR": ...}}`` (as ``reproduce`` writes in
    ``table3.json``) or a list of such dicts with a ``row``/``label`` key. ``paper``: ``{label: {"SDR", "SIR"}}``
    or ``{label: (SDR, SIR)}``; default :data:`PAPER_TABLE3`."""
    rows = _rows(rows)
    paper = PAPER_TABLE3 if paper is None else paper
    labels = [r["label"] for r in rows]
    x = np.arange(len(rows))
    fig = Figure(figsize=(max(6.0, 1.1 * len(rows) + 2), 3.2 * len(metrics)), layout="constrained")
    axes = np.atleast_1d(fig.subplots(len(metrics), 1, squeeze=False)).ravel()
    for ax, metric in zip(axes, metrics):
        ours = [_value(r, metric) for r in rows]
        err = np.array([_spread(r, metric) for r in rows]).T  # (2, rows): below, above
        theirs = [_value(paper.get(lab, {}), metric) for lab in labels]
        ax.bar(x - 0.2, ours, 0.4, yerr=err if err.any() else None, capsize=3, label="this run", color="C0")
        ax.bar(x + 0.2, theirs, 0.4, label="paper", color="C1", alpha=0.7)
        ax.axhline(0.0, color="black", lw=0.6)
        ax.set_xticks(x, labels, rotation=20, ha="right")
        ax.set_ylabel(f"median {metric} (dB)")
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    return fig



def metric_bars(rows: Iterable | Mapping, metric: str = "SDR", title: str | None = None,
                paper: Mapping | None = None) -> Figure:
    """One metric of several methods as horizontal bars (e.g. Table 1 of this run). With ``paper``
    (``{paper row: {"SDR":.., "SIR":..}}``) the paper's number is marked on each row whose ``paper_row`` (or
    label) it names."""
    rows = _rows(rows)
    fig = Figure(figsize=(6.5, 0.45 * len(rows) + 1.3), layout="constrained")
    ax = fig.subplots()
    y = np.arange(len(rows))
    vals = [_value(r, metric) for r in rows]
    ax.barh(y, vals, color=["C2" if v >= 0 else "C3" for v in vals], label="this run")
    if paper:
        marks = [(i, _value(paper.get(r.get("paper_row") or r["label"], {}), metric)) for i, r in enumerate(rows)]
        marks = [(i, v) for i, v in marks if np.isfinite(v)]
        if marks:
            ax.plot([v for _, v in marks], [i for i, _ in marks], "kD", label="paper")
            ax.legend(fontsize=8)
    ax.set_yticks(y, [r["label"] for r in rows])
    ax.invert_yaxis()
    ax.axvline(0.0, color="black", lw=0.6)
    ax.set_xlabel(f"median {metric} (dB)")
    if title:
        ax.set_title(title)
    return fig


# ------------------------------------------------------------------------------------------------------------
# the method as a diagram
# ------------------------------------------------------------------------------------------------------------
#: The diagram's signals and discriminators: name → (x, y, text). ``g`` is drawn as the arrows between them.
DIAGRAM_NODES = {
    "a": (1.3, 6.3, "$a$\nmixture from $S_A$"),
    "g(a)": (4.9, 6.3, "$g(a)$\ninstrumental estimate"),
    "g(g(a))": (8.7, 6.3, "$g(g(a))$"),
    "d_C": (4.9, 7.9, "$d_C$: a real instrumental like $c$, or $g(a)$?"),
    "bbar": (4.9, 4.2, "$\\bar b = a - g(a)$\nestimated voice"),
    "abar-g(abar)": (8.7, 4.2, "$\\bar a - g(\\bar a)$\nwhat $g$ removes from $\\bar a$"),
    "abar": (4.9, 2.1, "$\\bar a = \\bar b + c$\nsynthetic mixture"),
    "g(abar)": (8.7, 2.1, "$g(\\bar a)$"),
    "d_A": (1.3, 2.1, "$d_A$: a real mixture\nlike $a$, or $\\bar a$?"),
    "g(c)": (12.1, 3.5, "$g(c)$"),
    "c": (12.1, 0.9, "$c$\ninstrumental from $S_C$\n(another song)"),
}
#: How each signal is made: (from, to, label); the arrows labelled g apply the masking network.
DIAGRAM_EDGES = [("a", "g(a)", "g"), ("g(a)", "g(g(a))", "g"), ("a", "bbar", "− g(a)"), ("bbar", "abar", "+ c"),
                 ("c", "abar", ""), ("abar", "g(abar)", "g"), ("abar", "abar-g(abar)", "− g(ā)"), ("c", "g(c)", "g")]
#: Where each of the six terms attaches: term → (one side, the other side, what it asks, arc bend, where its label
#: sits off the middle of the arc).
DIAGRAM_TERMS = {
    "R1": ("g(c)", "c", "‖g(c) − c‖", -0.5, (0.5, 0.0)),
    "R2": ("g(g(a))", "g(a)", "‖g(g(a)) − g(a)‖", 0.45, (0.0, 0.0)),
    "R3": ("g(abar)", "c", "‖g(ā) − c‖", 0.2, (0.0, 0.0)),
    "R4": ("abar-g(abar)", "bbar", "‖(ā − g(ā)) − b̄‖", 0.3, (0.0, 0.05)),
    "GAN_C": ("g(a)", "d_C", "d_C(g(a)) → real", 0.0, (-1.3, 0.0)),
    "GAN_A": ("abar", "d_A", "d_A(ā) → real", 0.0, (0.0, 0.62)),
}
_TERM_COLOURS = {"R1": "C0", "R2": "C1", "R3": "C2", "R4": "C3", "GAN_C": "C4", "GAN_A": "C6"}


def method_diagram(highlight: Sequence[str] | None = None, figsize=(11, 6.2)) -> Figure:
    """The paper's method at a glance: a mixture ``a`` from ``S_A`` and an instrumental ``c`` from ``S_C`` (unrelated
    songs); ``g`` makes ``g(a)``, the estimated voice ``b̄ = a − g(a)``, the synthetic mixture ``ā = b̄ + c`` and
    ``g(ā)``; a coloured line shows what each reconstruction term R1–R4 compares, and an arrow into each
    discriminator what GAN_C and GAN_A judge (:data:`DIAGRAM_TERMS`). ``highlight``: the terms drawn strong, the
    others faint (default: all)."""
    strong = set(DIAGRAM_TERMS if highlight is None else highlight)
    unknown = strong - set(DIAGRAM_TERMS)
    if unknown:
        raise ValueError(f"method_diagram() knows the terms {', '.join(DIAGRAM_TERMS)}, "
                         f"not {', '.join(sorted(unknown))}")
    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)  # to measure the boxes below
    ax = fig.subplots()
    ax.set_xlim(-0.2, 14.0)
    ax.set_ylim(0.0, 8.5)
    ax.axis("off")
    boxes = {}
    for name, (x, y, text) in DIAGRAM_NODES.items():
        disc = name.startswith("d_")
        boxes[name] = ax.text(x, y, text, ha="center", va="center", fontsize=10, zorder=3, bbox=dict(
            boxstyle="round,pad=0.35", fc="#fde8d8" if disc else "#eef2f7", ec="#a0522d" if disc else "#44546a"))
    ax.text(-0.1, 7.4, "Phase I: g on a mixture", fontsize=9, color="#666")
    ax.text(-0.1, 3.9, "Phase II: the estimated voice\nover a real instrumental,\ntaken apart again", fontsize=9,
            color="#666", va="top")
    fig.draw_without_rendering()  # lay out, so that each box's extent is known in data coordinates
    to_data = ax.transData.inverted()
    extent = {n: to_data.transform(t.get_bbox_patch().get_window_extent()) for n, t in boxes.items()}

    def end(name, towards):  # where the line from the centre of ``name`` to ``towards`` leaves its box
        (x0, y0), (x1, y1) = extent[name]
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        (tx0, ty0), (tx1, ty1) = extent[towards]
        dx, dy = (tx0 + tx1) / 2 - cx, (ty0 + ty1) / 2 - cy
        scale = min((x1 - x0) / 2 / abs(dx) if dx else np.inf, (y1 - y0) / 2 / abs(dy) if dy else np.inf)
        return cx + dx * scale * 1.04, cy + dy * scale * 1.04

    for a, b, label in DIAGRAM_EDGES:
        p, q = end(a, b), end(b, a)
        ax.add_patch(FancyArrowPatch(p, q, arrowstyle="-|>", mutation_scale=13, color="#44546a", lw=1.3, zorder=2))
        if label:  # beside the arrow: above a level one, left of a steep one
            steep = abs(q[0] - p[0]) < 0.5 * abs(q[1] - p[1])
            ax.text((p[0] + q[0]) / 2 + (-0.12 if steep else 0.08), (p[1] + q[1]) / 2 + (0.0 if steep else 0.08),
                    label, fontsize=10, color="#44546a", ha="right" if steep else "left", va="center" if steep
                    else "bottom", fontweight="bold" if label == "g" else "normal", zorder=3)
    for term, (a, b, asks, bend, (ox, oy)) in DIAGRAM_TERMS.items():
        on = term in strong
        p, q = end(a, b), end(b, a)
        style = dict(color=_TERM_COLOURS[term], lw=2.4 if on else 1.0, alpha=1.0 if on else 0.3, zorder=1)
        if term.startswith("GAN"):
            ax.add_patch(FancyArrowPatch(p, q, arrowstyle="-|>", mutation_scale=13, linestyle="--", **style))
        else:
            ax.add_patch(FancyArrowPatch(p, q, arrowstyle="<|-|>", mutation_scale=11, linestyle=(0, (4, 2)),
                                         connectionstyle=f"arc3,rad={bend}", **style))
        # the label at the middle of the arc: the chord's midpoint, pushed sideways by half the bend
        mx, my = (p[0] + q[0]) / 2, (p[1] + q[1]) / 2
        nx, ny = (q[1] - p[1]) * bend / 2, -(q[0] - p[0]) * bend / 2
        ax.text(mx + nx + ox, my + ny + oy, f"{term}: {asks}", fontsize=9.5, ha="center", va="center",
                color=_TERM_COLOURS[term], alpha=1.0 if on else 0.4, zorder=4, fontweight="bold" if on else "normal",
                bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.9))
    return fig


def _register_with_ipython() -> None:
    """In IPython / Jupyter, show a returned :class:`Figure` as a PNG (figures made without ``pyplot`` have no
    display hook of their own until ``%matplotlib inline`` runs)."""
    shell = get_ipython()
    if shell is None:
        return
    shell.display_formatter.formatters["image/png"].for_type(Figure, lambda fig: png_bytes(fig, dpi=100))


_register_with_ipython()

__all__ = ["PAPER_TABLE3", "TERMS", "read_jsonl", "smooth", "stft_db", "spectrogram", "spectrograms", "mask",
           "png_bytes", "image_bytes", "as_log", "loss_curves", "compare_runs", "validation_curves", "term_bars",
           "ablation", "metric_bars", "method_diagram", "DIAGRAM_TERMS", "masks", "exponent_curves", "window_sdr"]
