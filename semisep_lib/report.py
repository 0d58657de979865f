"""A static listening page for one run: ``semisep report DIR --out SITE``.

Its one job: turn a ``reproduce`` output folder (or a folder of separated stems) into a self-contained site —
plain HTML, CSS and JavaScript with relative links only, so it opens from ``file://`` with no server and no
network — where one hears and sees every method on every report song, and reads the tables.

The page (``SITE/index.html``):

* the run: the command that produced it and the git commit, Table 1 and Table 3 (``table1.md`` / ``table3.md``
  as reproduce wrote them, the paper's numbers beside ours) and ``ablation.png``;
* per song, one player with synchronised A/B switching — each button plays its file in the song's one
  ``<audio>`` element from the position the previous one had reached — over the mixture, the reference stems
  when known, and each method's vocals, accompaniment and residual (estimated − true vocals); per method its
  SDR / SIR and a spectrogram of its two stems, and for our method ``g``'s vocal mask. The player is
  :func:`~semisep_lib.listen.ab_section` with ``report_assets/report.js``, the same as a notebook's
  (:meth:`~semisep_lib.listen.Listener.player`), which carries its audio inside the HTML instead of in files.

Where the audio comes from: ``reproduce`` keeps models, not estimates, so the report songs are separated again
with the saved models by :meth:`~semisep_lib.listen.Listener.from_reproduce` (which also brings each song's
museval scores from ``scores/<row>.json``); a folder of ``<method>/<track>/{vocals,accompaniment}.wav`` is read
as it is by :meth:`~semisep_lib.listen.Listener.from_estimates`. Audio is encoded with ffmpeg (Opus in WebM by
default, MP3 on request); identical signals (the mixture-as-vocals baseline and the mixture ...) share a file.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import re
import shutil
import tempfile
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from . import plots
from .config import PRESETS
from .errors import AudioError, DataError, UsageError
from .fileio import replace_dir
from .audio import AUDIO_CODECS, encode_audio
from .listen import (ASSETS, PLAYER_COLUMNS, ABRow, Choice, Listener, ab_section, find_estimate_dirs, format_scores,
                     order_methods, reproduce_runs)
from .methods import ABLATION
from .reproduce import command_line, git_commit
from .runs import ReproductionFolder, table_file
from .separate import load_separator

#: The codecs of the page's audio (``audio.AUDIO_CODECS``, by ffmpeg; the notebook player may also use WAV).
CODECS = ("opus", "mp3")
#: The page's files beside index.html: its style, the A/B player's style and the player's script.
ASSET_FILES = ("report.css", "player.css", "report.js")
#: Songs are cut to this many seconds unless the run says what it scored (or ``seconds`` is given; 0: whole).
MAX_SECONDS = 30.0
GENERATOR = "semisep report"  # the page's <meta name="generator">: marks a folder this command may replace


# ---------------------------------------------------------------------------------------------------------------
# what to listen to
def _run_info(source: Path) -> dict:
    for path in (table_file(source, 1), table_file(source, 3)):
        if path.is_file():
            info = json.loads(path.read_text()).get("info")
            if isinstance(info, dict):
                return info
    return {}


def _from_reproduce(source: Path, root, subset: str, songs: int | None, seconds: float | None, device: str):
    """The listener of a reproduce run (every saved model separates the report songs now) and, per method of
    ours, its separator (for ``g``'s mask)."""

    info = _run_info(source)
    limit = songs or len(info.get("report_songs") or []) or info.get("evaluation_songs") or None
    # Listener is used here for its loading only (a throwaway widget, 1 s of audio in its first panels)
    lis = Listener.from_reproduce(source, root=root, subset=subset, limit=limit, seconds=seconds, device=device,
                                  spectrograms=False, max_seconds=1.0)
    ours = {label: load_separator(path, device=device)
            for label, (_, path, kind) in reproduce_runs(source).items() if kind == "g" and label.startswith("ours")}
    return lis, ours


def _from_estimates(source: Path, root, subset: str, songs: int | None):

    found = find_estimate_dirs(source, subset)
    if not found:
        raise DataError(f"{source} holds neither a reproduce run ({table_file('', 1)}, "
                        f"{ReproductionFolder('').runs}/) nor separations "
                        f"(<method>/<track>/vocals.wav and accompaniment.wav).")
    lis = Listener.from_estimates(found, reference_root=root, subset=subset, spectrograms=False, max_seconds=1.0)
    if songs:
        lis.tracks = dict(list(lis.tracks.items())[:songs])
    return lis, {}


# ---------------------------------------------------------------------------------------------------------------
# small pieces of the page
def file_name(name: str) -> str:
    """A safe file name on the page for a song or method: ``"w/o GAN_A & GAN_C"`` → ``"w-o-GAN_A-GAN_C"``."""
    return re.sub(r"[^A-Za-z0-9_.]+", "-", name).strip("-.") or "x"


def markdown_html(text: str, heading_offset: int = 2) -> str:
    """The Markdown that ``reproduce`` writes (headings, paragraphs, pipe tables, ``code``) as HTML."""
    def inline(s: str) -> str:
        return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(s, quote=False))

    out, para, lines, i = [], [], text.splitlines(), 0

    def flush():
        if para:
            out.append(f"<p>{inline(' '.join(para))}</p>")
            para.clear()

    while i < len(lines):
        line = lines[i].strip()
        if line.startswith("|"):
            flush()
            block = []
            while i < len(lines) and lines[i].strip().startswith("|"):
                block.append([c.strip() for c in lines[i].strip().strip("|").split("|")])
                i += 1
            body = [r for r in block[1:] if not all(re.fullmatch(r":?-+:?", c) for c in r)]
            rows = [f"<tr>{''.join(f'<th>{inline(c)}</th>' for c in block[0])}</tr>"]
            rows += [f"<tr>{''.join(_td(c, inline) for c in r)}</tr>" for r in body]
            out.append(f"<table>\n{chr(10).join(rows)}\n</table>")
            continue
        if line.startswith("#"):
            flush()
            level = min(6, len(line) - len(line.lstrip("#")) + heading_offset)
            out.append(f"<h{level}>{inline(line.lstrip('#').strip())}</h{level}>")
        elif line:
            para.append(line)
        else:
            flush()
        i += 1
    flush()
    return "\n".join(out)


def _td(cell: str, inline) -> str:
    numeric = re.fullmatch(r"[-+–]?[\d.]+%?( \[.*\])?|–", cell)
    return f'<td class="num">{inline(cell)}</td>' if numeric else f"<td>{inline(cell)}</td>"


def _reproduce_command(info: dict, source: Path) -> str:
    """The ``reproduce`` command that wrote ``source``: as recorded, else rebuilt from its tables' info."""
    if info.get("command"):
        return str(info["command"])
    if not info.get("profile"):
        return ""
    return command_line(info["profile"], info.get("data", "toy"), info.get("root"), info.get("seeds", 1), source)


# ---------------------------------------------------------------------------------------------------------------
# the site
class _Site:
    """Files of a site being written into ``folder``: audio (encoded in the background, deduplicated) and
    images; every path it returns is relative to ``folder``."""

    def __init__(self, folder: Path, codec: str, bitrate: str, jobs: int):
        self.folder, self.codec, self.bitrate = folder, codec, bitrate
        if shutil.which("ffmpeg") is None:
            raise UsageError("ffmpeg is not installed; run scripts/ensure_ffmpeg.sh (or apt-get install ffmpeg).")
        self.pool = ThreadPoolExecutor(max_workers=max(1, jobs))
        self.jobs: list[Future] = []
        self.seen: dict[str, str] = {}

    def audio(self, rel: str, x: np.ndarray, rate: int) -> str:
        """Encode ``x`` ``(channels, samples)`` as ``rel`` + suffix (or reuse an identical file); returns its path."""
        x = np.clip(np.nan_to_num(np.atleast_2d(np.asarray(x, dtype=np.float32))), -1.0, 1.0)
        key = hashlib.sha1(x.tobytes() + str((x.shape, rate)).encode()).hexdigest()
        if key not in self.seen:
            self.seen[key] = rel + AUDIO_CODECS[self.codec][0]
            self.jobs.append(self.pool.submit(self._encode, x, int(rate), self.folder / self.seen[key]))
        return self.seen[key]

    def _encode(self, x: np.ndarray, rate: int, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            path.write_bytes(encode_audio(x, rate, self.codec, self.bitrate))
        except AudioError as err:
            raise AudioError(f"{path.name}: {err}") from None

    def image(self, rel: str, fig) -> str:
        """Save ``fig`` as ``rel`` + ``.jpg`` (a JPEG: a spectrogram is a fifth of its PNG); returns its path."""
        path = self.folder / f"{rel}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, format="jpeg", dpi=60, pil_kwargs={"quality": 70})
        return f"{rel}.jpg"

    def finish(self) -> None:
        try:
            for job in self.jobs:
                job.result()
        finally:
            self.pool.shutdown(cancel_futures=True)


def _song_section(site: _Site, index: int, name: str, lis, ours: dict, seconds: float | None) -> str:
    """One song's HTML: its player, its A/B table (with scores), the chosen method's images, all images."""

    entry = lis.tracks[name]
    rows3 = list(ABLATION)  # Table 3's rows in its order, after the others in the listener's
    methods = sorted(order_methods(entry), key=lambda m: rows3.index(m) if m in rows3 else -1)
    base = next((entry[m] for m in methods if m != "reference"), entry[methods[0]])
    rate = int(base["rate"])
    n = int(seconds * rate) if seconds else None

    def cut(x):
        return np.asarray(x, dtype=np.float32)[..., :n]

    folder = f"media/{index:02d}-{file_name(name)}"
    mix = cut(base["vocals"]) + cut(base["accompaniment"])  # every method's two stems sum to the mixture
    esc = html.escape
    mix_src = site.audio(f"{folder}/mixture", mix, rate)
    mix_img = site.image(f"{folder}/mixture", plots.spectrogram(mix, rate, title=f"{name}: mixture",
                                                                     figsize=(8, 2.2)))

    first = Choice("mixture", "mixture", mix_src, mix_img)
    rows = [ABRow("mixture (input)", [""], first)]
    gallery = [f'<figure><img loading="lazy" src="{esc(mix_img)}" alt="spectrogram of the mixture">'
               f'<figcaption>mixture</figcaption></figure>']
    notes = set()
    for m in methods:
        est = entry[m]
        stems = {k: cut(v) for k, v in lis.stems(name, m).items()}
        scores = dict(est.get("scores") or {})
        if scores.get("note"):
            notes.add(scores.pop("note"))
        mfolder = f"{folder}/{file_name(m)}"
        img = site.image(f"{mfolder}", plots.spectrograms(
            {f"{m}: vocals": stems["vocals"], f"{m}: accompaniment": stems["accompaniment"]}, rate, columns=2,
            figsize=(8, 2.2)))
        mask = None
        if m in ours:
            mask = site.image(f"{mfolder}.mask", plots.mask(
                ours[m].vocal_mask(mix, rate), rate=ours[m].rate, hop=ours[m].cfg.spectral.hop,
                title=f"{m}: g's vocal mask (mono mix; 1 = voice)", figsize=(8, 2.2)))
        cells = [None if key not in stems else
                 Choice(f"{m} · {column}", column, site.audio(f"{mfolder}.{column}", stems[key], rate), img, mask)
                 for column, key in PLAYER_COLUMNS.items()]
        shown = "" if m == "reference" else format_scores(scores)
        rows.append(ABRow(m, [shown], cells))
        gallery.append(f'<figure><img loading="lazy" src="{esc(img)}" alt="spectrograms of {esc(m)}">'
                       f"<figcaption>{esc(m)} — {esc(shown)}</figcaption></figure>")
        if mask:
            gallery.append(f'<figure><img loading="lazy" src="{esc(mask)}" alt="mask of {esc(m)}">'
                           f"<figcaption>{esc(m)}: g's vocal mask</figcaption></figure>")
    note = f'<p class="muted">Scores: {esc("; ".join(sorted(notes)))}.</p>' if notes else ""
    if "reference" in entry:
        note += '<p class="muted">Residual: the method\'s vocals minus the true vocals (what it got wrong).</p>'
    extra = (f'<details><summary>all spectrograms of this song</summary><div class="gallery">\n'
             f'{chr(10).join(gallery)}\n</div></details>')
    return ab_section(name, rows, first, anchor=f"song-{index:02d}", note=note, extra=extra)


def page_head(title: str, generator: str) -> str:
    """The first lines of a static page, up to and including its ``<title>`` (``title`` already escaped); the
    listening page and the rendered notebooks' index start with them."""
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="generator" content="{generator}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>"""


def _page(source: Path, songs_html: list[tuple[str, str]], parts: dict[str, str], extra: str) -> str:
    esc = html.escape
    nav = " ".join(f'<a href="#{k}">{t}</a>' for k, t in (("run", "Run"), ("table1", "Table 1"),
                                                           ("table3", "Table 3"), ("songs", "Songs"))
                   if k in parts or k in ("run", "songs"))
    tables = "\n".join(f'<section id="{k}">{parts[k]}</section>' for k in ("table1", "table3") if k in parts)
    links = " · ".join(f'<a href="#song-{i + 1:02d}">{esc(n)}</a>' for i, (n, _) in enumerate(songs_html))
    return page_head(f"semisep — listening page of {esc(source.name)}", GENERATOR) + f"""
<link rel="stylesheet" href="report.css">
<link rel="stylesheet" href="player.css">
</head>
<body>
<h1>semisep — listening page</h1>
<p class="muted">Semi-supervised singing voice separation (Michelashvili, Benaim &amp; Wolf, ICASSP 2019), reproduced.
Run folder: <code>{esc(source.name)}</code>.</p>
<nav>{nav}</nav>
<section id="run"><h2>Run</h2>
{parts.get("run", "")}</section>
{tables}
<h2 id="songs">Songs</h2>
<p>Pick a song's mixture, reference or a method's vocals, accompaniment or residual: the song's player switches
to it and carries on from the same moment, so A/B comparisons are instant.{extra}</p>
<p>{links}</p>
{"".join(s for _, s in songs_html)}
<script src="report.js"></script>
</body>
</html>
"""


def _run_part(source: Path, info: dict, out: Path) -> str:
    esc = html.escape
    command, commit = _reproduce_command(info, source), info.get("git_commit") or info.get("commit")
    rows = []
    if command:
        how = "" if info.get("command") else f" (rebuilt from the settings {table_file('', 1)} records)"
        rows.append(f"<p>Produced by{how}:</p><pre>{esc(command)}</pre>")
    if commit:
        rows.append(f"<p>Git commit: <code>{esc(str(commit))}</code></p>")
    else:
        here = git_commit()
        if here:
            rows.append(f"<p>Git commit of the code that built this page: <code>{esc(here)}</code> (the run does "
                        f"not record its own).</p>")
    rows.append(f"<p>This page: <code>semisep report {esc(str(source))} --out {esc(str(out))}</code></p>")
    if info:
        keep = {k: v for k, v in info.items() if k not in ("command", "git_commit", "commit")}
        rows.append("<table>" + "".join(f"<tr><th>{esc(str(k))}</th><td>{esc(_plain(v))}</td></tr>"
                                        for k, v in keep.items()) + "</table>")
    return "\n".join(rows)


def _plain(v) -> str:
    return ", ".join(map(str, v)) if isinstance(v, (list, tuple)) else str(v)


def _check_out(out: Path, source: Path) -> None:
    if out.resolve() == source.resolve():
        raise UsageError("--out must be a new folder (or an earlier report), not the run folder itself.")
    if out.exists():
        index = out / "index.html"
        ours = index.is_file() and f'content="{GENERATOR}"' in index.read_text(errors="replace")[:2000]
        if not (ours or (out.is_dir() and not any(out.iterdir()))):
            raise UsageError(f"{out} exists and is not a semisep report; choose another --out (it would be replaced).")


def build_report(source: str | Path, out: str | Path, root: str | Path | None = None, subset: str = "test",
                 songs: int | None = None, seconds: float | None = None, codec: str = "opus", bitrate: str = "40k",
                 device: str = "cpu", jobs: int = 2, progress: bool = True) -> dict:
    """Write the listening site of ``source`` (a reproduce output folder, or a folder of separations) into
    ``out`` (replaced atomically if it is an earlier report). ``root``: dataset root (default: the one the run
    recorded; for separations, where the references are — none if not given). ``songs``: at most this many
    songs (default: all the run reported). ``seconds``: cut each song (default: the excerpt the run's profile
    scored, else :data:`MAX_SECONDS`; 0: whole songs). ``codec``: ``opus`` (WebM) or ``mp3``, at ``bitrate``.
    Returns ``{"index": path, "bytes": size of the site, "files": count, "songs": [...], "methods": count}``
    (the reference is no method)."""


    source, out = Path(source), Path(out)
    if not source.is_dir():
        raise DataError(f"{source} is not a folder; give a reproduce output folder or a folder of separations.")
    if codec not in CODECS:
        raise UsageError(f"Unknown codec {codec!r}; choose from {', '.join(CODECS)}.")
    _check_out(out, source)
    info = _run_info(source)
    if seconds is None:
        scale = PRESETS.get(str(info.get("profile")))  # what reproduce scored at the run's scale
        seconds = getattr(getattr(scale, "reproduce", None), "eval_seconds", None) or MAX_SECONDS
    seconds = seconds or None  # 0: whole songs
    if table_file(source, 1).is_file() or ReproductionFolder(source).runs.is_dir():
        lis, ours = _from_reproduce(source, root, subset, songs, seconds, device)
    else:
        lis, ours = _from_estimates(source, root, subset, songs)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.tmp-"))
    try:
        site = _Site(tmp, codec, bitrate, jobs)
        try:
            sections, methods = [], set()
            for i, name in enumerate(tqdm(list(lis.tracks), desc="report", unit="song", disable=not progress)):
                sections.append((name, _song_section(site, i + 1, name, lis, ours, seconds)))
                methods.update(m for m in lis.tracks[name] if m != "reference")
        finally:
            site.finish()
        parts = {"run": _run_part(source, info, out)}
        for key, title in (("table1", "Table 1 — semi-supervised methods"), ("table3", "Table 3 — ablation")):
            md = table_file(source, int(key[-1]), ".md")
            if md.is_file():
                parts[key] = f"<h2>{title}</h2>\n{markdown_html(md.read_text(), heading_offset=2)}"
        if (figure := ReproductionFolder(source).ablation()).is_file():
            shutil.copyfile(figure, tmp / "ablation.png")  # the page's own file name, not the run's
            parts["table3"] = parts.get("table3", "<h2>Table 3 — ablation</h2>") + \
                '\n<p><img class="figure" src="ablation.png" alt="Table 3 as a figure, ours beside the paper"></p>'
        shown = {m for t in lis.tracks.values() for m in t}
        extra = ("" if any(m.startswith(("nes", "nmf")) for m in shown) or not parts.get("table1") else
                 " NMF and NES are in Table 1 only: this run kept no model of theirs to separate with.")
        for asset in ASSET_FILES:
            shutil.copyfile(ASSETS / asset, tmp / asset)
        (tmp / "index.html").write_text(_page(source, sections, parts, extra), encoding="utf-8")
        os.chmod(tmp, 0o755)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    replace_dir(tmp, out)
    files = [p for p in out.rglob("*") if p.is_file()]
    return {"index": out / "index.html", "bytes": sum(p.stat().st_size for p in files), "files": len(files),
            "songs": list(lis.tracks), "methods": len(methods)}
