"""``reproduce``'s row processes: rows trained two at a time in their own processes give the same tables as one
after the other, and the run records where its time went."""

import dataclasses
import json

from semisep_lib import config
from semisep_lib.listen import reproduce_runs
from semisep_lib.reproduce import TRAINED_ROWS, Reproduction


def _run(root, out, processes, monkeypatch):
    smoke = config.PRESETS["smoke"]
    monkeypatch.setitem(config.PRESETS, "smoke", dataclasses.replace(
        smoke, reproduce=dataclasses.replace(smoke.reproduce, row_processes=processes)))
    Reproduction("smoke", "toy", str(root), 1, out, device="cpu", progress=False).run()
    tables = {name: json.loads((out / name).read_text().replace(str(out), "OUT"))  # the command names it
              for name in ("table1.json", "table3.json")}
    return tables, json.loads((out / "timing.json").read_text())


def test_rows_in_two_processes_give_the_tables_of_one(toy_root, tmp_path, monkeypatch):
    serial, _ = _run(toy_root, tmp_path / "serial", 1, monkeypatch)
    parallel, timing = _run(toy_root, tmp_path / "parallel", 2, monkeypatch)
    assert parallel == serial
    assert timing["row_processes"] == 2 and set(timing["stages"]) >= {
        "training (warm-up, rows, their mask tuning)", "evaluation of the trained rows", "baselines (fit and evaluation)"}
    assert all(s >= 0 for s in timing["stages"].values())
    runs = {kind: sorted(p.parent.name for p in (tmp_path / kind / "runs").glob("*/summary.json"))
            for kind in ("serial", "parallel")}
    assert runs["parallel"] == runs["serial"] and len(runs["serial"]) == len(TRAINED_ROWS) + 1  # + the warm-up
    # the baselines' models are kept, so the listening page offers them beside the trained rows
    kinds = {kind for _, _, kind in reproduce_runs(tmp_path / "parallel").values()}
    assert kinds == {"g", "nes", "nmf"}
