"""The listening widget, built and driven headless on small synthetic data."""

from __future__ import annotations

import json
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

from semisep_lib.errors import UsageError
from semisep_lib.interfaces.listen import Listener, find_estimate_dirs, format_scores, museval_scores, wav_bytes

RATE = 8000


def _estimate(seed: int, sdr: float, sir: float | None = None) -> dict:
    rng = np.random.default_rng(seed)
    v = (0.1 * rng.standard_normal((2, RATE // 2))).astype(np.float32)
    scores = {"SDR": sdr} if sir is None else {"SDR": sdr, "SIR": sir}
    return {"vocals": v, "accompaniment": -v, "rate": RATE, "scores": scores}


@pytest.fixture()
def tracks() -> dict:
    return {
        "song-a": {"mixture": _estimate(0, -5.0), "ours": _estimate(1, 3.2, 14.2), "oracle": _estimate(2, 9.0, 20.0)},
        "song-b": {"mixture": _estimate(3, -2.0), "ours": _estimate(4, 1.5, 7.0), "w/o R1": _estimate(5, -0.9, 3.4)},
    }


def test_widget_follows_track_and_selection(tracks):
    import ipywidgets as w

    lis = Listener(tracks, methods=["mixture", "ours"], spectrograms=False)
    assert isinstance(lis.widget, w.VBox)
    assert set(lis.track.options) == {"song-a", "song-b"}
    assert lis.methods.options[:3] == ("mixture", "oracle", "ours")  # known methods first, in a fixed order
    lis.track.value = "song-a"
    assert lis.shown() == ["mixture", "ours"]
    assert "ours" in lis.labels()[1] and "SDR 3.2 dB" in lis.labels()[1] and "SIR 14.2 dB" in lis.labels()[1]

    lis.methods.value = ("oracle", "ours")
    assert lis.shown() == ["oracle", "ours"]
    assert "SDR 9.0 dB" in lis.labels()[0]

    lis.track.value = "song-b"  # no oracle for song-b: only ours, and a note saying so
    assert lis.shown() == ["ours"]
    assert "SDR 1.5 dB" in lis.labels()[0]
    assert "oracle" in lis.status.value

    lis.methods.value = ("w/o R1",)
    assert lis.shown() == ["w/o R1"] and "SIR 3.4 dB" in lis.labels()[0]
    assert "application/vnd.jupyter.widget-view+json" in lis._repr_mimebundle_()  # shows as its widget


def test_panel_holds_players_and_spectrograms(tracks):
    import ipywidgets as w

    lis = Listener(tracks, methods=["ours"], max_seconds=0.25)
    lis.track.value = "song-a"
    (panel,) = lis.panels.children
    header, columns = panel.children
    assert isinstance(header, w.HTML)
    vocals_col, acc_col = columns.children
    for col, stem in ((vocals_col, "vocals"), (acc_col, "accompaniment")):
        label, audio, image = col.children
        assert label.value == stem
        assert isinstance(audio, w.Audio) and audio.value[:4] == b"RIFF"
        assert isinstance(image, w.Image) and image.value[:4] == b"\x89PNG"
    # the panel is cached: selecting again reuses it
    lis.methods.value = ("mixture",)
    lis.methods.value = ("ours",)
    assert lis.panels.children[0] is panel


def test_wav_bytes_and_scores():
    data = wav_bytes(np.zeros(800, np.float32), RATE, max_seconds=0.05)
    assert data[:4] == b"RIFF" and len(data) == 44 + 2 * 400
    assert format_scores(None) == "no scores"
    assert format_scores({"SDR": 1.234, "SIR": math.nan}) == "SDR 1.2 dB · SIR –"
    frames = [{"metrics": {"SDR": 1.0, "SIR": 4.0}}, {"metrics": {"SDR": 3.0, "SIR": None}},
              {"metrics": {"SDR": 2.0, "SIR": 6.0}}]
    got = museval_scores({"targets": [{"name": "vocals", "frames": frames}]})
    assert got["SDR"] == 2.0 and got["SIR"] == 5.0


def test_bad_input_is_one_clear_error():
    with pytest.raises(UsageError):
        Listener({})
    with pytest.raises(UsageError, match="lacks"):
        Listener({"t": {"m": {"vocals": np.zeros(10)}}})


def test_from_separators_scores_with_fast_sdr():
    from semisep_lib.study.baselines import MixtureBaseline, SilentBaseline
    from semisep_lib.study.data import Song

    rng = np.random.default_rng(0)
    voc = (0.1 * rng.standard_normal((1, 2 * RATE))).astype(np.float32)
    acc = (0.1 * rng.standard_normal((1, 2 * RATE))).astype(np.float32)
    song = Song("s", RATE, voc + acc, voc, acc)
    lis = Listener.from_separators([song], {"mixture": MixtureBaseline(), "silent": SilentBaseline()},
                                   methods=["silent", "mixture"], spectrograms=False)
    assert lis.shown() == ["mixture", "silent"]  # shown in the options' order
    assert "SDR 0.0 dB" in lis.labels()[1]  # the silent floor
    assert "reference" in lis.methods.options


def test_from_estimates_reads_stem_folders(tmp_path):
    import soundfile as sf

    for method, sdr in (("ours", 2.5), ("nmf", 0.1)):
        folder = tmp_path / "runs" / method / "estimates" / "test" / "song-x"
        folder.mkdir(parents=True)
        for stem in ("vocals", "accompaniment"):
            sf.write(folder / f"{stem}.wav", np.zeros((RATE // 4, 2), np.float32), RATE, subtype="FLOAT")
        (folder.parent / "scores.json").write_text(json.dumps({"song-x": {"SDR": sdr, "SIR": 1.0}}))
    found = find_estimate_dirs(tmp_path)
    assert set(found) == {"ours", "nmf"}
    lis = Listener.from_estimates(found, methods=["ours", "nmf"], spectrograms=False)
    assert lis.track.value == "song-x"
    assert lis.shown() == ["ours", "nmf"]
    assert "SDR 2.5 dB" in lis.labels()[0]


def test_run_labels():
    from semisep_lib.interfaces.listen import run_labels

    assert run_labels(["all-losses-seed0", "wo-GAN_A-GAN_C-seed0", "wo-R1-seed0"]) == {
        "all-losses-seed0": "ours", "wo-GAN_A-GAN_C-seed0": "w/o GAN_A & GAN_C", "wo-R1-seed0": "w/o R1"}
    assert run_labels(["all-losses-seed0", "all-losses-seed1"])["all-losses-seed1"] == "ours (seed 1)"


@pytest.mark.slow
def test_from_reproduce_loads_the_trained_runs(tmp_path, toy_root):
    from semisep_lib.method.config import Config
    from semisep_lib.method.train import train
    from semisep_lib.study.data import load_training_data

    cfg = Config.from_preset("smoke")
    cfg.train.steps, cfg.train.threads = 2, 1
    td = load_training_data(cfg, toy_root)
    for run in ("all-losses-seed0", "wo-R1-seed0"):
        train(cfg, td, tmp_path / "runs" / run, progress=False)
    song = "toy-006"  # the first test song of the fixture's set
    (tmp_path / "scores").mkdir()
    (tmp_path / "scores" / "all-losses-seed0.json").write_text(json.dumps(
        {"tracks": [{"name": song, "vocals": {"SDR": 3.25, "SIR": None}}]}))
    lis = Listener.from_reproduce(tmp_path, root=toy_root, limit=1, seconds=1.0, spectrograms=False)
    assert lis.track.value == song
    assert set(lis.methods.options) == {"reference", "mixture", "oracle", "ours", "w/o R1"}
    assert lis.shown() == ["reference", "mixture", "oracle", "ours"]
    assert "SDR 3.2 dB · SIR – (museval, as the run scored the song)" in lis.labels()[3]
    assert "fast SDR of this excerpt" in lis.labels()[1]
    with pytest.raises(Exception, match="No trained runs"):
        Listener.from_reproduce(tmp_path / "runs", root=toy_root)


def _with_reference() -> dict:
    ref = _estimate(9, math.nan)
    ref["scores"] = None
    return {"song-r": {"reference": ref, "mixture": _estimate(0, -5.0), "oracle": _estimate(2, 9.0),
                       "supervised": _estimate(6, 5.0), "ours": _estimate(1, 3.2), "nes": _estimate(7, 1.0)}}


def test_ours_is_selected_by_default():
    from semisep_lib.interfaces.listen import default_methods

    lis = Listener(_with_reference(), spectrograms=False)
    assert "ours" in lis.shown()
    assert lis.default_methods() == ("reference", "mixture", "oracle", "ours") == tuple(lis.methods.value)
    assert default_methods(["reference", "mixture", "oracle", "supervised", "ours (seed 0)", "ours (seed 1)"]) \
        == ["reference", "mixture", "oracle", "ours (seed 0)"]


def test_residual_stem_when_reference_known(tracks):
    from semisep_lib.interfaces.listen import RESIDUAL

    data = _with_reference()
    lis = Listener(data, methods=["ours", "reference"], spectrograms=False, max_seconds=None)
    ours, ref = lis.panels.children[1], lis.panels.children[0]  # reference first, in the list's order
    assert [c.children[0].value for c in ours.children[1].children] == ["vocals", "accompaniment", RESIDUAL]
    want = data["song-r"]["ours"]["vocals"] - data["song-r"]["reference"]["vocals"]
    assert ours.children[1].children[2].children[1].value == wav_bytes(want, RATE)
    assert len(ref.children[1].children) == 2  # the reference has no residual against itself
    # no reference known: no residual
    lis = Listener(tracks, methods=["ours"], spectrograms=False)
    assert len(lis.panels.children[0].children[1].children) == 2


def test_reproduce_runs_skip_warm_up_and_offer_nes_nmf(tmp_path):
    from semisep_lib.interfaces.listen import reproduce_runs, run_labels

    for name, file in (("warm-up-seed0", "best.pt"), ("warm-up-seed0", "checkpoint.pt"),
                       ("all-losses-seed0", "best.pt"), ("wo-R1-seed0", "best.pt"), ("GAN-only-seed0", "best.pt"),
                       ("nes-seed0", "nes.pt"), ("nmf", "nmf.npz"), ("wo-R2-seed0", "checkpoint.pt")):
        (tmp_path / "runs" / name).mkdir(parents=True, exist_ok=True)
        (tmp_path / "runs" / name / file).write_bytes(b"x")
    found = reproduce_runs(tmp_path)
    assert list(found) == ["ours", "nes", "nmf", "GAN only", "w/o R1"]
    assert found["nes"][2] == "nes" and found["nes"][1].name == "nes.pt" and found["nmf"][0] == "nmf"
    assert found["ours"] == ("all-losses-seed0", tmp_path / "runs" / "all-losses-seed0", "g")
    assert "warm-up-seed0" not in run_labels(["warm-up-seed0", "all-losses-seed0"])
    assert run_labels(["supervised-seed0", "nes-seed0", "nes-seed1"]) == {
        "supervised-seed0": "supervised (seed 0)", "nes-seed0": "nes (seed 0)", "nes-seed1": "nes (seed 1)"}


def test_estimate_dirs_skip_warm_up_and_name_rows(tmp_path):
    import soundfile as sf

    for method in ("warm-up-seed0", "all-losses-seed0", "nes-seed0", "nmf"):
        folder = tmp_path / "runs" / method / "estimates" / "test" / "song-x"
        folder.mkdir(parents=True)
        for stem in ("vocals", "accompaniment"):
            sf.write(folder / f"{stem}.wav", np.zeros((RATE // 4, 2), np.float32), RATE, subtype="FLOAT")
    found = find_estimate_dirs(tmp_path)
    assert set(found) == {"ours", "nes", "nmf"}
    lis = Listener.from_estimates(found, spectrograms=False)
    assert lis.methods.options == ("ours", "nes", "nmf") and "ours" in lis.shown()


def test_a_run_on_the_built_in_toy_set_finds_its_songs_without_a_recorded_root(tmp_path, monkeypatch):
    """Runs record no absolute root for the built-in toy set (``reproduce.recorded_root``): the listener finds it
    in the cache; any other root is taken as recorded."""
    from semisep_lib.interfaces import listen

    monkeypatch.setattr(listen, "resolve_data_root", lambda data, root: tmp_path / f"{data}-cache")
    (tmp_path / "table1.json").write_text(json.dumps({"info": {"data": "toy"}}))
    assert listen._recorded_root(tmp_path) == tmp_path / "toy-cache"
    (tmp_path / "table1.json").write_text(json.dumps({"info": {"data": "musdb", "root": "../data/musdb18"}}))
    assert listen._recorded_root(tmp_path) == Path("../data/musdb18")


# ---------------------------------------------------------------------------------------------------------------
# the A/B player: plain HTML, the listening page's script, the audio inside


def _song_with_reference(seconds: float = 2.0) -> dict:
    from semisep_lib.interfaces.listen import RUN_SCORES

    rng = np.random.default_rng(3)
    n = int(seconds * RATE)
    voc = (0.1 * rng.standard_normal((2, n))).astype(np.float32)
    acc = (0.2 * rng.standard_normal((2, n))).astype(np.float32)
    mix = voc + acc
    est = lambda v: {"vocals": v, "accompaniment": mix - v, "rate": RATE,  # noqa: E731
                     "scores": {"SDR": 1.0, "SIR": 2.0, "note": RUN_SCORES}}
    return {"song-r": {"reference": {"vocals": voc, "accompaniment": acc, "rate": RATE, "scores": None},
                       "mixture": est(mix), "oracle": est(0.9 * voc), "ours": est(0.5 * voc + 0.1 * acc),
                       "w/o R1": est(0.2 * mix)}}


def test_the_player_offers_every_stem_of_the_default_methods_with_excerpt_scores():
    from semisep_lib.interfaces.listen import RESIDUAL
    from semisep_lib.method.metrics import median_sdr

    data = _song_with_reference()
    lis = Listener(data, spectrograms=False)
    player = lis.player(sir=False, codec="wav", spectrograms=False, seconds=1.5)
    song = player.songs["song-r"]
    assert song["methods"] == ["reference", "mixture", "oracle", "ours"]  # the true vocals among the defaults
    labels = set(song["choices"])
    assert {"mixture", "reference · vocals", "reference · accompaniment", "ours · residual"} <= labels
    assert "reference · residual" not in labels and "w/o R1 · vocals" not in labels
    # scores of the excerpt played, not of the whole song
    n = int(1.5 * RATE)
    ref = data["song-r"]["reference"]["vocals"][:, :n]
    want = median_sdr(ref.T, data["song-r"]["ours"]["vocals"][:, :n].T, RATE)
    assert song["scores"]["ours"]["SDR"] == pytest.approx(want)
    assert "reference" not in song["scores"]
    text = player.html
    assert text.count('<section class="song"') == 1 and text.count('<audio class=') == 1
    assert text.count('<button class="ab') == len(labels) and "data:audio/wav;base64," in text
    assert "semisepOneAtATime" in text and "section.song button.ab" in text  # the page's script and style, inline
    assert "this excerpt" in text and "the run&#x27;s scores (museval)" in text and f"{want:.1f} dB" in text
    assert "SDR 1.0 dB · SIR 2.0 dB" in text  # the run's scores, beside the excerpt's
    # the residual plays estimate minus reference, cut to the excerpt, mono in WAV
    import base64
    import io

    import soundfile as sf

    src = song["choices"]["ours · residual"].src
    audio, rate = sf.read(io.BytesIO(base64.b64decode(src.split(",", 1)[1])))
    resid = lis.stems("song-r", "ours")[RESIDUAL][:, :n].mean(axis=0)
    assert rate == RATE and audio.shape == (n,) and np.abs(audio - resid).max() < 1e-4
    # asked for by name: any method, and one not there is said to be missing
    with_sir = lis.player(methods=["ours"], sir=True, codec="wav", spectrograms=False, seconds=1.5)
    with_sir = with_sir.songs["song-r"]["scores"]
    assert with_sir["ours"]["SDR"] == pytest.approx(want) and np.isfinite(with_sir["ours"]["SIR"])
    more = lis.player(methods=["ours", "w/o R1", "nes"], sir=False, codec="wav", spectrograms=False)
    assert more.songs["song-r"]["methods"] == ["ours", "w/o R1"] and "Not available: nes" in more.html


def test_the_player_refuses_unknown_songs_and_codecs():
    lis = Listener(_song_with_reference(), spectrograms=False)
    with pytest.raises(UsageError, match="No song 'nope'"):
        lis.player(tracks=["nope"])
    with pytest.raises(UsageError, match="Unknown codec"):
        lis.player(codec="flac")


@pytest.mark.slow
def test_the_player_switches_from_the_same_moment_in_a_browser(tmp_path):
    """Two players in one page, as two outputs of a notebook rendered to HTML, and a third added as JupyterLab adds
    an output (``innerHTML``, then each script re-created, ``evalInnerHTMLScriptTags``): every song is bound once,
    and a switch keeps the time."""
    import shutil

    from test_report import UNTIL, DevTools

    exe = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
    if exe is None or shutil.which("ffmpeg") is None:
        pytest.skip("needs Chromium and ffmpeg")
    lis = Listener(_song_with_reference(seconds=3.0), spectrograms=False)
    one, two = (lis.player(sir=False, spectrograms=s) for s in (False, True))
    page = tmp_path / "players.html"
    page.write_text(f"<!DOCTYPE html><html><body>{one.html}{two.html}</body></html>")
    chrome = DevTools(exe, tmp_path / "profile")
    try:
        chrome.open(page.resolve().as_uri())
        chrome.js(UNTIL)
        chrome.js(f"""(() => {{ const host = document.createElement('div'); host.innerHTML = {json.dumps(one.html)};
            for (const s of [...host.getElementsByTagName('script')]) {{
                const c = document.createElement('script'); c.textContent = s.textContent;
                s.parentNode.replaceChild(c, s); }}
            document.body.appendChild(host); }})()""")
        bound = chrome.js("[...document.querySelectorAll('section.song')].map(s => s.dataset.abBound)")
        assert bound == ["1", "1", "1"]
        chrome.js("""(async () => { const a = document.querySelectorAll('audio.shared')[1];
            await until(() => a.readyState >= 1 && isFinite(a.duration), 'player'); a.currentTime = 1.5; })()""")
        got = chrome.js("""(async () => {
            const song = document.querySelectorAll('section.song')[1], a = song.querySelector('audio.shared');
            const b = [...song.querySelectorAll('button.ab')].find(b => b.dataset.label === 'ours · residual');
            b.click();
            await until(() => a.getAttribute('src') === b.dataset.src && !a.dataset.pending && a.readyState >= 1, 'b');
            return {time: a.currentTime, now: song.querySelector('.now').textContent,
                    pressed: song.querySelectorAll('button.ab.active').length,
                    spec: !song.querySelector('img.view-spec').hidden}; })()""")
        assert abs(got["time"] - 1.5) < 0.02 and got["now"] == "ours · residual" and got["pressed"] == 1
        assert got["spec"]  # the second player shows the chosen method's spectrograms
        assert chrome.errors() == []
    finally:
        chrome.close()


def test_excerpt_scores_of_silent_estimates():
    """The silent floor scores 0 dB SDR and no SIR; the mixture as vocals (a silent accompaniment) scores its SDR."""
    from semisep_lib.interfaces.listen import excerpt_scores

    song = _song_with_reference()["song-r"]
    ref = song["reference"]
    silent = excerpt_scores(ref, np.zeros_like(ref["vocals"]), RATE)
    assert silent["SDR"] == pytest.approx(0.0) and math.isnan(silent["SIR"])
    mixture = excerpt_scores(ref, ref["vocals"] + ref["accompaniment"], RATE)
    assert mixture["SDR"] < 0 and math.isnan(mixture["SIR"])
    assert np.isfinite(excerpt_scores(ref, song["ours"]["vocals"], RATE)["SIR"])
