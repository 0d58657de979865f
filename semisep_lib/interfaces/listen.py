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

* :meth:`Listener.from_separators` — run separators (:class:`~semisep_lib.method.separator.Separator`) on songs now
  and score them with the fast SDR of :mod:`semisep_lib.method.metrics`;
* :meth:`Listener.from_estimates` — read ``<dir>/[<subset>/]<track>/{vocals,accompaniment}.wav`` folders
  written by ``semisep separate`` / ``reproduce``, with scores from museval JSON files when present;
* :meth:`Listener.from_reproduce` — the models a ``reproduce`` run trained (with the mixture and the oracle
  mask), separated now, scored with the run's museval numbers.

The widget: ``listener.track`` (a ``Dropdown``), ``listener.methods`` (a ``SelectMultiple``), and
``listener.panels`` (a ``VBox`` with one panel per selected method: a label with the method's name and scores,
then for vocals and accompaniment an ``ipywidgets.Audio`` player and a spectrogram image). Changing
``track.value`` or ``methods.value`` rebuilds ``panels`` — in a notebook, or headless in a test. A widget needs a
running kernel: a notebook saved or rendered to HTML shows nothing of it.

The A/B player: :meth:`Listener.player` gives an :class:`ABPlayer`, plain HTML with the audio inside it (base64
``data:`` URIs) and the listening page's own script (``report_assets/report.js``): per song one ``<audio>``
element, and a button per method and stem (vocals, accompaniment, residual) that switches it to that file *from
the same moment*, so A/B comparisons are instant; beside each method, its scores on the excerpt played. It plays in
JupyterLab and in a static HTML copy of the notebook opened from ``file://``. :func:`ab_section` writes one song's
player; ``semisep report`` (:mod:`semisep_lib.interfaces.report`) builds its page's players with it too.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import html
import io
import itertools
import json
import math
import shutil
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import ipywidgets as w
import numpy as np
import soundfile as sf

from ..audio import AUDIO_CODECS, encode_audio, read_audio
from ..errors import DataError, UsageError
from ..runs import RUNS, WARM_UP, ReproductionFolder, Run, table_file
from ..method.metrics import median_sdr, median_sdr_sir
from ..study import plots
from ..study.data import evaluation_songs, list_tracks, load_songs, resolve_data_root
from ..study.methods import METHODS, REPRODUCED, of_kind

STEMS = ("vocals", "accompaniment")
#: The order methods are listed in when present (others follow, sorted).
METHOD_ORDER = ("reference", "mixture", "silent", "oracle", "supervised", "ours", "nes", "nmf")
#: The methods selected at first when present: the true vocals (the reference), the mixture, the oracle mask (a
#: reference mask, not a ceiling) and our method.
DEFAULT_METHODS = ("reference", "mixture", "oracle", "ours")
#: The third stem of a panel when the song's reference is known: estimated vocals minus the true vocals.
RESIDUAL = "residual (vocals − reference)"
#: The listening page's assets (its script and the player's style), shared with :class:`ABPlayer`.
ASSETS = Path(__file__).resolve().parents[1] / "report_assets"
#: Numbers the players a session makes, so that two players of the same songs in one notebook differ in their ids.
_PLAYERS = itertools.count(1)
#: The note on scores read from a ``reproduce`` run (museval, on the songs as the run cut them: whole, or the
#: profile's ``eval_seconds``).
RUN_SCORES = "museval, as the run scored the song"
#: A/B columns of a song's player, and the stem each plays.
PLAYER_COLUMNS = {"vocals": "vocals", "accompaniment": "accompaniment", "residual": RESIDUAL}


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
# the A/B player (plain HTML: the listening page's and a notebook's)
# ------------------------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Choice:
    """One A/B button: ``label`` names what it plays (``"ours · vocals"``, shown beside the player), ``text`` is
    the button's own text, ``src`` the audio (a relative path on the page, a ``data:`` URI in a notebook), ``spec``
    and ``mask`` the pictures shown while it is chosen (``None``: none)."""

    label: str
    text: str
    src: str
    spec: str | None = None
    mask: str | None = None

    def button(self, active: bool = False) -> str:
        esc = html.escape
        extra = "".join(f' data-{k}="{esc(v)}"' for k, v in (("spec", self.spec), ("mask", self.mask)) if v)
        return (f'<button class="ab{" active" if active else ""}" type="button" data-src="{esc(self.src)}" '
                f'data-label="{esc(self.label)}"{extra}>{esc(self.text)}</button>')


@dataclasses.dataclass(frozen=True)
class ABRow:
    """One row of a song's A/B table: ``name``, the ``info`` cells (scores ...) and either one :class:`Choice`
    per stem column (``None``: nothing to play there) or a single :class:`Choice` spanning them (the mixture)."""

    name: str
    info: Sequence[str]
    cells: Sequence[Choice | None] | Choice


def ab_section(title: str, rows: Sequence[ABRow], active: Choice, columns: Sequence[str] = tuple(PLAYER_COLUMNS),
               info: Sequence[str] = ("vocal scores",), anchor: str | None = None, note: str = "",
               extra: str = "", label: str = "method") -> str:
    """One song's A/B player as an HTML ``<section class="song">``: its ``<audio>`` element (starting on
    ``active``), the table of ``rows`` with a button per stem ``columns``, the chosen button's pictures, then
    ``note`` and ``extra`` (HTML); ``label`` heads the column of row names. ``report.js`` makes the buttons switch
    the audio from the same moment."""
    esc = html.escape
    head = "".join(f"<th>{esc(h)}</th>" for h in (label, *info, *columns))
    body = []
    for row in rows:
        cells = "".join(f"<td>{esc(t)}</td>" for t in row.info)
        if isinstance(row.cells, Choice):
            cells += f'<td colspan="{len(columns)}">{row.cells.button(row.cells == active)}</td>'
        else:
            cells += "".join('<td class="muted">–</td>' if c is None else f"<td>{c.button(c == active)}</td>"
                             for c in row.cells)
        body.append(f"<tr><td>{esc(row.name)}</td>{cells}</tr>")
    spec = f'<img class="view-spec" src="{esc(active.spec)}" alt="spectrogram of the choice">' if active.spec else \
        '<img class="view-spec" hidden alt="spectrogram of the choice">'
    ident = f' id="{esc(anchor)}"' if anchor else ""
    return f"""
<section class="song"{ident}>
<h3>{esc(title)}</h3>
<div class="player"><audio class="shared" controls preload="metadata" src="{esc(active.src)}"></audio>
<span class="now">{esc(active.label)}</span></div>
<table class="abtable">
<tr>{head}</tr>
{chr(10).join(body)}
</table>
{note}<p class="muted">Each button plays in the player above from where it is.</p>
<div class="view">{spec}
<img class="view-mask" hidden alt="g's vocal mask"></div>
{extra}
</section>"""


def player_assets() -> tuple[str, str]:
    """``(css, js)``: the A/B player's style and the listening page's script, to inline in a notebook's HTML."""
    return (ASSETS / "player.css").read_text(), (ASSETS / "report.js").read_text()


def data_uri(payload: bytes, mime: str) -> str:
    """``data:<mime>;base64,...`` — a file inside the HTML itself, so the HTML needs no file beside it."""
    return f"data:{mime};base64,{base64.b64encode(payload).decode('ascii')}"


def excerpt_scores(reference: Mapping, vocals: np.ndarray, rate: int, sir: bool = True) -> dict[str, float]:
    """Vocal SDR — and SIR with ``sir`` — of ``vocals`` against the reference's ``vocals`` and ``accompaniment``,
    ``(channels, samples)`` each, on the samples they share, per 1 s window and then the median over windows
    (SiSEC 2018). SDR is :func:`~semisep_lib.method.metrics.median_sdr`, museval's v4 SDR computed directly (so a silent
    estimate scores 0 dB, where museval gives NaN); SIR is museval's (512-tap filters: seconds per excerpt), NaN
    where the vocal or the accompaniment estimate is all zeros (museval refuses those: the silent floor, and the
    mixture called vocals)."""
    est, voc, acc = (np.atleast_2d(np.asarray(x, dtype=np.float32)) for x in
                     (vocals, reference["vocals"], reference["accompaniment"]))
    n, channels = min(x.shape[-1] for x in (est, voc, acc)), max(x.shape[0] for x in (est, voc, acc))
    est, voc, acc = (np.broadcast_to(x[..., :n], (channels, n)) for x in (est, voc, acc))
    out = {"SDR": median_sdr(voc.T, est.T, int(rate))}
    if sir:  # museval refuses an estimate with a silent source: the silent floor's, or the mixture's (no band left)
        silent = not np.any(est) or not np.any(voc + acc - est)
        out["SIR"] = math.nan if silent else median_sdr_sir(voc.T, acc.T, est.T, int(rate))[1]
    return out


@dataclasses.dataclass
class ABPlayer:
    """The A/B player of a :class:`Listener` as one piece of HTML (:meth:`Listener.player`): shown as a notebook
    cell's value, it plays in JupyterLab and in a static HTML copy of the notebook. ``songs``: per song,
    ``{"methods": [...], "choices": {label: Choice}, "scores": {method: excerpt scores}}`` (what the tests read);
    ``bytes``: the size of the HTML."""

    html: str
    songs: dict

    @property
    def bytes(self) -> int:
        return len(self.html.encode())

    def __repr__(self) -> str:  # a notebook keeps this beside the HTML: short, not the audio again
        return f"ABPlayer({len(self.songs)} song{'s' if len(self.songs) != 1 else ''}, {self.bytes / 1e6:.2f} MB)"

    def _repr_html_(self) -> str:
        return self.html

    def save(self, path: str | Path) -> Path:
        """Write the player as a page of its own (opens from ``file://``)."""
        path = Path(path)
        path.write_text(f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>semisep A/B player'
                        f'</title></head>\n<body>\n{self.html}\n</body></html>\n', encoding="utf-8")
        return path


def player_codec(codec: str = "auto") -> str:
    """The codec a player encodes with: ``auto`` is Opus where ffmpeg is installed, else WAV."""
    if codec == "auto":
        return "opus" if shutil.which("ffmpeg") else "wav"
    if codec not in AUDIO_CODECS:
        raise UsageError(f"Unknown codec {codec!r}; choose from auto, {', '.join(AUDIO_CODECS)}.")
    return codec


class PlayerMedia:
    """The audio and pictures of one player as ``data:`` URIs: clips ``(channels, samples)`` or ``(samples,)`` at
    ``rate`` encoded with ``codec`` (mono in WAV, which is large), identical clips sharing one copy; spectrograms
    as JPEG (none when ``spectrograms`` is off)."""

    def __init__(self, rate: int, codec: str = "auto", bitrate: str = "40k", spectrograms: bool = True):
        self.rate, self.codec, self.bitrate = int(rate), player_codec(codec), bitrate
        self.spectrograms = spectrograms
        self._seen: dict[bytes, str] = {}

    def audio(self, x: np.ndarray) -> str:
        x = np.atleast_2d(np.asarray(x, dtype=np.float32))
        if self.codec == "wav":
            x = x.mean(axis=0, keepdims=True)
        key = hashlib.sha1(x.tobytes() + str(x.shape).encode()).digest()
        if key not in self._seen:
            encoded = encode_audio(x, self.rate, self.codec, self.bitrate)
            self._seen[key] = data_uri(encoded, AUDIO_CODECS[self.codec][1])
        return self._seen[key]

    def picture(self, signals: Mapping[str, np.ndarray], columns: int | None = None) -> str | None:
        """Spectrograms of ``signals`` on one colour scale, side by side (``columns``, default all in one row)."""
        if not self.spectrograms:
            return None
        columns = columns or len(signals)
        rows = math.ceil(len(signals) / columns)
        fig = plots.spectrograms(signals, self.rate, columns=columns, figsize=(4 * columns, 2.2 * rows))
        return data_uri(plots.image_bytes(fig, "jpeg", dpi=60), "image/jpeg")


def clips_player(clips: Mapping[str, np.ndarray], rate: int, title: str = "", name: str = "",
                 spectrograms: bool = True, codec: str = "auto", bitrate: str = "40k") -> ABPlayer:
    """One A/B player over a few clips of one moment (``{label: audio}``, e.g.
    :func:`~semisep_lib.interfaces.notebooks.method_signals`): a button per clip, each switching the one
    ``<audio>`` element to its clip from the same moment; while a clip plays, the spectrograms of all of them are
    shown, on one colour scale. ``name`` heads the row of buttons."""
    if not clips:
        raise UsageError("clips_player() needs at least one clip.")
    media = PlayerMedia(rate, codec, bitrate, spectrograms)
    spec = media.picture(clips, columns=min(3, len(clips)))
    choices = [Choice(label, label, media.audio(x), spec) for label, x in clips.items()]
    section = ab_section(title, [ABRow(name, [], choices)], choices[0], columns=list(clips), info=(), label="")
    css, js = player_assets()
    page = f'<div class="semisep-ab">\n<style>\n{css}</style>{section}\n<script>\n{js}</script>\n</div>'
    return ABPlayer(page, {title: {"methods": list(clips), "choices": {c.label: c for c in choices}, "scores": {}}})


# ------------------------------------------------------------------------------------------------------------
# the widget
# ------------------------------------------------------------------------------------------------------------
class Listener:
    """Choose a song and methods; hear and see each method's vocals and accompaniment, with its scores.

    ``tracks``: see the module docstring. ``methods``: the methods selected at first (default:
    :meth:`default_methods` — the reference, the mixture, the oracle and ours when present). ``spectrograms``: draw a
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
        self.available = tuple(all_methods)  # every method of any song, in the listing's order
        self._defaults = tuple(default_methods(all_methods))
        self._chosen = tuple([m for m in (methods or self._defaults) if m in all_methods] or all_methods[:1])
        self._cache: dict[tuple[str, str], object] = {}
        self._widgets: dict | None = None

    # -- the widget, built when first asked for ---------------------------------------------------------------
    # (ipywidgets keep their state, audio included, in a saved notebook: a listener only played through
    # :meth:`player` should leave none)
    def _ui(self) -> dict:
        if self._widgets is None:
            track = w.Dropdown(options=sorted(self.tracks), description="song")
            methods = w.SelectMultiple(options=self.available, value=self._chosen, description="methods",
                                       rows=min(8, len(self.available)))
            status, panels = w.HTML(), w.VBox()
            self._widgets = {"track": track, "methods": methods, "status": status, "panels": panels,
                             "widget": w.VBox([w.HBox([track, methods]), status, panels])}
            track.observe(self._on_change, names="value")
            methods.observe(self._on_change, names="value")
            self.refresh()
        return self._widgets

    track = property(lambda self: self._ui()["track"], doc="The song drop-down (``ipywidgets.Dropdown``).")
    methods = property(lambda self: self._ui()["methods"], doc="The methods multi-select (``SelectMultiple``).")
    status = property(lambda self: self._ui()["status"], doc="A line naming selected methods a song lacks.")
    panels = property(lambda self: self._ui()["panels"], doc="One panel per selected method (a ``VBox``).")
    widget = property(lambda self: self._ui()["widget"], doc="The whole widget.")

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

    # -- the A/B player ---------------------------------------------------------------------------------------
    def player(self, methods: Sequence[str] | None = None, tracks: Sequence[str] | None = None,
               seconds: float | None = None, spectrograms: bool = True, sir: bool = False, codec: str = "auto",
               bitrate: str = "40k") -> ABPlayer:
        """One A/B player per song (:class:`ABPlayer`): the mixture, and for each of ``methods`` (default:
        :meth:`default_methods` — the reference vocals among them) its vocals, accompaniment and residual, all in
        one ``<audio>`` element that keeps its position when switched. Beside each method: its vocal SDR **on the
        excerpt played** (:func:`excerpt_scores`; when the song's reference is known) — and its SIR with ``sir``,
        museval's, which takes seconds per method and excerpt — and the museval scores of a ``reproduce`` run
        where it came with them. ``tracks``: the songs (default: all); ``seconds``: the excerpt (default: the
        listener's ``max_seconds``); ``spectrograms``: a picture of each method's two stems, shown while it plays;
        ``codec``: ``opus`` (WebM), ``mp3`` or ``wav``; ``auto`` is Opus where ffmpeg is installed, else mono WAV
        (about 30 times the size)."""
        codec = player_codec(codec)
        names = list(tracks) if tracks is not None else list(self.tracks)
        unknown = [t for t in names if t not in self.tracks]
        if unknown:
            raise UsageError(f"No song {', '.join(map(repr, unknown))} in this listener; it has "
                             f"{', '.join(self.tracks)}.")
        seconds = self.max_seconds if seconds is None else seconds
        wanted = list(methods) if methods is not None else list(self._defaults)
        sections, songs, number = [], {}, next(_PLAYERS)
        for i, track in enumerate(names):
            html_, info = self._player_section(track, wanted, seconds, spectrograms, sir, codec, bitrate,
                                               f"ab-{number}-{i + 1:02d}")
            sections.append(html_)
            songs[track] = info
        css, js = player_assets()
        absent = sorted({m for t in names for m in wanted if m not in self.tracks[t]})
        note = (f'<p class="muted">Not available: {html.escape(", ".join(absent))}.</p>' if absent else "")
        page = (f'<div class="semisep-ab">\n<style>\n{css}</style>{"".join(sections)}\n{note}'
                f"<script>\n{js}</script>\n</div>")
        return ABPlayer(page, songs)

    def _player_section(self, track: str, wanted: Sequence[str], seconds: float | None, spectrograms: bool,
                        sir: bool, codec: str, bitrate: str, anchor: str) -> tuple[str, dict]:
        entry = self.tracks[track]
        methods = [m for m in order_methods(entry) if m in wanted]
        base = next((entry[m] for m in order_methods(entry) if m != "reference"), entry[order_methods(entry)[0]])
        rate = int(base["rate"])
        n = int(seconds * rate) if seconds else None
        media = PlayerMedia(rate, codec, bitrate, spectrograms)
        audio, picture = media.audio, media.picture

        def cut(x):
            return np.asarray(x, dtype=np.float32)[..., :n]

        mix = cut(base["vocals"]) + cut(base["accompaniment"])  # every method's two stems sum to the mixture
        first = Choice("mixture", "mixture", audio(mix), picture({f"{track}: mixture": mix}))
        ref = entry.get("reference")
        whole = {m: entry[m].get("scores") for m in methods if (entry[m].get("scores") or {}).get("note") == RUN_SCORES}
        info = ["vocal scores, this excerpt", *(["the run's scores (museval)"] if whole else [])]
        rows = [ABRow("mixture (input)", [""] * len(info), first)]
        choices, scores = {"mixture": first}, {}
        for m in methods:
            stems = {k: cut(v) for k, v in self.stems(track, m).items()}
            spec = picture({f"{m}: vocals": stems["vocals"], f"{m}: accompaniment": stems["accompaniment"]})
            cells = []
            for column, stem in PLAYER_COLUMNS.items():
                if stem not in stems:
                    cells.append(None)
                    continue
                c = Choice(f"{m} · {column}", column, audio(stems[stem]), spec)
                choices[c.label] = c
                cells.append(c)
            if ref is not None and m != "reference":
                scores[m] = excerpt_scores({k: cut(ref[k]) for k in STEMS}, stems["vocals"], rate, sir)
            shown = [format_scores(scores.get(m)) if m != "reference" else "(the true stems)"]
            if whole:
                given = {k: v for k, v in (whole.get(m) or {}).items() if k != "note"}
                shown.append(format_scores(given) if given else "")
            rows.append(ABRow(m, shown, cells))
        full = np.asarray(base["vocals"]).shape[-1]
        how = ("museval v4 SDR and SIR" if sir else "museval v4 SDR") + ", median over 1 s windows" + \
            (f", of the first {n / rate:g} s" if n and n < full else ", of all the audio this listener holds")
        note = (f'<p class="muted">Excerpt scores: {html.escape(how)}.'
                + (" Residual: the method's vocals minus the true vocals (what it got wrong)." if ref is not None
                   else " No reference: no excerpt scores, no residual.") + "</p>")
        return (ab_section(track, rows, first, info=info, anchor=anchor, note=note),
                {"methods": methods, "choices": choices, "scores": scores})

    # -- constructors -----------------------------------------------------------------------------------------
    @classmethod
    def from_separators(cls, songs: Sequence, separators: Mapping[str, object], with_reference: bool = True,
                        seconds: float | None = None, scores: Mapping[str, Mapping[str, Mapping]] | None = None,
                        **kwargs) -> "Listener":
        """Separate ``songs`` (:class:`~semisep_lib.study.data.Song` with true stems) with each separator now.

        Scores: ``scores[method][track]`` when given (e.g. museval's, from a ``reproduce`` run), otherwise the
        fast SDR of the vocals (museval's v4 definition, 1 s windows; no SIR). An
        :class:`~semisep_lib.study.baselines.OracleIRM` is given the true stems. ``seconds`` cuts the songs first."""
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
        of ``subset`` of the dataset ``root`` (default: the root the run recorded in ``table1.json``; ``"test"``:
        the songs the run reported on, the report songs where the data has no test subset). Scores
        are museval's from ``out/scores/<key>.json`` where the run wrote them, else the fast SDR. Stems written
        as ``<track>/vocals.wav`` under ``out`` are not needed; use :meth:`from_estimates` for those."""
        out = Path(out)
        found = reproduce_runs(out, runs)
        g_runs = {label: (key, path) for label, (key, path, kind) in found.items() if kind == "g"}
        if not g_runs:
            raise DataError(f"No trained runs ({ReproductionFolder('').run('<row>').best}) under {out}; "
                            "run reproduce first.")
        root = Path(root) if root is not None else _recorded_root(out)
        songs = (evaluation_songs(root, limit=limit)[0] if subset == "test"  # reproduce's: test, else report
                 else load_songs(root, subset=subset, limit=limit))
        loaded = {label: METHODS["ours"].load(path, device) for label, (_, path) in g_runs.items()}
        cfg = next(iter(loaded.values())).cfg  # the models' STFT, for the oracle mask
        built = [m for m in REPRODUCED if m.build is not None]  # reproduce's methods that need no model file
        separators: dict = {m.name: m.build(cfg) for m in built}
        keys = {m.name: m.key for m in built}
        for label, (key, path, kind) in found.items():
            separators[label] = loaded[label] if kind == "g" else METHODS[kind].load(path, device)
            keys[label] = key
        scores = {label: _reproduce_scores(ReproductionFolder(out).scores(key)) for label, key in keys.items()}
        kwargs.setdefault("methods", default_methods([*separators, "reference"]))
        return cls.from_separators(songs, separators, seconds=seconds, scores=scores, **kwargs)


def _row_keys() -> dict[str, str]:
    """reproduce's trained rows, by the folder name it gives them (the registry's ``key``), → the method name
    shown: Table 3's rows (``all losses`` is ``ours``), the supervised bound and the GAN-only row. The warm-up
    (``warm-up-seed<k>``) is no row: it is never listed."""
    return {m.key: m.name for m in of_kind("g")}


#: reproduce's baselines, by their score key (``scores/<key>.json``) → (method name, model file in
#: ``runs/<key>/``, per seed), from the registry (``methods.METHODS``): NES once per seed (``nes-seed<k>``), NMF
#: once (``nmf``).
BASELINE_KEYS = {m.key: (m.name, m.file, m.per_seed) for m in of_kind("baseline")}


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
    folders = sorted(p for p in ReproductionFolder(out).runs.glob("*")
                     if p.is_dir() and (runs is None or p.name in runs))
    labels = run_labels([p.name for p in folders])
    found: dict[str, tuple[str, Path, str]] = {}
    for folder in folders:
        if folder.name not in labels:
            continue
        row, _ = _split_seed(folder.name)
        if row in BASELINE_KEYS:
            kind, file = row, folder / BASELINE_KEYS[row][1]
        else:
            kind, file = "g", Run(folder).best
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
    for path in (table_file(out, 1), table_file(out, 3)):
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
                               for m in ("SDR", "SIR") if m in t["vocals"]}, "note": RUN_SCORES}
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
        parts = [p for p in base.relative_to(out).parts if p not in (RUNS, "estimates", subset)]
        if any(_split_seed(p)[0] == WARM_UP for p in parts):  # reproduce's warm-up is no method
            continue
        labels = run_labels(parts)
        name = "/".join(labels.get(p, p) for p in parts) or base.name
        found.setdefault(name, base)
    return found


__all__ = ["Listener", "ABPlayer", "RUN_SCORES", "Choice", "ABRow", "ab_section", "player_assets", "data_uri",
           "excerpt_scores", "PLAYER_COLUMNS", "PlayerMedia", "player_codec", "clips_player", "wav_bytes",
           "format_scores", "order_methods", "default_methods", "museval_scores", "find_estimate_dirs", "run_labels",
           "reproduce_runs", "residual", "DEFAULT_METHODS", "RESIDUAL", "BASELINE_KEYS"]
