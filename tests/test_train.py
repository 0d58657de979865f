"""The trainer: learning, exact resume, the NaN guard, ablation switches, the CLI, and gloo data parallelism."""

import json
import os
import subprocess
import sys

import pytest
import torch

from semisep_lib import train as train_mod
from semisep_lib.checkpoint import load_checkpoint, load_g
from semisep_lib.cli import main
from semisep_lib.config import Config
from semisep_lib.data import load_training_data
from semisep_lib.errors import CheckpointError, TrainingError
from semisep_lib.train import train


def _cfg(steps=20, **train_kw):
    cfg = Config.from_preset("smoke")
    cfg.train.steps = steps
    cfg.train.ckpt_every = 10
    cfg.train.val_every = 10
    for k, v in train_kw.items():
        setattr(cfg.train, k, v)
    return cfg


@pytest.fixture(scope="module")
def td(toy_root):
    return load_training_data(Config.from_preset("smoke"), toy_root)


def _log(run):
    return [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]


def test_training_data_is_unmatched(td):
    assert td.mixtures and td.instrumentals and td.valid
    assert not set(td.mix_names) & set(td.inst_names)


def test_reconstruction_losses_fall_in_50_steps(td, tmp_path):
    cfg = _cfg(steps=50, d_warmup=0)
    cfg.model.g_mask_bias = 0.0  # start from a half-open mask, far from the identity
    cfg.loss = cfg.loss.without(["GAN_A", "GAN_C"])
    train(cfg, td, tmp_path / "run", progress=False)
    rec = [sum(r[t] for t in ("R1", "R2", "R3", "R4")) for r in _log(tmp_path / "run")]
    assert len(rec) == 50
    assert sum(rec[-5:]) < 0.7 * sum(rec[:5])


def test_resume_equals_uninterrupted(td, tmp_path):
    cfg = _cfg(steps=20, d_warmup=3)
    train(cfg, td, tmp_path / "full", progress=False)
    half = _cfg(steps=10, d_warmup=3)
    train(half, td, tmp_path / "resumed", progress=False)
    assert load_checkpoint(tmp_path / "resumed" / "checkpoint.pt")["step"] == 10
    train(cfg, td, tmp_path / "resumed", progress=False)  # the same command with more steps continues
    a = load_checkpoint(tmp_path / "full" / "checkpoint.pt")
    b = load_checkpoint(tmp_path / "resumed" / "checkpoint.pt")
    for key in ("g", "d_A", "d_C"):
        for name in a[key]:
            assert torch.equal(a[key][name], b[key][name]), (key, name)
    strip = lambda rows: [{k: v for k, v in r.items() if k != "time"} for r in rows]  # noqa: E731
    assert strip(_log(tmp_path / "full")) == strip(_log(tmp_path / "resumed"))


def test_nan_guard_stops_and_keeps_last_good_checkpoint(td, tmp_path, monkeypatch):
    real = train_mod.generator_losses

    def poisoned(g, d_A, d_C, A, C, loss, power):
        total, log = real(g, d_A, d_C, A, C, loss, power)
        if poisoned.calls >= 12:
            total, log = total * float("nan"), {**log, "R3": float("nan")}
        poisoned.calls += 1
        return total, log

    poisoned.calls = 0
    monkeypatch.setattr(train_mod, "generator_losses", poisoned)
    cfg = _cfg(steps=30, d_warmup=0)
    with pytest.raises(TrainingError, match="R3 became nan at step 12.*step 10"):
        train(cfg, td, tmp_path / "run", progress=False)
    state = load_checkpoint(tmp_path / "run" / "checkpoint.pt")
    assert state["step"] == 10
    assert all(torch.isfinite(v).all() for v in state["g"].values())


def test_supervised_objective_trains_g(td, tmp_path):
    cfg = _cfg(steps=12)
    summary = train(cfg, td, tmp_path / "sup", objective="supervised", progress=False)
    assert summary["steps"] == 12
    log = _log(tmp_path / "sup")
    assert "supervised" in log[0] and "D_A" not in log[0]  # no discriminator is trained
    g, loaded = load_g(tmp_path / "sup")
    assert loaded.preset == "smoke" and not g.training


def test_incompatible_checkpoint_is_refused(td, tmp_path):
    train(_cfg(steps=10), td, tmp_path / "run", progress=False)
    other = Config.from_preset("cpu")
    other.train.steps = 20
    with pytest.raises(CheckpointError, match="another architecture"):
        train(other, td, tmp_path / "run", progress=False)


def test_cli_train_writes_checkpoint_and_log(toy_root, tmp_path, capsys):
    out = tmp_path / "run"
    rc = main(["train", "--data", "toy", "--root", str(toy_root), "--preset", "smoke", "--steps", "8",
               "--without", "GAN_A", "GAN_C", "--out", str(out)])
    assert rc == 0, capsys.readouterr().err
    assert (out / "checkpoint.pt").exists() and (out / "config.yaml").exists()
    assert "R1" in (out / "log.jsonl").read_text()
    assert Config.load(out / "config.yaml").loss.GAN_A == 0


def test_cli_rejects_unknown_term(toy_root, tmp_path):
    with pytest.raises(SystemExit):
        main(["train", "--data", "toy", "--root", str(toy_root), "--without", "R7", "--out", str(tmp_path)])


@pytest.mark.slow
def test_two_process_gloo_data_parallel(toy_root, tmp_path):
    out = tmp_path / "ddp"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "semisep_lib", "train", "--data", "toy", "--root", str(toy_root), "--preset", "smoke",
           "--steps", "6", "--out", str(out)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert load_checkpoint(out / "checkpoint.pt")["step"] == 6
    assert len((out / "log.jsonl").read_text().splitlines()) == 6  # only rank 0 writes
