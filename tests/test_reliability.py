"""Reliability: bad input, interrupted work and numerical faults.

One test (or one parametrized test) per row of the reliability table:

* bad audio files given to ``separate``; silent, NaN/inf, many-channel and odd-rate inputs;
* bad dataset roots given to ``train --data musdb``;
* bad checkpoints (missing, truncated, foreign, incompatible) — and no half-loaded model (see
  ``test_checkpoint.py::test_failed_weight_load_leaves_module_unchanged``);
* ``train`` killed with SIGKILL and run again (a real subprocess), ``reproduce`` killed and run again;
* a loss that becomes NaN/inf (see also ``test_train.py::test_nan_guard_stops_and_keeps_last_good_checkpoint``);
* two commands writing to one run directory; mixture and instrumental sets sharing a song;
* a full disk while a checkpoint is written;
* every user error on stderr with the exit code README.md documents.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from conftest import all_tensors_equal, model_state
from semisep_lib import errors, fileio
from semisep_lib.audio import read_audio, write_audio
from semisep_lib.errors import CheckpointError, LockError
from semisep_lib.interfaces.cli import main
from semisep_lib.method import train as train_mod
from semisep_lib.method.checkpoint import CHECKPOINT_VERSION, load_checkpoint, save_checkpoint
from semisep_lib.method.config import Config
from semisep_lib.method.models import build_models
from semisep_lib.study import data as data_lib
from semisep_lib.study.baselines import NMFBaseline
from semisep_lib.study.nes import NESSeparator

REPO_ROOT = Path(__file__).resolve().parents[1]
#: Subprocesses use one torch thread: equal results in both runs, and no fight over two shared cores.
SUBPROCESS_ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO_ROOT)}


# -- helpers --------------------------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Train in this process with one torch thread (two threads on two shared cores is several times slower),
    and give the thread count back afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def one_sentence(err: str, *fragments: str) -> str:
    """Assert that ``err`` (progress bars aside) is one line, no traceback, holding every fragment; return it."""
    assert "Traceback" not in err, err
    lines = [ln for ln in re.split(r"[\r\n]+", err) if ln.strip() and not re.search(r"\d+%\|", ln)]
    assert len(lines) == 1, err
    err = lines[0]
    for fragment in fragments:
        assert fragment in err, (fragment, err)
    return err


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("model")
    save_checkpoint(run / "best.pt", model_state())
    return run


def tones(channels: int, rate: int, seconds: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    out = [np.sin(2 * np.pi * 220.0 * (c + 1) * t) + 0.05 * rng.standard_normal(t.size) for c in range(channels)]
    return (0.2 * np.stack(out)).astype(np.float32)


def write_config(path: Path, **train) -> Path:
    lines = ["train:"] + [f"  {k}: {v}" for k, v in train.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def separate(files, model: Path, out: Path) -> int:
    return main(["separate", *map(str, files), "--model", str(model), "--out", str(out), "--device", "cpu"])


def temp_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.name.endswith(".tmp") or ".tmp-" in p.name]


# -- bad audio files (separate CLI) -----------------------------------------------------------------------------------


def _bad_audio(tmp_path: Path, case: str) -> tuple[Path, str]:
    if case == "missing":
        return tmp_path / "nowhere.wav", "does not exist"
    if case == "directory":
        (tmp_path / "folder.wav").mkdir()
        return tmp_path / "folder.wav", "is a directory"
    if case == "not audio":
        (tmp_path / "notes.mp3").write_text("these are not audio samples\n" * 20)
        return tmp_path / "notes.mp3", "notes.mp3"
    if case == "empty":
        (tmp_path / "empty.wav").write_bytes(b"")
        return tmp_path / "empty.wav", "is empty"
    if case == "zero samples":
        sf.write(tmp_path / "zero.wav", np.zeros((0, 2), np.float32), 44100, subtype="FLOAT")
        return tmp_path / "zero.wav", "holds no samples"
    raise AssertionError(case)


@pytest.mark.parametrize("case", ["missing", "directory", "not audio", "empty", "zero samples"])
def test_separate_bad_audio_file_is_one_sentence_and_writes_nothing(run_dir, tmp_path, capsys, case):
    path, fragment = _bad_audio(tmp_path, case)
    out = tmp_path / "out"
    rc = separate([path], run_dir, out)
    captured = capsys.readouterr()
    assert rc == errors.AudioError.exit_code
    one_sentence(captured.err, fragment, path.name)
    assert captured.out == ""
    assert not out.exists() or not any(out.iterdir())


def test_separate_silent_input_gives_silent_stems(run_dir, tmp_path, capsys):
    write_audio(tmp_path / "silence.wav", np.zeros((2, 22050), np.float32), 44100)
    rc = separate([tmp_path / "silence.wav"], run_dir, tmp_path / "out")
    assert rc == 0, capsys.readouterr().err
    for stem in ("vocals", "accompaniment"):
        audio, rate = read_audio(tmp_path / "out" / "silence" / f"{stem}.wav")
        assert rate == 44100 and audio.shape == (2, 22050)
        assert np.isfinite(audio).all() and not audio.any()


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_separate_nan_or_inf_input_is_refused(run_dir, tmp_path, capsys, bad):
    audio = tones(2, 16000, 0.5)
    audio[0, 1234] = bad
    path = tmp_path / "bad.wav"
    sf.write(path, audio.T, 16000, subtype="FLOAT")  # write_audio would refuse it
    out = tmp_path / "out"
    rc = separate([path], run_dir, out)
    assert rc == errors.AudioError.exit_code
    one_sentence(capsys.readouterr().err, "NaN or infinite", "bad.wav")
    assert not out.exists() or not any(out.iterdir())


@pytest.mark.parametrize("channels, rate", [(3, 44100), (6, 22050), (2, 8000), (1, 96000), (2, 96000)])
def test_separate_many_channels_and_odd_rates(run_dir, tmp_path, capsys, channels, rate):
    audio = tones(channels, rate, 0.7)
    write_audio(tmp_path / "song.wav", audio, rate)
    rc = separate([tmp_path / "song.wav"], run_dir, tmp_path / "out")
    assert rc == 0, capsys.readouterr().err
    vocals, r1 = read_audio(tmp_path / "out" / "song" / "vocals.wav")
    acc, r2 = read_audio(tmp_path / "out" / "song" / "accompaniment.wav")
    assert r1 == r2 == rate
    assert vocals.shape == acc.shape == audio.shape
    assert np.abs(vocals + acc - audio).max() < 1e-6
    assert np.abs(vocals).max() > 0  # separated, not a silent or copied stem


# -- bad dataset roots (train CLI) ------------------------------------------------------------------------------------


def _bad_root(tmp_path: Path, case: str) -> tuple[Path, str]:
    root = tmp_path / "root"
    if case == "missing":
        return root, "pass the folder that holds train/ and test/"
    root.mkdir()
    if case == "empty":
        return root, "is empty; expected MUSDB18 laid out as"
    if case == "wrong layout":
        (root / "songs").mkdir()
        (root / "songs" / "a.flac").write_bytes(b"x")
        return root, "has no train/ or test/ folder; expected MUSDB18 laid out as"
    if case == "song folders without mixture.wav":
        (root / "train" / "song").mkdir(parents=True)
        (root / "train" / "song" / "vocals.wav").write_bytes(b"x")
        return root, "has no tracks in its train/ or test/ folder; expected"
    if case == "no training songs":  # only test songs: the train subset is empty
        write_audio(root / "test" / "a" / "mixture.wav", np.zeros((2, 100)), 8000)
        return root, "has no tracks in its 'train' subset ('train' split)"
    raise AssertionError(case)


@pytest.mark.parametrize("case", ["missing", "empty", "wrong layout", "song folders without mixture.wav",
                                  "no training songs"])
def test_train_bad_dataset_root_names_root_and_fix(tmp_path, capsys, case):
    root, fragment = _bad_root(tmp_path, case)
    out = tmp_path / "run"
    rc = main(["train", "--data", "musdb", "--root", str(root), "--preset", "smoke", "--steps", "2",
               "--out", str(out)])
    assert rc == errors.DataError.exit_code
    one_sentence(capsys.readouterr().err, f"Dataset root {root} ", fragment)
    assert not out.exists()


def test_train_root_without_validation_songs_trains_without_validation(toy_root, tmp_path, capsys):
    """A MUSDB-style root whose songs are all outside musdb's validation list (and no valid.txt) still trains:
    the trainer keeps the last weights as best.pt when it has nothing to validate on."""
    root = tmp_path / "root"
    for name in ("toy-000", "toy-001"):
        (root / "train").mkdir(parents=True, exist_ok=True)
        os.symlink(toy_root / "train" / name, root / "train" / name)
    out = tmp_path / "run"
    rc = main(["train", "--data", "musdb", "--root", str(root), "--preset", "smoke", "--steps", "2",
               "--out", str(out)])
    assert rc == 0, capsys.readouterr().err
    assert load_checkpoint(out / "best.pt")["step"] == 2
    assert not (out / "valid.jsonl").exists()


# -- bad checkpoints --------------------------------------------------------------------------------------------------


def _bad_checkpoint(tmp_path: Path, case: str, good: Path) -> tuple[Path, str]:
    path = tmp_path / "model.pt"
    if case == "missing":
        return tmp_path / "absent.pt", "does not exist"
    if case == "empty run directory":
        (tmp_path / "run").mkdir()
        return tmp_path / "run", "holds no best.pt or checkpoint.pt"
    if case == "truncated":
        data = good.read_bytes()
        path.write_bytes(data[: len(data) // 2])
        return path, "truncated or not a semisep checkpoint"
    if case == "empty file":
        path.write_bytes(b"")
        return path, "truncated or not a semisep checkpoint"
    if case == "text file":
        path.write_text("step: 10\nweights: none\n")
        return path, "truncated or not a semisep checkpoint"
    if case == "foreign torch dict":
        torch.save({"model": torch.nn.Linear(3, 2).state_dict(), "epoch": 3}, path)
        return path, "is not a semisep checkpoint"
    if case == "foreign pickled object":
        torch.save(torch.nn.Linear(3, 2), path)  # a whole module: refused by weights_only loading
        return path, "truncated or not a semisep checkpoint"
    if case == "incompatible config":  # weights of a wider g under the smoke preset's configuration
        state = model_state()
        wide = Config.from_preset("smoke")
        wide.model.g_channels = 8
        state["g"] = build_models(wide)[0].state_dict()
        save_checkpoint(path, state)
        return path, "does not fit this configuration's g"
    if case == "unreadable config":
        state = model_state()
        state["config"]["model"]["no_such_key"] = 1
        save_checkpoint(path, state)
        return path, "unreadable configuration"
    if case == "weights not tensors":
        state = model_state()
        state["g"] = {"conv.weight": "not a tensor"}
        save_checkpoint(path, state)
        return path, "does not fit"
    if case == "other format version":
        state = model_state()
        state["version"] = CHECKPOINT_VERSION + 1
        save_checkpoint(path, state)
        return path, "format version"
    raise AssertionError(case)


CHECKPOINT_CASES = ["missing", "empty run directory", "truncated", "empty file", "text file", "foreign torch dict",
                    "foreign pickled object", "incompatible config", "unreadable config", "weights not tensors",
                    "other format version"]


@pytest.mark.parametrize("case", CHECKPOINT_CASES)
def test_separate_bad_checkpoint_is_checkpoint_error(run_dir, tmp_path, capsys, case):
    model, fragment = _bad_checkpoint(tmp_path, case, run_dir / "best.pt")
    write_audio(tmp_path / "song.wav", tones(1, 16000, 0.3), 16000)
    out = tmp_path / "out"
    rc = separate([tmp_path / "song.wav"], model, out)
    assert rc == CheckpointError.exit_code == 5
    one_sentence(capsys.readouterr().err, fragment)
    assert not out.exists() or not any(out.iterdir())


@pytest.fixture(scope="module")
def trained_run(toy_root, tmp_path_factory) -> Path:
    """A smoke-preset training run of 2 steps: checkpoint.pt holds everything needed to resume."""
    cfg = Config.from_preset("smoke")
    cfg.train.steps, cfg.train.ckpt_every, cfg.train.val_every = 2, 2, 100
    run = tmp_path_factory.mktemp("trained") / "run"
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        train_mod.train(cfg, data_lib.load_training_data(cfg, toy_root), run, progress=False)
    finally:
        torch.set_num_threads(before)
    return run


@pytest.mark.parametrize("case", ["truncated", "model file, not a training checkpoint", "another architecture"])
def test_train_refuses_bad_checkpoint_in_run_dir(toy_root, tmp_path, capsys, trained_run, case):
    out = tmp_path / "run"
    out.mkdir()
    args = ["train", "--data", "toy", "--root", str(toy_root), "--preset", "smoke", "--steps", "4", "--out", str(out)]
    checkpoint = (trained_run / "checkpoint.pt").read_bytes()
    if case == "truncated":
        (out / "checkpoint.pt").write_bytes(checkpoint[: len(checkpoint) // 2])
        fragment = "truncated"
    elif case == "model file, not a training checkpoint":
        (out / "checkpoint.pt").write_bytes((trained_run / "best.pt").read_bytes())
        fragment = "cannot be resumed"
    else:
        (out / "checkpoint.pt").write_bytes(checkpoint)  # a smoke-preset g
        args += ["--config", str(tmp_path / "wide.yaml")]
        (tmp_path / "wide.yaml").write_text("model:\n  g_channels: 8\n")
        fragment = "another architecture"
    before = (out / "checkpoint.pt").read_bytes()
    rc = main(args)
    assert rc == CheckpointError.exit_code
    one_sentence(capsys.readouterr().err, fragment, "checkpoint.pt")
    assert (out / "checkpoint.pt").read_bytes() == before  # left alone, not overwritten
    assert not (out / "log.jsonl").exists() or not (out / "log.jsonl").read_text()


# -- training killed with SIGKILL, then run again ----------------------------------------------------------------------


def _train_cmd(root: Path, out: Path, config: Path, steps: int) -> list[str]:
    return [sys.executable, "-m", "semisep_lib", "train", "--data", "toy", "--root", str(root), "--preset", "smoke",
            "--steps", str(steps), "--config", str(config), "--out", str(out), "--device", "cpu"]


def _checkpoint_step(path: Path) -> int | None:
    try:
        return int(torch.load(path, map_location="cpu", weights_only=True)["step"])
    except (OSError, RuntimeError, EOFError, KeyError):
        return None


def _log_rows(run: Path) -> list[dict]:
    rows = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    return [{k: v for k, v in r.items() if k != "time"} for r in rows]


@pytest.mark.slow
def test_train_killed_with_sigkill_resumes_to_identical_weights(toy_root, tmp_path):
    steps, kill_after = 60, 10
    config = write_config(tmp_path / "cfg.yaml", ckpt_every=5, val_every=20, threads=1)
    full, killed = tmp_path / "full", tmp_path / "killed"
    # the uninterrupted run and the run to be killed, side by side
    ref_err = open(tmp_path / "full.stderr", "w")  # a file, not a pipe: progress bars cannot fill it and block
    ref = subprocess.Popen(_train_cmd(toy_root, full, config, steps), env=SUBPROCESS_ENV,
                           stdout=subprocess.DEVNULL, stderr=ref_err, start_new_session=True)
    victim = subprocess.Popen(_train_cmd(toy_root, killed, config, steps), env=SUBPROCESS_ENV,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while (_checkpoint_step(killed / "checkpoint.pt") or 0) < kill_after:
            assert victim.poll() is None, "the run ended before it could be killed"
            assert time.monotonic() < deadline, "no checkpoint appeared"
            time.sleep(0.05)
        time.sleep(0.3)  # a few steps past the checkpoint: those must be redone, their log lines dropped
        os.killpg(victim.pid, signal.SIGKILL)
        assert victim.wait(timeout=30) == -signal.SIGKILL
    finally:
        if victim.poll() is None:
            os.killpg(victim.pid, signal.SIGKILL)
            victim.wait()
    at_kill = _checkpoint_step(killed / "checkpoint.pt")
    assert kill_after <= at_kill < steps
    # the same command again: it resumes (the kernel released the dead process's lock) and finishes
    again = subprocess.run(_train_cmd(toy_root, killed, config, steps), env=SUBPROCESS_ENV, capture_output=True,
                           text=True, timeout=300)
    assert again.returncode == 0, again.stderr[-2000:]
    assert ref.wait(timeout=300) == 0, (tmp_path / "full.stderr").read_text()[-2000:]
    ref_err.close()
    a, b = load_checkpoint(full / "checkpoint.pt"), load_checkpoint(killed / "checkpoint.pt")
    assert a["step"] == b["step"] == steps
    for key in ("g", "d_A", "d_C"):
        all_tensors_equal(a[key], b[key])
    assert _log_rows(full) == _log_rows(killed)  # lines past the checkpoint were dropped, then written again
    assert [r["step"] for r in _log_rows(killed)] == list(range(steps))


def test_resume_after_a_half_written_log_line(toy_root, tmp_path):
    """A process killed mid-``write`` can leave a cut-off last line in log.jsonl; resuming must not trip on it."""
    cfg = Config.from_preset("smoke")
    cfg.train.steps, cfg.train.ckpt_every, cfg.train.val_every, cfg.train.d_warmup = 4, 2, 2, 0
    td = data_lib.load_training_data(cfg, toy_root)
    run = tmp_path / "run"
    train_mod.train(cfg, td, run, progress=False)
    with open(run / "log.jsonl", "a") as f:
        f.write('{"step": 4, "D_A": 0.12')  # the start of a line for a step the checkpoint does not hold
    with open(run / "valid.jsonl", "a") as f:
        f.write('{"val_sdr": 1.')
    cfg.train.steps = 6
    train_mod.train(cfg, td, run, progress=False)
    assert [r["step"] for r in _log_rows(run)] == list(range(6))
    assert [json.loads(line)["step"] for line in (run / "valid.jsonl").read_text().splitlines()] == [2, 4, 6]


# -- reproduce killed, then run again ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_reproduce_killed_then_rerun_keeps_finished_runs(toy_root, tmp_path):
    out = tmp_path / "rep"
    cmd = [sys.executable, "-m", "semisep_lib", "reproduce", "--profile", "smoke", "--data", "toy", "--root",
           str(toy_root), "--out", str(out), "--device", "cpu"]
    first = out / "runs" / "all-losses-seed0"
    proc = subprocess.Popen(cmd, env=SUBPROCESS_ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not (first / "summary.json").exists():
            assert proc.poll() is None, "reproduce ended before it could be killed"
            assert time.monotonic() < deadline, "the first run never finished"
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    _assert_nothing_corrupt(out)
    kept = {p: p.stat().st_mtime_ns for p in first.iterdir() if p.is_file()}
    log_lines = len((first / "log.jsonl").read_text().splitlines())
    again = subprocess.run(cmd, env=SUBPROCESS_ENV, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr[-2000:]
    assert {p: p.stat().st_mtime_ns for p in kept} == kept  # not retrained, not re-tuned, not rewritten
    assert len((first / "log.jsonl").read_text().splitlines()) == log_lines > 0
    _assert_nothing_corrupt(out)
    for table in ("table1.md", "table3.md", "table1.json", "table3.json"):
        assert (out / table).is_file()


def _assert_nothing_corrupt(out: Path) -> None:
    for path in out.rglob("*.json"):
        json.loads(path.read_text())
    for path in out.rglob("*.pt"):
        NESSeparator.load(path) if path.name == "nes.pt" else load_checkpoint(path)
    for path in out.rglob("nmf.npz"):
        NMFBaseline.load(path)
    for path in out.rglob("log.jsonl"):
        for line in path.read_text().splitlines()[:-1]:  # all but a last line cut short by the kill
            json.loads(line)


# -- loss becomes NaN / inf -------------------------------------------------------------------------------------------
# The trainer's own guard: test_train.py::test_nan_guard_stops_and_keeps_last_good_checkpoint. Here: through the CLI,
# in the generator's and in the discriminators' losses.


@pytest.mark.parametrize("where, bad", [("generator_losses", float("nan")), ("discriminator_losses", float("inf"))])
def test_cli_stops_on_non_finite_loss_and_keeps_last_checkpoint(toy_root, tmp_path, capsys, monkeypatch, where, bad):
    real = getattr(train_mod, where)
    calls = []

    def poisoned(*args, **kwargs):
        total, log = real(*args, **kwargs)
        calls.append(1)
        if len(calls) > 3:  # from the fourth call on (after the checkpoint at step 2)
            name = next(iter(log))
            total, log = total * bad, {**log, name: bad}
        return total, log

    monkeypatch.setattr(train_mod, where, poisoned)
    config = write_config(tmp_path / "cfg.yaml", ckpt_every=2, val_every=100, d_warmup=0, d_steps=1)
    out = tmp_path / "run"
    rc = main(["train", "--data", "toy", "--root", str(toy_root), "--preset", "smoke", "--steps", "8",
               "--config", str(config), "--out", str(out)])
    assert rc == errors.TrainingError.exit_code == 6
    one_sentence(capsys.readouterr().err, f"became {bad}", "at step 3", "the last good checkpoint (step 2)")
    state = load_checkpoint(out / "checkpoint.pt")
    assert state["step"] == 2
    for key in ("g", "d_A", "d_C"):
        assert all(torch.isfinite(v).all() for v in state[key].values())


# -- two commands writing to one run directory -------------------------------------------------------------------------


def test_run_lock_conflicts_within_one_process(tmp_path):
    """flock locks belong to open file descriptions: a second open in the same process conflicts too."""
    with fileio.run_lock(tmp_path / "run"):
        with pytest.raises(LockError, match="already writing"):
            with fileio.run_lock(tmp_path / "run"):
                pass
    with fileio.run_lock(tmp_path / "run"):  # released on exit
        pass


def test_second_train_on_a_locked_run_dir_is_refused(toy_root, tmp_path, capsys):
    out = tmp_path / "run"
    with fileio.run_lock(out):
        rc = main(["train", "--data", "toy", "--root", str(toy_root), "--preset", "smoke", "--steps", "2",
                   "--out", str(out)])
    assert rc == LockError.exit_code == 7
    one_sentence(capsys.readouterr().err, "Another semisep command is already writing to", str(out))
    assert sorted(p.name for p in out.iterdir()) == [".lock"]  # nothing written


def test_lock_held_by_another_process_then_released_when_it_dies(tmp_path):
    run = tmp_path / "run"
    code = ("import sys\nfrom semisep_lib.fileio import run_lock\n"
            f"with run_lock({str(run)!r}):\n    print('locked', flush=True)\n    sys.stdin.read()\n")
    holder = subprocess.Popen([sys.executable, "-c", code], env=SUBPROCESS_ENV, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(LockError, match=re.escape(str(run))):
            with fileio.run_lock(run):
                pass
    finally:
        holder.kill()
        holder.wait()
        holder.stdin.close()
        holder.stdout.close()
    with fileio.run_lock(run):  # the kernel dropped the dead holder's lock
        pass


def test_second_reproduce_on_a_locked_out_dir_is_refused(toy_root, tmp_path, capsys):
    out = tmp_path / "rep"
    with fileio.run_lock(out):
        rc = main(["reproduce", "--profile", "smoke", "--data", "toy", "--root", str(toy_root), "--out", str(out)])
    assert rc == 7
    one_sentence(capsys.readouterr().err, "already writing", str(out))
    assert sorted(p.name for p in out.iterdir()) == [".lock"]


# -- mixture and instrumental sets share a song ------------------------------------------------------------------------


def test_shared_song_in_disjoint_mode_is_refused_before_training(toy_root, tmp_path, capsys, monkeypatch):
    """If a song reached both sides (here: the loader lists one song twice), training refuses to start."""
    real = data_lib.load_songs

    def listed_twice(root, subset="train", split=None, **kwargs):
        songs = real(root, subset, split, **kwargs)
        return songs[:1] * 2 if split == "train" else songs

    monkeypatch.setattr(data_lib, "load_songs", listed_twice)
    out = tmp_path / "run"
    rc = main(["train", "--data", "toy", "--root", str(toy_root), "--preset", "smoke", "--steps", "2",
               "--out", str(out)])
    assert rc == errors.DataError.exit_code
    one_sentence(capsys.readouterr().err, "share 1 song(s) (toy-000)", "different songs")
    assert not out.exists()


# -- disk full while writing a checkpoint ------------------------------------------------------------------------------


def _fd_path(fd: int) -> str:
    return os.readlink(f"/proc/self/fd/{fd}")


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc to name a file descriptor")
def test_disk_full_while_checkpointing_keeps_previous_checkpoint(toy_root, tmp_path, capsys, monkeypatch):
    real_fsync, seen = os.fsync, []

    def fsync(fd):
        if "/.checkpoint.pt." in _fd_path(fd):
            seen.append(fd)
            if len(seen) > 1:  # the first checkpoint is written, the second finds the disk full
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_fsync(fd)

    monkeypatch.setattr(fileio.os, "fsync", fsync)
    config = write_config(tmp_path / "cfg.yaml", ckpt_every=2, val_every=100)
    out = tmp_path / "run"
    args = ["train", "--data", "toy", "--root", str(toy_root), "--preset", "smoke", "--steps", "4",
            "--config", str(config), "--out", str(out)]
    rc = main(args)
    assert rc == 1
    one_sentence(capsys.readouterr().err, "No space left on device", "free some space")
    assert load_checkpoint(out / "checkpoint.pt")["step"] == 2  # the previous one, intact
    assert temp_files(out) == []
    monkeypatch.setattr(fileio.os, "fsync", real_fsync)  # space freed: the same command finishes the run
    assert main(args) == 0, capsys.readouterr().err
    assert load_checkpoint(out / "checkpoint.pt")["step"] == 4


@pytest.mark.parametrize("fail_in", ["write", "fsync", "rename"])
def test_failed_atomic_write_keeps_old_file_and_leaves_no_temp(tmp_path, monkeypatch, fail_in):
    target = tmp_path / "checkpoint.pt"
    fileio.atomic_write_bytes(target, b"old contents")
    full = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def write(f):
        f.write(b"new cont")
        if fail_in == "write":
            raise full
        f.write(b"ents")

    if fail_in == "fsync":
        monkeypatch.setattr(fileio.os, "fsync", lambda fd: (_ for _ in ()).throw(full))
    if fail_in == "rename":
        monkeypatch.setattr(fileio.os, "replace", lambda a, b: (_ for _ in ()).throw(full))
    with pytest.raises(OSError) as info:
        fileio.atomic_write(target, write)
    assert info.value.errno == errno.ENOSPC
    assert target.read_bytes() == b"old contents"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.pt"]


# -- exit codes --------------------------------------------------------------------------------------------------------


def test_documented_exit_codes_match_the_error_classes():
    readme = (REPO_ROOT / "README.md").read_text()
    documented = re.search(r"Exit codes a script can rely on: (.*?)\. User errors", readme, re.S).group(1)
    codes = {int(c): words.strip() for c, words in re.findall(r"(\d+) ([^,]+)", " ".join(documented.split()))}
    assert codes == {0: "success", 1: "other user error", 2: "usage or configuration", 3: "data", 4: "audio",
                     5: "checkpoint", 6: "training diverged (loss became NaN/inf; the last good checkpoint is kept)",
                     7: "run directory locked by another command", 130: "interrupted"}
    classes = {errors.SemisepError: 1, errors.UsageError: 2, errors.DataError: 3, errors.AudioError: 4,
               errors.CheckpointError: 5, errors.TrainingError: 6, errors.LockError: 7}
    for cls, code in classes.items():
        assert cls.exit_code == code, cls


def _exit_case(case: str, tmp_path: Path, toy_root: Path, run_dir: Path, monkeypatch) -> list[str]:
    song = tmp_path / "song.wav"
    write_audio(song, tones(1, 16000, 0.3), 16000)
    if case == "ok":
        return ["data-info", "--root", str(toy_root)]
    if case == "other":  # a full disk
        monkeypatch.setattr(fileio.os, "fsync", lambda fd: (_ for _ in ()).throw(OSError(errno.ENOSPC, "full")))
        return ["toy-data", str(tmp_path / "toy"), "--tracks", "4", "--test-tracks", "1", "--seconds", "1"]
    if case == "usage":
        return ["train", "--config", str(tmp_path / "absent.yaml"), "--out", str(tmp_path / "run")]
    if case == "data":
        return ["data-info", "--root", str(tmp_path / "absent")]
    if case == "audio":
        return ["separate", str(tmp_path / "absent.wav"), "--model", str(run_dir), "--out", str(tmp_path / "o")]
    if case == "checkpoint":
        return ["separate", str(song), "--model", str(tmp_path / "absent"), "--out", str(tmp_path / "o")]
    if case == "diverged":
        monkeypatch.setattr(train_mod, "discriminator_losses",
                            lambda *a, **k: (torch.tensor(float("nan"), requires_grad=True), {"D_A": float("nan")}))
        return ["train", "--data", "toy", "--root", str(toy_root), "--preset", "smoke", "--steps", "2",
                "--out", str(tmp_path / "run")]
    if case == "locked":  # the test holds the lock on tmp_path/"locked"
        return ["train", "--data", "toy", "--root", str(toy_root), "--preset", "smoke", "--steps", "2",
                "--out", str(tmp_path / "locked")]
    if case == "interrupted":
        monkeypatch.setattr(data_lib, "detect_layout", lambda root: (_ for _ in ()).throw(KeyboardInterrupt))
        return ["data-info", "--root", str(toy_root)]
    raise AssertionError(case)


@pytest.mark.parametrize("case, code", [("ok", 0), ("other", 1), ("usage", 2), ("data", 3), ("audio", 4),
                                        ("checkpoint", 5), ("diverged", 6), ("locked", 7), ("interrupted", 130)])
def test_cli_errors_go_to_stderr_with_documented_exit_codes(case, code, tmp_path, toy_root, run_dir, capsys,
                                                            monkeypatch):
    argv = _exit_case(case, tmp_path, toy_root, run_dir, monkeypatch)
    with fileio.run_lock(tmp_path / "locked") if case == "locked" else contextlib.nullcontext():
        rc = main(argv)
    captured = capsys.readouterr()
    assert rc == code, captured.err
    if code == 0:
        assert captured.err == "" and captured.out
    else:
        one_sentence(captured.err, f"semisep {argv[0]}: ")
        assert captured.out == ""


def test_argparse_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as info:
        main(["train", "--preset", "huge", "--out", "x"])
    assert info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err
    proc = subprocess.run([sys.executable, "-m", "semisep_lib", "separate"], env=SUBPROCESS_ENV,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "required" in proc.stderr and proc.stdout == ""
