"""The procedural toy set: layout, exact superposition, determinism, a sung (pitched) voice, the CLI."""

from __future__ import annotations

import filecmp
from pathlib import Path

import numpy as np
import pytest

from semisep_lib.audio import read_audio
from semisep_lib.errors import UsageError
from semisep_lib.interfaces import cli
from semisep_lib.study import data, toy

FILES = ("mixture", "vocals", "drums", "bass", "other")


def _songs(root: Path, subset: str) -> list[Path]:
    return sorted(p for p in (root / subset).iterdir() if p.is_dir())


def test_layout_has_train_test_valid_and_all_stems(toy_root: Path) -> None:
    train, test = _songs(toy_root, "train"), _songs(toy_root, "test")
    assert len(train) == 6 and len(test) == 4
    assert not {p.name for p in train} & {p.name for p in test}
    valid = (toy_root / "valid.txt").read_text().split()
    assert len(valid) >= 2 and set(valid) < {p.name for p in train}
    for song in train + test:
        for name in FILES:
            audio, rate = read_audio(song / f"{name}.wav")
            assert rate == 44100 and audio.shape == (2, 3 * 44100)


def test_mixture_is_exactly_the_sum_of_the_stems(toy_root: Path) -> None:
    for song in _songs(toy_root, "train") + _songs(toy_root, "test"):
        audio = {name: read_audio(song / f"{name}.wav")[0].astype(np.float64) for name in FILES}
        total = audio["vocals"] + audio["drums"] + audio["bass"] + audio["other"]
        assert np.abs(audio["mixture"] - total).max() < 1e-6
        assert max(np.abs(a).max() for a in audio.values()) < 1.0
        assert min(np.abs(a).max() for a in audio.values()) > 0.01  # every stem is audible


def test_default_set_has_at_least_four_songs_per_subset() -> None:
    train, test, valid = toy.song_names(toy.DEFAULTS["tracks"], toy.DEFAULTS["test_tracks"])
    assert len(train) >= 4 and len(test) >= 4 and 2 <= len(valid) < len(train)


def test_same_seed_same_files_other_seed_other_files(tmp_path: Path) -> None:
    kwargs = dict(tracks=4, test_tracks=1, seconds=1.0, sample_rate=16000)
    a = toy.make_toy_dataset(tmp_path / "a", seed=3, **kwargs)
    b = toy.make_toy_dataset(tmp_path / "b", seed=3, **kwargs)
    c = toy.make_toy_dataset(tmp_path / "c", seed=4, **kwargs)
    for name in FILES:
        rel = Path("train") / "toy-000" / f"{name}.wav"
        assert filecmp.cmp(a / rel, b / rel, shallow=False)
        assert not filecmp.cmp(a / rel, c / rel, shallow=False)
    # songs within one set differ too
    assert not np.array_equal(toy.make_song(3, 0, 1.0, 16000)["vocals"], toy.make_song(3, 1, 1.0, 16000)["vocals"])


def _autocorrelation_pitch(frame: np.ndarray, rate: int) -> tuple[float, float]:
    """(f0 in Hz, normalised autocorrelation peak) of one frame, searching 80–1200 Hz."""
    frame = frame - frame.mean()
    spectrum = np.fft.rfft(frame, 2 * len(frame))
    ac = np.fft.irfft(np.abs(spectrum) ** 2)[: len(frame)]
    lo, hi = int(rate / 1200), int(rate / 80)
    lag = lo + int(np.argmax(ac[lo:hi]))
    return rate / lag, float(ac[lag] / (ac[0] + 1e-12))


def test_voice_is_sung_pitched_melody_with_rests(toy_root: Path) -> None:
    rests = []
    for song in _songs(toy_root, "train")[:3]:
        voice, rate = read_audio(song / "vocals.wav")
        voice = voice.mean(0)
        frames = np.lib.stride_tricks.sliding_window_view(voice, 2048)[::1024]
        rms = np.sqrt((frames ** 2).mean(1))
        loud = frames[rms > 0.3 * rms.max()]
        pitches = [_autocorrelation_pitch(f, rate) for f in loud]
        pitched = [f0 for f0, peak in pitches if peak > 0.5]
        assert len(pitched) >= 0.8 * len(loud)
        assert all(100 <= f0 <= 1000 for f0 in pitched)
        assert len({round(12 * np.log2(f0 / 440)) for f0 in pitched}) >= 3  # a melody, not one note
        rests.append((rms < 0.05 * rms.max()).any())
    assert any(rests)  # silences between phrases


def test_too_few_tracks_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="at least 4 training tracks"):
        toy.make_toy_dataset(tmp_path / "t", tracks=3)


@pytest.fixture
def small_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    """Shrink the built-in set so that ensure_toy_dataset runs in well under a second."""
    for key, value in dict(tracks=4, test_tracks=1, seconds=0.5, sample_rate=8000).items():
        monkeypatch.setitem(toy.DEFAULTS, key, value)


def test_ensure_toy_dataset_caches_and_repairs(tmp_path: Path, small_defaults: None) -> None:
    root = data.ensure_toy_dataset(tmp_path / "cache" / "toy")
    marker = root / "train" / "toy-000" / "vocals.wav"
    stamp = marker.stat().st_mtime_ns
    assert data.ensure_toy_dataset(tmp_path / "cache" / "toy") == root and marker.stat().st_mtime_ns == stamp
    marker.unlink()  # an incomplete set is regenerated, identically
    data.ensure_toy_dataset(root)
    assert marker.is_file()
    assert [p.name for p in (tmp_path / "cache").iterdir()] == ["toy"]  # no temporary folders left


def test_ensure_toy_dataset_default_location(small_defaults: None, _private_cache: Path) -> None:
    assert data.ensure_toy_dataset() == _private_cache / "toy"


def test_toy_data_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = cli.build_parser().parse_args(["toy-data", str(tmp_path / "d"), "--tracks", "4", "--test-tracks", "1",
                              "--seconds", "0.5", "--seed", "2"])
    args.func(args)
    out = capsys.readouterr().out
    assert "4 training songs" in out and "1 test songs" in out and str(tmp_path / "d") in out
    assert len(_songs(tmp_path / "d", "train")) == 4


def test_toy_data_through_the_full_cli(tmp_path: Path) -> None:
    assert cli.main(["toy-data", str(tmp_path / "d"), "--tracks", "4", "--test-tracks", "1", "--seconds", "0.5"]) == 0
    assert cli.main(["toy-data", str(tmp_path / "e"), "--tracks", "2"]) == 2  # UsageError's exit code
