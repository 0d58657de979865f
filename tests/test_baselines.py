"""Bounds and baselines on tiny synthetic songs: shapes, superposition, oracle and NMF beat the mixture, silence
stays silence, files round-trip, and the ``baselines`` command runs (NES's own training: test_nes.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import SR, smoke_config as _cfg, synthetic_song as _song
from semisep_lib.errors import CheckpointError, UsageError
from semisep_lib.interfaces import cli
from semisep_lib.method.metrics import sdr
from semisep_lib.method.segments import TrainingData
from semisep_lib.study.baselines import MixtureBaseline, NMFBaseline, OracleIRM, SilentBaseline
from semisep_lib.study.nes import NESSeparator

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _tones(seconds: float, seed: int, rate: int = SR) -> np.ndarray:
    """An 'instrumental' of fixed tones (220, 330, 440 Hz) with random, slowly varying levels."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    out = np.zeros_like(t)
    for f in (220.0, 330.0, 440.0):
        out += rng.uniform(0.2, 1) * (1 + 0.5 * np.sin(2 * np.pi * rng.uniform(0.3, 2) * t)) * np.sin(2 * np.pi * f * t)
    return (0.1 * out).astype(np.float32)


@pytest.fixture(scope="module")
def nmf(td) -> NMFBaseline:
    return NMFBaseline(_cfg(), n_inst=8, n_voc=4, fit_iter=50, sep_iter=30).fit(td)


def _separators(nes, nmf, vocals, accompaniment):
    return [MixtureBaseline(), SilentBaseline(), nmf, nes, OracleIRM(_cfg()).with_references(vocals, accompaniment)]


@pytest.mark.parametrize("rate", [44100, 22050])
@pytest.mark.parametrize("channels", [1, 2])
def test_shapes_and_superposition(rate, channels, nes, nmf):
    mix, v, a = _song(rate, channels, seconds=0.7)
    for sep in _separators(nes, nmf, v, a):
        est = sep.separate(mix, rate)
        assert est.shape == mix.shape and est.dtype == np.float32, sep.name
        assert np.isfinite(est).all(), sep.name
        stems = sep.stems(mix, rate)
        np.testing.assert_allclose(stems["vocals"] + stems["accompaniment"], mix, atol=1e-6)


def test_silent_input_gives_silent_output(nes, nmf):
    zeros = np.zeros((2, 8000), dtype=np.float32)
    for sep in _separators(nes, nmf, zeros, zeros):
        est = sep.separate(zeros, 22050)
        assert np.isfinite(est).all() and np.abs(est).max() == 0, sep.name


def test_oracle_beats_mixture_and_needs_references():
    mix, v, a = _song(44100, 2, seconds=1.5)
    oracle = OracleIRM(_cfg())
    est = oracle.separate_with_references(mix, v, a, 44100)
    assert sdr(v, est) > sdr(v, mix) + 6
    wiener = OracleIRM(_cfg(), power=2).separate_with_references(mix, v, a, 44100)
    assert sdr(v, wiener) > sdr(v, mix) + 6
    with pytest.raises(UsageError):
        oracle.separate(mix, 44100)


def test_nmf_dictionary_removes_instrumental_tones(tmp_path):
    cfg = _cfg()
    td = TrainingData(mixtures=[], instrumentals=[_tones(2, seed=i) for i in range(3)])
    nmf = NMFBaseline(cfg, n_inst=6, n_voc=2, fit_iter=40, sep_iter=40).fit(td)
    t = np.arange(2 * SR) / SR
    voice = (0.15 * np.sin(2 * np.pi * 1250 * t) * (1 + 0.3 * np.sin(2 * np.pi * 3 * t))).astype(np.float32)
    mix = (voice + _tones(2, seed=9))[None]
    est = nmf.separate(mix, SR)
    assert sdr(voice[None], est) > sdr(voice[None], mix) + 6
    nmf.save(tmp_path / "nmf.npz")
    again = NMFBaseline.load(tmp_path / "nmf.npz")
    np.testing.assert_array_equal(again.separate(mix, SR), est)
    with pytest.raises(CheckpointError):
        NMFBaseline.load(tmp_path / "missing.npz")
    with pytest.raises(UsageError):
        NMFBaseline(cfg).separate(mix, SR)


def test_baselines_command(toy_root, tmp_path):
    out = tmp_path / "baselines"
    args = cli.build_parser().parse_args(["baselines", "--data", "toy", "--root", str(toy_root), "--preset", "smoke",
                              "--tracks", "4", "--out", str(out)])
    args.func(args)
    summary = json.loads((out / "baselines.json").read_text())
    assert summary["nmf"]["file"] == "nmf.npz" and summary["nes"]["file"] == "nes.pt"
    mix = (0.1 * np.random.default_rng(0).standard_normal((2, 4410))).astype(np.float32)
    for sep in (NMFBaseline.load(out / "nmf.npz"), NESSeparator.load(out / "nes.pt")):
        assert sep.separate(mix, 44100).shape == mix.shape


def test_oracle_mask_sits_on_a_trained_masks_grid():
    """The oracle's vocal mask and g's, side by side in notebook 07: the same (F, frames) grid of the model's STFT,
    whatever the input rate; 1 where only the voice sounds, 0 where only the band does."""
    import torch

    from semisep_lib.method.models import build_models
    from semisep_lib.method.separate import MaskSeparator

    cfg = _cfg()
    mix, voc, acc = _song(44100, 2, seconds=1.0)
    oracle = OracleIRM(cfg).vocal_mask(voc, acc, 44100)
    torch.manual_seed(0)
    g = build_models(cfg)[0]
    trained = MaskSeparator(g, cfg).vocal_mask(mix, 44100)
    assert oracle.shape == trained.shape and oracle.shape[0] == cfg.spectral.n_fft // 2
    assert 0.0 <= oracle.min() and oracle.max() <= 1.0 and 0.0 <= trained.min() and trained.max() <= 1.0
    t = np.arange(44100) / 44100
    tone = lambda f: np.sin(2 * np.pi * f * t).astype(np.float32)  # noqa: E731
    m = OracleIRM(cfg).vocal_mask(tone(1000), tone(4000), 44100)  # voice at 1 kHz, band at 4 kHz
    hz = cfg.spectral.sample_rate / cfg.spectral.n_fft
    assert m[round(1000 / hz), 5:-5].min() > 0.99 and m[round(4000 / hz), 5:-5].max() < 0.01
