"""Robustness to the mix (``semisep_lib.study.levels``): remixes stay on the 16-bit grid and obey superposition, the
energy fractions are what a hand computation gives, old models can be separated as they shipped, and the
``levels`` command runs on toy songs and writes its files."""

from __future__ import annotations

import json

import numpy as np
import pytest

from semisep_lib.errors import UsageError
from semisep_lib.interfaces.cli import main
from semisep_lib.method.checkpoint import save_checkpoint
from semisep_lib.method.config import Config, SeparateConfig
from semisep_lib.study.data import Song, list_tracks
from semisep_lib.study.levels import (GRID, LEVELS_DB, HalfMixture, MixChange, changes_by_name, default_changes,
                                model_separator, on_grid, read_stems, remix, score_condition, tilt)

from conftest import model_state


@pytest.fixture(scope="module")
def toy_song(toy_root):
    """One toy training song's rate and stems (on the grid; mixture = exact sum of the four)."""
    name = list_tracks(toy_root, "train")[0]
    return read_stems(toy_root, "train", name)


def test_zero_db_gives_back_the_original_mix_exactly(toy_song):
    rate, stems = toy_song
    r = remix(stems, rate, MixChange("vocals+0dB"))
    for k in ("vocals", "drums", "bass", "other"):
        assert np.array_equal(r[k], stems[k]), k
    assert np.array_equal(r["mixture"], stems["mixture"])
    assert r["mixture"].dtype == np.float32


def test_plus_six_db_doubles_the_vocals_within_rounding(toy_song):
    rate, stems = toy_song
    r = remix(stems, rate, MixChange("vocals+6dB", vocals_db=6.0))
    exact = stems["vocals"].astype(np.float64) * 10 ** (6 / 20)
    assert np.max(np.abs(r["vocals"] - exact)) <= 0.5 / GRID  # one rounding, nothing else
    assert np.allclose(r["vocals"], 2 * stems["vocals"], rtol=3e-3, atol=1 / GRID)  # +6 dB ≈ twice the amplitude
    acc = stems["drums"] + stems["bass"] + stems["other"]
    assert np.array_equal(r["accompaniment"], acc)  # the accompaniment is untouched


@pytest.mark.parametrize("change", default_changes(), ids=lambda c: c.name)
def test_every_remix_is_on_the_grid_and_sums_exactly(toy_song, change):
    rate, stems = toy_song
    r = remix(stems, rate, change)
    for k in ("vocals", "drums", "bass", "other", "accompaniment", "mixture"):
        assert on_grid(r[k]), k
    assert np.array_equal(r["accompaniment"], r["drums"] + r["bass"] + r["other"])
    assert np.array_equal(r["mixture"], r["vocals"] + r["accompaniment"])  # superposition, to the last bit


def test_the_changes_are_linear_before_rounding():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, 2, 8000)) * 0.1
    for slope in (3.0, -3.0):
        assert np.allclose(tilt(a + b, 8000, slope), tilt(a, 8000, slope) + tilt(b, 8000, slope), atol=1e-12)
    # the tilt's gain at the pivot is 1, at two octaves above it +6 dB (for 3 dB/octave)
    t = np.arange(32000) / 16000
    for f, gain_db in ((1000.0, 0.0), (4000.0, 6.0), (250.0, -6.0)):
        x = np.sin(2 * np.pi * f * t)[None]
        y = tilt(x, 16000, 3.0)
        mid = slice(8000, 24000)  # away from the ends
        assert 20 * np.log10(np.std(y[0, mid]) / np.std(x[0, mid])) == pytest.approx(gain_db, abs=0.05)


def test_energy_fractions_by_hand(tmp_path):
    """Vocals 0.5·sin(440 Hz) in both channels, accompaniment 0.25·sin(1000 Hz) on the left and half that on the
    right, whole periods in 2 s (so the tones are orthogonal): the voice holds 2·0.125 / (2·0.125 + 0.03125 +
    0.0078125) = 0.865 of the energy; half the mixture calls 0.25 of it voice (−5.39 dB)."""
    rate = 8000
    t = np.arange(2 * rate) / rate
    v = np.round(0.5 * np.sin(2 * np.pi * 440 * t) * GRID) / GRID
    a = np.round(0.25 * np.sin(2 * np.pi * 1000 * t) * GRID) / GRID
    stems = {"vocals": np.stack([v, v]).astype(np.float32), "accompaniment": np.stack([a, 0.5 * a]).astype(np.float32)}
    r = remix(stems, rate, MixChange("vocals+0dB"))
    song = Song("tones", rate, r["mixture"], r["vocals"], r["accompaniment"])
    true = (2 * 0.125) / (2 * 0.125 + 0.03125 + 0.25 * 0.03125)  # mean squares: 0.5²/2, 0.25²/2, (0.25/2)²/2
    out = score_condition(HalfMixture(), [song], tmp_path, "half", workers=1)
    assert out["vocal_energy_true"] == pytest.approx(true, rel=1e-4)
    assert out["vocal_energy_called"] == pytest.approx(0.25, rel=1e-6)
    assert out["vocal_energy_ratio_db"] == pytest.approx(10 * np.log10(0.25 / true), abs=1e-3)
    # +6 dB on the vocals: their share grows to g²·E_v / (g²·E_v + E_a)
    g2 = 10 ** (6 / 10)
    r6 = remix(stems, rate, MixChange("vocals+6dB", vocals_db=6.0))
    e_v, e_a = 2 * 0.125, 0.03125 * 1.25
    share = float(np.sum(r6["vocals"].astype(np.float64) ** 2) / np.sum(r6["mixture"].astype(np.float64) ** 2))
    assert share == pytest.approx(g2 * e_v / (g2 * e_v + e_a), rel=1e-4)


def test_change_names():
    assert [c.name for c in changes_by_name(["levels"])] == [f"vocals{db:+g}dB" for db in LEVELS_DB]
    assert [c.name for c in changes_by_name(["drums+6dB", "vocals+6dB"])] == ["drums+6dB", "vocals+6dB"]
    assert sum(c.is_level for c in default_changes()) == len(LEVELS_DB)
    with pytest.raises(UsageError):
        changes_by_name(["vocals+7dB"])


def test_a_model_separates_as_it_shipped(tmp_path):
    """A checkpoint from before ``separate.stereo`` and ``block_factor`` existed: ``current`` fills them from
    today's preset (one mid mask, long blocks), ``checkpoint`` with the behaviour before they existed."""
    state = model_state(Config.from_preset("cpu"))
    for key in ("stereo", "block_factor", "bf16"):
        del state["config"]["separate"][key]
    save_checkpoint(tmp_path / "best.pt", state)
    now, then = model_separator(tmp_path, "current", "cpu"), model_separator(tmp_path, "checkpoint", "cpu")
    assert now.stereo == Config.from_preset("cpu").separate.stereo == "mid"
    assert then.stereo == SeparateConfig().stereo == "channels"
    assert then.block == Config.from_preset("cpu").spectral.segment_frames  # block_factor 1
    assert not then.bf16


def test_levels_command_on_toy_songs(toy_root, run_dir, tmp_path, capsys):
    out = tmp_path / "levels.json"
    code = main(["levels", "--model", str(run_dir), "--root", str(toy_root), "--out", str(out),
                 "--changes", "vocals+0dB", "vocals+6dB", "--workers", "1", "--device", "cpu"])
    assert code == 0, capsys.readouterr().err
    result = json.loads(out.read_text())
    assert result["songs"] == "select" and result["song_names"] == list_tracks(toy_root, "train", "select")
    methods = result["methods"]
    assert set(methods) == {run_dir.name, "mixture", "silent (g = identity)", "half the mixture", "oracle IRM"}
    for m in methods.values():
        assert set(m["conditions"]) == {"vocals+0dB", "vocals+6dB"}
        for c in m["conditions"].values():
            assert c["references"] == "int16"
    ours = methods[run_dir.name]
    sdrs = [ours["conditions"][n]["vocals"]["SDR"] for n in ("vocals+0dB", "vocals+6dB")]
    assert ours["summary"]["level_sweep_sdr"] == pytest.approx(np.mean(sdrs))
    half = methods["half the mixture"]["conditions"]
    assert all(c["vocal_energy_called"] == pytest.approx(0.25, rel=1e-5) for c in half.values())
    assert methods["mixture"]["conditions"]["vocals+6dB"]["vocal_energy_called"] == pytest.approx(1.0)
    true = [result["conditions"][n]["vocal_energy_true"] for n in ("vocals+0dB", "vocals+6dB")]
    assert true[1] > true[0]
    md = out.with_suffix(".md").read_text()
    assert "selection songs" in md and "level-sweep mean" in md and "REPORT" not in md


def test_report_songs_are_labelled(toy_root, run_dir, tmp_path):
    out = tmp_path / "report.json"
    assert main(["levels", "--model", str(run_dir), "--root", str(toy_root), "--out", str(out), "--report-songs",
                 "--no-baselines", "--changes", "vocals+0dB", "--workers", "1", "--device", "cpu"]) == 0
    result = json.loads(out.read_text())
    assert result["songs"] == "report" and result["song_names"] == list_tracks(toy_root, "train", "report")
    assert "REPORT songs" in out.with_suffix(".md").read_text()


def test_musdb_stems_stay_on_the_grid(shared_data):
    name = list_tracks(shared_data, "train", "select")[0]
    rate, stems = read_stems(shared_data, "train", name)
    r = remix(stems, rate, MixChange("vocals+0dB"))
    for k in ("vocals", "drums", "bass", "other"):
        assert np.array_equal(r[k], stems[k]), k  # musdb's decode is on the grid already: nothing moves
    r12 = remix(stems, rate, MixChange("vocals+12dB", vocals_db=12.0))
    assert on_grid(r12["vocals"]) and np.array_equal(r12["mixture"], r12["vocals"] + r12["accompaniment"])
