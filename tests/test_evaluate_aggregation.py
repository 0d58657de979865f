"""Pooling per-window scores: SiSEC 2018's median (default) against the paper's per-track mean (SiSEC 2016).

Fast: synthetic per-window arrays and numpy signals only, no museval run."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from conftest import WINDOWS, fake_tracks
from semisep_lib.errors import UsageError
from semisep_lib.fileio import jsonable
from semisep_lib.method.metrics import framewise_sdr
from semisep_lib.study.evaluate import AGGREGATION, AGGREGATIONS, aggregate, reaggregate, track_score

NAN = float("nan")


def test_track_score_median_and_mean_skip_nan_windows():
    assert track_score(WINDOWS["a"]) == 0.0 and track_score(WINDOWS["a"], "mean") == -6.75
    assert track_score(WINDOWS["b"]) == 2.0 and track_score(WINDOWS["b"], "mean") == pytest.approx(-14 / 3)
    assert track_score(WINDOWS["c"]) == 5.0 and track_score(WINDOWS["c"], "mean") == 5.0
    # a track with no scored window is NaN, without a warning, under both
    with np.errstate(all="raise"):
        assert math.isnan(track_score([NAN, None], "median")) and math.isnan(track_score([NAN, None], "mean"))
    with pytest.raises(UsageError, match="Unknown aggregation"):
        track_score([1.0], "average")


def test_aggregate_median_of_medians_against_median_of_means():
    med, mean = aggregate(fake_tracks()), aggregate(fake_tracks(), "mean")
    # SiSEC 2018: median over tracks of (0, 2, 5); the paper's: median over tracks of (-6.75, -4.667, 5)
    assert med["vocals"]["SDR"] == 2.0 and med["vocals"]["SIR"] == 12.0
    assert mean["vocals"]["SDR"] == pytest.approx(-14 / 3) and mean["vocals"]["SIR"] == pytest.approx(10 - 14 / 3)
    assert mean["accompaniment"]["SAR"] == pytest.approx(-14 / 3)
    # the default is the SiSEC 2018 aggregation, and the guards are the same under both
    assert aggregate(fake_tracks(), "median") == med
    for key in ("fast_sdr", "silent_floor", "vocal_energy_fraction"):
        assert med[key] == mean[key]
    assert AGGREGATIONS["median"] == AGGREGATION and "mean over windows per track" in AGGREGATIONS["mean"]
    with pytest.raises(UsageError, match="no per-window scores"):
        aggregate([{k: v for k, v in fake_tracks()[0].items() if k != "frames"}], "mean")


def test_reaggregate_a_saved_result_without_scoring_again():
    result = {"name": "x", "aggregation": AGGREGATION, "tracks": fake_tracks()} | aggregate(fake_tracks())
    saved = json.loads(json.dumps(jsonable(result)))  # as results.json holds it: NaN windows written as null
    assert saved["tracks"][1]["frames"]["vocals"]["SDR"][1] is None
    paper = reaggregate(saved, "mean")
    assert paper["aggregation"] == AGGREGATIONS["mean"] and paper["vocals"]["SDR"] == pytest.approx(-14 / 3)
    assert saved["aggregation"] == AGGREGATION and saved["vocals"]["SDR"] == 2.0  # the original is untouched
    back = reaggregate(paper, "median")
    assert back["vocals"] == result["vocals"] and back["aggregation"] == AGGREGATION


def test_silence_scores_0_db_under_both_but_a_leaky_estimate_is_pulled_down_by_the_mean():
    """Why the aggregation matters for a collapsed ``g``: the image SDR of each window is an SNR. A silent vocal
    estimate scores exactly 0 dB in every window (mean = median = 0). An estimate leaking 10 % of the mixture
    scores about +0.9 dB where the voice is loud but about −20 dB where it is faint (−40 dB under the
    accompaniment): the median over windows barely notices, the mean falls by several dB."""
    rng = np.random.default_rng(0)
    win, n_win = 1000, 10
    t = np.arange(win * n_win)
    level = np.repeat([1, 1, 0.01, 1, 1, 0.01, 1, 1, 0.01, 1], win)  # three faint-voice windows
    voice = np.sqrt(2) * np.sin(2 * np.pi * t / 40) * level
    acc = rng.standard_normal(t.size)
    mix = voice + acc
    silent = framewise_sdr(voice, np.zeros_like(voice), win)
    assert np.all(silent == 0.0)
    assert track_score(silent, "median") == track_score(silent, "mean") == 0.0
    leaky = framewise_sdr(voice, 0.1 * mix, win)
    loud, faint = leaky[level[::win] == 1], leaky[level[::win] < 1]
    assert np.allclose(loud, 10 * np.log10(1 / 0.82), atol=0.3)  # ‖v‖² / ((1 − ε)²‖v‖² + ε²‖c‖²)
    assert np.allclose(faint, 10 * np.log10(1e-4 / 0.01), atol=0.5)  # the leaked accompaniment dominates
    assert track_score(leaky, "median") == pytest.approx(0.86, abs=0.3)
    assert track_score(leaky, "mean") == pytest.approx((7 * 0.86 - 3 * 20) / 10, abs=0.5)  # about −5.4 dB
