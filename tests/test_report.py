"""The static listening page (``semisep report``): built once from a tiny real ``reproduce`` run, checked as
files, then opened in a real headless Chromium (skipped when none is installed)."""

from __future__ import annotations

import argparse
import base64
import contextlib
import dataclasses
import fcntl
import io
import json
import os
import re
import select
import shutil
import subprocess
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from semisep_lib.audio import write_audio
from semisep_lib.errors import DataError, UsageError
from semisep_lib.interfaces.cli import COMMAND_MODULES, add_report_commands
from semisep_lib.interfaces.docs import LISTENING, build_docs
from semisep_lib.interfaces.report import build_report, file_name, markdown_html
from semisep_lib.method.config import PRESETS
from semisep_lib.study import reproduce as rep
from semisep_lib.study.data import load_songs

REPO = Path(__file__).resolve().parents[1]
SCREENSHOT = REPO / "docs" / "report-screenshot.png"
SECONDS = 2.5  # the excerpt the tiny run scores, and so the length of every file of its page

pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="the report encodes audio with ffmpeg")


@pytest.fixture(scope="module")
def run(toy_root, tmp_path_factory):
    """A real ``reproduce`` run at the smallest settings (smoke preset, 2 g steps a row, one 2.5 s report song),
    and its page built by the command line: ``(run, site, printed output)``."""
    out = tmp_path_factory.mktemp("report") / "run"
    smoke = PRESETS["smoke"]
    tiny = dataclasses.replace(smoke, reproduce=dataclasses.replace(
        smoke.reproduce, steps=7, train_tracks=4, eval_tracks=1, eval_seconds=SECONDS))
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(PRESETS, "smoke", tiny)
        rep.reproduce("smoke", "toy", str(toy_root), 1, out, device="cpu", progress=False)
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            _command(["report", str(out), "--out", str(out / "site")])
    return out, out / "site", printed.getvalue()


def _command(argv: list[str]) -> None:
    """Run ``semisep ARGV`` through the CLI's parser of the ``report`` command."""
    parser = argparse.ArgumentParser(prog="semisep")
    add_report_commands(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    args.func(args)


def test_the_cli_registers_the_command():
    assert "report" in COMMAND_MODULES


class _Page(HTMLParser):
    """Every attribute value that names a file, and the cells of every table (by the id of its section)."""

    def __init__(self):
        super().__init__()
        self.links, self.tables, self.section, self.row = [], {}, None, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.links += [v for k, v in a.items() if k in ("src", "href", "data-src", "data-spec", "data-mask") and v]
        if tag == "section":
            self.section = a.get("id")
        elif tag == "tr":
            self.row = []
            self.tables.setdefault(self.section, []).append(self.row)
        elif tag in ("td", "th") and self.row is not None:
            self.row.append("")

    def handle_endtag(self, tag):
        if tag in ("tr", "table"):
            self.row = None
        elif tag == "section":
            self.section = None

    def handle_data(self, data):
        if self.row:
            self.row[-1] = (self.row[-1] + data).strip()


def _parse(site: Path) -> _Page:
    page = _Page()
    page.feed((site / "index.html").read_text())
    return page


# ---------------------------------------------------------------------------------------------------------------
# pieces
def test_markdown_tables_headings_and_escaping():
    text = "# Table 3 — ablation\n\nSome `code` & <b>.\n\n| a | b |\n|---|---|\n| w/o R1 | 0.95 |\n| x | – |\n\nend"
    out = markdown_html(text)
    assert "<h3>Table 3 — ablation</h3>" in out
    assert "<code>code</code> &amp; &lt;b&gt;." in out
    assert out.count("<tr>") == 3 and "<th>a</th>" in out and '<td class="num">0.95</td>' in out
    assert "<p>end</p>" in out


def test_file_name_gives_safe_file_names():
    assert file_name("w/o GAN_A & GAN_C") == "w-o-GAN_A-GAN_C"
    assert file_name("A Classic Education - NightOwl") == "A-Classic-Education-NightOwl"
    assert file_name("///") == "x"


def test_bad_sources_and_outputs_are_one_sentence(tmp_path):
    with pytest.raises(DataError, match="neither a reproduce run"):
        build_report(tmp_path, tmp_path / "site", progress=False)
    keep = tmp_path / "mine"
    keep.mkdir()
    (keep / "notes.txt").write_text("precious")
    (tmp_path / "runs").mkdir()
    with pytest.raises(UsageError, match="not a semisep report"):
        build_report(tmp_path, keep, progress=False)
    assert (keep / "notes.txt").read_text() == "precious"
    with pytest.raises(UsageError, match="codec"):
        build_report(tmp_path, tmp_path / "site", codec="flac", progress=False)


# ---------------------------------------------------------------------------------------------------------------
# a page of a reproduce run
def test_site_is_self_contained_with_relative_links_only(run):
    _, site, printed = run
    page = _parse(site)
    assert page.links, "the page links no file"
    for link in page.links:
        if link.startswith("#"):
            continue
        assert not re.match(r"^[a-z]+:|^/", link), f"not a relative path: {link}"
        assert (site / link).is_file(), f"missing: {link}"
    for name in ("index.html", "report.css", "report.js", "ablation.png"):
        assert (site / name).is_file()
    for path in (site / "index.html", site / "report.css", site / "report.js"):
        assert not re.search(r"https?://", path.read_text()), f"{path.name} reaches for the network"
    audio = sorted(p.suffix for p in site.rglob("*") if p.suffix in (".webm", ".mp3"))
    assert audio and set(audio) == {".webm"}
    probe = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0",
                            str(next(site.rglob("*.webm")))], capture_output=True, text=True)
    assert abs(float(probe.stdout) - SECONDS) < 0.1


def test_tables_have_every_row_and_the_papers_numbers(run):
    out, site, _ = run
    tables = _parse(site).tables
    t1, t3 = json.loads((out / "table1.json").read_text()), json.loads((out / "table3.json").read_text())
    assert len(tables["table1"]) == 1 + len(t1["rows"])
    assert [r[0] for r in tables["table1"][1:]] == [r["method"] + (" (paper only)" if r["paper_only"] else "")
                                                   for r in t1["rows"]]
    assert len(tables["table3"]) == 1 + len(t3["rows"])
    assert [r[0] for r in tables["table3"][1:]] == list(t3["rows"])
    assert tables["table3"][1][-2:] == ["3.5", "15.2"]  # all losses: the paper's SDR / SIR beside ours
    ours = next(r for r in tables["table1"] if r[0].startswith("ours"))
    assert ours[-2:] == ["3.2", "14.2"]
    text = (site / "index.html").read_text()
    assert "python -m semisep_lib reproduce --profile smoke --data toy" in text and "Git commit" in text


def test_every_song_has_the_mixture_reference_and_each_methods_stems(run):
    out, site, _ = run
    rows = _parse(site).tables["song-01"]  # the first song's A/B table
    methods = [r[0] for r in rows if r and r[0] not in ("method", "mixture (input)")]
    assert methods[0] == "reference" and "ours" in methods and "oracle" in methods and "w/o GAN_A & GAN_C" in methods
    text = (site / "index.html").read_text()
    for m in methods:
        buttons = re.findall(rf'data-label="{re.escape(m.replace("&", "&amp;"))} · (\w+)"', text)
        assert buttons == (["vocals", "accompaniment"] if m == "reference" else list(("vocals", "accompaniment",
                                                                                      "residual"))), m
    ours = next(r for r in rows if r[0] == "ours")
    assert "SDR" in ours[1] and "SIR" in ours[1]
    assert len(re.findall(r'data-mask="[^"]+"', text)) == 3  # g's mask on each of ours' three buttons
    assert (site / "media" / "01-toy-006" / "ours.mask.jpg").is_file()


def test_the_size_is_printed(run):
    _, site, printed = run
    size = sum(p.stat().st_size for p in site.rglob("*") if p.is_file())
    m = re.search(r"([\d.]+) MB in ", printed)
    assert m and abs(float(m.group(1)) - size / 1e6) < 0.01, printed
    assert "index.html" in printed and size < 3e6


def test_a_folder_of_separations_with_references(toy_root, tmp_path):
    song = load_songs(toy_root, subset="test", limit=1)[0]
    folder = tmp_path / "est" / "mine" / song.name
    folder.mkdir(parents=True)
    write_audio(folder / "vocals.wav", 0.5 * song.mixture, song.rate)
    write_audio(folder / "accompaniment.wav", 0.5 * song.mixture, song.rate)
    r = build_report(tmp_path / "est", tmp_path / "site", root=toy_root, seconds=1.0, codec="mp3", progress=False)
    assert r["songs"] == [song.name] and r["methods"] == 1  # mine (the reference is no method)
    text = (tmp_path / "site" / "index.html").read_text()
    assert 'data-label="mine · residual"' in text and 'data-label="reference · vocals"' in text
    assert any(p.suffix == ".mp3" for p in (tmp_path / "site").rglob("*"))
    # a second build replaces the first report in place
    build_report(tmp_path / "est", tmp_path / "site", root=toy_root, seconds=1.0, progress=False)
    assert not any(p.suffix == ".mp3" for p in (tmp_path / "site").rglob("*"))


# ---------------------------------------------------------------------------------------------------------------
# a real browser: Chromium headless, driven over the DevTools protocol on a pipe (no driver package needed)
@pytest.fixture(scope="module")  # module scope, so that it skips before the run fixture is built
def browser() -> str:
    """Chromium or Chrome (``$SEMISEP_CHROMIUM``, else the first on PATH); skips the test when there is none."""
    for name in (os.environ.get("SEMISEP_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if name and shutil.which(name):
            return shutil.which(name)
    pytest.skip("no Chromium or Chrome found (Debian: apt-get install chromium); the browser test needs one")


class DevTools:
    """A Chromium started with ``--remote-debugging-pipe``: JSON messages end in NUL, on fds 3 (in) and 4 (out)."""

    def __init__(self, exe: str, profile: Path):
        to_chrome, from_chrome = os.pipe(), os.pipe()

        def child():  # the child's fds 3 and 4, through high numbers so that no pipe end is overwritten
            a, b = (fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in (to_chrome[0], from_chrome[1]))
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.proc = subprocess.Popen(
            [exe, "--headless=new", "--remote-debugging-pipe", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-dev-shm-usage", "--autoplay-policy=no-user-gesture-required", "--mute-audio",
             f"--user-data-dir={profile}", "about:blank"],
            preexec_fn=child, close_fds=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_chrome[0])
        os.close(from_chrome[1])
        self.out, self.inp = to_chrome[1], from_chrome[0]
        self.buf, self.events, self.next_id, self.session, self.target = b"", [], 0, None, None

    def _message(self, deadline: float) -> dict:
        while b"\0" not in self.buf:
            if not select.select([self.inp], [], [], max(0.0, deadline - time.monotonic()))[0]:
                raise TimeoutError("Chromium did not answer in time")
            chunk = os.read(self.inp, 1 << 16)
            if not chunk:
                raise RuntimeError("Chromium exited")
            self.buf += chunk
        raw, _, self.buf = self.buf.partition(b"\0")
        return json.loads(raw)

    def send(self, method: str, params: dict | None = None, timeout: float = 30, session: bool = True) -> dict:
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session and self.session:
            msg["sessionId"] = self.session
        os.write(self.out, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            m = self._message(deadline)
            if m.get("id") == self.next_id:
                if "error" in m:
                    raise RuntimeError(f"{method}: {m['error']}")
                return m.get("result", {})
            self.events.append(m)

    def wait_for(self, event: str, timeout: float = 30) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            for m in self.events:
                if m.get("method") == event and m.get("sessionId", self.session) == self.session:
                    return m
            self.events.append(self._message(deadline))

    def open(self, url: str, width: int = 1200, height: int = 900) -> None:
        """Open ``url`` in a new tab; the tab opened before is closed, and its events (and errors) forgotten."""
        if self.target:
            self.send("Target.closeTarget", {"targetId": self.target}, session=False)
        self.session, self.events = None, []
        target = self.target = self.send("Target.createTarget", {"url": "about:blank"}, session=False)["targetId"]
        self.session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True},
                                 session=False)["sessionId"]
        for domain in ("Runtime", "Log", "Page"):
            self.send(f"{domain}.enable")
        self.send("Emulation.setDeviceMetricsOverride", {"width": width, "height": height, "deviceScaleFactor": 1,
                                                         "mobile": False})
        self.send("Page.navigate", {"url": url})
        self.wait_for("Page.loadEventFired")
        # that load event may be about:blank's, arriving late on a busy machine: wait for the page itself
        done = "document.readyState === 'complete' && location.href !== 'about:blank'"
        deadline = time.monotonic() + 30
        while not self.js(done):
            if time.monotonic() > deadline:
                raise AssertionError(f"{url} did not finish loading")
            time.sleep(0.05)

    def js(self, expression: str, timeout: float = 30):
        """The value of a JavaScript expression (promises awaited); a thrown error fails the test."""
        r = self.send("Runtime.evaluate", {"expression": expression, "awaitPromise": True, "returnByValue": True},
                      timeout=timeout)
        if "exceptionDetails" in r:
            raise AssertionError(r["exceptionDetails"].get("exception", {}).get("description") or r["exceptionDetails"])
        return r["result"].get("value")

    def errors(self) -> list[str]:
        out = []
        for m in self.events:
            if m.get("sessionId", self.session) != self.session:  # a tab closed before
                continue
            p = m.get("params", {})
            if m.get("method") == "Runtime.exceptionThrown":
                out.append(str(p["exceptionDetails"].get("exception", {}).get("description") or p))
            elif m.get("method") == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                out.append(" ".join(str(a.get("value", a.get("description"))) for a in p.get("args", [])))
            elif m.get("method") == "Log.entryAdded" and p["entry"].get("level") == "error":
                out.append(f"{p['entry'].get('text')} {p['entry'].get('url', '')}")
        return out

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.send("Browser.close", session=False, timeout=5)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self.out, self.inp):
            with contextlib.suppress(OSError):
                os.close(fd)


#: waits, in the page, until ``cond()`` holds (or fails after 15 s)
UNTIL = ("window.until = (cond, what) => new Promise((ok, bad) => { const t0 = Date.now(); (function poll() {"
         " if (cond()) ok(); else if (Date.now() - t0 > 15000) bad(new Error('timed out: ' + what));"
         " else setTimeout(poll, 25); })(); });")


@pytest.mark.slow
def test_the_page_in_a_real_browser(browser, run, tmp_path):
    out, site, _ = run
    t1, t3 = json.loads((out / "table1.json").read_text()), json.loads((out / "table3.json").read_text())
    chrome = DevTools(browser, tmp_path / "profile")
    try:
        chrome.open((site / "index.html").resolve().as_uri())
        # every player knows its duration, and so does every file a button plays
        chrome.js(UNTIL)
        durations = chrome.js("""(async () => { const all = [...document.querySelectorAll('audio')];
            await until(() => all.every(a => a.readyState >= 1 && isFinite(a.duration)), 'players');
            return all.map(a => a.duration); })()""")
        assert durations and all(abs(d - SECONDS) < 0.1 for d in durations)
        files = chrome.js("""Promise.all([...new Set([...document.querySelectorAll('button.ab')]
            .map(b => b.dataset.src))].map(src => new Promise(ok => { const a = new Audio(); a.preload = 'metadata';
              a.onloadedmetadata = () => ok([src, a.duration]); a.onerror = () => ok([src, -1]); a.src = src; })))""")
        assert len(files) > 20 and all(abs(d - SECONDS) < 0.1 for _, d in files), files
        # A/B: the play head stays where it was when another method or stem is chosen
        switch = """(async (label) => {
            const song = document.querySelector('section.song'), a = song.querySelector('audio.shared');
            const b = [...song.querySelectorAll('button.ab')].find(b => b.dataset.label === label);
            b.click();
            await until(() => a.getAttribute('src') === b.dataset.src && !a.dataset.pending && a.readyState >= 1,
                        label);
            return {time: a.currentTime, now: song.querySelector('.now').textContent, paused: a.paused,
                    mask: !song.querySelector('img.view-mask').hidden,
                    spec: song.querySelector('img.view-spec').getAttribute('src')};
        })"""
        chrome.js("document.querySelector('section.song audio.shared').currentTime = 1.5")
        ours = chrome.js(f"{switch}('ours · vocals')")
        assert abs(ours["time"] - 1.5) < 0.02 and ours["now"] == "ours · vocals" and ours["mask"]
        assert ours["spec"].endswith("ours.jpg")
        ref = chrome.js(f"{switch}('reference · accompaniment')")
        assert abs(ref["time"] - 1.5) < 0.02 and not ref["mask"] and ref["paused"]
        # while playing, a switch keeps playing from where it was
        assert chrome.js("document.querySelector('section.song audio.shared').play().then(() => true)")
        time.sleep(0.3)
        res = chrome.js(f"{switch}('oracle · residual')")
        assert not res["paused"] and res["time"] >= 1.5
        chrome.js("document.querySelector('section.song audio.shared').pause()")
        # the tables show every row
        counts = chrome.js("['table1', 'table3'].map(id => document.querySelectorAll(`#${id} table tr`).length)")
        assert counts == [1 + len(t1["rows"]), 1 + len(t3["rows"])]
        assert chrome.js("document.querySelector('#table3 img').naturalWidth") > 0
        # a picture of the first song for the README
        chrome.js("document.querySelector('section.song audio.shared').currentTime = 1.5")
        chrome.js(f"{switch}('ours · vocals')")
        box = chrome.js("(() => { const r = document.querySelector('section.song').getBoundingClientRect();"
                        " return [r.left + scrollX, r.top + scrollY, r.width, r.height]; })()")
        shot = chrome.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": {
            "x": box[0], "y": box[1], "width": box[2], "height": min(box[3], 760), "scale": 0.7}})
        SCREENSHOT.parent.mkdir(exist_ok=True)
        SCREENSHOT.write_bytes(base64.b64decode(shot["data"]))
        assert chrome.errors() == []
    finally:
        chrome.close()
    assert SCREENSHOT.stat().st_size < 400_000


# ---------------------------------------------------------------------------------------------------------------
# the notebooks, rendered (`semisep docs`), in the same browser
@pytest.fixture(scope="module")
def docs_site(smoke_notebooks, tmp_path_factory) -> Path:
    """The folder ``semisep docs`` writes from the session's smoke run of the notebooks (conftest's: rendered,
    not run again)."""
    out = tmp_path_factory.mktemp("docs") / "notebooks"
    build_docs(out, profile="smoke", work=smoke_notebooks["folder"], run=False, progress=False)
    return out


#: in a page: every file it names (href, src, the listening page's data-*), every image decoded, every player
#: asked to load: ``{links: [[attribute, URL]], anchors: [missing #ids], images: [[src, width]], audio:
#: [[src, readyState]], network: [URLs fetched over http(s)]}``. An anchor is found as browsers find it: the
#: fragment as written (nbconvert's heading ids keep their %-escapes), else percent-decoded.
PAGE_CHECK = """(async () => {
  const later = (ms, v) => new Promise(ok => setTimeout(() => ok(v), ms));
  const links = [...document.querySelectorAll('[href],[src],[data-src],[data-spec],[data-mask]')].flatMap(e =>
    ['href', 'src', 'data-src', 'data-spec', 'data-mask'].filter(k => e.getAttribute(k))
      .map(k => [k, new URL(e.getAttribute(k), location.href).href]));
  const here = location.href.split('#')[0];
  const anchors = links.map(([, u]) => u.slice(here.length + 1)).filter((id, i) => links[i][1].startsWith(here + '#'))
    .filter(id => id && !document.getElementById(id) && !document.getElementById(decodeURIComponent(id)));
  const images = await Promise.all([...document.images].filter(i => i.getAttribute('src')).map(i => {
    i.loading = 'eager';
    return Promise.race([i.decode().catch(() => null), later(15000)])
      .then(() => [i.getAttribute('src').slice(0, 80), i.naturalWidth]); }));
  const audio = await Promise.all([...document.querySelectorAll('audio')].map(a => new Promise(ok => {
    const src = () => (a.currentSrc || a.getAttribute('src') || '').slice(0, 80);
    const done = () => ok([src(), a.readyState]);
    if (a.readyState >= 2) return done();
    const t = setTimeout(done, 15000), stop = () => { clearTimeout(t); done(); };
    a.addEventListener('canplay', stop, {once: true});
    a.addEventListener('error', stop, {once: true});
    a.querySelectorAll('source').forEach(s => s.addEventListener('error', stop, {once: true}));
    a.preload = 'auto';
    a.load(); })));
  const network = performance.getEntriesByType('resource').map(r => r.name).filter(n => /^https?:/.test(n));
  return {links, anchors, images, audio, network};
})()"""


def page_problems(chrome: DevTools, page: Path) -> tuple[list[str], dict]:
    """Open ``page`` and list what is wrong with it: a console error, a link to a missing file or anchor, an
    image that does not decode (naturalWidth 0), a player that never becomes playable (readyState < 2), a
    fetch over the network. Also returns what was checked."""
    chrome.open(page.resolve().as_uri())
    found = chrome.js(PAGE_CHECK, timeout=120)
    problems = [f"console: {e}" for e in chrome.errors()]
    for attribute, url in found["links"]:
        parts = urlsplit(url)
        if parts.scheme == "file" and not Path(unquote(parts.path)).exists():
            problems.append(f"broken {attribute}: {url}")
    problems += [f"missing anchor #{a}" for a in found["anchors"]]
    problems += [f"image does not load: {src}" for src, width in found["images"] if not width]
    problems += [f"player never playable (readyState {state}): {src}" for src, state in found["audio"] if state < 2]
    problems += [f"fetched from the network: {url}" for url in found["network"]]
    return problems, found


def check_docs_site(browser, site: Path, tmp_path: Path) -> dict:
    """Open the index, each chapter and the listening page of the docs folder ``site`` in the browser and assert
    each has no problem (:func:`page_problems`), the index links every page, and there are players and figures.
    Returns what was checked, by page."""
    chapters = sorted(site.glob("[0-9][0-9]_*.html"))
    assert [p.stem for p in chapters] == [p.stem for p in sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))]
    chrome = DevTools(browser, tmp_path / "profile")
    checked = {}
    try:
        for page in (site / "index.html", *chapters, site / LISTENING / "index.html"):
            problems, found = page_problems(chrome, page)
            assert problems == [], f"{page.name}: {problems}"
            checked[page.relative_to(site).as_posix()] = found
    finally:
        chrome.close()
    index = {u for _, u in checked["index.html"]["links"]}
    for page in (*chapters, site / LISTENING / "index.html"):  # the index links every page
        assert page.resolve().as_uri() in index, page.name
    players = {name: len(found["audio"]) for name, found in checked.items()}
    assert players[f"{LISTENING}/index.html"] >= 1 and sum(players.values()) >= 6, players
    assert sum(len(found["images"]) for found in checked.values()) >= 20
    return checked


@pytest.mark.slow
def test_the_rendered_notebooks_in_a_real_browser(browser, docs_site, tmp_path):
    """The index, each chapter and the listening page open from file:// with no console error, no broken link
    or anchor, every image decoded and every player playable, and nothing fetched from the network."""
    check_docs_site(browser, docs_site, tmp_path)


@pytest.mark.slow
def test_the_committed_notebook_pages_in_a_real_browser(browser, tmp_path):
    """The same for the pages committed in docs/notebooks (``make docs``: the cpu profile), as a reader opens
    them from a clone, and their index names the cpu profile."""
    site = REPO / "docs" / "notebooks"
    if not (site / "index.html").is_file():
        pytest.skip("no rendered notebooks are committed in docs/notebooks (make docs writes them)")
    check_docs_site(browser, site, tmp_path)
    assert "<code>cpu</code>, the built-in toy songs" in (site / "index.html").read_text()
