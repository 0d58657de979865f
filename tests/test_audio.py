"""Reading and writing audio: round trips, the ffmpeg fallback, and one clear error per bad file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from semisep_lib.audio import read_audio, write_audio
from semisep_lib.errors import AudioError


def test_write_read_round_trip_is_exact(tmp_path: Path) -> None:
    audio = np.random.default_rng(0).uniform(-1, 1, size=(2, 1000)).astype(np.float32)
    write_audio(tmp_path / "x.wav", audio, 22050)
    back, rate = read_audio(tmp_path / "x.wav")
    assert rate == 22050 and back.dtype == np.float32 and back.shape == (2, 1000)
    np.testing.assert_array_equal(back, audio)
    assert [p.name for p in tmp_path.iterdir()] == ["x.wav"]  # no temporary files left behind


def test_equal_audio_gives_identical_bytes(tmp_path: Path) -> None:
    import io

    from semisep_lib.audio import _without_peak_timestamp

    audio = np.linspace(-0.5, 0.5, 300, dtype=np.float32).reshape(2, 150)
    buffer = io.BytesIO()
    sf.write(buffer, audio.T, 8000, format="WAV", subtype="FLOAT")
    raw = bytearray(buffer.getvalue())
    peak = raw.index(b"PEAK")
    raw[peak + 12:peak + 16] = b"\x01\x02\x03\x04"  # libsndfile's time stamp: the second of writing
    cleaned = _without_peak_timestamp(bytes(raw))
    write_audio(tmp_path / "a.wav", audio, 8000)
    assert cleaned == (tmp_path / "a.wav").read_bytes()
    assert cleaned[peak + 12:peak + 16] == bytes(4) and len(cleaned) == len(raw)


def test_mono_vector_is_written_as_one_channel(tmp_path: Path) -> None:
    write_audio(tmp_path / "m.wav", np.zeros(500, dtype=np.float32), 8000)
    audio, rate = read_audio(tmp_path / "m.wav")
    assert audio.shape == (1, 500) and rate == 8000


def test_stem_mp4_is_decoded_with_ffmpeg() -> None:
    import stempeg  # pinned in requirements.txt; imported here: it refuses to import without ffmpeg on PATH
    audio, rate = read_audio(stempeg.example_stem_path())  # soundfile cannot read mp4; ffmpeg can
    assert rate == 44100 and audio.shape[0] == 2 and audio.shape[1] > rate
    assert audio.dtype == np.float32 and np.isfinite(audio).all() and np.abs(audio).max() > 0.01


def _bad_files(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    """Bad inputs and a fragment of the sentence each must produce."""
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    text = tmp_path / "notes.wav"
    text.write_text("these are not samples\n" * 20)
    zero = tmp_path / "zero.wav"
    sf.write(zero, np.zeros((0, 2), dtype=np.float32), 44100, subtype="FLOAT")
    nan = tmp_path / "nan.wav"
    sf.write(nan, np.array([[0.0], [np.nan], [0.5]], dtype=np.float32), 44100, subtype="FLOAT")
    inf = tmp_path / "inf.wav"
    sf.write(inf, np.array([[0.0], [np.inf]], dtype=np.float32), 44100, subtype="FLOAT")
    return {
        "missing": (tmp_path / "nowhere.wav", "does not exist"),
        "directory": (tmp_path, "is a directory"),
        "empty": (empty, "is empty"),
        "not audio": (text, "is not an audio file"),
        "zero samples": (zero, "holds no samples"),
        "nan": (nan, "contains NaN or infinite samples"),
        "inf": (inf, "contains NaN or infinite samples"),
    }


@pytest.mark.parametrize("case", ["missing", "directory", "empty", "not audio", "zero samples", "nan", "inf"])
def test_bad_files_raise_one_sentence_naming_the_path(tmp_path: Path, case: str) -> None:
    path, fragment = _bad_files(tmp_path)[case]
    with pytest.raises(AudioError) as info:
        read_audio(path)
    message = str(info.value)
    assert fragment in message and str(path) in message
    assert message.endswith(".") and "\n" not in message


def test_write_refuses_nan_and_bad_shapes(tmp_path: Path) -> None:
    with pytest.raises(AudioError, match="NaN"):
        write_audio(tmp_path / "a.wav", np.array([[0.0, np.nan]]), 8000)
    with pytest.raises(AudioError, match=r"\(channels, samples\)"):
        write_audio(tmp_path / "b.wav", np.zeros((1000, 2)), 8000)  # (samples, channels) by mistake
    assert not list(tmp_path.iterdir())


def test_encode_audio_gives_files_a_browser_can_seek_in(tmp_path: Path) -> None:
    import shutil

    from semisep_lib.audio import encode_audio

    rate = 16000
    t = np.arange(int(1.5 * rate)) / rate
    x = np.stack([0.5 * np.sin(2 * np.pi * 440 * t), 2.0 * np.sin(2 * np.pi * 220 * t)]).astype(np.float32)
    wav, wav_rate = sf.read(__import__("io").BytesIO(encode_audio(x, rate, "wav")), always_2d=True)
    assert wav_rate == rate and wav.shape == (x.shape[1], 2)
    assert np.abs(wav[:, 0] - x[0]).max() < 1e-4 and wav[:, 1].max() <= 1.0  # clipped, not normalised
    with pytest.raises(AudioError, match="Unknown codec 'flac'"):
        encode_audio(x, rate, "flac")
    if shutil.which("ffmpeg") is None:
        return
    for codec, suffix in (("opus", ".webm"), ("mp3", ".mp3")):
        path = tmp_path / f"x{suffix}"
        path.write_bytes(encode_audio(x, rate, codec, "32k"))
        back, back_rate = read_audio(path)
        assert back.shape[0] == 2 and abs(back.shape[1] / back_rate - 1.5) < 0.06  # the duration is known
