"""The trainer: learning, exact resume, the NaN guard, ablation switches, the EMA of g, validation through a
separator (what every user-facing training path uses), TensorBoard, the CLI, and gloo data parallelism."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from semisep_lib.errors import CheckpointError, TrainingError, UsageError
from semisep_lib.interfaces.cli import main
from semisep_lib.interfaces.notebooks import setup
from semisep_lib.method import train as train_mod
from semisep_lib.method.checkpoint import HEADER_KEYS, cpu_has_bf16, load_checkpoint, load_g
from semisep_lib.method.config import Config
from semisep_lib.method.metrics import median_sdr
from semisep_lib.method.separate import MaskSeparator
from semisep_lib.method.spectral import STFT
from semisep_lib.method.train import EMA, score_vocals, separator_validation, train, validate, validation_chunks
from semisep_lib.study.data import load_training_data
from semisep_lib.study.reproduce import Reproduction


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
    best = load_checkpoint(tmp_path / "sup" / "best.pt")  # the one header, written by checkpoint_header
    assert tuple(best)[:len(HEADER_KEYS)] == HEADER_KEYS and best["objective"] == "supervised"


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


# -- the exponential moving average of g --------------------------------------------------------------------------


def test_ema_update_formula_by_hand():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2))
    ema = EMA(net, decay=0.9)
    e0 = {k: v.clone() for k, v in ema.module.state_dict().items()}
    for step, d in enumerate((1 / 10, 2 / 11)):  # the warm-up: d = min(0.9, (1 + n) / (10 + n))
        assert ema.current_decay() == pytest.approx(d)
        with torch.no_grad():
            for p in net.parameters():
                p.add_(torch.randn_like(p))
        net.train()(torch.randn(5, 3))  # moves BatchNorm's running statistics (buffers)
        ema.update(net)
        for name, p in net.named_parameters():
            e0[name] = d * e0[name] + (1 - d) * p.detach()
            assert torch.allclose(ema.module.state_dict()[name], e0[name], rtol=1e-6, atol=1e-7), (step, name)
        for name, b in net.named_buffers():
            assert torch.equal(ema.module.state_dict()[name], b), name  # copied, not averaged
    assert ema.updates == 2
    assert all(not p.requires_grad for p in ema.module.parameters()) and not ema.module.training
    for _ in range(100):
        ema.update(net)
    assert ema.current_decay() == 0.9  # the warm-up is over


def test_ema_only_observes_and_resumes_exactly(td, tmp_path):
    """With EMA on, the raw g, d_A, d_C and every logged term are those of a run without it (the average never
    feeds back); checkpoint.pt holds g raw and g_ema; best.pt holds the EMA weights, the ones validated; and an
    interrupted run resumes to the same g, g_ema and logs."""
    off = _cfg(steps=20, d_warmup=3)
    train(off, td, tmp_path / "off", progress=False)
    on = _cfg(steps=20, d_warmup=3, ema_decay=0.9)
    train(on, td, tmp_path / "on", progress=False)
    train(_cfg(steps=10, d_warmup=3, ema_decay=0.9), td, tmp_path / "resumed", progress=False)
    at_10 = load_checkpoint(tmp_path / "resumed" / "checkpoint.pt")
    train(on, td, tmp_path / "resumed", progress=False)
    a, b = load_checkpoint(tmp_path / "off" / "checkpoint.pt"), load_checkpoint(tmp_path / "on" / "checkpoint.pt")
    assert "g_ema" not in a and b["ema_updates"] == 17  # one update per g step: steps 3 .. 19
    for key in ("g", "d_A", "d_C"):
        for name in a[key]:
            assert torch.equal(a[key][name], b[key][name]), (key, name)
    strip = lambda rows: [{k: v for k, v in r.items() if k != "time"} for r in rows]  # noqa: E731
    assert strip(_log(tmp_path / "off")) == strip(_log(tmp_path / "on"))
    assert any(not torch.equal(b["g"][n], b["g_ema"][n]) for n in b["g"])
    # resumed == uninterrupted, the average included
    c = load_checkpoint(tmp_path / "resumed" / "checkpoint.pt")
    assert c["ema_updates"] == b["ema_updates"]
    for key in ("g", "g_ema", "d_A", "d_C"):
        for name in b[key]:
            assert torch.equal(b[key][name], c[key][name]), (key, name)
    assert strip(_log(tmp_path / "on")) == strip(_log(tmp_path / "resumed"))
    valid = lambda run: [json.loads(line) for line in (run / "valid.jsonl").read_text().splitlines()]  # noqa: E731
    assert strip(valid(tmp_path / "on")) == strip(valid(tmp_path / "resumed"))
    # best.pt is the average, and its validation score is the average's
    best = load_checkpoint(tmp_path / "on" / "best.pt")
    ema_then = {10: at_10, 20: b}[best["step"]]["g_ema"]
    assert all(torch.equal(best["g"][n], ema_then[n]) for n in b["g"])
    g, cfg = load_g(tmp_path / "on")
    score = validate(g, STFT(cfg.spectral), validation_chunks(td, cfg), cfg, "cpu")["val_sdr"]
    # training holds channels-last weights on the CPU, load_g contiguous ones: equal up to float rounding
    assert abs(score - best["valid"]["val_sdr"]) < 1e-4


# -- validation through the separator -------------------------------------------------------------------------------


def test_validation_scores_what_the_separator_produces(td, tmp_path):
    cfg = _cfg(steps=12, d_warmup=3, val_every=6, ema_decay=0.9)
    make = lambda g: MaskSeparator(g, cfg, device=next(g.parameters()).device)  # noqa: E731
    train(cfg, td, tmp_path / "run", progress=False, validator=separator_validation(td, cfg, make))
    rows = [json.loads(line) for line in (tmp_path / "run" / "valid.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [6, 12]
    g, loaded = load_g(tmp_path / "run")  # what `semisep separate --model RUN` would use
    best = load_checkpoint(tmp_path / "run" / "best.pt")
    sep = MaskSeparator(g, loaded)
    rate = loaded.spectral.sample_rate
    sdrs = [median_sdr(voc, sep.separate(mix[None], rate)[0], rate) for _, mix, voc in td.valid]
    expected = float(np.nanmedian(sdrs))
    assert abs(expected - next(r["val_sdr"] for r in rows if r["step"] == best["step"])) < 1e-6
    assert separator_validation(type(td)(mixtures=[], instrumentals=[]), cfg, make) is None


def _train_through(path, root, out):
    """A tiny smoke-preset run trained the way a user would: ``semisep train``, a ``reproduce`` row, or a
    notebook's ``Session.train``; each validates twice. Returns the run directory."""
    if path == "cli":
        (out.parent / "cfg.yaml").write_text("train:\n  d_warmup: 3\n  val_every: 6\n")
        rc = main(["train", "--data", "toy", "--root", str(root), "--preset", "smoke", "--steps", "12",
                   "--config", str(out.parent / "cfg.yaml"), "--device", "cpu", "--out", str(out)])
        assert rc == 0
        return out
    if path == "reproduce":  # the smoke profile: 5 warm-up steps, 15 g steps, validated at 15 and 20
        return Reproduction("smoke", "toy", str(root), 1, out, device="cpu", progress=False).train_row(
            "all losses", (), seed=0)
    s = setup("smoke", "toy", root, device="cpu", out=out, name="nb")
    return s.train("run", s.config(train={"steps": 12, "d_warmup": 3, "val_every": 6}), progress=False)


@pytest.mark.parametrize("path", ["cli", "reproduce", "notebooks"])
def test_every_training_path_keeps_the_best_g_by_what_separate_produces(path, td, toy_root, tmp_path):
    """The best ``val_sdr`` recorded in ``best.pt`` and ``valid.jsonl`` is the score of separating the
    validation songs with ``separate``'s separator of that very ``best.pt`` — not of ``train.validate``'s
    chunks, which the trainer falls back to when called without a validator."""
    run = _train_through(path, toy_root, tmp_path / "run")
    rows = [json.loads(line) for line in (run / "valid.jsonl").read_text().splitlines()]
    best = load_checkpoint(run / "best.pt")
    assert len(rows) == 2 and best["valid"]["val_sdr"] == max(r["val_sdr"] for r in rows)
    g, cfg = load_g(run)  # what `semisep separate --model RUN` loads (before any tune-mask)
    sep, rate = MaskSeparator(g, cfg), cfg.spectral.sample_rate
    expected = score_vocals(lambda mix: sep.separate(mix[None], rate)[0], [(m, v) for _, m, v in td.valid], rate)
    # training holds channels-last weights on the CPU, load_g contiguous ones: equal up to float rounding
    assert abs(expected["val_sdr"] - best["valid"]["val_sdr"]) < 1e-4


# -- TensorBoard -----------------------------------------------------------------------------------------------------


def test_cli_train_tensorboard_writes_every_term_scores_and_audio(toy_root, tmp_path, capsys):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    out = tmp_path / "run"
    rc = main(["train", "--data", "toy", "--root", str(toy_root), "--preset", "smoke", "--steps", "8",
               "--tensorboard", "--out", str(out)])
    assert rc == 0, capsys.readouterr().err
    events = EventAccumulator(str(out / "tensorboard"))
    events.Reload()
    scalars, audio = set(events.Tags()["scalars"]), set(events.Tags()["audio"])
    terms = {f"train/{t}" for t in ("R1", "R2", "R3", "R4", "GAN_A", "GAN_C", "G_total", "D_A", "D_C",
                                     "vocal_fraction", "mask_a", "lr_g")}
    assert terms <= scalars
    assert {"valid/val_sdr", "valid/val_sdr_mixture", "valid/val_vocal_fraction"} <= scalars
    assert [e.step for e in events.Scalars("train/D_A")] == list(range(8))
    assert [e.step for e in events.Scalars("valid/val_sdr")] == [8]
    assert audio == {"audio/vocals", "audio/mixture"}
    clip = events.Audio("audio/vocals")[0]
    assert clip.step == 8 and clip.sample_rate == 16000 and 0 < clip.length_frames <= 4 * 16000


def test_tensorboard_missing_is_one_clear_sentence(td, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # as if tensorboard were not installed
    with pytest.raises(UsageError, match="needs the tensorboard package: pip install tensorboard"):
        train(_cfg(steps=2, tensorboard=True), td, tmp_path / "run", progress=False)
    assert not (tmp_path / "run" / "config.yaml").exists()


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


def test_bf16_autocast_trains_near_fp32_on_a_cpu_with_bf16_kernels(td, tmp_path):
    """``train.bf16`` autocasts g's and the discriminators' steps to bf16 where the CPU has bf16 kernels: the same
    schedule trains to finite losses near fp32's but not equal to them; the paper preset stays fp32."""
    if not cpu_has_bf16():
        pytest.skip("this CPU has no bf16 kernels: train.bf16 falls back to fp32 here")
    assert Config.from_preset("paper").train.bf16 is False
    train(_cfg(steps=12, d_warmup=2), td, tmp_path / "fp32", progress=False)
    train(_cfg(steps=12, d_warmup=2, bf16=True), td, tmp_path / "bf16", progress=False)
    fp32, bf16 = _log(tmp_path / "fp32"), _log(tmp_path / "bf16")
    assert all(np.isfinite(r["G_total"]) for r in bf16 if "G_total" in r)
    last = lambda rows: next(r["G_total"] for r in reversed(rows) if "G_total" in r)  # noqa: E731
    assert last(bf16) != last(fp32) and abs(last(bf16) - last(fp32)) < 0.2 * abs(last(fp32))


def test_shared_batch_gives_each_iteration_one_batch_and_d_A_the_mixtures_that_built_abar(td, tmp_path, monkeypatch):
    """TrainConfig.shared_batch (the authors' train.py): the D step and g's step of an iteration see the same
    mixtures and instrumentals, and d_A's real examples are those very mixtures; by default every step draws its
    own batch and d_A an independent one (the random stream of earlier runs: d_steps + 1 batches per step)."""
    seen = []
    real_d, real_g = train_mod.discriminator_losses, train_mod.generator_losses

    def d_spy(g, d_A, d_C, A, C, A_real, loss):
        seen.append(("D", A.clone(), C.clone(), A_real.clone()))
        return real_d(g, d_A, d_C, A, C, A_real, loss)

    def g_spy(g, d_A, d_C, A, C, loss, power):
        seen.append(("G", A.clone(), C.clone(), None))
        return real_g(g, d_A, d_C, A, C, loss, power)

    monkeypatch.setattr(train_mod, "discriminator_losses", d_spy)
    monkeypatch.setattr(train_mod, "generator_losses", g_spy)
    for shared in (True, False):
        seen.clear()
        cfg = _cfg(steps=2, d_warmup=0, d_steps=1, shared_batch=shared, val_every=100, ckpt_every=100)
        train(cfg, td, tmp_path / f"run-{shared}", progress=False)
        assert [k for k, *_ in seen] == ["D", "G", "D", "G"]
        (_, A_d, C_d, A_real), (_, A_g, C_g, _) = seen[:2]
        assert torch.equal(A_real, A_d) == shared
        assert (torch.equal(A_g, A_d) and torch.equal(C_g, C_d)) == shared
        assert not torch.equal(seen[2][1], A_d)  # the next iteration has a new batch
    b = train_mod.Batches(td, _cfg(d_steps=2))
    assert (b.per_step, b.g_k, b.shared) == (3, 2, False)
    b = train_mod.Batches(td, _cfg(d_steps=2, shared_batch=True))
    assert (b.per_step, b.g_k, b.shared) == (2, 1, True)


def test_the_authors_training_options_run_together(td, tmp_path):
    """The paper preset's loss and training options on the smoke networks: a few finite steps."""
    cfg = _cfg(steps=3, d_warmup=0, d_steps=1, shared_batch=True, val_every=100, ckpt_every=100)
    cfg.model.d_sees_level = True
    cfg.loss = Config.from_preset("paper").loss  # weights 20/10, L1 on [−1, 1], as-is second pass, clamp, D × 10
    train(cfg, td, tmp_path / "run", progress=False)
    rows = _log(tmp_path / "run")
    assert len(rows) == 3 and all(np.isfinite(r["G_total"]) and np.isfinite(r["D_A"]) for r in rows)
