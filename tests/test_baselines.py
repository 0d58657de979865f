"""Bounds and baselines on tiny synthetic songs: shapes, superposition, oracle and NMF beat the mixture, NES
trains deterministically, silence stays silence, files round-trip, and the ``baselines`` command runs."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch

from semisep_lib import cli
from semisep_lib.baselines import MixtureBaseline, NMFBaseline, OracleIRM, SilentBaseline
from semisep_lib.config import Config
from semisep_lib.data import TrainingData
from semisep_lib.errors import CheckpointError, UsageError
from semisep_lib.metrics import sdr
from semisep_lib.nes import NESConfig, NESSeparator, train_nes

SR = 16000  # the smoke preset's model rate


def _cfg() -> Config:
    return Config.from_preset("smoke")


def _voice(seconds: float, f0: float, rate: int = SR, seed: int = 0) -> np.ndarray:
    """A harmonic 'voice' with vibrato and syllable envelopes, mono float32."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    phase = 2 * np.pi * np.cumsum(f0 * (1 + 0.01 * np.sin(2 * np.pi * 5.5 * t))) / rate
    x = sum(np.sin(k * phase + rng.uniform(0, 6)) / k for k in range(1, 9))
    env = np.clip(np.sin(2 * np.pi * 1.3 * t + rng.uniform(0, 6)), 0, None)
    return (0.2 * env * x).astype(np.float32)


def _noise(seconds: float, rate: int = SR, seed: int = 0) -> np.ndarray:
    """A noise 'instrumental', mono float32."""
    return (0.05 * np.random.default_rng(seed).standard_normal(int(seconds * rate))).astype(np.float32)


def _tones(seconds: float, seed: int, rate: int = SR) -> np.ndarray:
    """An 'instrumental' of fixed tones (220, 330, 440 Hz) with random, slowly varying levels."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    out = np.zeros_like(t)
    for f in (220.0, 330.0, 440.0):
        out += rng.uniform(0.2, 1) * (1 + 0.5 * np.sin(2 * np.pi * rng.uniform(0.3, 2) * t)) * np.sin(2 * np.pi * f * t)
    return (0.1 * out).astype(np.float32)


def _song(rate: int, channels: int, seconds: float = 1.0, seed: int = 0):
    """(mixture, vocals, accompaniment), each ``(channels, samples)`` at ``rate``."""
    v = np.stack([_voice(seconds, 200 + 30 * c, rate, seed + c) for c in range(channels)])
    a = np.stack([_noise(seconds, rate, seed + 10 + c) for c in range(channels)])
    return v + a, v, a


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    """Tiny convolutions run fastest on one thread, and do not fight other processes for the cores."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def td() -> TrainingData:
    """Six mixtures (voice + noise) and six instrumentals from other 'songs', 2 s each at 16 kHz."""
    mixes = [_voice(2, 180 + 25 * i, seed=i) + _noise(2, seed=100 + i) for i in range(6)]
    insts = [_noise(2, seed=200 + i) for i in range(6)]
    return TrainingData(mixtures=mixes, instrumentals=insts)


@pytest.fixture(scope="module")
def nes(td) -> NESSeparator:
    return train_nes(td, _cfg(), NESConfig.from_preset("smoke"), seed=0, progress=False)


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


def test_nes_deterministic_and_loss_decreases(td, nes, tmp_path):
    again = train_nes(td, _cfg(), NESConfig.from_preset("smoke"), seed=0, progress=False)
    for k, w in nes.net.state_dict().items():
        assert torch.equal(w, again.net.state_dict()[k]), k
    assert again.history == nes.history
    smoke = NESConfig.from_preset("smoke")
    assert len(nes.history) == smoke.iterations * smoke.epochs
    # within one iteration (x̃ fixed) the L1 loss goes down epoch after epoch
    longer = dataclasses.replace(NESConfig.from_preset("smoke"), iterations=1, epochs=8)
    losses = [h["loss"] for h in train_nes(td, _cfg(), longer, seed=0, progress=False).history]
    assert losses[-1] < 0.95 * losses[0] and sum(b < a for a, b in zip(losses, losses[1:])) >= 6
    other = train_nes(td, _cfg(), NESConfig.from_preset("smoke"), seed=1, progress=False)
    assert other.history != nes.history
    # save / load keeps the separation
    mix, _, _ = _song(SR, 1, seconds=0.5)
    nes.save(tmp_path / "nes.pt")
    loaded = NESSeparator.load(tmp_path / "nes.pt")
    np.testing.assert_array_equal(loaded.separate(mix, SR), nes.separate(mix, SR))
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError):
        NESSeparator.load(tmp_path / "junk.pt")


def test_nes_magnitude_domain_and_paper_config(td):
    cfg = NESConfig.from_preset("smoke")
    cfg.mix_domain, cfg.iterations, cfg.epochs = "magnitude", 1, 1
    sep = train_nes(td, _cfg(), cfg, seed=0, progress=False)
    assert np.isfinite(sep.history[0]["loss"])
    paper = NESConfig.from_preset("paper")
    assert (paper.sample_rate, paper.n_fft, paper.hop, paper.width, paper.batch_size) == (20480, 512, 204, 64, 64)
    assert paper.spectral_for(_cfg()).sample_rate == 20480
    assert NESConfig.from_preset("cpu").spectral_for(_cfg()).hop == 128
    with pytest.raises(UsageError):
        NESConfig(patch_frames=30).check()


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
