"""Our scorer against the field's own: ``semisep evaluate`` (``evaluate_folder``) and
``museval.eval_mus_track`` on the same separations of real MUSDB18 songs must give the same SDR, SIR, SAR and
ISR in every window (to 0.01 dB), under v4 (SiSEC 2018) and v3 (the paper's protocol), for stem files and for
WAV stems (MUSDB18-HQ's layout). The tests on real songs need the shared MUSDB18 preview (skipped without it);
the one on the toy songs runs everywhere.

Why this is a test and not a given: with the references decoded to floats instead of musdb's 16-bit grid, the
SDR stayed equal but SIR, SAR and ISR moved by up to 20 dB on these songs (``semisep_lib.study.evaluate``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from semisep_lib.method.separate import PRETRAINED_DIR, load_separator
from semisep_lib.study.data import list_tracks, read_stem_file
from semisep_lib.study.evaluate import METRICS, PROTOCOLS, TARGETS, evaluate_folder, separate_musdb

#: how many report songs each protocol compares (all metrics, both targets, every window)
SONGS = 4


def _museval_windows(track, est_dir: Path, protocol: str) -> dict:
    """``{target: {metric: [per window]}}`` as ``museval.eval_mus_track`` scores the WAV estimates in
    ``est_dir/<track>/`` (read as a user reads them: soundfile, float64)."""
    import museval

    p = PROTOCOLS[protocol]
    estimates = {t: sf.read(est_dir / track.name / f"{t}.wav")[0] for t in TARGETS}
    store = museval.eval_mus_track(track, estimates, mode=p["mode"], win=p["win"], hop=p["hop"])
    return {t["name"]: {m: [f["metrics"][m] for f in t["frames"]] for m in METRICS}
            for t in store.scores["targets"]}


def _assert_same(ours: dict, theirs: dict, song: str) -> int:
    compared = 0
    for target in TARGETS:
        for metric in METRICS:
            a = np.array(ours[target][metric], dtype=float)
            b = np.array(theirs[target][metric], dtype=float)
            assert a.shape == b.shape, (song, target, metric)
            assert np.array_equal(np.isnan(a), np.isnan(b)), (song, target, metric)
            worst = np.nanmax(np.abs(a - b)) if np.any(~np.isnan(a)) else 0.0
            assert worst <= 0.01, f"{song} {target} {metric}: ours and museval's differ by {worst:.3f} dB"
            compared += int(np.sum(~np.isnan(a)))
    return compared


@pytest.fixture(scope="module")
def report_separations(shared_data, tmp_path_factory):
    """The shipped model's separations of the report songs, written as ``semisep separate --musdb-subset report``
    writes them."""
    out = tmp_path_factory.mktemp("estimates")
    separate_musdb(load_separator(PRETRAINED_DIR, device="cpu"), shared_data, "report", out, progress=False)
    return out


@pytest.mark.parametrize("protocol", list(PROTOCOLS))
def test_semisep_evaluate_equals_eval_mus_track_on_stem_files(shared_data, report_separations, tmp_path, protocol):
    import musdb

    result, _ = evaluate_folder(report_separations, shared_data, subset="report", out=tmp_path, name="shipped",
                                protocol=protocol, workers=1)
    ours = {tr["name"]: tr for tr in result["tracks"]}
    assert result["references"] == "int16"
    names = list_tracks(shared_data, "train", "report")[:SONGS]
    db = musdb.DB(root=str(shared_data), subsets="train", split="valid")
    compared = 0
    for track in (t for t in db.tracks if t.name in names):
        theirs = _museval_windows(track, report_separations / "train", protocol)
        compared += _assert_same(ours[track.name]["frames"], theirs, track.name)
    assert compared >= SONGS * len(TARGETS) * len(METRICS)  # every song, target and metric, at least one window


def test_semisep_evaluate_equals_eval_mus_track_on_wav_stems(shared_data, report_separations, tmp_path):
    """MUSDB18-HQ's layout (16-bit WAV stems), which musdb reads through ffmpeg and we through soundfile."""
    import musdb

    names = list_tracks(shared_data, "train", "report")[:2]
    for name in names:
        rate, stems = read_stem_file(shared_data / "train" / f"{name}.stem.mp4")
        for stem, audio in stems.items():
            path = tmp_path / "hq" / "test" / name / f"{stem}.wav"
            path.parent.mkdir(parents=True, exist_ok=True)
            sf.write(path, audio.T, rate, subtype="PCM_16")
        # the estimates of the stem-file songs, under the test subset's folder
        (tmp_path / "est" / "test").mkdir(parents=True, exist_ok=True)
        (tmp_path / "est" / "test" / name).symlink_to(report_separations / "train" / name)
    result, _ = evaluate_folder(tmp_path / "est", tmp_path / "hq", subset="test", out=tmp_path / "scores",
                                name="shipped", protocol="v4", workers=1)
    assert result["references"] == "int16"
    db = musdb.DB(root=str(tmp_path / "hq"), subsets="test", is_wav=True)
    assert sorted(t.name for t in db.tracks) == sorted(names)
    for track in db.tracks:
        ours = next(tr for tr in result["tracks"] if tr["name"] == track.name)
        _assert_same(ours["frames"], _museval_windows(track, tmp_path / "est" / "test", "v4"), track.name)


def test_stem_files_decode_on_musdbs_grid(shared_data):
    """Bit for bit the audio of ``musdb.DB``: references, mixture and the summed accompaniment."""
    import musdb

    name = list_tracks(shared_data, "train", "report")[0]
    track = next(t for t in musdb.DB(root=str(shared_data), subsets="train", split="valid").tracks
                 if t.name == name)
    _, stems = read_stem_file(shared_data / "train" / f"{name}.stem.mp4")
    assert np.array_equal(stems["mixture"].T, track.audio)
    assert np.array_equal(stems["vocals"].T, track.targets["vocals"].audio)
    acc = stems["drums"] + stems["bass"] + stems["other"]
    assert np.array_equal(acc.T, track.targets["accompaniment"].audio)
    # the float decode is not musdb's: it differs by up to half a 16-bit step
    _, floats = read_stem_file(shared_data / "train" / f"{name}.stem.mp4", grid="float")
    gap = np.abs(floats["vocals"] - stems["vocals"]).max()
    assert 0 < gap <= 1 / 32768


def test_semisep_evaluate_equals_eval_mus_track_on_the_toy_songs(toy_root, tmp_path):
    """The toy set is MUSDB18-HQ's layout with float WAV stems on the 16-bit grid, which ``musdb`` (reading WAV
    as 16-bit integers) reads exactly: here too our numbers are museval's own. Needs no shared data."""
    import musdb

    est = tmp_path / "est"
    separate_musdb(load_separator(PRETRAINED_DIR, device="cpu"), toy_root, "test", est, progress=False)
    names = list_tracks(toy_root, "test")[:2]
    result, _ = evaluate_folder(est, toy_root, subset="test", out=tmp_path / "scores", name="shipped",
                                protocol="v4", workers=1)
    assert result["references"] == "int16"
    db = musdb.DB(root=str(toy_root), subsets="test", is_wav=True)
    for track in (t for t in db.tracks if t.name in names):
        ours = next(tr for tr in result["tracks"] if tr["name"] == track.name)
        _assert_same(ours["frames"], _museval_windows(track, est / "test", "v4"), track.name)
