"""Shared fixtures and helpers: the shared MUSDB18 preview (skipped when absent), the notebooks run once at the
smoke profile, a small toy set, a private cache,
an untrained run and its separator, test tones, a constant mask, synthetic per-window scores, and synthetic songs
with an NES trained on them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from semisep_lib.method.checkpoint import checkpoint_header, save_checkpoint
from semisep_lib.method.config import Config
from semisep_lib.method.models import build_models
from semisep_lib.method.segments import TrainingData
from semisep_lib.method.separate import MaskSeparator, load_separator
from semisep_lib.study.evaluate import METRICS, TARGETS, track_score
from semisep_lib.study.nes import NESSeparator, train_nes
from semisep_lib.study.toy import make_toy_dataset

REPO_ROOT = Path(__file__).resolve().parents[1]
#: The MUSDB18 7-second preview (train subset, 94 .stem.mp4 files), beside the repository.
SHARED_DATA = REPO_ROOT.parent / "shared" / "data" / "musdb18-7"


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Point ``$SEMISEP_CACHE`` at a temporary folder, so tests never read or fill the user's cache."""
    cache = tmp_path_factory.mktemp("semisep-cache")
    mp = pytest.MonkeyPatch()
    mp.setenv("SEMISEP_CACHE", str(cache))
    mp.delenv("MUSDB_PATH", raising=False)
    yield cache
    mp.undo()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Root of the shared MUSDB18 preview; skips the test when it is not there."""
    if not (SHARED_DATA / "train").is_dir():
        pytest.skip(f"shared MUSDB18 preview not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def smoke_notebooks(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The nine notebooks run headless at the smoke profile (about 6 minutes), once per session:
    ``{"folder": where they ran, "done": run_notebooks' result}``. test_notebooks.py checks the run;
    test_report.py renders it with ``semisep docs`` and opens the pages in a browser."""
    from semisep_lib.interfaces.notebooks import run_notebooks

    folder = tmp_path_factory.mktemp("notebooks") / "nb"
    return {"folder": folder, "done": run_notebooks("smoke", folder, progress=False)}


@pytest.fixture(scope="session")
def toy_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small toy set: 6 train songs (2 of them listed in valid.txt) and 4 test songs of 3 s, at 44.1 kHz."""
    return make_toy_dataset(tmp_path_factory.mktemp("toy") / "toy", tracks=6, test_tracks=4, seconds=3.0, seed=0)


def model_state(cfg: Config | None = None, seed: int = 0) -> dict:
    """A best.pt-style state of an untrained ``g`` (smoke preset unless ``cfg``), with torch seeded by ``seed``."""
    torch.manual_seed(seed)
    cfg = cfg or Config.from_preset("smoke")
    return checkpoint_header(cfg, 0, "semi", build_models(cfg)[0])


def make_run(run: Path) -> Path:
    """An untrained smoke-preset ``g`` saved as a run directory, in the train module's checkpoint format."""
    save_checkpoint(run / "best.pt", model_state())
    Config.from_preset("smoke").save(run / "config.yaml")
    return run


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    """An untrained run directory (:func:`make_run`), one per test module; test_reliability.py and test_plots.py
    define their own ``run_dir``."""
    return make_run(tmp_path_factory.mktemp("run"))


@pytest.fixture(scope="module")
def separator(run_dir) -> MaskSeparator:
    """The separator of ``run_dir``, on the CPU."""
    return load_separator(run_dir, device="cpu")


def tones(channels: int, rate: int, seconds: float, seed: int = 0, noise: float = 0.05) -> np.ndarray:
    """A few harmonic tones and a little white noise, ``(channels, samples)`` float32."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    out = [sum(np.sin(2 * np.pi * f * (c + 1) * t) / (k + 1) for k, f in enumerate((220.0, 330.0, 495.0)))
           + noise * rng.standard_normal(t.size) for c in range(channels)]
    return (0.2 * np.stack(out)).astype(np.float32)


def all_tensors_equal(a: dict, b: dict) -> None:
    """Assert that two state dicts hold the same keys and bit-identical tensors."""
    assert a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), name


class ConstantMask(torch.nn.Module):
    """A stand-in for ``g`` whose instrumental mask is ``value`` everywhere."""

    down_factor = 4

    def __init__(self, value: float):
        super().__init__()
        self.value = value

    def mask(self, mag: torch.Tensor) -> torch.Tensor:
        assert mag.shape[-1] % self.down_factor == 0
        return torch.full_like(mag, self.value)


#: Per-window vocal SDRs of three tracks; NaN / None: windows museval leaves out (a silent reference).
WINDOWS = {
    "a": [0.0, -30.0, 0.0, 3.0],   # median 0.0, mean -6.75
    "b": [2.0, float("nan"), 4.0, -20.0],   # median 2.0, mean -14/3 (the NaN window skipped, not counted as 0)
    "c": [5.0, 5.0, None],         # median 5.0, mean 5.0
}


def fake_track(name: str, windows: list) -> dict:
    """A track as :func:`~semisep_lib.study.evaluate.score_track` returns it: per-window values under ``frames`` and
    the per-track median; every metric and target gets the same windows (SIR shifted by +10 dB)."""
    frames = {t: {m: [None if v is None else v + (10.0 if m == "SIR" else 0.0) for v in windows]
                  for m in METRICS} for t in TARGETS}
    track = {"name": name, "frames": frames, "fast_sdr": 1.0, "silent_floor": 0.0, "vocal_energy_fraction": 0.1}
    for t in TARGETS:
        track[t] = {m: track_score(frames[t][m], "median") for m in METRICS}
    return track


def fake_tracks() -> list[dict]:
    """The three tracks of :data:`WINDOWS`, as :func:`fake_track` makes them."""
    return [fake_track(name, w) for name, w in WINDOWS.items()]


# -- synthetic songs and an NES trained on them (test_baselines.py, test_nes.py) ---------------------------------------

SR = 16000  # the smoke preset's model rate


def smoke_config() -> Config:
    """The smoke preset's configuration."""
    return Config.from_preset("smoke")


def synthetic_voice(seconds: float, f0: float, rate: int = SR, seed: int = 0) -> np.ndarray:
    """A harmonic 'voice' with vibrato and syllable envelopes, mono float32."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    phase = 2 * np.pi * np.cumsum(f0 * (1 + 0.01 * np.sin(2 * np.pi * 5.5 * t))) / rate
    x = sum(np.sin(k * phase + rng.uniform(0, 6)) / k for k in range(1, 9))
    env = np.clip(np.sin(2 * np.pi * 1.3 * t + rng.uniform(0, 6)), 0, None)
    return (0.2 * env * x).astype(np.float32)


def synthetic_noise(seconds: float, rate: int = SR, seed: int = 0) -> np.ndarray:
    """A noise 'instrumental', mono float32."""
    return (0.05 * np.random.default_rng(seed).standard_normal(int(seconds * rate))).astype(np.float32)


def synthetic_song(rate: int, channels: int, seconds: float = 1.0, seed: int = 0):
    """(mixture, vocals, accompaniment), each ``(channels, samples)`` at ``rate``."""
    v = np.stack([synthetic_voice(seconds, 200 + 30 * c, rate, seed + c) for c in range(channels)])
    a = np.stack([synthetic_noise(seconds, rate, seed + 10 + c) for c in range(channels)])
    return v + a, v, a


@pytest.fixture(scope="module")
def one_torch_thread():
    """Tiny convolutions run fastest on one thread, and do not fight other processes for the cores."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def td() -> TrainingData:
    """Six mixtures (voice + noise) and six instrumentals from other 'songs', 2 s each at 16 kHz (test_train.py
    defines its own ``td``, the toy set's)."""
    mixes = [synthetic_voice(2, 180 + 25 * i, seed=i) + synthetic_noise(2, seed=100 + i) for i in range(6)]
    insts = [synthetic_noise(2, seed=200 + i) for i in range(6)]
    return TrainingData(mixtures=mixes, instrumentals=insts)


@pytest.fixture(scope="module")
def nes(td) -> NESSeparator:
    """An NES trained on ``td`` with the smoke presets, seed 0."""
    return train_nes(td, smoke_config(), Config.from_preset("smoke").nes, seed=0, progress=False)
