"""experiments/discriminators/tell.py: the AUC it reports, and a checkpoint's discriminators measured end to end."""

import importlib.util
import json
from pathlib import Path

import pytest

from semisep_lib.method.checkpoint import checkpoint_header, save_checkpoint
from semisep_lib.method.config import Config
from semisep_lib.method.models import build_models
from semisep_lib.study.data import list_tracks

SCRIPT = Path(__file__).resolve().parents[1] / "experiments" / "discriminators" / "tell.py"


@pytest.fixture(scope="module")
def tell():
    spec = importlib.util.spec_from_file_location("tell", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_auc_is_the_chance_that_a_real_example_scores_above_a_fake_one(tell):
    assert tell.auc([2.0, 3.0], [0.0, 1.0]) == 1.0
    assert tell.auc([0.0, 1.0], [2.0, 3.0]) == 0.0
    assert tell.auc([1.0, 1.0], [1.0]) == 0.5  # ties count one half
    assert tell.auc([0.0, 2.0], [1.0]) == 0.5


def test_a_checkpoint_is_measured_on_the_selection_songs_and_reported(tell, toy_root, tmp_path, monkeypatch):
    import torch

    torch.manual_seed(0)
    cfg = Config.from_preset("smoke")
    g, d_A, d_C = build_models(cfg)
    save_checkpoint(tmp_path / "run" / "checkpoint.pt", checkpoint_header(
        cfg, 7, "semi", g, d_A=d_A.state_dict(), d_C=d_C.state_dict()))
    out = tell.tell(tmp_path / "run" / "checkpoint.pt", toy_root)
    assert out["step"] == 7 and out["songs"] == list_tracks(toy_root, "train", "select")
    assert out["segments"] >= out["voiced_segments"] > 0
    assert all(0 <= v <= 1 for part in ("all", "voiced") for v in out[part].values()) and len(out["all"]) == 6
    log = tmp_path / "auc.jsonl"
    monkeypatch.setattr("sys.argv", ["tell.py", str(tmp_path / "run"), "--root", str(toy_root), "--append", str(log)])
    tell.main()
    tell.main()  # the same checkpoint step is measured once
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(r["run"], r["step"]) for r in lines] == [("run", 7)]
    assert tell.report(log).is_file() and "| run | 7 |" in log.with_suffix(".md").read_text()
