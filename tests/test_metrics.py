"""The fast SDR of ``metrics`` equals museval's BSS Eval v4 SDR, window by window, NaN windows included."""

from __future__ import annotations

import numpy as np
import pytest

from semisep_lib.method.metrics import energy_fraction, framewise_sdr, median_sdr, museval_sdr, sdr

RATE = 4000  # small, so that museval's 512-tap filters are quick; windows are 1 s as in SiSEC


def museval_v4(references: list[np.ndarray], estimates: list[np.ndarray]) -> np.ndarray:
    """museval's framewise SDR of the first source; arrays ``(samples, channels)``."""
    import museval  # a dependency (pyproject.toml); heavy, so imported here. Missing, this fails, not skips
    SDR, _, _, _ = museval.evaluate(np.stack(references), np.stack(estimates), win=RATE, hop=RATE, mode="v4")
    return SDR[0]


def test_fast_sdr_equals_museval_on_random_and_structured_stereo_signals():
    rng = np.random.default_rng(0)
    n = int(4.5 * RATE)  # four whole windows and a partial one, which museval (and we) leave out
    t = np.arange(n) / RATE
    # random: white-noise voice with a silent second window, noisy estimate
    voc_r = rng.standard_normal((n, 2))
    voc_r[RATE:2 * RATE] = 0
    acc_r = rng.standard_normal((n, 2))
    est_r = voc_r + 0.4 * rng.standard_normal((n, 2)) + 0.1 * acc_r
    # structured: a vibrato tone with an envelope, panned; the estimate leaks a bass line and is delayed
    env = 0.5 * (1 + np.sin(2 * np.pi * 0.7 * t))
    tone = env * np.sin(2 * np.pi * (440 * t + 3 * np.sin(2 * np.pi * 5 * t)))
    voc_s = np.stack([0.8 * tone, 0.5 * tone], axis=1)
    acc_s = np.stack([np.sin(2 * np.pi * 110 * t), 0.7 * np.sin(2 * np.pi * 110 * t + 0.3)], axis=1)
    est_s = np.roll(voc_s, 3, axis=0) * 0.9 + 0.2 * acc_s

    # one museval call for both (its 512-tap filter fit costs seconds whatever the length); v4's SDR does not
    # depend on those filters, so scoring the two signals one after the other changes nothing window by window
    voc, acc, est = (np.concatenate(pair) for pair in ((voc_r, voc_s), (acc_r, acc_s), (est_r, est_s)))
    ref_frames = museval_v4([voc, acc], [est, voc + acc - est])
    ours = framewise_sdr(voc, est, RATE)
    assert ours.shape == ref_frames.shape == (9,)  # 2 × 4.5 s: the trailing half window is left out
    assert np.array_equal(np.isnan(ours), np.isnan(ref_frames))
    assert np.isnan(ours[1]) and np.isnan(ours).sum() == 1  # the silent reference window
    ok = ~np.isnan(ours)
    np.testing.assert_allclose(ours[ok], ref_frames[ok], atol=1e-6, rtol=0)
    assert median_sdr(voc, est, RATE) == pytest.approx(float(np.nanmedian(ref_frames)), abs=1e-6)


def test_silent_estimate_scores_zero_and_mono_and_short_signals():
    rng = np.random.default_rng(1)
    x = rng.standard_normal(3 * RATE)
    np.testing.assert_allclose(framewise_sdr(x, np.zeros_like(x), RATE), 0.0)
    assert median_sdr(x, x, RATE) == np.inf  # a perfect estimate
    short = x[: RATE // 2]  # shorter than one window: scored as one window
    assert framewise_sdr(short, 0.5 * short, RATE).shape == (1,)
    assert framewise_sdr(short, 0.5 * short, RATE)[0] == pytest.approx(20 * np.log10(2))
    assert sdr(x, 0.5 * x) == pytest.approx(20 * np.log10(2), abs=1e-6)
    assert np.isnan(median_sdr(np.zeros(RATE), x[:RATE], RATE))
    with pytest.raises(ValueError):
        framewise_sdr(x, x[:-1], RATE)


def test_energy_fraction():
    x = np.ones((2, 100))
    assert energy_fraction(0.5 * x, x) == pytest.approx(0.25)
    assert energy_fraction(x, np.zeros_like(x)) == 0.0


def test_museval_sdr_leaves_out_the_windows_museval_leaves_out():
    """A two-source evaluation: museval also drops windows where the accompaniment, the estimate or the mixture
    minus the estimate is silent (summed over channels), not only the vocals; elsewhere its SDR is the fast one."""
    rng = np.random.default_rng(2)
    n = 6 * RATE
    voc, acc = rng.standard_normal((n, 2)), rng.standard_normal((n, 2))
    est = 0.8 * voc + 0.1 * acc
    voc[0:RATE] = 0  # window 0: silent vocals
    acc[RATE:2 * RATE] = 0  # window 1: silent accompaniment
    est[2 * RATE:3 * RATE] = 0  # window 2: silent estimate
    est[3 * RATE:4 * RATE] = (voc + acc)[3 * RATE:4 * RATE]  # window 3: the other estimate (mixture − est) silent
    voc[4 * RATE:5 * RATE, 1] = -voc[4 * RATE:5 * RATE, 0]  # window 4: channels that cancel when summed
    ref = museval_v4([voc, acc], [est, voc + acc - est])
    ours = museval_sdr(voc, acc, est, RATE)
    assert np.array_equal(np.isnan(ours), np.isnan(ref)) and np.isnan(ours[:5]).all() and not np.isnan(ours[5])
    np.testing.assert_allclose(ours[5], ref[5], atol=1e-6, rtol=0)
    assert not np.isnan(framewise_sdr(voc, est, RATE)[1:5]).any()  # the plain fast SDR keeps them
