"""museval scoring with SiSEC 2018 aggregation, the collapse guards, and the evaluate command."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from conftest import make_run
from semisep_lib.interfaces import cli
from semisep_lib.method.metrics import median_sdr
from semisep_lib.method.separator import Separator
from semisep_lib.study.data import Song
from semisep_lib.study.evaluate import evaluate_separator, score_track

RATE = 8000


class HalfMixture(Separator):
    """Calls half of the mixture voice: a deterministic, imperfect method."""

    name = "half"

    def separate(self, audio, rate):
        return 0.5 * audio


def tiny_song(name: str, seed: int, seconds: float = 4.0) -> Song:
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    voice = np.sin(2 * np.pi * (300 + 50 * seed) * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 0.5 * t))
    vocals = np.stack([voice, 0.6 * voice]) * (1 + seed)
    vocals[:, RATE: 2 * RATE] = 0  # a silent second: that window is NaN for museval and for us
    acc = 0.5 * rng.standard_normal((2, n))
    vocals, acc = vocals.astype(np.float32), acc.astype(np.float32)
    return Song(name, RATE, vocals + acc, vocals, acc)


def museval_track_medians(path) -> dict:
    """Per target and metric, the median over frames of a museval JSON file, as museval aggregates it."""
    d = json.loads(path.read_text())
    out = {}
    for target in d["targets"]:
        frames = target["frames"]
        out[target["name"]] = {m: float(np.nanmedian([np.nan if f["metrics"][m] is None else f["metrics"][m]
                                                      for f in frames])) for m in ("SDR", "SIR", "SAR")}
    return out


def test_evaluate_two_tracks_in_parallel_aggregates_median_of_medians(tmp_path):
    songs = [tiny_song("one", 0), tiny_song("two", 1)]
    res = evaluate_separator(HalfMixture(), songs, tmp_path, "half", protocol="v4", workers=2, progress=False)
    assert [t["name"] for t in res["tracks"]] == ["one", "two"]
    files = {p.stem: p for p in (tmp_path / "half" / "museval").glob("*.json")}
    assert set(files) == {"one", "two"}
    for t in res["tracks"]:
        on_disk = museval_track_medians(files[t["name"]])
        for target in ("vocals", "accompaniment"):
            assert len(t["frames"][target]["SDR"]) == 4 and math.isnan(t["frames"][target]["SDR"][1])
            for m in ("SDR", "SIR", "SAR"):
                assert t[target][m] == pytest.approx(on_disk[target][m], abs=1e-4)  # JSON keeps 5 decimals
    for target in ("vocals", "accompaniment"):
        for m in ("SDR", "SIR", "ISR", "SAR"):
            assert res[target][m] == pytest.approx(np.median([t[target][m] for t in res["tracks"]]))
    # the guards: fast SDR equals museval's v4 SDR, the silent floor is 0 dB, half the mixture is a quarter of
    # its energy
    for t, song in zip(res["tracks"], songs):
        fast = median_sdr(song.vocals.T, 0.5 * song.mixture.T, RATE)
        assert t["fast_sdr"] == pytest.approx(fast) and t["fast_sdr"] == pytest.approx(t["vocals"]["SDR"], abs=1e-6)
        assert t["silent_floor"] == 0.0
        assert t["vocal_energy_fraction"] == pytest.approx(0.25, rel=1e-5)
    assert res["silent_floor"] == 0.0 and res["vocal_energy_fraction"] == pytest.approx(0.25, rel=1e-5)
    saved = json.loads((tmp_path / "half" / "results.json").read_text())  # strict JSON: NaN written as null
    assert saved["vocals"]["SDR"] == pytest.approx(res["vocals"]["SDR"]) and saved["protocol"] == "v4"
    assert saved["tracks"][0]["frames"]["vocals"]["SDR"][1] is None


def test_evaluate_command_on_separated_toy_songs(toy_root, tmp_path, capsys):
    """`separate --musdb-subset valid` then `evaluate --protocol v3` (30 s windows: one per 3 s song)."""
    run = make_run(tmp_path / "run")
    est = tmp_path / "estimates"
    rc = cli.main(["separate", "--musdb-subset", "valid", "--root", str(toy_root), "--model", str(run),
                   "--out", str(est), "--device", "cpu"])
    assert rc == 0, capsys.readouterr().err
    names = sorted(p.name for p in (est / "train").iterdir())
    assert names == ["toy-004", "toy-005"]
    rc = cli.main(["evaluate", "--estimates", str(est), "--root", str(toy_root), "--subset", "valid",
                   "--protocol", "v3", "--workers", "1", "--out", str(tmp_path / "scores"), "--name", "smoke"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "| smoke |" in out
    res = json.loads((tmp_path / "scores" / "smoke" / "results.json").read_text())
    assert res["protocol"] == "v3" and len(res["tracks"]) == 2
    assert len(res["tracks"][0]["frames"]["vocals"]["SDR"]) == 1
    # the paper's protocol: v3 windows pooled by their per-track mean, said in the table
    rc = cli.main(["evaluate", "--estimates", str(est), "--root", str(toy_root), "--subset", "valid",
                   "--protocol", "v3", "--aggregation", "mean", "--workers", "1", "--out", str(tmp_path / "paper"),
                   "--name", "smoke"])
    out = capsys.readouterr().out
    assert rc == 0 and "mean over windows per track" in out
    paper = json.loads((tmp_path / "paper" / "smoke" / "results.json").read_text())
    assert paper["aggregation"].startswith("mean over windows per track")
    # missing estimates: one clear sentence
    rc = cli.main(["evaluate", "--estimates", str(est), "--root", str(toy_root), "--subset", "test"])
    err = capsys.readouterr().err
    assert rc == 3 and "have no estimates" in err and "Traceback" not in err


def test_suspect_windows_flag_sdr_above_isr_and_pool_over_tracks():
    from semisep_lib.study.evaluate import SUSPECT_MARGIN_DB, suspect_share, suspect_windows

    frames = {"SDR": [5.0, 5.0, 5.0, None, 3.0], "ISR": [4.0, 4.6, 9.0, 1.0, None]}
    # 5.0 > 4.0 + 0.5 flags; 5.0 > 4.6 + 0.5 does not; windows with a NaN (None) are not scored
    assert SUSPECT_MARGIN_DB == 0.5 and suspect_windows(frames) == (1, 3)
    tracks = [{"frames": {"vocals": frames}}, {"frames": {"vocals": {"SDR": [1.0], "ISR": [0.0]}}}]
    assert suspect_share(tracks) == pytest.approx(2 / 4)
    assert np.isnan(suspect_share([{"frames": {"vocals": {"SDR": [None], "ISR": [1.0]}}}]))


def test_reference_grid_tells_musdbs_16_bit_decoding_from_floats():
    from semisep_lib.study.evaluate import reference_grid

    k = np.random.default_rng(0).integers(-32768, 32768, size=(2, 100))
    assert reference_grid((k / 32768).astype(np.float32)) == "int16"
    assert reference_grid(k / 32768 + 1e-6) == "float"


def test_a_scored_track_carries_its_guard_and_reference_grid():
    rng = np.random.default_rng(1)
    voc, acc = (np.round(rng.standard_normal((2, 44100)) * 3000) / 32768 for _ in range(2))
    est = {"vocals": voc + 0.1 * acc, "accompaniment": acc + 0 * voc}
    out = score_track("t", 44100, voc + acc, {"vocals": voc, "accompaniment": acc}, est)
    assert out["references"] == "int16"
    suspect, scored = out["suspect_windows"]
    assert scored == 1 and suspect == 0  # white-noise references: a well-conditioned projection
