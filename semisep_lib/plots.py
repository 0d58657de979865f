"""Figures for the notebooks and for ``reproduce``: spectrograms, masks, training curves, result bars.

Every function returns a :class:`matplotlib.figure.Figure` built without ``pyplot`` (so nothing is drawn
twice in a notebook and nothing leaks in a long session); a notebook shows it as the cell's value, a script
saves it with ``fig.savefig(path)``. Audio arrays are ``(samples,)`` or ``(channels, samples)`` (channels are
averaged for display).

* :func:`spectrogram` / :func:`spectrograms` — dB magnitude images of one or several signals.
* :func:`mask` — a soft mask in [0, 1] as an image.
* :func:`loss_curves`, :func:`compare_runs`, :func:`validation_curves` — from a run's ``log.jsonl`` /
  ``valid.jsonl`` (written by :func:`semisep_lib.train.train`).
* :func:`term_bars` — loss-term values of a few hand-made maps (notebook 04).
* :func:`ablation` — Table 3 rows, ours beside the paper's (``reproduce`` writes it as ``ablation.png``).
"""

from __future__ import annotations

import io
import json
import math
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np
from IPython import get_ipython
from matplotlib.figure import Figure

from .config import TERMS
from .paper import PAPER_TABLE3
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
        path = path / "log.jsonl"
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


def png_bytes(fig: Figure, dpi: int = 80) -> bytes:
    """A figure as PNG bytes (for ``ipywidgets.Image``)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
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
        raise FileNotFoundError(f"No training log (log.jsonl) in {run}")
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
    log = read_jsonl(Path(run) / "valid.jsonl" if Path(run).is_dir() else run)
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


def _register_with_ipython() -> None:
    """In IPython / Jupyter, show a returned :class:`Figure` as a PNG (figures made without ``pyplot`` have no
    display hook of their own until ``%matplotlib inline`` runs)."""
    shell = get_ipython()
    if shell is None:
        return
    shell.display_formatter.formatters["image/png"].for_type(Figure, lambda fig: png_bytes(fig, dpi=100))


_register_with_ipython()

__all__ = ["PAPER_TABLE3", "TERMS", "read_jsonl", "smooth", "stft_db", "spectrogram", "spectrograms", "mask",
           "png_bytes", "as_log", "loss_curves", "compare_runs", "validation_curves", "term_bars", "ablation",
           "metric_bars"]
