"""The shipped pretrained model: it loads, `separate` uses it by default, and it still scores what its card says."""

import json

import numpy as np
import pytest

from semisep_lib.cli import main
from semisep_lib.pretrained import PRETRAINED_DIR, example_vocal_sdr
from semisep_lib.separate import default_model, load_separator

CARD = PRETRAINED_DIR / "card.json"


def test_pretrained_model_is_shipped_small_with_a_card():
    assert (PRETRAINED_DIR / "best.pt").stat().st_size < 5 * 2**20
    card = json.loads(CARD.read_text())
    assert {"ours (this model)", "mixture", "oracle IRM", "supervised same g", "NES", "NMF"} <= set(card["validation"])
    assert card["command"] and "MODEL_CARD" not in card["command"]
    assert default_model() == PRETRAINED_DIR


def test_pretrained_vocal_sdr_regression():
    """As Open-Unmix does: the example track's vocal SDR must match the card to 0.1 dB."""
    expected = json.loads(CARD.read_text())["example_track_vocal_sdr"]
    assert example_vocal_sdr() == pytest.approx(expected, abs=0.1)


def test_separate_without_model_uses_pretrained(tmp_path):
    from semisep_lib.audio import read_audio, write_audio

    rng = np.random.default_rng(0)
    song = (0.1 * rng.standard_normal((2, 22050 * 2))).astype(np.float32)
    write_audio(tmp_path / "song.wav", song, 22050)
    assert main(["separate", str(tmp_path / "song.wav"), "--out", str(tmp_path / "out")]) == 0
    voc, rate = read_audio(tmp_path / "out" / "song" / "vocals.wav")
    acc, _ = read_audio(tmp_path / "out" / "song" / "accompaniment.wav")
    assert rate == 22050 and voc.shape == song.shape
    assert np.abs(voc + acc - song).max() < 1e-2
    assert load_separator().cfg.preset == "cpu"
