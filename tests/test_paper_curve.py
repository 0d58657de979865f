"""experiments/paper_curve: the lent-GPU curve of the paper preset, tried on the toy set with shrunk networks (the
curve's points, its summary, the time budget, g's weights in parts that join into a model file), and the FLAC copy
it carries (bit for bit the WAV samples)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from semisep_lib.method.checkpoint import load_checkpoint, load_g

HERE = Path(__file__).resolve().parents[1] / "experiments" / "paper_curve"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"paper_curve_{name}", HERE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_flac_copy_holds_the_same_samples(tmp_path):
    flac = _load("flac")
    src = tmp_path / "wav"
    rng = np.random.default_rng(0)
    for song in ("a", "b"):
        (src / "train" / song).mkdir(parents=True)
        for stem in ("mixture", "accompaniment"):
            x = rng.integers(-32768, 32767, size=(5000, 1), dtype=np.int16)
            sf.write(src / "train" / song / f"{stem}.wav", x, 20480, subtype="PCM_16")
    (src / "valid.txt").write_text("b\n")
    assert flac.convert(src, tmp_path / "flac", "flac")[0] == 4
    assert flac.convert(tmp_path / "flac", tmp_path / "back", "wav")[0] == 4
    for f in src.rglob("*.wav"):
        a, _ = sf.read(f, dtype="int16")
        b, rate = sf.read(tmp_path / "back" / f.relative_to(src), dtype="int16")
        assert rate == 20480 and np.array_equal(a, b)
    assert (tmp_path / "back" / "valid.txt").read_text() == "b\n"


def test_curve_points_summary_and_g_parts(toy_root, tmp_path):
    curve = _load("curve")
    res, run, keep = tmp_path / "results", tmp_path / "run", tmp_path / "g"
    keep.mkdir()
    curve.main(["--root", str(toy_root), "--device", "cpu", "--shrink", "--every", "2", "--max-steps", "4",
                "--results", str(res), "--run", str(run), "--keep-g", str(keep), "--workers", "1", "--threads", "1"])
    name = "paper-seed0-cpu-shrunk"
    points = [json.loads(ln) for ln in (res / f"{name}.jsonl").read_text().splitlines()]
    assert [p["step"] for p in points] == [0, 2, 4]
    for p in points:
        assert p["preset"] == "paper" and p["shrunk"] and p["device"] == "cpu"
        assert 0 <= p["vocal_energy_fraction"] <= 1.5 and np.isfinite(p["SDR"])
    summary = json.loads((res / f"{name}.summary.json").read_text())
    assert summary["steps"] == 4 and summary["stopped_because"] == "max steps reached"
    assert (res / "curve.png").is_file() and name in (res / "table.md").read_text()
    # g's parts join into a model file with the checkpoint's weights, in fp16
    parts = sorted(keep.glob(f"{name}.g-fp16.pt.*"))
    assert [p.name for p in parts] == summary["g_weights"]["g_fp16_parts"]
    joined = tmp_path / "g.pt"
    joined.write_bytes(b"".join(p.read_bytes() for p in parts))
    g, cfg = load_g(joined)
    want = load_checkpoint(run / "checkpoint.pt")["g"]
    for k, v in g.state_dict().items():
        if v.is_floating_point():
            torch.testing.assert_close(v, want[k].half().float())
    assert cfg.preset == "paper" and cfg.spectral.sample_rate == 20480


def test_curve_stops_inside_its_budget(toy_root, tmp_path):
    curve = _load("curve")
    res = tmp_path / "results"
    curve.main(["--root", str(toy_root), "--device", "cpu", "--shrink", "--every", "2", "--budget-s", "0",
                "--results", str(res), "--run", str(tmp_path / "run"), "--workers", "1", "--threads", "1"])
    summary = json.loads((res / "paper-seed0-cpu-shrunk.summary.json").read_text())
    assert summary["steps"] == 0 and summary["stopped_because"].startswith("time budget")
    assert summary["points"] == 1  # the untrained g is scored before anything is trained
