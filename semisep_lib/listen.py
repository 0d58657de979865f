"""Listening comparisons in JupyterLab: pick a song, tick methods, hear and see their stems side by side.

The data a :class:`Listener` shows is a plain nested dict::

    tracks = {
        "toy-012": {                                   # song
            "ours":   {"vocals": v, "accompaniment": c, "rate": 44100, "scores": {"SDR": 3.1, "SIR": 12.0}},
            "oracle": {...},
            ...                                        # method → estimate
        },
        ...
    }

``vocals`` and ``accompaniment`` are float arrays ``(samples,)`` or ``(channels, samples)``; ``scores`` is
optional. Build it yourself, or let a constructor do it:

* :meth:`Listener.from_separators` — run separators (:class:`~semisep_lib.separator.Separator`) on songs now
  and score them with the fast SDR of :mod:`semisep_lib.metrics`;
* :meth:`Listener.from_estimates` — read ``<dir>/[<subset>/]<track>/{vocals,accompaniment}.wav`` folders
  written by ``semisep separate`` / ``reproduce``, with scores from museval JSON files when present;
* :meth:`Listener.from_reproduce` — the models a ``reproduce`` run trained (with the mixture and the oracle
  mask), separated now, scored with the run's museval numbers.

The widget: ``listener.track`` (a ``Dropdown``), ``listener.methods`` (a ``SelectMultiple``), and
``listener.panels`` (a ``VBox`` with one panel per selected method: a label with the method's name and scores,
then for vocals and accompaniment an ``ipywidgets.Audio`` player and a spectrogram image). Changing
``track.value`` or ``methods.value`` rebuilds ``panels`` — in a notebook, or headless in a test.
"""

from __future__ import annotations

import io
import json
import math
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import ipywidgets as w
import numpy as np
import soundfile as sf

from . import plots
from .audio import read_audio
from .baselines import MixtureBaseline, NMFBaseline, OracleIRM
from .config import Config
from .data import list_tracks, load_songs, resolve_data_root
from .errors import DataError, UsageError
from .metrics import median_sdr
from .nes import NESSeparator
from .reproduce import ABLATION, run_name
from .separate import load_separator

STEMS = ("vocals", "accompaniment")
#: The order methods are listed in when present (others follow, sorted).
METHOD_ORDER = ("reference", "mixture", "silent", "oracle", "supervised", "ours", "nes", "nmf")
#: The methods selected at first when present: the mixture, the oracle mask (a reference) and our method.
DEFAULT_METHODS = ("mixture", "oracle", "ours")
#: The third stem of a panel when the song's reference is known: estimated vocals minus the true vocals.
RESIDUAL = "residual (vocals − reference)"


# ------------------------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------------------------
def wav_bytes(audio: np.ndarray, rate: int, max_seconds: float | None = None) -> bytes:
    """16-bit PCM WAV bytes of ``audio`` ``(samples,)`` or ``(channels, samples)``, peak-limited to ±1 (not
    normalised: relative loudness between methods is kept), cut to ``max_seconds``."""
    x = np.asarray(audio, dtype=np.float32)
    x = x[None] if x.ndim == 1 else x
    if max_seconds:
        x = x[:, : int(max_seconds * rate)]
    x = np.clip(np.nan_to_num(x), -1.0, 1.0)
    buf = io.BytesIO()
    sf.write(buf, x.T, int(rate), format="WAV", subtype="PCM_16")
    return buf.getvalue()


def format_scores(scores: Mapping[str, float] | None) -> str:
    """``"SDR 3.2 dB · SIR 14.1 dB"`` (missing or NaN values shown as ``–``)."""
    if not scores:
        return "no scores"
    parts = []
    for k in ("SDR", "SIR", "SAR", "ISR"):
        if k in scores:
            v = scores[k]
            parts.append(f"{k} {v:.1f} dB" if v is not None and math.isfinite(float(v)) else f"{k} –")
    text = " · ".join(parts) if parts else "no scores"
    return f"{text} ({scores['note']})" if scores.get("note") else text


def order_methods(names: Iterable[str]) -> list[str]:
    """Known methods in :data:`METHOD_ORDER`, then the rest (ablation rows ...) sorted."""
    names = list(dict.fromkeys(names))
    known = [m for m in METHOD_ORDER if m in names]
    return known + sorted(n for n in names if n not in known)


def default_methods(names: Iterable[str], limit: int = 4) -> list[str]:
    """The methods a listener selects at first, among ``names``: those of :data:`DEFAULT_METHODS` present, and
    always our method (``ours``, or the first ``ours (seed k)``) when present; failing those, the first
    ``limit`` of :func:`order_methods`."""
    ordered = order_methods(names)
    chosen = [m for m in DEFAULT_METHODS if m in ordered]
    if "ours" not in chosen:
        chosen += [m for m in ordered if m.startswith("ours")][:1]
    return chosen or ordered[:limit]


def _check_tracks(tracks: Mapping) -> dict:
    if not tracks:
        raise UsageError("The listener needs at least one track with at least one method.")
    out = {}
    for name, methods in tracks.items():
        if not methods:
            continue
        for method, est in methods.items():
            missing = [k for k in (*STEMS, "rate") if k not in est]
            if missing:
                raise UsageError(f"Track {name!r}, method {method!r} lacks {', '.join(missing)}.")
        out[str(name)] = dict(methods)
    if not out:
        raise UsageError("The listener needs at least one track with at least one method.")
    return out


# ------------------------------------------------------------------------------------------------------------
# the widget
# ------------------------------------------------------------------------------------------------------------
class Listener:
    """Choose a song and methods; hear and see each method's vocals and accompaniment, with its scores.

    ``tracks``: see the module docstring. ``methods``: the methods selected at first (default:
    :meth:`default_methods` — the mixture, the oracle and ours when present). ``spectrograms``: draw a
    spectrogram under each player. ``max_seconds``: cut the players (and images) to the first seconds of each
    song, to keep the notebook small. ``residual``: when the song has a ``reference``, add a third player to
    every other method's panel with the residual, estimated vocals minus true vocals (what the method got wrong).
    """

    def __init__(self, tracks: Mapping[str, Mapping[str, Mapping]], methods: Sequence[str] | None = None,
                 spectrograms: bool = True, max_seconds: float | None = 30.0, max_freq: float = 8000,
                 residual: bool = True):
        self.tracks = _check_tracks(tracks)
        self.spectrograms, self.max_seconds, self.max_freq = spectrograms, max_seconds, max_freq
        self.residual = residual
        all_methods = order_methods(m for t in self.tracks.values() for m in t)
        self._defaults = tuple(default_methods(all_methods))
        chosen = [m for m in (methods or self._defaults) if m in all_methods] or all_methods[:1]
        self.track = w.Dropdown(options=sorted(self.tracks), description="song")
        self.methods = w.SelectMultiple(options=all_methods, value=tuple(chosen), description="methods",
                                        rows=min(8, len(all_methods)))
        self.status = w.HTML()
        self.panels = w.VBox()
        self.widget = w.VBox([w.HBox([self.track, self.methods]), self.status, self.panels])
        self._cache: dict[tuple[str, str], object] = {}
        self.track.observe(self._on_change, names="value")
        self.methods.observe(self._on_change, names="value")
        self.refresh()

    # -- state ----------------------------------------------------------------------------------------------
    def _on_change(self, _change=None) -> None:
        self.refresh()

    def refresh(self) -> None:
        """Rebuild :attr:`panels` for the current song and methods (panels are cached)."""
        track = self.track.value
        available = self.tracks.get(track, {})
        selected = set(self.methods.value)
        shown = [m for m in self.methods.options if m in selected and m in available]  # in the list's order
        absent = [m for m in self.methods.options if m in selected and m not in available]
        self.panels.children = tuple(self._panel(track, m) for m in shown)
        self.status.value = (f"<i>not available for {track}: {', '.join(absent)}</i>" if absent else "")

    def default_methods(self) -> tuple[str, ...]:
        """The selection this listener starts with when not given ``methods`` (see :func:`default_methods`);
        ``listener.methods.value = listener.default_methods()`` goes back to it."""
        return self._defaults

    def stems(self, track: str, method: str) -> dict[str, np.ndarray]:
        """The audio a panel plays: vocals, accompaniment and, when the song's reference is known (and
        ``residual``), :data:`RESIDUAL` = estimated vocals − true vocals (cut to the shorter of the two)."""
        est = self.tracks[track][method]
        out = {stem: np.asarray(est[stem]) for stem in STEMS}
        ref = self.tracks[track].get("reference")
        if self.residual and ref is not None and method != "reference":
            out[RESIDUAL] = residual(out["vocals"], np.asarray(ref["vocals"]))
        return out

    def labels(self) -> list[str]:
        """The header text of each panel shown now: ``"method — SDR … · SIR …"``."""
        return [p.children[0].value for p in self.panels.children]

    def shown(self) -> list[str]:
        """The methods whose panels are shown now."""
        return [p.method for p in self.panels.children]

    # -- drawing ----------------------------------------------------------------------------------------------
    def _panel(self, track: str, method: str):
        key = (track, method)
        if key not in self._cache:
            self._cache[key] = self._build_panel(track, method)
        return self._cache[key]

    def _build_panel(self, track: str, method: str):
        est = self.tracks[track][method]
        rate = int(est["rate"])
        header = w.HTML(f"<b>{method}</b> — {format_scores(est.get('scores'))}")
        columns = []
        for stem, audio in self.stems(track, method).items():
            items = [w.Label(stem), w.Audio(value=wav_bytes(audio, rate, self.max_seconds), format="wav",
                                            autoplay=False, loop=False)]
            if self.spectrograms:
                items.append(w.Image(value=self._spectrogram_png(audio, rate, f"{method}: {stem}"), format="png",
                                     layout=w.Layout(width="420px")))
            columns.append(w.VBox(items))
        panel = w.VBox([header, w.HBox(columns)], layout=w.Layout(border="1px solid #ddd", padding="4px",
                                                                   margin="2px 0"))
        panel.method = method
        panel.track = track
        return panel

    def _spectrogram_png(self, audio: np.ndarray, rate: int, title: str) -> bytes:
        x = np.asarray(audio)
        if self.max_seconds:
            x = x[..., : int(self.max_seconds * rate)]
        fig = plots.spectrogram(x, rate, title=title, max_freq=self.max_freq, figsize=(5, 2.2))
        return plots.png_bytes(fig, dpi=70)

    def _repr_mimebundle_(self, **kwargs):
        """Displayed as its widget (a notebook cell ending in ``listener`` shows the player)."""
        return self.widget._repr_mimebundle_(**kwargs)

    # -- constructors -----------------------------------------------------------------------------------------
    @classmethod
    def from_separators(cls, songs: Sequence, separators: Mapping[str, object], with_reference: bool = True,
                        seconds: float | None = None, scores: Mapping[str, Mapping[str, Mapping]] | None = None,
                        **kwargs) -> "Listener":
        """Separate ``songs`` (:class:`~semisep_lib.data.Song` with true stems) with each separator now.

        Scores: ``scores[method][track]`` when given (e.g. museval's, from a ``reproduce`` run), otherwise the
        fast SDR of the vocals (museval's v4 definition, 1 s windows; no SIR). An
        :class:`~semisep_lib.baselines.OracleIRM` is given the true stems. ``seconds`` cuts the songs first."""
        scores = scores or {}
        tracks: dict = {}
        for song in songs:
            n = int(seconds * song.rate) if seconds else song.samples
            mix = np.asarray(song.mixture[..., :n], dtype=np.float32)
            voc = np.asarray(song.vocals[..., :n], dtype=np.float32) if song.vocals is not None else None
            acc = (np.asarray(song.accompaniment[..., :n], dtype=np.float32)
                   if song.accompaniment is not None else None)
            entry: dict = {}
            if with_reference and voc is not None:
                entry["reference"] = {"vocals": voc, "accompaniment": mix - voc if acc is None else acc,
                                      "rate": song.rate, "scores": None}
            for name, sep in separators.items():
                if hasattr(sep, "separate_with_references"):
                    if voc is None:
                        continue
                    vocals = sep.separate_with_references(mix, voc, acc if acc is not None else mix - voc, song.rate)
                else:
                    vocals = sep.separate(mix, song.rate)
                given = scores.get(name, {}).get(song.name)
                if given is None and voc is not None:
                    given = {"SDR": median_sdr(voc.T, np.asarray(vocals).T, song.rate),
                             "note": "fast SDR of this excerpt" if seconds else "fast SDR"}
                entry[name] = {"vocals": vocals, "accompaniment": mix - vocals, "rate": song.rate, "scores": given}
            tracks[song.name] = entry
        return cls(tracks, **kwargs)

    @classmethod
    def from_estimates(cls, estimates: Mapping[str, str | Path], reference_root: str | Path | None = None,
                       subset: str = "test", tracks: Sequence[str] | None = None, **kwargs) -> "Listener":
        """Read stems written by ``separate`` / ``reproduce``: ``estimates`` maps a method name to a folder
        holding ``<track>/vocals.wav`` and ``<track>/accompaniment.wav`` (directly or under ``<subset>/``).
        Scores come from a museval JSON (``<track>.json``) beside the track folders, or from a ``scores.json``
        ``{track: {"SDR":.., "SIR":..}}`` in the method's folder. With ``reference_root`` (a dataset root) the
        true stems of the song are added as ``reference``."""
        data: dict = {}
        for method, folder in estimates.items():
            for track_dir in _track_dirs(Path(folder), subset):
                if tracks is not None and track_dir.name not in tracks:
                    continue
                (v, rate), (a, _) = (read_audio(track_dir / f"{s}.wav") for s in STEMS)
                data.setdefault(track_dir.name, {})[method] = {
                    "vocals": v, "accompaniment": a, "rate": rate, "scores": _scores_for(track_dir)}
        if not data:
            raise DataError(f"No separated tracks (<track>/vocals.wav and accompaniment.wav) found in "
                            f"{', '.join(str(p) for p in estimates.values())}.")
        if reference_root is not None:
            for song in load_songs(reference_root, subset=subset, tracks=[t for t in data
                                                                           if _has_track(reference_root, subset, t)]):
                data[song.name]["reference"] = {"vocals": song.vocals, "accompaniment": song.accompaniment,
                                                "rate": song.rate, "scores": None}
        return cls(data, **kwargs)

    @classmethod
    def from_reproduce(cls, out: str | Path, root: str | Path | None = None, subset: str = "test",
                       limit: int | None = 2, seconds: float | None = None, runs: Sequence[str] | None = None,
                       device: str = "cpu", **kwargs) -> "Listener":
        """Listen to what a ``reproduce`` run trained: every ``out/runs/<row>-seed<k>`` model (``all-losses-seed0``
        is shown as ``ours``), plus the mixture and the oracle mask, separated now on the first ``limit`` songs
        of ``subset`` of the dataset ``root`` (default: the root the run recorded in ``table1.json``). Scores
        are museval's from ``out/scores/<key>.json`` where the run wrote them, else the fast SDR. Stems written
        as ``<track>/vocals.wav`` under ``out`` are not needed; use :meth:`from_estimates` for those."""
        out = Path(out)
        found = reproduce_runs(out, runs)
        g_runs = {label: (key, path) for label, (key, path, kind) in found.items() if kind == "g"}
        if not g_runs:
            raise DataError(f"No trained runs (runs/<row>/best.pt) under {out}; run reproduce first.")
        root = Path(root) if root is not None else _recorded_root(out)
        try:
            songs = load_songs(root, subset=subset, limit=limit)
        except DataError:  # no test subset: reproduce evaluated on the report songs
            songs = load_songs(root, subset="train", split="report", limit=limit)
        loaded = {label: load_separator(path, device=device) for label, (_, path) in g_runs.items()}
        first = next(iter(loaded.values()))
        separators: dict = {"mixture": MixtureBaseline(), "oracle": OracleIRM(Config.from_preset(first.cfg.preset))}
        keys = {"mixture": "mixture", "oracle": "oracle"}
        for label, (key, path, kind) in found.items():
            if kind == "g":
                separators[label] = loaded[label]
            elif kind == "nes":
                separators[label] = NESSeparator.load(path, device=device)
            else:
                separators[label] = NMFBaseline.load(path)
            keys[label] = key
        scores = {label: _reproduce_scores(out / "scores" / f"{key}.json") for label, key in keys.items()}
        kwargs.setdefault("methods", default_methods([*separators, "reference"]))
        return cls.from_separators(songs, separators, seconds=seconds, scores=scores, **kwargs)


def _row_keys() -> dict[str, str]:
    """reproduce's trained rows, by the folder name it gives them (:func:`~semisep_lib.reproduce.run_name` of the
    row label), → the method name shown: Table 3's rows (``all losses`` is ``ours``), the supervised bound and
    the GAN-only row. The warm-up (``warm-up-seed<k>``) is no row: it is never listed."""
    keys = {run_name(label): "ours" if label == "all losses" else label for label in ABLATION}
    keys[run_name("supervised")] = "supervised"
    keys[run_name("GAN only")] = "GAN only"
    return keys


#: reproduce's baselines, by their score key (``scores/<key>.json``) → (method name, model file in
#: ``runs/<key>/``, per seed). NES is trained once per seed (``nes-seed<k>``), NMF once (``nmf``).
BASELINE_KEYS = {"nes": ("nes", "nes.pt", True), "nmf": ("nmf", "nmf.npz", False)}


def _split_seed(name: str) -> tuple[str, int | None]:
    """``"wo-R1-seed0"`` → ``("wo-R1", 0)``; a name without a ``-seed<k>`` tail → ``(name, None)``."""
    row, sep, seed = name.rpartition("-seed")
    return (row, int(seed)) if sep and row and seed.isdigit() else (name, None)


def run_labels(names: Sequence[str]) -> dict[str, str]:
    """Method names for reproduce's run folders and score keys, from the rows reproduce knows (no guessing from
    the folder's spelling): ``all-losses-seed0`` → ``ours``, ``wo-GAN_A-GAN_C-seed0`` → ``w/o GAN_A & GAN_C``,
    ``nes-seed0`` → ``nes``, ``nmf`` → ``nmf``; with several seeds, `` (seed k)`` is appended. Names that are
    no method of the tables (the discriminator warm-up ``warm-up-seed<k>``, stray folders) are left out."""
    rows = _row_keys()
    parsed = {}
    for name in names:
        row, seed = _split_seed(name)
        if seed is not None and row in rows:
            parsed[name] = (rows[row], seed)
        elif seed is not None and row in BASELINE_KEYS and BASELINE_KEYS[row][2]:
            parsed[name] = (BASELINE_KEYS[row][0], seed)
        elif seed is None and name in BASELINE_KEYS and not BASELINE_KEYS[name][2]:
            parsed[name] = (BASELINE_KEYS[name][0], None)
    several = len({seed for _, seed in parsed.values() if seed is not None}) > 1
    return {name: f"{label} (seed {seed})" if several and seed is not None else label
            for name, (label, seed) in parsed.items()}


def reproduce_runs(out: str | Path, runs: Sequence[str] | None = None) -> dict[str, tuple[str, Path, str]]:
    """What a ``reproduce`` run under ``out`` left to listen to: ``{method: (key, path, kind)}`` in
    :func:`order_methods`' order, ``kind`` being ``"g"`` (a trained row, ``runs/<key>/best.pt``), ``"nes"``
    (``runs/nes-seed<k>/nes.pt``) or ``"nmf"`` (``runs/nmf/nmf.npz``). ``key`` is the run's score key
    (``scores/<key>.json``). The warm-up runs are not methods and are never listed; ``runs`` keeps only those
    folder names."""
    out = Path(out)
    folders = sorted(p for p in (out / "runs").glob("*") if p.is_dir() and (runs is None or p.name in runs))
    labels = run_labels([p.name for p in folders])
    found: dict[str, tuple[str, Path, str]] = {}
    for folder in folders:
        if folder.name not in labels:
            continue
        row, _ = _split_seed(folder.name)
        if row in BASELINE_KEYS:
            kind, file = row, folder / BASELINE_KEYS[row][1]
        else:
            kind, file = "g", folder / "best.pt"
        if file.is_file():
            found[labels[folder.name]] = (folder.name, folder if kind == "g" else file, kind)
    return {m: found[m] for m in order_methods(found)}


def residual(estimate: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """``estimate − reference``, cut to the shorter of the two; a mono side is broadcast over the channels."""
    est, ref = np.asarray(estimate, dtype=np.float32), np.asarray(reference, dtype=np.float32)
    n = min(est.shape[-1], ref.shape[-1])
    est, ref = est[..., :n], ref[..., :n]
    if est.ndim != ref.ndim:  # (samples,) against (channels, samples)
        est, ref = np.atleast_2d(est), np.atleast_2d(ref)
    return est - ref


def _recorded_root(out: Path) -> Path:
    for name in ("table1.json", "table3.json"):
        path = out / name
        if path.is_file():
            info = json.loads(path.read_text()).get("info") or {}
            if isinstance(info, dict) and info.get("root"):
                return Path(info["root"])
            if isinstance(info, dict) and info.get("data") == "toy":  # the built-in set: no root recorded
                return resolve_data_root("toy", None)
    raise DataError(f"{out} does not record its dataset root; pass root=.")


def _reproduce_scores(path: Path) -> dict[str, dict]:
    """``{track: {"SDR": .., "SIR": ..}}`` of the vocals in a reproduce ``scores/<key>.json`` (``{}`` if none)."""
    if not path.is_file():
        return {}
    try:
        d = json.loads(path.read_text())
        return {t["name"]: {**{m: (math.nan if t["vocals"].get(m) is None else float(t["vocals"][m]))
                               for m in ("SDR", "SIR") if m in t["vocals"]}, "note": "museval, whole song"}
                for t in d.get("tracks", [])}
    except (ValueError, KeyError, TypeError):
        return {}


def _track_dirs(folder: Path, subset: str) -> list[Path]:
    for base in (folder / subset, folder):
        dirs = sorted(p.parent for p in base.glob("*/vocals.wav") if (p.parent / "accompaniment.wav").is_file())
        if dirs:
            return dirs
    return []


def _has_track(root: str | Path, subset: str, name: str) -> bool:
    try:
        return name in list_tracks(root, subset)
    except Exception:  # noqa: BLE001 - a reference root that cannot be read just gives no reference
        return False


def _scores_for(track_dir: Path) -> dict | None:
    """Scores of one track: ``scores.json`` in the method folder, or museval's ``<track>.json``."""
    name = track_dir.name
    for folder in (track_dir.parent, track_dir.parent.parent):
        table = folder / "scores.json"
        if table.is_file():
            try:
                d = json.loads(table.read_text())
                if isinstance(d, dict) and name in d:
                    return {k: float(v) for k, v in d[name].items() if isinstance(v, (int, float))}
            except ValueError:
                pass
    for path in (track_dir.parent / f"{name}.json", track_dir / f"{name}.json", track_dir / "scores.json"):
        if path.is_file():
            try:
                return museval_scores(json.loads(path.read_text()))
            except (ValueError, KeyError, TypeError):
                continue
    return None


def museval_scores(d: Mapping, target: str = "vocals") -> dict[str, float]:
    """Median over frames of each metric of ``target`` in a museval track JSON (SiSEC 2018 per-track value);
    a flat ``{"SDR":.., "SIR":..}`` mapping is returned as it is."""
    if "targets" not in d:
        return {k: float(v) for k, v in d.items() if isinstance(v, (int, float))}
    for t in d["targets"]:
        if t.get("name") == target:
            out = {}
            for metric in ("SDR", "SIR", "SAR", "ISR"):
                vals = np.array([f["metrics"].get(metric, np.nan) for f in t["frames"]], dtype=float)
                vals = vals[np.isfinite(vals)]
                out[metric] = float(np.median(vals)) if vals.size else math.nan
            return out
    raise KeyError(target)


def find_estimate_dirs(out: str | Path, subset: str = "test") -> dict[str, Path]:
    """Folders under ``out`` holding separated tracks, named for the listener's method list. A folder counts
    when it (or its ``<subset>/``) holds ``<track>/vocals.wav``; its method name is the path below ``out`` with
    ``runs/`` and trailing ``estimates``/``<subset>`` parts dropped, joined by ``/``."""
    out = Path(out)
    found: dict[str, Path] = {}
    for vocals in sorted(out.rglob("vocals.wav")):
        track_dir = vocals.parent
        base = track_dir.parent
        if base.name == subset:
            base = base.parent
        if base in found.values() or not _track_dirs(base, subset):
            continue
        parts = [p for p in base.relative_to(out).parts if p not in ("runs", "estimates", subset)]
        if any(_split_seed(p)[0] == "warm-up" for p in parts):  # reproduce's warm-up is no method
            continue
        labels = run_labels(parts)
        name = "/".join(labels.get(p, p) for p in parts) or base.name
        found.setdefault(name, base)
    return found


__all__ = ["Listener", "wav_bytes", "format_scores", "order_methods", "default_methods", "museval_scores",
           "find_estimate_dirs", "run_labels", "reproduce_runs", "residual", "DEFAULT_METHODS", "RESIDUAL",
           "BASELINE_KEYS"]
