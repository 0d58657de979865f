"""Reading and writing audio files, with one clear sentence for every way a file can be wrong.

Arrays are always float32 and shaped ``(channels, samples)`` — the transpose of what soundfile and musdb use.
``soundfile`` (libsndfile) reads WAV, FLAC, OGG and MP3; anything else (``.mp4``, ``.m4a``, MUSDB's
``.stem.mp4``) is decoded by ``ffmpeg``, which yields the first audio stream — for a stem file, the mixture.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

from .errors import AudioError
from .fileio import atomic_write_bytes


def read_audio(path: str | Path) -> tuple[np.ndarray, int]:
    """Read an audio file.

    Returns ``(audio, rate)``: ``audio`` is float32 ``(channels, samples)``, ``rate`` the sample rate in Hz.
    Raises :class:`AudioError` if the path is missing, a directory, empty, not decodable audio, holds no
    samples, or holds NaN/inf samples.
    """
    path = Path(path)
    if not path.exists():
        raise AudioError(f"Audio file {path} does not exist.")
    if path.is_dir():
        raise AudioError(f"{path} is a directory, not an audio file.")
    if path.stat().st_size == 0:
        raise AudioError(f"Audio file {path} is empty (0 bytes).")
    try:
        # soundfile gives (samples, channels); we keep (channels, samples)
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
        audio = np.ascontiguousarray(data.T)
    except (sf.LibsndfileError, RuntimeError, TypeError):
        audio, rate = _read_with_ffmpeg(path)
    if audio.shape[1] == 0:
        raise AudioError(f"Audio file {path} holds no samples.")
    if not np.isfinite(audio).all():
        raise AudioError(f"Audio file {path} contains NaN or infinite samples.")
    return audio, int(rate)


def _read_with_ffmpeg(path: Path) -> tuple[np.ndarray, int]:
    """Decode the first audio stream of ``path`` with ffmpeg; returns float32 ``(channels, samples)`` and rate."""
    if shutil.which("ffmpeg") is None or shutil.which("ffprobe") is None:
        raise AudioError(
            f"Audio file {path} is not in a format soundfile reads, and ffmpeg is not installed to decode it; "
            f"install ffmpeg (e.g. `conda install ffmpeg` or `apt install ffmpeg`)."
        )
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "a:0", "-show_entries", "stream=sample_rate,channels",
         "-of", "json", str(path)],
        capture_output=True, text=True,
    )
    try:
        stream = json.loads(probe.stdout)["streams"][0]
        rate, channels = int(stream["sample_rate"]), int(stream["channels"])
    except (ValueError, KeyError, IndexError, TypeError):
        raise AudioError(f"{path} is not an audio file that soundfile or ffmpeg can decode.") from None
    decoded = subprocess.run(
        ["ffmpeg", "-v", "error", "-nostdin", "-i", str(path), "-map", "0:a:0", "-f", "f32le",
         "-acodec", "pcm_f32le", "-"],
        capture_output=True,
    )
    if decoded.returncode != 0:
        message = decoded.stderr.decode(errors="replace").strip().splitlines()
        reason = message[-1] if message else f"exit code {decoded.returncode}"
        raise AudioError(f"ffmpeg could not decode audio file {path} ({reason}).")
    # ffmpeg interleaves channels: (samples * channels,) -> (samples, channels) -> (channels, samples)
    flat = np.frombuffer(decoded.stdout, dtype="<f4")
    flat = flat[: len(flat) // channels * channels]
    return np.ascontiguousarray(flat.reshape(-1, channels).T), rate


def write_audio(path: str | Path, audio: np.ndarray, rate: int) -> None:
    """Write ``audio`` — ``(channels, samples)``, or ``(samples,)`` for mono — as a 32-bit float WAV, atomically.

    Float WAV keeps every sample exactly, so sums of written stems read back as the written mixture. Equal
    audio gives byte-identical files (the time stamp libsndfile puts in the ``PEAK`` chunk is zeroed).
    """
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim == 1:
        audio = audio[None, :]
    if audio.ndim != 2 or audio.shape[0] > 64:
        raise AudioError(
            f"Cannot write {path}: audio must be shaped (channels, samples), got shape {tuple(audio.shape)}."
        )
    if not np.isfinite(audio).all():
        raise AudioError(f"Refusing to write {path}: the audio contains NaN or infinite samples.")
    buffer = io.BytesIO()
    # soundfile wants (samples, channels)
    sf.write(buffer, audio.T, int(rate), format="WAV", subtype="FLOAT")
    atomic_write_bytes(path, _without_peak_timestamp(buffer.getvalue()))


def _without_peak_timestamp(wav: bytes) -> bytes:
    """Zero the write time stored in a WAV file's ``PEAK`` chunk (version, timestamp, then peaks)."""
    data = bytearray(wav)
    offset = 12  # after "RIFF", size, "WAVE"
    while offset + 8 <= len(data):
        chunk, size = bytes(data[offset:offset + 4]), int.from_bytes(data[offset + 4:offset + 8], "little")
        if chunk == b"PEAK" and size >= 8:
            data[offset + 12:offset + 16] = bytes(4)
        if chunk == b"data":
            break
        offset += 8 + size + (size & 1)
    return bytes(data)


#: How :func:`encode_audio` writes each codec: (file suffix, MIME type, ffmpeg encoder arguments; ``None``: no
#: ffmpeg needed). Opus in WebM is about a tenth of an MP3 of the same quality at speech-and-music rates.
AUDIO_CODECS = {"opus": (".webm", "audio/webm", ["-c:a", "libopus", "-application", "audio"]),
                "mp3": (".mp3", "audio/mpeg", ["-c:a", "libmp3lame"]),
                "wav": (".wav", "audio/wav", None)}


def encode_audio(audio: np.ndarray, rate: int, codec: str = "opus", bitrate: str = "40k") -> bytes:
    """The bytes of an audio file of ``audio`` ``(channels, samples)`` or ``(samples,)``, clipped to ±1 (not
    normalised: relative loudness between signals is kept): Opus in WebM or MP3 at ``bitrate`` (by ffmpeg, into
    a seekable file, so that a browser knows its duration and can seek in it), or 16-bit PCM WAV (``"wav"``, no
    ffmpeg). :class:`AudioError` when the codec is unknown or ffmpeg is missing or fails."""
    if codec not in AUDIO_CODECS:
        raise AudioError(f"Unknown codec {codec!r}; choose from {', '.join(AUDIO_CODECS)}.")
    x = np.clip(np.nan_to_num(np.atleast_2d(np.asarray(audio, dtype=np.float32))), -1.0, 1.0)
    suffix, _, args = AUDIO_CODECS[codec]
    if args is None:
        buf = io.BytesIO()
        sf.write(buf, x.T, int(rate), format="WAV", subtype="PCM_16")
        return buf.getvalue()
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise AudioError(f"Encoding {codec} needs ffmpeg, which is not installed; install it or use codec \"wav\".")
    with tempfile.TemporaryDirectory(prefix="semisep-encode-") as tmp:
        path = Path(tmp) / f"audio{suffix}"
        # (channels, samples) → interleaved float32 samples on ffmpeg's stdin
        cmd = [ffmpeg, "-nostdin", "-v", "error", "-y", "-f", "f32le", "-ar", str(int(rate)), "-ac", str(x.shape[0]),
               "-i", "pipe:0", *args, "-b:a", bitrate, "-threads", "1", str(path)]
        done = subprocess.run(cmd, input=np.ascontiguousarray(x.T).tobytes(), capture_output=True)
        if done.returncode:
            why = (done.stderr.decode(errors="replace").strip().splitlines() or [f"exit code {done.returncode}"])[-1]
            raise AudioError(f"ffmpeg could not encode {codec} audio ({why}).")
        return path.read_bytes()
