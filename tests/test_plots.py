"""Every plotting function returns a matplotlib Figure (Agg backend, no pyplot)."""

from __future__ import annotations

import json

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from matplotlib.figure import Figure

from semisep_lib import plots


@pytest.fixture()
def run_dir(tmp_path):
    """A fake run folder with log.jsonl (every term) and valid.jsonl."""
    rng = np.random.default_rng(0)
    with open(tmp_path / "log.jsonl", "w") as f:
        for step in range(20):
            row = {"step": step, "D_A": 0.5 + 0.1 * rng.random(), "D_C": 0.5}
            if step >= 3:  # discriminator warm-up: no generator terms yet
                row.update({t: float(rng.random()) for t in ("R1", "R2", "R3", "R4", "GAN_A", "GAN_C")})
                row.update(G_total=3.0, mask_a=0.9, mask_c=0.95, vocal_fraction=0.05)
            f.write(json.dumps(row) + "\n")
    with open(tmp_path / "valid.jsonl", "w") as f:
        for step in (10, 20):
            f.write(json.dumps({"step": step, "val_sdr": 1.0, "val_sdr_mixture": -3.0}) + "\n")
    return tmp_path


def test_read_jsonl_fills_missing_with_nan(run_dir):
    log = plots.read_jsonl(run_dir)
    assert len(log["step"]) == 20
    assert np.isnan(log["R1"][:3]).all() and np.isfinite(log["R1"][3:]).all()
    assert plots.read_jsonl(run_dir / "missing") == {}


def test_smooth_ignores_nan():
    out = plots.smooth(np.array([np.nan, 1.0, 3.0, np.nan, 5.0]), 2)
    assert np.isnan(out[0]) and out[2] == 2.0 and out[3] == 3.0


def test_spectrograms_and_mask():
    rate = 8000
    t = np.arange(rate) / rate
    tone = np.sin(2 * np.pi * 440 * t).astype(np.float32)
    assert isinstance(plots.spectrogram(tone, rate, title="tone"), Figure)
    assert isinstance(plots.spectrograms({"a": tone, "b": np.stack([tone, 0 * tone])}, rate, columns=3), Figure)
    assert isinstance(plots.mask(np.random.rand(1, 64, 20), rate, 128), Figure)
    assert isinstance(plots.mask(np.random.rand(64, 20)), Figure)
    with pytest.raises(ValueError):
        plots.mask(np.random.rand(2, 3, 4))
    assert plots.png_bytes(plots.spectrogram(tone[:100], rate)).startswith(b"\x89PNG")


def test_curves(run_dir):
    fig = plots.loss_curves(run_dir)
    assert isinstance(fig, Figure)
    titles = {ax.get_title() for ax in fig.axes if ax.get_visible()}
    assert "reconstruction terms (R1–R4)" in titles and "discriminator losses" in titles
    history = {"step": [0, 1, 2], "mask_a": [0.5, 0.6, 0.7], "vocal_fraction": [0.1, 0.05, 0.0]}
    rows = [{"step": 0, "mask_a": 0.5}, {"step": 1, "mask_a": 0.6}]
    assert isinstance(plots.compare_runs({"run": run_dir, "history": history, "rows": rows}), Figure)
    assert isinstance(plots.validation_curves(run_dir), Figure)
    with pytest.raises(FileNotFoundError):
        plots.loss_curves(run_dir / "nothing")


def test_bars():
    table = {"identity": {"R1": 0.0, "R2": 0.0, "R3": 0.0, "R4": 0.0}, "silence": {"R1": 0.4, "R2": 0.0}}
    assert isinstance(plots.term_bars(table), Figure)
    # reproduce's table3.json format: medians with min/max over seeds, paper rows as (SDR, SIR) tuples
    rows = {label: {"SDR": {"median": 1.0, "min": 0.5, "max": 2.0}, "SIR": {"median": 5.0, "min": 5.0, "max": 5.0}}
            for label in plots.PAPER_TABLE3}
    fig = plots.ablation(rows, {k: (v["SDR"], v["SIR"]) for k, v in plots.PAPER_TABLE3.items()})
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == list(plots.PAPER_TABLE3)
    flat = [{"row": "all losses", "SDR": 2.0, "SIR": 9.0, "SDR_std": 0.3}, {"row": "w/o R1", "SDR": -1.0, "SIR": 2.0}]
    assert isinstance(plots.ablation(flat, title="t"), Figure)
    rows = [{"method": "ours", "SDR": 1.2, "paper_row": "ours"}, {"method": "NMF", "SDR": None, "paper_row": None}]
    fig = plots.metric_bars(rows, paper={"ours": {"SDR": 3.2, "SIR": 14.2}, "NMF": {"SDR": 0.0, "SIR": None}})
    assert isinstance(fig, Figure) and fig.axes[0].get_legend() is not None
