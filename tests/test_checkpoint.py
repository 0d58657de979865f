"""Checkpoint files and weights (``semisep_lib.method.checkpoint``): one header, round trips, ``load_g`` (the EMA when
there is one), every bad file one ``CheckpointError``, a state dict that does not fit refused whole."""

from __future__ import annotations

import pytest
import torch

from conftest import all_tensors_equal
from semisep_lib.errors import CheckpointError
from semisep_lib.method.checkpoint import (HEADER_KEYS, checkpoint_header, load_checkpoint, load_g, load_weights,
                                           pick_device, save_checkpoint)
from semisep_lib.method.config import Config
from semisep_lib.method.models import build_models


@pytest.mark.parametrize("defect", ["one shape differs", "a key is missing", "an extra key", "not tensors"])
def test_failed_weight_load_leaves_module_unchanged(defect):
    cfg = Config.from_preset("smoke")
    torch.manual_seed(0)
    g = build_models(cfg)[0]
    before = {k: v.clone() for k, v in g.state_dict().items()}
    torch.manual_seed(1)
    other = {k: v.clone() for k, v in build_models(cfg)[0].state_dict().items()}  # same shapes, other values
    last = list(other)[-1]
    if defect == "one shape differs":
        other[last] = torch.zeros(other[last].numel() + 1)
    elif defect == "a key is missing":
        del other[last]
    elif defect == "an extra key":
        other["extra.weight"] = torch.zeros(1)
    else:
        other[last] = 0.5
    with pytest.raises(CheckpointError, match="does not fit"):
        load_weights(g, other, "g", "x.pt")
    all_tensors_equal(g.state_dict(), before)


def _header(seed: int = 0) -> tuple[dict, torch.nn.Module]:
    cfg = Config.from_preset("smoke")
    torch.manual_seed(seed)
    g = build_models(cfg)[0]
    return checkpoint_header(cfg, 7, "semi", g), g


def test_header_round_trip_and_load_g(tmp_path):
    state, g = _header()
    assert tuple(state)[:len(HEADER_KEYS)] == HEADER_KEYS
    save_checkpoint(tmp_path / "run" / "best.pt", state)
    loaded = load_checkpoint(tmp_path / "run")  # a run directory: its best.pt
    assert loaded["step"] == 7 and loaded["path"].endswith("best.pt")
    g2, cfg2 = load_g(tmp_path / "run")
    assert cfg2.preset == "smoke" and not g2.training
    all_tensors_equal(g.state_dict(), g2.state_dict())


def test_load_g_prefers_the_moving_average_of_a_training_checkpoint(tmp_path):
    state, g = _header()
    ema = {k: v + 1 if v.is_floating_point() else v for k, v in g.state_dict().items()}
    save_checkpoint(tmp_path / "checkpoint.pt", {**state, "g_ema": ema})
    g2, _ = load_g(tmp_path / "checkpoint.pt")
    all_tensors_equal(ema, g2.state_dict())


@pytest.mark.parametrize("case, message", [
    ("missing", "does not exist"), ("empty run", "no best.pt"), ("garbage", "cannot be read"),
    ("foreign", "not a semisep checkpoint"), ("future version", "format version 99"),
])
def test_a_bad_checkpoint_is_one_checkpoint_error(tmp_path, case, message):
    path = tmp_path / "x.pt"
    if case == "empty run":
        path = tmp_path / "run"
        path.mkdir()
    elif case == "garbage":
        path.write_bytes(b"not a zip")
    elif case == "foreign":
        torch.save({"weights": torch.zeros(1)}, path)
    elif case == "future version":
        save_checkpoint(path, {**_header()[0], "version": 99})
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(path)


def test_pick_device_auto_is_cuda_only_when_present():
    assert pick_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert pick_device("cpu") == torch.device("cpu")
