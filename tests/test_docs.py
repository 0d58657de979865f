"""The rendered notebooks (``semisep docs``): TeX to MathML, audio re-encoded, widgets drawn from their saved
state, refusals, and a whole folder from two tiny notebooks run by papermill. The nine real notebooks, rendered
and opened in headless Chromium, are tested in test_report.py (beside the browser driver)."""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
from pathlib import Path

import nbformat
import numpy as np
import pytest

from semisep_lib.errors import DataError, UsageError
from semisep_lib.interfaces import docs
from semisep_lib.interfaces.listen import wav_bytes
from semisep_lib.interfaces.notebooks import run_notebooks

needs_ffmpeg = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="the pages' audio is encoded with ffmpeg")


def _tone(seconds: float = 1.0, rate: int = 16000, channels: int = 2) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return np.stack([0.3 * np.sin(2 * np.pi * (220 + 110 * c) * t) for c in range(channels)]).astype(np.float32)


def _duration(data: bytes, suffix: str, tmp_path: Path) -> float:
    path = tmp_path / f"probe{suffix}"
    path.write_bytes(data)
    probe = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0",
                            str(path)], capture_output=True, text=True)
    return float(probe.stdout)


# ---------------------------------------------------------------------------------------------------------------
# pieces
def test_tex_becomes_mathml_outside_code_only():
    store: dict[str, str] = {}
    text = ("Inline $g(x) = 1 \\cdot x$, and\n$$R_1 = \\lVert g(c) - c \\rVert_1 .$$\n"
            "Not math: `$MUSDB_PATH`, costs $5 and $6, and\n```\necho $HOME $PATH\n```\n")
    out = docs.math_placeholders(text, store)
    assert len(store) == 2 and "$" not in out.replace("`$MUSDB_PATH`", "").split("```")[0].replace("$5 and $6", "")
    assert "`$MUSDB_PATH`" in out and "$5 and $6" in out and "echo $HOME $PATH" in out
    page = docs.fill_math(f"<p>{out}</p>", store)
    assert page.count("<math") == 2 and 'display="block"' in page and 'display="inline"' in page
    assert "<msub><mi>R</mi><mn>1</mn></msub>" in page and "SEMISEPMATH" not in page


def test_tex_that_cannot_be_converted_names_the_formula():
    with pytest.raises(UsageError, match=r"x\^"):
        docs.math_placeholders("a $x^$ b", {})
    with pytest.raises(UsageError, match=r"does not know \\unknowncmd"):
        docs.math_placeholders("a $\\unknowncmd x$ b", {})


@needs_ffmpeg
def test_wav_players_are_reencoded_and_keep_their_length(tmp_path):
    from IPython.display import Audio

    player = Audio(_tone(1.5), rate=16000)._repr_html_()
    assert 'src="data:audio/wav;base64,' in player
    page, count = docs.reencode_audio(f"<div>{player}</div>{player}")
    assert count == 2 and "audio/wav" not in page and page.count('type="audio/webm"') == 2
    data = base64.b64decode(re.search(r'src="data:audio/webm;base64,([^"]+)"', page).group(1))
    assert data[:4] == b"\x1a\x45\xdf\xa3"  # an EBML (WebM) file
    assert abs(_duration(data, ".webm", tmp_path) - 1.5) < 0.05
    wav = base64.b64decode(re.search(r"base64,([^\"]+)", player).group(1))
    assert len(data) < len(wav) / 5


def _state(**models) -> dict:
    return {k: {"model_name": name, "state": s, **({"buffers": b} if b else {})} for k, (name, s, b) in
            models.items()}


@needs_ffmpeg
def test_widgets_are_drawn_from_their_saved_state(tmp_path):
    png = base64.b64encode(b"\x89PNG fake").decode()
    wav = base64.b64encode(wav_bytes(_tone(0.5), 16000)).decode()
    state = _state(
        box=("VBoxModel", {"children": ["IPY_MODEL_pick", "IPY_MODEL_panel", "IPY_MODEL_gone"]}, None),
        pick=("DropdownModel", {"description": "song", "_options_labels": ["a", "b"], "index": 1}, None),
        panel=("HBoxModel", {"children": ["IPY_MODEL_label", "IPY_MODEL_img", "IPY_MODEL_audio",
                                          "IPY_MODEL_many"]}, None),
        label=("HTMLModel", {"value": "<b>ours</b> · SDR 3.1 dB"}, None),
        img=("ImageModel", {"format": "png"}, [{"path": ["value"], "data": png, "encoding": "base64"}]),
        audio=("AudioModel", {"format": "wav"}, [{"path": ["value"], "data": wav, "encoding": "base64"}]),
        many=("SelectMultipleModel", {"_options_labels": ["x", "y", "z"], "index": [0, 2]}, None))
    out = docs.widget_html("box", state)
    assert docs.WIDGET_NOTE in out
    assert "song <b>b</b>" in out and "<b>ours</b> · SDR 3.1 dB" in out and "<b>x, z</b>" in out
    assert f'src="data:image/png;base64,{png}"' in out
    data = base64.b64decode(re.search(r'<audio[^>]+src="data:audio/webm;base64,([^"]+)"', out).group(1))
    assert abs(_duration(data, ".webm", tmp_path) - 0.5) < 0.05
    assert docs.widget_html("absent", state) == ""


def test_a_tqdm_bar_is_its_description_and_count_from_the_progress_model():
    state = _state(
        bar=("HBoxModel", {"children": ["IPY_MODEL_d", "IPY_MODEL_p", "IPY_MODEL_t"]}, None),
        d=("HTMLModel", {"value": "train\u2007main:\u2007\u20070%"}, None),  # the text lags: 0 %
        p=("FloatProgressModel", {"value": 30.0, "max": 30.0}, None),
        t=("HTMLModel", {"value": " 0/30 [00:00&lt;?, ?it/s]"}, None))
    out = docs.widget_html("bar", state)
    assert docs.WIDGET_NOTE not in out  # a progress bar is no interactive widget to apologise for
    assert "train main" in out and '<progress max="30" value="30">' in out and "30/30" in out and "0%" not in out


def _executed(path: Path, params: dict | None, outputs: list | None = None, exception: bool = False) -> Path:
    cell = nbformat.v4.new_code_cell("x = 1", outputs=outputs or [])
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# A title\n\ntext"), cell])
    if params is not None:
        nb.metadata["papermill"] = {"parameters": params, "duration": 1.0, "exception": exception}
    nbformat.write(nb, str(path))
    return path


def test_only_toy_runs_that_succeeded_are_rendered(tmp_path):
    read = lambda p: nbformat.read(str(p), as_version=4)  # noqa: E731
    ok = _executed(tmp_path / "01_ok.ipynb", {"profile": "smoke", "data": "toy"})
    assert docs.run_info(ok, read(ok))["profile"] == "smoke" and docs.title(read(ok), "x") == "A title"
    musdb = _executed(tmp_path / "02_musdb.ipynb", {"profile": "smoke", "data": "musdb"})
    with pytest.raises(DataError, match="licence"):
        docs.run_info(musdb, read(musdb))
    error = nbformat.v4.new_output("error", ename="ValueError", evalue="no", traceback=[])
    failed = _executed(tmp_path / "03_failed.ipynb", {"profile": "smoke", "data": "toy"}, [error], exception=True)
    with pytest.raises(DataError, match="failed"):
        docs.run_info(failed, read(failed))
    by_hand = _executed(tmp_path / "04_by_hand.ipynb", None)
    with pytest.raises(DataError, match="papermill"):
        docs.run_info(by_hand, read(by_hand))


def test_a_folder_without_the_executed_notebooks_is_refused(tmp_path):
    with pytest.raises(DataError, match="lacks the executed notebooks 01_data.ipynb"):
        docs.build_docs(tmp_path / "site", profile="smoke", work=tmp_path, run=False, progress=False)
    with pytest.raises(DataError, match="does not exist"):
        docs.build_docs(tmp_path / "site", profile="smoke", work=tmp_path / "nowhere", run=False, progress=False)
    keep = tmp_path / "mine"
    keep.mkdir()
    (keep / "notes.txt").write_text("precious")
    with pytest.raises(UsageError, match="not a folder `semisep docs` wrote"):
        docs.build_docs(keep, profile="smoke", work=tmp_path, run=False, progress=False)
    assert (keep / "notes.txt").read_text() == "precious"


def test_the_cli_needs_work_to_skip_the_run(tmp_path, capsys):
    from semisep_lib.interfaces.cli import main

    assert main(["docs", "--profile", "smoke", "--out", str(tmp_path / "d"), "--skip-run"]) == 2
    assert "--work" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------------------------
# a whole folder, from two tiny notebooks that papermill runs
TINY = {
    "01_first": ["from IPython.display import Audio, display\nimport numpy as np\n"
                 "display(Audio(np.sin(np.arange(8000) / 5.0), rate=8000))",
                 "from tqdm.auto import tqdm\nfor _ in tqdm(range(3), desc='work'):\n    pass"],
    "02_second": ["import matplotlib.pyplot as plt\nfig, ax = plt.subplots(figsize=(2, 1))\nax.plot([1, 2, 3])\n"
                  "plt.show()",
                  "from IPython.display import Markdown\nMarkdown('the mean is $\\\\bar x = 2$')",
                  "print(out)\nfrom pathlib import Path\nprint(Path.home() / '.cache' / 'semisep')"],
}


@pytest.fixture(scope="module")
def tiny_docs(tmp_path_factory):
    """Two tiny notebooks run by papermill, a stand-in listening page beside them, and their docs folder."""
    base = tmp_path_factory.mktemp("tiny-docs")
    src, work = base / "src", base / "work"
    src.mkdir()
    for name, cells in TINY.items():
        params = nbformat.v4.new_code_cell('profile = "smoke"\ndata = "toy"\nroot = None\ndevice = "auto"\nout = "."')
        params.metadata["tags"] = ["parameters"]
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(f"# {name} title\n\nWith $x^2$."),
                                             params, *map(nbformat.v4.new_code_cell, cells)])
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(nb, str(src / f"{name}.ipynb"))

    def run(profile, folder, **kwargs):  # the tiny notebooks, and a stand-in for the listening page 09 writes
        done = run_notebooks(profile, folder, directory=src, **kwargs)
        (folder / "site").mkdir()
        (folder / "site" / "index.html").write_text('<html><head><meta name="generator" content="semisep report">'
                                                    f"</head><body>listening: semisep report {folder.resolve()}/"
                                                    "reproduce</body></html>")
        return done

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(docs, "NOTEBOOK_DIR", src)
        mp.setattr(docs, "run_notebooks", run)
        mp.chdir(base)  # where the command runs: the pages name the run's folder relative to it
        result = docs.build_docs(base / "site", profile="smoke", work=work, command="semisep docs tiny",
                                 progress=False, record_times=src / "run-times.json")
    return work, base / "site", result


@needs_ffmpeg
@pytest.mark.slow
def test_the_pages_state_the_run_times_of_the_run_they_render(tiny_docs):
    """``docs --record-times`` (``make docs`` at the cpu profile) records the run's times beside the notebooks
    and states them in every first cell, the sources' and the rendered pages'."""
    from semisep_lib.interfaces.notebooks import RUN_TIME_MARK, run_time_line

    work, site, result = tiny_docs
    src = work.parent / "src"
    record = json.loads((src / "run-times.json").read_text())
    assert sorted(record["smoke"]) == ["01_first", "02_second"]
    assert all(r["seconds"] > 0 and r["data"] == "toy" for r in record["smoke"].values())
    for name in ("01_first", "02_second"):
        line = run_time_line(name, record)
        for nb in (src / f"{name}.ipynb", work / f"{name}.ipynb"):
            assert nbformat.read(str(nb), as_version=4).cells[0].source.endswith(f"{RUN_TIME_MARK}\n{line}")
        assert "<strong>Run time</strong>" in (site / f"{name}.html").read_text()


@needs_ffmpeg
@pytest.mark.slow
def test_a_docs_folder_links_every_page_and_fetches_nothing(tiny_docs):
    work, site, result = tiny_docs
    assert sorted(p.name for p in site.iterdir()) == ["01_first.html", "02_second.html", "index.html", "listening",
                                                      "notebook.css"]
    index = (site / "index.html").read_text()
    for href in ("01_first.html", "02_second.html", "listening/index.html"):
        assert f'href="{href}"' in index
    assert "01_first title" in index and "semisep docs tiny" in index and "<code>smoke</code>" in index
    size = re.search(r"size of this folder</th><td>([\d.]+) MB", index)
    assert size and abs(float(size.group(1)) - result["bytes"] / 1e6) < 0.05
    assert result["bytes"] == sum(p.stat().st_size for p in site.rglob("*") if p.is_file())
    first, second = ((site / n).read_text() for n in ("01_first.html", "02_second.html"))
    assert first.count("<audio") == 1 and "data:audio/webm;base64," in first and "audio/wav" not in first
    assert '<progress max="3" value="3">' in first and "3/3" in first  # the tqdm bar, as the run left it
    assert 'href="02_second.html"' in first and 'href="01_first.html"' in second  # next, previous
    assert re.search(r'<img [^>]*src="data:image/png;base64,', second)  # the figure, inside the page
    assert second.count("<math") == 2  # the narration's formula and the Markdown output's
    for page in (first, second, index):  # nothing is fetched from the network: no src=, no stylesheet, no import
        assert not re.search(r"""(src|href)=["']https?://[^"']*\.(js|css)|@import|<script[^>]+src=""", page)
    assert [c["audio"] for c in result["chapters"]] == [1, 0]
    # JupyterLab's stylesheet once, linked by every page instead of inlined in each
    css = (site / "notebook.css").read_text()
    assert len(css) > 100_000 and ".jp-Notebook" in css
    for page in (first, second):
        assert '<link rel="stylesheet" href="notebook.css">' in page and css[:2000] not in page


@needs_ffmpeg
def test_the_index_names_the_commit_that_ran_the_notebooks(tiny_docs, tmp_path):
    work, site, _ = tiny_docs
    record = json.loads((work / docs.RUN_RECORD).read_text())
    assert record["command"] == "semisep docs tiny" and record["profile"] == "smoke"
    index = (site / "index.html").read_text()
    assert f"notebooks run</th><td><code>{record['git_commit']}" in index
    # a run is fresh: a folder that holds anything is refused before a notebook runs
    with pytest.raises(UsageError, match="is not empty"):
        docs.build_docs(tmp_path / "again", profile="smoke", work=work, progress=False)
    # rendered from a folder another command ran: the index says it does not know that commit
    other = tmp_path / "other"
    shutil.copytree(work, other)
    (other / docs.RUN_RECORD).unlink()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(docs, "NOTEBOOK_DIR", work.parent / "src")
        docs.build_docs(tmp_path / "site", profile="smoke", work=other, run=False, progress=False)
    assert "notebooks run</th><td>not recorded" in (tmp_path / "site" / "index.html").read_text()
    # rendered again from the run's own folder: the index names the command that ran the notebooks as well
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(docs, "NOTEBOOK_DIR", work.parent / "src")
        docs.build_docs(tmp_path / "again-site", profile="smoke", work=work, run=False, progress=False,
                        command="semisep docs --skip-run")
    again = (tmp_path / "again-site" / "index.html").read_text()
    assert "<code>semisep docs --skip-run</code>" in again
    assert "command that ran the notebooks</th><td><code>semisep docs tiny</code>" in again


def test_the_run_folder_is_named_as_relative_path(tiny_docs):
    work, site, _ = tiny_docs
    second = (site / "02_second.html").read_text()
    # `print(out)` and the injected parameters showed the absolute path: the page names it as the command saw it
    assert str(work.resolve()) not in second and '"work"' in second
    # and a path under the home folder (a Session's data root: the toy songs' cache) as ~/...
    assert f"{Path.home()}/" not in second and "~/.cache/semisep" in second
    # the listening page notebook 09 wrote states its command with the run's folder: relative there too
    listening = (site / "listening" / "index.html").read_text()
    assert str(work.resolve()) not in listening and "semisep report work/reproduce" in listening


def test_the_listening_page_is_notebook_09s_else_built_from_the_run(tmp_path, monkeypatch):
    work = tmp_path / "work"
    (work / "reproduce").mkdir(parents=True)
    with pytest.raises(DataError, match="neither the listening page"):
        docs._listening(work, tmp_path / "a", device="cpu")
    (work / "reproduce" / "table1.json").write_text("{}")
    built = []
    monkeypatch.setattr(docs, "build_report", lambda source, out, **kw: built.append((source, out)))
    assert "semisep report" in docs._listening(work, tmp_path / "b", device="cpu")
    assert built == [(work / "reproduce", tmp_path / "b")]
    (work / "site").mkdir()
    (work / "site" / "index.html").write_text('<meta name="generator" content="semisep report">')
    (work / "site" / "report.js").write_text("//")
    assert "notebook 09" in docs._listening(work, tmp_path / "c", device="cpu")
    assert (tmp_path / "c" / "report.js").is_file() and len(built) == 1
