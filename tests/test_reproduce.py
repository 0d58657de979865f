"""``reproduce``'s row processes: rows trained two at a time in their own processes give the same tables as one
after the other, and the run records where its time went; the paper's protocol beside museval v4, and a
reproduction continued from its scores alone."""

import dataclasses
import json
import shutil
from pathlib import Path

import pytest

from semisep_lib.interfaces.listen import reproduce_runs
from semisep_lib.method import config
from semisep_lib.study.reproduce import TRAINED_ROWS, Reproduction, recorded_root, relative, row_key


def _run(root, out, processes, monkeypatch, protocols=("v4",), score_as_trained=False):
    smoke = config.PRESETS["smoke"]
    monkeypatch.setitem(config.PRESETS, "smoke", dataclasses.replace(
        smoke, reproduce=dataclasses.replace(smoke.reproduce, row_processes=processes, protocols=protocols,
                                             score_as_trained=score_as_trained)))
    Reproduction("smoke", "toy", str(root), 1, out, device="cpu", progress=False).run()
    # the command names the run's folder relative to the current one (``relative``): "../../tmp/.../serial"
    # from /work/clone, but "../pytest-of-u/.../serial" from a clone in /tmp, which holds no absolute path
    tables = {name: json.loads((out / name).read_text().replace(relative(out), "OUT").replace(str(out), "OUT"))
              for name in ("table1.json", "table3.json")}
    return tables, json.loads((out / "timing.json").read_text())


def _differences(a, b, where="") -> list[str]:
    """Where two JSON values differ, as ``path: a != b`` lines (a failed comparison of tables says which
    number of which row moved, not only that the dictionaries differ)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return [line for k in sorted(set(a) | set(b), key=str)
                for line in _differences(a.get(k, "<missing>"), b.get(k, "<missing>"), f"{where}/{k}")]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [line for i, (x, y) in enumerate(zip(a, b)) for line in _differences(x, y, f"{where}[{i}]")]
    return [] if a == b else [f"{where}: {a!r} != {b!r}"]


def test_differences_name_the_number_that_moved():
    assert _differences({"t": {"rows": {"r": {"SDR": [1.0, 2.0]}}}}, {"t": {"rows": {"r": {"SDR": [1.0, 2.5]}}}}) \
        == ["/t/rows/r/SDR[1]: 2.0 != 2.5"]
    assert _differences({"a": 1}, {"b": 1}) == ["/a: 1 != '<missing>'", "/b: '<missing>' != 1"]
    assert _differences({"a": [1]}, {"a": [1]}) == []


def test_tables_compared_name_the_run_folder_alike_wherever_the_clone_is(toy_root, tmp_path, monkeypatch):
    """The tables of two runs into two folders differ only in the folder their command names, whichever way
    ``relative`` writes it from the current directory (a clone beside the temporary folder or far from it)."""
    for cwd in (tmp_path, tmp_path.parent.parent, Path("/")):
        monkeypatch.chdir(cwd)
        for kind in ("serial", "parallel"):
            out = tmp_path / kind
            out.mkdir(exist_ok=True)
            info = {"info": {"command": f"python -m semisep_lib reproduce --out {relative(out)}"}}
            for name in ("table1.json", "table3.json"):
                (out / name).write_text(json.dumps(info))
            (out / "timing.json").write_text("{}")
        monkeypatch.setattr(Reproduction, "run", lambda self: None)
        serial, _ = _run(toy_root, tmp_path / "serial", 1, monkeypatch)
        parallel, _ = _run(toy_root, tmp_path / "parallel", 2, monkeypatch)
        assert serial == parallel, _differences(serial, parallel)


def test_rows_in_two_processes_give_the_tables_of_one(toy_root, tmp_path, monkeypatch):
    """Two row processes give the tables of one. The parallel run also scores with the paper's protocol, as the
    long profile does (``protocols=("v4", "v3")``: SiSEC-2018 tables in OUT/, the paper's — v3, per-track
    means — in OUT/paper-protocol/, Kendall's τ of each in ordering.json), and a later session that has only its
    scores (the run folders gone) trains nothing again and writes the same tables. It also scores each row in
    its row process as soon as it is trained (``score_as_trained``, as the long profile does), with the same
    numbers."""
    from semisep_lib.study import methods, reproduce

    serial, _ = _run(toy_root, tmp_path / "serial", 1, monkeypatch)
    train_rows = Reproduction.train_rows

    def scored_as_trained(self):  # the cpu and long profiles' way: every row's scores are written as it is
        train_rows(self)  # trained, and the baselines' beside the warm-up
        assert all(self.scored(row_key(name, 0)) for name in TRAINED_ROWS)
        assert all(self.scored(key) for key in ("mixture", "oracle", "nmf", "nes-seed0"))

    monkeypatch.setattr(Reproduction, "train_rows", scored_as_trained)
    parallel, timing = _run(toy_root, tmp_path / "parallel", 2, monkeypatch, protocols=("v4", "v3"),
                            score_as_trained=True)
    monkeypatch.setattr(Reproduction, "train_rows", train_rows)
    assert parallel == serial, "\n".join(_differences(serial, parallel)[:40])
    assert timing["row_processes"] == 2 and set(timing["stages"]) >= {
        reproduce.SCORING_STAGE, "evaluation of the trained rows", reproduce.BASELINES_STAGE}
    assert all(s >= 0 for s in timing["stages"].values())
    runs = {kind: sorted(p.parent.name for p in (tmp_path / kind / "runs").glob("*/summary.json"))
            for kind in ("serial", "parallel")}
    assert runs["parallel"] == runs["serial"] and len(runs["serial"]) == len(TRAINED_ROWS) + 1  # + the warm-up
    # the baselines' models are kept, so the listening page offers them beside the trained rows
    kinds = {kind for _, _, kind in reproduce_runs(tmp_path / "parallel").values()}
    assert kinds == {"g", "nes", "nmf"}
    # the paper's protocol beside v4
    out = tmp_path / "parallel"
    assert "mean over windows" in json.loads((out / "paper-protocol" / "table3.json").read_text())["aggregation"]
    assert "median over windows" in json.loads((out / "table3.json").read_text())["aggregation"]
    order = json.loads((out / "ordering.json").read_text())
    assert len(order) == 2 and all(o["rows"] >= 2 and -1 <= o["kendall_tau"] <= 1 for o in order.values())
    assert all(len(o["removal_costs"]) == o["rows"] - 1 for o in order.values())  # every row but all losses
    # continued from the scores alone
    tables = ("table1.json", "table3.json", "paper-protocol/table1.json", "paper-protocol/table3.json")
    before = {name: (out / name).read_text() for name in tables}
    shutil.rmtree(out / "runs")
    monkeypatch.setattr(reproduce, "train", lambda *a, **k: pytest.fail("trained a row that was already scored"))
    monkeypatch.setattr(methods, "train_nes", lambda *a, **k: pytest.fail("trained NES again"))
    Reproduction("smoke", "toy", str(toy_root), 1, out, device="cpu", progress=False).run()
    assert {name: (out / name).read_text() for name in tables} == before


def test_a_run_copied_back_from_results_trains_what_is_not_scored_from_its_warm_up(toy_root, tmp_path, monkeypatch):
    """A run continued from a clone has its rows' small files (summary.json, valid.jsonl) but no weights: a row
    not scored yet is trained again, from a warm-up trained again (not from scratch), and the tables come out
    the same."""
    tables, _ = _run(toy_root, tmp_path / "out", 1, monkeypatch)
    out = tmp_path / "out"
    for weights in (out / "runs").glob("*/*.pt"):
        weights.unlink()
    (out / "scores" / "all-losses-seed0.json").unlink()
    trained = []
    from semisep_lib.study import reproduce
    train = reproduce.train
    monkeypatch.setattr(reproduce, "train", lambda cfg, td, run, **k: trained.append(run.name) or train(cfg, td, run, **k))
    again, _ = _run(toy_root, out, 1, monkeypatch)
    assert trained == ["warm-up-seed0", "all-losses-seed0"] and again == tables


def test_every_stage_of_the_paper_profile_asks_for_the_chosen_device(toy_root, tmp_path, monkeypatch):
    """A GPU run stays on the GPU: training, loading ``g``, tuning its mask, separating for museval and NES all
    ask for the device ``reproduce`` picked (a fake ``cuda:7`` here, so that a stage falling back to its own
    default — the CPU, or ``auto`` — shows), with the paper profile's architecture."""
    import torch

    from semisep_lib.study import methods, reproduce

    cuda = torch.device("cuda", 7)
    monkeypatch.setattr(reproduce, "pick_device", lambda device: cuda)
    r = Reproduction("paper", "toy", str(toy_root), 1, tmp_path / "out", device="auto", progress=False, steps=3)
    assert r.cfg.model.g_channels == config.Config.from_preset("paper").model.g_channels
    assert r.cfg.train.steps == 3 and r.kwargs["steps"] == 3  # the override reaches row processes too
    asked = []

    def record(stage, device, result=None):
        asked.append((stage, str(device)))
        return result

    class Saved:
        def save(self, path):
            path.write_bytes(b"")

    monkeypatch.setattr(reproduce, "train", lambda cfg, td, run, **kw: record("train", cfg.train.device, {}))
    monkeypatch.setattr(reproduce, "load_g", lambda run, device: record("load_g", device, (None, r.cfg)))
    monkeypatch.setattr(reproduce, "tune_mask", lambda g, cfg, songs, device: record("tune", device, ({}, {}, [])))
    monkeypatch.setattr(reproduce, "save_tuning", lambda *a, **k: None)
    monkeypatch.setattr(methods, "load_separator", lambda run, device: record("separate", device, "sep"))
    monkeypatch.setattr(reproduce, "evaluate_separator", lambda sep, *a, **k: {"separator": sep})
    monkeypatch.setattr(methods, "train_nes", lambda td, cfg, nes_cfg, **k: record("nes", nes_cfg.device, Saved()))
    r.trained_row("all losses")
    r.separator(methods.METHODS["nes"], 0)
    stages = dict(asked)
    assert set(stages) == {"train", "load_g", "tune", "separate", "nes"}
    assert all(device == "cuda:7" for _, device in asked), asked



def test_row_processes_can_be_chosen_on_the_command_line(toy_root, tmp_path):
    """``reproduce --row-processes N`` overrides the profile's number of rows trained at once, and reaches the
    row processes; without it the profile's number stands."""
    from semisep_lib.interfaces.cli import build_parser

    args = build_parser().parse_args(["reproduce", "--profile", "smoke", "--out", str(tmp_path), "--row-processes", "3"])
    assert args.row_processes == 3
    r = Reproduction("smoke", "toy", str(toy_root), 1, tmp_path / "a", device="cpu", progress=False, row_processes=3)
    assert r.p.row_processes == 3 and r.kwargs["row_processes"] == 3
    default = Reproduction("smoke", "toy", str(toy_root), 1, tmp_path / "b", device="cpu", progress=False)
    assert default.p.row_processes == config.PRESETS["smoke"].reproduce.row_processes


def test_a_run_records_no_absolute_path_of_the_machine(tmp_path, monkeypatch):
    """What a run writes into its tables' info, captions and command: the built-in toy set by name only (found
    again in the cache), any other root and the output folder relative to the current directory."""
    monkeypatch.chdir(tmp_path)
    assert recorded_root("toy", None, Path("/root/.cache/semisep/toy")) is None
    for given in ("/data/musdb18", "../shared/data/musdb18-7"):
        shown = recorded_root("musdb", given, Path(given))
        assert not Path(shown).is_absolute() and (tmp_path / shown).resolve() == Path(given).resolve()
    assert recorded_root("toy", str(tmp_path / "toy"), tmp_path / "toy") == "toy"
    assert relative(tmp_path / "runs" / "x") == str(Path("runs") / "x")


def test_rows_are_trained_costliest_first():
    """Longest processing time first: two row processes that take the costliest rows first end together, not one
    of them alone on a long last row. All six terms cost most, the supervised row (one pass of g) least."""
    from semisep_lib.study.reproduce import row_cost

    order = sorted(TRAINED_ROWS, key=lambda n: -row_cost(n))
    assert order[0] == "all losses" and order[-2:] == ["GAN only", "supervised"]
    assert row_cost("w/o GAN_A & GAN_C") < row_cost("w/o R1") < row_cost("all losses")


def test_the_supervised_row_continues_from_an_untrained_checkpoint_as_from_the_warm_up(toy_root, tmp_path):
    """The warm-up trains only the discriminators, so the supervised row (no discriminator) started from
    ``train.untrained_checkpoint`` at the warm-up's step trains exactly as from the warm-up's checkpoint: the
    same weights, EMA and log to the last bit. That is why reproduce trains it beside the warm-up."""
    import torch

    from semisep_lib.method.config import Config
    from semisep_lib.method.train import train, untrained_checkpoint
    from semisep_lib.study.data import load_training_data

    cfg = Config.from_preset("smoke")
    cfg.train.steps, cfg.train.ema_decay = cfg.train.d_warmup + 6, 0.999  # with an EMA of g, as the cpu preset
    td = load_training_data(cfg, toy_root, tracks=6)
    warm = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, steps=cfg.train.d_warmup, val_segments=0))
    train(warm, td, tmp_path / "warm-up", progress=False)
    (tmp_path / "from-warm-up").mkdir()
    shutil.copy(tmp_path / "warm-up" / "checkpoint.pt", tmp_path / "from-warm-up" / "checkpoint.pt")
    untrained_checkpoint(cfg, td, tmp_path / "untrained", cfg.train.d_warmup)
    runs = [tmp_path / "from-warm-up", tmp_path / "untrained"]
    for run in runs:
        train(cfg, td, run, objective="supervised", progress=False)
    a, b = (torch.load(run / "checkpoint.pt", weights_only=False) for run in runs)
    assert a["step"] == b["step"] == cfg.train.steps
    for key in ("g", "g_ema", "opt_g"):
        flat = lambda d: [v for v in (d.values() if key != "opt_g" else d["state"].values())]  # noqa: E731
        for x, y in zip(flat(a[key]), flat(b[key])):
            assert all(torch.equal(x[k], y[k]) for k in x) if isinstance(x, dict) else torch.equal(x, y)
    logs = [[{k: v for k, v in json.loads(ln).items() if k != "time"} for ln in (run / "log.jsonl").read_text().splitlines()]
            for run in runs]
    assert logs[0] == logs[1] and len(logs[0]) == 6
