"""Every plotting function returns a matplotlib Figure (Agg backend, no pyplot)."""

from __future__ import annotations

import json

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from matplotlib.figure import Figure

from semisep_lib.study import plots


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


def test_method_diagram_attaches_every_term_and_highlights_some():
    fig = plots.method_diagram()
    texts = {t.get_text(): t for t in fig.axes[0].texts}
    for term, (a, b, asks, *_) in plots.DIAGRAM_TERMS.items():
        assert f"{term}: {asks}" in texts  # each term's label, beside the line between the two things it compares
        assert a in plots.DIAGRAM_NODES and b in plots.DIAGRAM_NODES
    assert any("S_A" in t for t in texts) and any("S_C" in t for t in texts)  # the two sets
    faint = {t.get_text().split(":")[0]: t.get_alpha() for t in plots.method_diagram(("GAN_A",)).axes[0].texts
             if t.get_text().split(":")[0] in plots.DIAGRAM_TERMS}
    assert faint["GAN_A"] == 1.0 and faint["R1"] < 1.0
    with pytest.raises(ValueError, match="not R5"):
        plots.method_diagram(("R5",))
    assert plots.image_bytes(fig, "jpeg")[:2] == b"\xff\xd8" and plots.image_bytes(fig, "png")[:4] == b"\x89PNG"


def test_masks_exponent_curves_and_windows():
    m = np.linspace(0, 1, 8 * 5).reshape(8, 5)
    fig = plots.masks({"ours": m, "oracle": (m[None], 8000, 64)}, rate=16000, hop=128)
    (a, b) = [ax for ax in fig.axes if ax.get_title()]
    assert a.get_title() == "ours (mean 0.50)" and a.get_xlim()[1] == pytest.approx(5 * 128 / 16000)
    assert b.get_xlim()[1] == pytest.approx(5 * 64 / 8000)  # a mask's own rate and hop
    curve = [{"mask_family": f, "mask_power": p, "SDR": sdr, "SIR": sir}
             for f, rows in (("ours", ((1.0, 4.0, 6.0), (2.0, 3.5, 10.0))),
                             ("authors", ((1.0, 4.1, 6.5), (9.0, 2.4, 3.0))))
             for p, sdr, sir in rows]
    fig = plots.exponent_curves(curve, "t", {"mask_family": "authors", "mask_power": 1.0},
                                {"mask_family": "ours", "mask_power": 2.0})
    sdr_ax = fig.axes[0]
    lines = {ln.get_label(): ln for ln in sdr_ax.lines}
    assert list(lines["ours: (1 − m)^p"].get_ydata()) == [4.0, 3.5]
    assert list(lines["authors: 1 − σ^q"].get_xdata()) == [1.0, 9.0]
    assert list(lines["chosen by SDR"].get_ydata()) == [4.1] and list(lines["favouring SIR"].get_ydata()) == [3.5]
    fig = plots.window_sdr({"ours": np.array([3.0, np.nan, 4.0, -20.0]), "mixture": np.array([-3.0, -4.0])})
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels == ["ours: median 3.00, mean -4.33 dB", "mixture: median -3.50, mean -3.50 dB"]
