"""The notebooks as static pages: ``semisep docs --profile cpu --out docs/notebooks`` (``make docs``).

Its one job: run the nine notebooks on the toy songs (or take the copies a run already executed), render each
executed copy to one HTML page, put the listening page of the same run beside them, and write an index that
links them all and says how it was made. The folder is self-contained: everything opens from ``file://``, with
no server and no network:

* figures stay PNG inside the page (data URIs), as the kernel drew them;
* the notebooks' audio players (``IPython.display.Audio``: 16-bit WAV in a data URI) are re-encoded to Opus in
  WebM, as the listening page's files are, so that the folder stays small; the index says at what bitrate;
* TeX in the narration (``$…$``, ``$$…$$``) becomes MathML (latex2mathml), which browsers draw without MathJax;
* an ipywidgets output, which needs a running kernel, is drawn as the run left it from the widget state the
  executed notebook saved (boxes, text, progress bars, images, audio players, the value of a drop-down), and
  marked as a snapshot: nothing in it reacts;
* the template is JupyterLab's, less everything it would fetch from the network (require.js, MathJax, mermaid,
  the widget manager); its stylesheet, the same for every page, is kept once (``notebook.css``) instead of
  inlined nine times.

``out`` holds::

    index.html                          the chapters, the listening page, commit, command, profile, date, size
    01_data.html … 09_listening.html    one page per notebook, with links to the previous and the next
    notebook.css                        JupyterLab's stylesheet, which every page links
    listening/                          the listening page of the notebooks' own reproduce run (notebook 09
                                        writes it with ``semisep report``; built here when it did not)

Only the toy songs are rendered: the notebooks embed the songs they play, and MUSDB18's licence forbids
publishing its audio. Where a notebook shows MUSDB18 results, they are the committed tables and figures.
"""

from __future__ import annotations

import base64
import html
import io
import json
import os
import re
import shutil
import tempfile
import time
from pathlib import Path
from typing import Sequence

import soundfile as sf

from ..audio import AUDIO_CODECS, encode_audio
from ..errors import AudioError, DataError, UsageError
from ..fileio import atomic_write_json, replace_dir
from ..runs import table_file
from ..study.reproduce import git_commit, relative
from .notebooks import NOTEBOOK_DIR, list_notebooks, notebook_profile, record_run_times, run_notebooks, stamp_run_times
from .report import CODECS, GENERATOR as REPORT_GENERATOR, build_report, page_head

#: what ``build_docs`` records in the run's folder when it ran the notebooks: the commit and the command
RUN_RECORD = "docs-run.json"
GENERATOR = "semisep docs"  # the index's <meta name="generator">: marks a folder this command may replace
LISTENING = "listening"  # the listening page's folder inside out/
#: the audio of every player: codec of :data:`report.CODECS` and bitrate
AUDIO = ("opus", "64k")

# JupyterLab's template, less what it would fetch (require.js, MathJax, mermaid, the widget manager), with a
# navigation bar above and below
TEMPLATE = r"""{%- extends 'index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block extra_css -%}
<meta name="generator" content="{{ resources.semisep.generator }}">
<style>
nav.semisep-docs { font: 14px/1.5 system-ui, sans-serif; padding: 8px 16px; border-bottom: 1px solid #ddd;
  display: flex; gap: 16px; flex-wrap: wrap; }
nav.semisep-docs.bottom { border-top: 1px solid #ddd; border-bottom: none; margin-top: 24px; }
.semisep-widget { border-left: 3px solid #bbb; padding: 4px 8px; margin: 4px 0; }
.semisep-widget .note { font: 12px/1.4 system-ui, sans-serif; color: #666; }
.semisep-widget .box { display: flex; gap: 8px; flex-wrap: wrap; align-items: center; }
.semisep-widget .vbox { display: flex; flex-direction: column; gap: 4px; }
.semisep-widget img { max-width: 100%; }
math[display="block"] { margin: 0.6em 0; }
</style>
{%- endblock extra_css -%}
{%- block body_header -%}
{{ super() }}
{{ resources.semisep.nav }}
{%- endblock body_header -%}
{%- block body_footer -%}
{{ resources.semisep.nav | replace('class="semisep-docs"', 'class="semisep-docs bottom"') }}
{{ super() }}
{%- endblock body_footer -%}
"""


# ---------------------------------------------------------------------------------------------------------------
# the executed notebooks
def executed(work: Path) -> list[Path]:
    """The executed copy in ``work`` of every numbered notebook of the repository, in order; a
    :class:`DataError` when one is missing."""
    found, missing = [], []
    for src in list_notebooks(NOTEBOOK_DIR):
        (found if (work / src.name).is_file() else missing).append(work / src.name)
    if missing:
        raise DataError(f"{work} lacks the executed notebooks {', '.join(p.name for p in missing)}; run them "
                        f"first (semisep notebooks --out {work}) or let `semisep docs` run them.")
    return found


def run_info(path: Path, nb) -> dict:
    """What papermill recorded of an executed notebook: its parameters and run time; refuses a notebook that
    failed, or that played anything but the toy songs (MUSDB18's audio may not be published)."""
    pm = nb.metadata.get("papermill") or {}
    params = pm.get("parameters") or {}
    if not params:
        raise DataError(f"{path.name} was not run by papermill (no parameters recorded); run it with "
                        f"`semisep notebooks` or `semisep docs`.")
    if params.get("data") != "toy":
        raise DataError(f"{path.name} ran on {params.get('data')!r} data: only the toy songs may be rendered "
                        f"(the pages embed the audio they play, and MUSDB18's licence forbids publishing it).")
    failed = [i + 1 for i, c in enumerate(nb.cells)
              if any(o.get("output_type") == "error" for o in c.get("outputs", []))]
    if failed or pm.get("exception"):
        where = f" (cell {failed[0]} holds an error)" if failed else ""
        raise DataError(f"{path.name} failed{where}; run it again before rendering.")
    return {"profile": params.get("profile"), "seconds": pm.get("duration"), "parameters": params}


def title(nb, fallback: str) -> str:
    """The notebook's title: the first ``# heading`` of its first markdown cell."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            m = re.search(r"^#\s+(.+)$", cell.source, re.M)
            return m.group(1).strip() if m else fallback
    return fallback


# ---------------------------------------------------------------------------------------------------------------
# TeX → MathML
_MATH = re.compile(r"(?<![\\$])\$\$(.+?)\$\$|(?<![\\$\w])\$(?=\S)([^$\n]+?)(?<=\S)\$(?![\w$])", re.S)
_CODE = re.compile(r"(`+)(?:.+?)\1|^(?:```|~~~).*?^(?:```|~~~)", re.S | re.M)


def math_placeholders(text: str, store: dict[str, str]) -> str:
    """``text`` (Markdown) with every ``$…$`` and ``$$…$$`` outside code replaced by a token (letters and
    digits: Markdown leaves it alone), the token's MathML added to ``store``; :func:`fill_math` puts it back
    into the rendered HTML."""
    from latex2mathml.converter import convert  # here: only rendering needs it

    def swap(m: re.Match) -> str:
        block, inline = m.group(1), m.group(2)
        token = f"SEMISEPMATH{len(store):05d}X"
        try:
            store[token] = convert((block or inline).strip(), display="block" if block else "inline")
        except Exception as err:  # noqa: BLE001 - latex2mathml raises many kinds; say which formula
            raise UsageError(f"Cannot turn the TeX {m.group(0)!r} into MathML ({type(err).__name__}: {err}).")
        unknown = re.findall(r">(\\[A-Za-z]+)<", store[token])  # a command it does not know stays as text
        if unknown:
            raise UsageError(f"Cannot turn the TeX {m.group(0)!r} into MathML: latex2mathml does not know "
                             f"{', '.join(unknown)}.")
        return token

    out, last = [], 0
    for code in _CODE.finditer(text):
        out += [_MATH.sub(swap, text[last:code.start()]), code.group(0)]
        last = code.end()
    return "".join(out) + _MATH.sub(swap, text[last:])


def fill_math(page: str, store: dict[str, str]) -> str:
    """Put the MathML of :func:`math_placeholders` in place of its tokens."""
    return re.sub(r"SEMISEPMATH\d{5}X", lambda m: store[m.group(0)], page)


# ---------------------------------------------------------------------------------------------------------------
# audio
_WAV = re.compile(r'src="data:audio/(?:wav|x-wav);base64,([A-Za-z0-9+/=\s]+)"(\s+type="audio/(?:wav|x-wav)")?')


def encode(wav: bytes, codec: str = AUDIO[0], bitrate: str = AUDIO[1]) -> bytes:
    """``wav`` (a WAV file's bytes) encoded with ``codec`` of :data:`report.CODECS` at ``bitrate``
    (:func:`audio.encode_audio`: ffmpeg, into a seekable file)."""
    try:
        x, rate = sf.read(io.BytesIO(wav), dtype="float32", always_2d=True)  # (samples, channels)
    except (RuntimeError, sf.LibsndfileError) as e:
        raise AudioError(f"A notebook's audio is not a readable WAV file ({e}).") from None
    try:
        return encode_audio(x.T, rate, codec=codec, bitrate=bitrate)
    except AudioError as e:
        raise AudioError(f"A notebook's audio could not be encoded: {e}") from None


def mime(codec: str) -> str:
    return AUDIO_CODECS[codec][1]


def reencode_audio(page: str, codec: str = AUDIO[0], bitrate: str = AUDIO[1]) -> tuple[str, int]:
    """``page`` with every WAV data URI of an audio source re-encoded (``codec``, ``bitrate``); and how many."""
    count = 0

    def swap(m: re.Match) -> str:
        nonlocal count
        count += 1
        data = base64.b64encode(encode(base64.b64decode(re.sub(r"\s", "", m.group(1))), codec, bitrate)).decode()
        return f'src="data:{mime(codec)};base64,{data}"' + (f' type="{mime(codec)}"' if m.group(2) else "")

    return _WAV.sub(swap, page), count


# ---------------------------------------------------------------------------------------------------------------
# widgets, drawn from the state the executed notebook saved
WIDGET_NOTE = ("A snapshot of an interactive widget, as the run left it: it needs a running Jupyter kernel to "
               "react (open the notebook in JupyterLab).")


def widget_html(model_id: str, state: dict, codec: str = AUDIO[0], bitrate: str = AUDIO[1]) -> str:
    """Static HTML of the widget ``model_id`` of ``state`` (``metadata.widgets[...]["state"]`` of an executed
    notebook): boxes, HTML and labels, progress bars (a tqdm bar: its last text), images, audio players and the
    current value of a selection. ``""`` for a widget the state does not hold."""
    if model_id not in state:
        return ""
    body = _widget(model_id, state, codec, bitrate)
    kinds = {state[m]["model_name"] for m in _tree(model_id, state)}
    progress = kinds & {"FloatProgressModel", "IntProgressModel"} and not kinds & {"AudioModel", "ImageModel"}
    note = "" if progress else f'<div class="note">{html.escape(WIDGET_NOTE)}</div>'
    return f'<div class="semisep-widget">{note}{body}</div>'


def _tree(model_id: str, state: dict) -> list[str]:
    seen, todo = [], [model_id]
    while todo:
        m = todo.pop()
        if m in state and m not in seen:
            seen.append(m)
            todo += [c.removeprefix("IPY_MODEL_") for c in state[m]["state"].get("children", [])]
    return seen


def _buffer(entry: dict, key: str) -> bytes | None:
    for b in entry.get("buffers", []):
        if b.get("path") == [key]:
            return base64.b64decode(b["data"]) if b.get("encoding", "base64") == "base64" else b["data"].encode()
    value = entry["state"].get(key)
    return base64.b64decode(value) if isinstance(value, str) and value else None


def _tqdm_bar(model_id: str, state: dict) -> str:
    """A tqdm bar (an HBox of HTML, progress, HTML) as its description, the bar and ``count/total``, all read
    from the progress model: the saved texts may lag behind it (their last update can come after the cell)."""
    s = state[model_id]["state"]
    kids = [state.get(c.removeprefix("IPY_MODEL_"), {}) for c in s.get("children", [])]
    names = [k.get("model_name") for k in kids]
    if state[model_id]["model_name"] != "HBoxModel" or len(kids) != 3 or names[0] != "HTMLModel" \
            or names[1] not in ("FloatProgressModel", "IntProgressModel"):
        return ""
    text = html.unescape(str(kids[0]["state"].get("value", ""))).replace("\u2007", " ")  # tqdm's figure spaces
    desc = re.sub(r"[:\s]*\d+%$", "", text.strip())
    value, total = (float(kids[1]["state"].get(k, 0)) for k in ("value", "max"))
    count = f"{value:g}/{total:g}"
    return (f'<div class="box">{html.escape(desc)}<progress max="{total:g}" value="{value:g}"></progress>'
            f"{count}</div>")


def _widget(model_id: str, state: dict, codec: str, bitrate: str) -> str:
    entry = state[model_id]
    name, s = entry["model_name"], entry["state"]
    esc = html.escape
    label = f"{esc(s['description'])} " if s.get("description") else ""
    bar = _tqdm_bar(model_id, state)
    if bar:
        return bar
    if name in ("HBoxModel", "VBoxModel", "BoxModel", "GridBoxModel", "AccordionModel", "TabModel"):
        kids = "".join(_widget(c.removeprefix("IPY_MODEL_"), state, codec, bitrate)
                       for c in s.get("children", []) if c.removeprefix("IPY_MODEL_") in state)
        return f'<div class="{"box" if name == "HBoxModel" else "vbox"}">{kids}</div>'
    if name in ("HTMLModel", "HTMLMathModel"):
        return f"<div>{label}{s.get('value', '')}</div>"
    if name == "LabelModel":
        return f"<div>{esc(str(s.get('value', '')))}</div>"
    if name in ("FloatProgressModel", "IntProgressModel"):
        return f'<progress max="{float(s.get("max", 100))}" value="{float(s.get("value", 0))}"></progress>'
    if name in ("ImageModel", "AudioModel"):
        data, fmt = _buffer(entry, "value"), str(s.get("format", "png" if name == "ImageModel" else "wav"))
        if not data:
            return ""
        if name == "ImageModel":
            return f'<img src="data:image/{esc(fmt)};base64,{base64.b64encode(data).decode()}" alt="{label}">'
        if fmt in ("wav", "x-wav"):
            data, fmt = encode(data, codec, bitrate), mime(codec)
        else:
            fmt = f"audio/{fmt}"
        return f'<audio controls preload="metadata" src="data:{fmt};base64,{base64.b64encode(data).decode()}"></audio>'
    labels = s.get("_options_labels")
    if labels is not None and "index" in s:  # Dropdown, Select, SelectMultiple, ToggleButtons, RadioButtons ...
        index = s["index"] if isinstance(s["index"], list) else [s["index"]]
        chosen = ", ".join(labels[i] for i in index if i is not None and 0 <= i < len(labels)) or "nothing"
        return f"<div>{label}<b>{esc(chosen)}</b></div>"
    if "value" in s and isinstance(s["value"], (str, int, float, bool)):
        return f"<div>{label}<b>{esc(str(s['value']))}</b></div>"
    return ""


# ---------------------------------------------------------------------------------------------------------------
# one page
def _nav(pages: Sequence[tuple[str, str]], index: int, listening: str | None) -> str:
    """The bar above and below a chapter: the index, the previous and the next chapter, the listening page."""
    esc = html.escape
    links = ['<a href="index.html">Index</a>']
    if index > 0:
        links.append(f'<a href="{esc(pages[index - 1][0])}">← {esc(pages[index - 1][1])}</a>')
    if index + 1 < len(pages):
        links.append(f'<a href="{esc(pages[index + 1][0])}">{esc(pages[index + 1][1])} →</a>')
    if listening:
        links.append(f'<a href="{esc(listening)}">Listening page</a>')
    return f'<nav class="semisep-docs">{" · ".join(links)}</nav>'


#: the stylesheets of JupyterLab's template that every page shares, kept once in ``out`` (:data:`SHARED_CSS`)
LAB_CSS = ("static/index.css", "static/theme-light.css")
SHARED_CSS = "notebook.css"


def _exporter():
    from jinja2 import DictLoader  # here, not at the top: nbconvert takes seconds to import
    from nbconvert import HTMLExporter

    return HTMLExporter(template_name="lab", extra_loaders=[DictLoader({"semisep_docs.html.j2": TEMPLATE})],
                        template_file="semisep_docs.html.j2", embed_images=True, exclude_input_prompt=False)


def lab_css() -> str:
    """JupyterLab's stylesheets (:data:`LAB_CSS`), which nbconvert inlines into every page (a quarter of a MB)."""
    env = _exporter().environment
    return "\n".join(env.loader.get_source(env, name)[0] for name in LAB_CSS)


def render(path: Path, nav: str = "", codec: str = AUDIO[0], bitrate: str = AUDIO[1],
           replace: dict[str, str] | None = None, css: str | None = None) -> tuple[str, dict]:
    """The HTML page of the executed notebook ``path``, with the bar ``nav`` above and below it; ``replace``:
    strings to replace in the page (the run's absolute folder by a relative one); ``css``: link JupyterLab's
    stylesheets (:func:`lab_css`) from this file instead of inlining them. Returns the page and
    ``{"audio": players, "widgets": widget views, "math": formulas}``."""
    import nbformat  # see _exporter

    nb = nbformat.read(str(path), as_version=4)
    store: dict[str, str] = {}
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = math_placeholders(cell.source, store)
        for out in cell.get("outputs", []):
            if "text/markdown" in out.get("data", {}):
                out["data"]["text/markdown"] = math_placeholders(out["data"]["text/markdown"], store)
    state = (nb.metadata.pop("widgets", None) or {}).get("application/vnd.jupyter.widget-state+json", {})
    state, views = state.get("state", {}), 0
    for cell in nb.cells:  # a widget view becomes its snapshot (else nbconvert shows its first text/plain)
        for out in cell.get("outputs", []):
            view = out.get("data", {}).get("application/vnd.jupyter.widget-view+json")
            if view:
                views += 1
                snapshot = widget_html(view["model_id"], state, codec, bitrate)
                data = {"text/html": snapshot} if snapshot else {"text/plain": out["data"].get("text/plain", "")}
                out["data"] = nbformat.from_dict(data)
    exporter = _exporter()
    page, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title(nb, path.stem)},
                                                         "semisep": {"nav": nav, "generator": GENERATOR}})
    if css:
        env = exporter.environment
        blocks = [f'<style type="text/css">\n{env.loader.get_source(env, name)[0]}</style>' for name in LAB_CSS]
        if all(b in page for b in blocks):
            page = page.replace(blocks[0], f'<link rel="stylesheet" href="{html.escape(css)}">', 1)
            page = page.replace(blocks[1], "", 1)
    page = fill_math(page, store)
    for old, new in (replace or {}).items():
        page = page.replace(old, new)
    page, _ = reencode_audio(page, codec, bitrate)
    return page, {"audio": page.count("<audio"), "widgets": views, "math": len(store)}


# ---------------------------------------------------------------------------------------------------------------
# the folder
def _check_out(out: Path) -> None:
    if out.exists():
        index = out / "index.html"
        ours = index.is_file() and f'content="{GENERATOR}"' in index.read_text(errors="replace")[:3000]
        if not (ours or (out.is_dir() and not any(out.iterdir()))):
            raise UsageError(f"{out} exists and is not a folder `semisep docs` wrote; choose another --out "
                             f"(it would be replaced).")


def _listening(work: Path, target: Path, device: str, replace: dict[str, str] | None = None) -> str:
    """Copy the listening page notebook 09 wrote (``work/site``), with ``replace`` applied to its index (the
    command it states names the run's absolute folder), or build it from the run's ``reproduce`` folder; returns
    how it came."""
    site = work / "site"
    index = site / "index.html"
    if index.is_file() and f'content="{REPORT_GENERATOR}"' in index.read_text(errors="replace")[:3000]:
        shutil.copytree(site, target)
        page = (target / "index.html").read_text(encoding="utf-8")
        for old, new in (replace or {}).items():
            page = page.replace(old, new)
        (target / "index.html").write_text(page, encoding="utf-8")
        return "notebook 09 wrote it with `report.build_report`"
    if not table_file(work / "reproduce", 1).is_file():
        raise DataError(f"{work} holds neither the listening page notebook 09 writes (site/) nor the reproduce "
                        f"run of notebooks 07-09 (reproduce/) to build it from.")
    build_report(work / "reproduce", target, device=device, progress=False)
    return f"built from the notebooks' run with `semisep report {relative(work / 'reproduce')}`"


def _inline(text: str) -> str:
    """Plain text with Markdown's `code` spans, as HTML."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text, quote=False))


#: how the index names a codec of :data:`report.CODECS`
CODEC_NAMES = {"opus": "Opus in WebM", "mp3": "MP3"}


def _bitrate(bitrate: str) -> str:
    """``"64k"`` → ``"64 kbit/s"``."""
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([kKmM]?)", bitrate.strip())
    return f"{m.group(1)} {m.group(2).lower()}bit/s".replace(" mbit", " Mbit") if m else bitrate


def _audio_files(folder: Path) -> str:
    """``"24 audio files (WebM)"``: how many audio files ``folder`` holds, by format."""
    kinds = {".webm": "WebM", ".mp3": "MP3", ".wav": "WAV", ".ogg": "Ogg"}
    found = [p.suffix for p in folder.rglob("*") if p.suffix in kinds]
    return f"{len(found)} audio files ({', '.join(kinds[s] for s in sorted(set(found))) or 'none'})"


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def _index(chapters: list[dict], info: dict) -> str:
    esc = html.escape
    rows = "\n".join(
        f'<tr><td><a href="{esc(c["page"])}">{_inline(c["title"])}</a></td><td class="num">{esc(c["time"])}</td>'
        f'<td class="num">{esc(_mb(c["bytes"]))}</td></tr>' for c in chapters)
    facts = "\n".join(f"<tr><th>{esc(k)}</th><td>{v}</td></tr>" for k, v in info["facts"])
    return page_head("semisep — the notebooks, executed", GENERATOR) + f"""
<style>
body {{ font: 16px/1.5 system-ui, sans-serif; max-width: 60em; margin: 2em auto; padding: 0 1em; color: #222; }}
table {{ border-collapse: collapse; margin: 1em 0; }}
th, td {{ text-align: left; padding: 4px 12px 4px 0; border-bottom: 1px solid #eee; vertical-align: top; }}
td.num {{ text-align: right; font-variant-numeric: tabular-nums; }}
code {{ background: #f4f4f4; padding: 0 3px; }}
.muted {{ color: #666; }}
</style>
</head>
<body>
<h1>semisep — the notebooks, executed</h1>
<p>Michelashvili, Benaim &amp; Wolf (ICASSP 2019), <em>semi-supervised monaural singing voice separation</em>,
reproduced in nine narrated notebooks. These are the notebooks run headless at the <code>{esc(info["profile"])}</code>
profile on the built-in toy songs (generated, free of any licence), with every output: figures, tables and
players. Open them here, with no server and no network; run them yourself with JupyterLab
(<code>notebooks/</code> in the repository).</p>
<h2>Chapters</h2>
<table>
<tr><th>notebook</th><th>run time</th><th>page size</th></tr>
{rows}
</table>
<h2>Listening page</h2>
<p><a href="{LISTENING}/index.html">The listening page</a> of the same run: every method of Table 1 and Table 3 on
the report songs, with A/B switching, scores and spectrograms; {_inline(info["listening"])}.</p>
<h2>How this folder was made</h2>
<table>
{facts}
</table>
<p class="muted">{_inline(info["audio_note"])} {_inline(info["musdb_note"])}</p>
</body>
</html>
"""


def build_docs(out: str | Path, profile: str = "cpu", work: str | Path | None = None, run: bool = True,
               device: str = "auto", codec: str = AUDIO[0], bitrate: str = AUDIO[1], command: str = "",
               progress: bool = True, record_times: str | Path | None = None) -> dict:
    """Run the notebooks at ``profile`` on the toy songs into ``work`` (default ``runs/docs-<profile>``; with
    ``run=False``, take the executed copies ``work`` already holds), and write their pages, the listening page
    and the index into ``out`` (replaced as a whole once complete, if it is an earlier one). ``command``: the
    command line to state in the index. ``record_times``: the run-times file of the notebooks' folder
    (``notebooks.RUN_TIMES``) where this run's times are recorded; the first cell of every notebook, source and
    executed copy, then states them, so the pages show the times of the run they render. Returns ``{"index",
    "bytes", "chapters": [...], "seconds"}``."""
    t0 = time.perf_counter()
    notebook_profile(profile)
    out = Path(out)
    work = Path(work) if work is not None else Path("runs") / f"docs-{profile}"
    if codec not in CODECS:
        raise UsageError(f"Unknown codec {codec!r}; choose from {', '.join(CODECS)}.")
    _check_out(out)
    if run:
        if work.exists() and any(work.iterdir()):  # notebooks 07-09 would reuse rows an earlier commit trained
            raise UsageError(f"{work} is not empty: delete it, so that every output comes from this run, or "
                             f"render what it holds with --skip-run --work {work}.")
        commit_run = git_commit()
        done = run_notebooks(profile, work, data="toy", device=device, progress=progress)
        if record_times is not None:
            record = record_run_times(done, profile, "toy", record_times)
            stamp_run_times(record, Path(record_times).parent)  # the sources beside it, then the executed copies
            stamp_run_times(record, work)
        atomic_write_json(work / RUN_RECORD, {"git_commit": commit_run, "command": command, "profile": profile})
    elif not work.is_dir():
        raise DataError(f"{work} does not exist: give the folder of a `semisep notebooks` run.")
    import nbformat  # see render

    paths = executed(work)
    notebooks = [nbformat.read(str(p), as_version=4) for p in paths]
    infos = [run_info(p, nb) for p, nb in zip(paths, notebooks)]
    profiles = {i["profile"] for i in infos}
    if profiles != {profile}:
        raise DataError(f"The notebooks in {work} ran at the profile(s) {', '.join(map(str, sorted(profiles)))}, "
                        f"not {profile!r}.")
    titles = [title(nb, p.stem) for p, nb in zip(paths, notebooks)]
    pages = [(f"{p.stem}.html", t) for p, t in zip(paths, titles)]
    absolute = str(work.resolve())
    # the run's folder as the command saw it, then any other path under this machine's home (the toy songs' cache
    # in a Session's repr) as ~/...: the pages name no folder of the machine that ran them
    replace = {Path(absolute).as_uri(): relative(absolute), absolute: relative(absolute), f"{Path.home()}/": "~/"}
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.tmp-"))
    try:
        listening = _listening(work, tmp / LISTENING, device="cpu", replace=replace)
        (tmp / SHARED_CSS).write_text(lab_css(), encoding="utf-8")
        chapters = []
        for i, (path, info) in enumerate(zip(paths, infos)):
            if progress:
                print(f"rendering {path.name} ...", flush=True)
            page, counts = render(path, _nav(pages, i, f"{LISTENING}/index.html"), codec, bitrate, replace,
                                  css=SHARED_CSS)
            (tmp / pages[i][0]).write_text(page, encoding="utf-8")
            seconds = info["seconds"]
            chapters.append({"notebook": path.name, "page": pages[i][0], "title": titles[i], **counts,
                             "seconds": seconds, "bytes": len(page.encode()),
                             "time": "–" if seconds is None else _duration(seconds)})
        commit = git_commit() or "unknown (not a git checkout)"
        record = json.loads((work / RUN_RECORD).read_text()) if (work / RUN_RECORD).is_file() else {}
        ran = (f"<code>{html.escape(str(record.get('git_commit') or 'unknown'))}</code>" if record else
               "not recorded (no docs-run.json beside the executed notebooks: another command ran them)")
        started = min((nb.metadata.get("papermill") or {}).get("start_time") or "" for nb in notebooks)
        info = {"profile": profile, "listening": listening,
                "audio_note": f"Audio: the notebooks' players hold 16-bit WAV; on these pages they are re-encoded to "
                              f"{CODEC_NAMES[codec]} at {_bitrate(bitrate)} to keep the folder small. The listening "
                              f"page's {_audio_files(tmp / LISTENING)} are as `semisep report` encoded them.",
                "musdb_note": "No MUSDB18 audio is here (its licence forbids publishing it): where a notebook "
                              "shows results on MUSDB18, they are the tables and figures committed under "
                              "results/ and experiments/."}
        command = command or f"semisep docs --profile {profile}"
        ran_by = record.get("command")  # pages rendered again (--skip-run) from a run another command made
        facts = [("command", f"<code>{html.escape(command)}</code>"),
                 *([("command that ran the notebooks", f"<code>{html.escape(ran_by)}</code>")]
                   if ran_by and ran_by != command else []),
                 ("git commit, notebooks run", ran),
                 ("git commit, pages rendered", f"<code>{html.escape(commit)}</code>"),
                 ("profile, data", f"<code>{html.escape(profile)}</code>, the built-in toy songs"),
                 ("notebooks run", html.escape(started[:19].replace("T", " ") + " UTC" if started else "unknown")),
                 ("pages written", time.strftime("%Y-%m-%d %H:%M %Z")),
                 ("run time of the nine", html.escape(_duration(sum(c["seconds"] or 0 for c in chapters))))]
        for _ in range(3):  # the size includes the index, which states it: write it until the number holds
            files = [p for p in tmp.rglob("*") if p.is_file()]
            size = (f"{_mb(_size(tmp))} ({len(files)} files; the listening page {_mb(_size(tmp / LISTENING))}, "
                    f"JupyterLab's stylesheet {_mb((tmp / SHARED_CSS).stat().st_size)})")
            (tmp / "index.html").write_text(_index(chapters, {**info, "facts": [
                *facts, ("size of this folder", html.escape(size))]}), encoding="utf-8")
        os.chmod(tmp, 0o755)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    replace_dir(tmp, out)
    return {"index": out / "index.html", "bytes": _size(out), "chapters": chapters,
            "listening": out / LISTENING / "index.html", "seconds": round(time.perf_counter() - t0, 1)}


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"


__all__ = ["GENERATOR", "LISTENING", "AUDIO", "executed", "run_info", "title", "math_placeholders", "fill_math",
           "encode", "reencode_audio", "widget_html", "render", "build_docs"]
