"""The shipped pretrained model: it loads, `separate` uses it by default, and it still scores what its card says."""

import json

import numpy as np
import pytest

from semisep_lib.interfaces.cli import main
from semisep_lib.method.config import Config
from semisep_lib.method.separate import default_model, load_separator
from semisep_lib.study.data import selection_report_split, validation_names
from semisep_lib.study.pretrained import PRETRAINED_DIR, example_vocal_sdr, render_card

CARD = PRETRAINED_DIR / "card.json"


def test_pretrained_model_is_shipped_small_with_a_card():
    assert (PRETRAINED_DIR / "best.pt").stat().st_size < 5 * 2**20
    card = json.loads(CARD.read_text())
    assert {"ours (this model)", "mixture", "oracle IRM", "supervised same g", "NES", "NMF"} <= set(card["report"])
    assert card["command"] and "MODEL_CARD" not in card["command"]
    assert default_model() == PRETRAINED_DIR


def test_the_card_is_its_json_rendered_and_names_the_threads_training_used():
    """MODEL_CARD.md is card.json through ``render_card``; training time is said with the run's own thread
    count (its ``train.threads``), not that of the process that made the card."""
    card = json.loads(CARD.read_text())
    assert (PRETRAINED_DIR / "MODEL_CARD.md").read_text() == render_card(card)
    threads = card["config"]["train"].get("threads")
    minutes = f"{card['training_seconds'] / 60:.0f} min on "
    said = render_card(card).split(minutes)[1].split(";")[0]
    assert said.endswith(f"{threads} torch thread" + ("" if threads == 1 else "s")) if threads else "thread" not in said
    made_elsewhere = {**card, "machine": "cpu, 16 torch threads", "config": {"train": {"threads": 1}}}
    assert "16 torch threads" not in render_card(made_elsewhere) and "cpu, 1 torch thread;" in render_card(made_elsewhere)
    threads_unset = {**card, "machine": "cpu, 16 torch threads", "config": {"train": {"threads": 0}}}
    assert "16 torch threads" not in render_card(threads_unset) and " min on cpu;" in render_card(threads_unset)


def test_the_pretrained_run_is_the_candidate_best_on_the_selection_songs(tmp_path):
    """``choose_run``: of several runs, the one whose best checkpoint scored highest on the selection songs (the
    report songs play no part); a run without a scored best.pt is refused."""
    from semisep_lib.errors import UsageError
    from semisep_lib.method.checkpoint import CHECKPOINT_VERSION, PROGRAM, save_checkpoint
    from semisep_lib.study.pretrained import choose_run, render_card

    for name, sdr in {"a": 3.8, "b": 4.08, "c": 3.97}.items():
        (tmp_path / name).mkdir()
        header = {"program": PROGRAM, "version": CHECKPOINT_VERSION, "config": {}, "step": 7, "g": {}}
        save_checkpoint(tmp_path / name / "best.pt", {**header, "valid": {"val_sdr": sdr, "step": 7}})
    chosen, table = choose_run([tmp_path / n for n in "abc"])
    assert chosen == tmp_path / "b" and [r["val_sdr"] for r in table] == [3.8, 4.08, 3.97]
    assert choose_run([tmp_path / "a"])[0] == tmp_path / "a"
    (tmp_path / "d").mkdir()
    with pytest.raises(UsageError, match="selection songs"):
        choose_run([tmp_path / "a", tmp_path / "d"])
    card = {**json.loads(CARD.read_text()),
            "chosen_from": {"rule": "RULE", "runs": table, "supervised": table[:1]}}
    assert "**Chosen** by RULE" in render_card(card) and f"`{tmp_path / 'b'}` 4.08 dB" in render_card(card)


def test_the_card_reports_on_songs_that_chose_nothing(tmp_path):
    """Songs that choose never report: the card's songs are the report half of musdb's validation list, and it
    shows the SDR-favouring and the SIR-favouring post-processing side by side."""
    card = json.loads(CARD.read_text())
    select, report = selection_report_split(validation_names(tmp_path))  # tmp_path has no valid.txt: musdb's list
    assert card["report_songs"] and set(card["report_songs"]) <= set(report)
    assert not set(card["report_songs"]) & set(select)
    assert {"ours (this model)", "ours, SIR-favouring post-processing"} <= set(card["report"])
    assert card["postprocessing"]["by_sdr"] and card["postprocessing"]["favouring_sir"]


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
    shipped, cpu = load_separator().cfg, Config.from_preset("cpu")
    assert (shipped.model, shipped.spectral) == (cpu.model, cpu.spectral)  # the cpu preset's g


def test_the_card_shows_the_voice_at_four_levels():
    """Issue 32: the card scores the model on the report songs remixed with the voice at −6, 0, +6 and +12 dB,
    beside the supervised g, half the mixture and the oracle mask, and renders the table."""
    card = json.loads(CARD.read_text())
    sweep = card["level_sweep"]
    assert {"ours (this model)", "supervised same g", "half the mixture", "oracle IRM"} == set(sweep)
    for row in sweep.values():
        assert list(row["conditions"]) == ["vocals-6dB", "vocals+0dB", "vocals+6dB", "vocals+12dB"]
        sdr = [c["SDR"] for c in row["conditions"].values()]
        assert row["level_sweep_sdr"] == pytest.approx(np.mean(sdr))
        true = [c["true"] for c in row["conditions"].values()]
        assert true == sorted(true) and 0 < true[0] < true[-1] < 1  # a louder voice: more of the energy
    half = sweep["half the mixture"]["conditions"]
    assert all(c["called"] == pytest.approx(0.25, abs=1e-3) for c in half.values())
    assert "## The voice louder or quieter than MUSDB18 mixes it" in render_card(card)
