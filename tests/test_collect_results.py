"""scripts/collect_results.py copies what `reproduce` wrote, unchanged, including the long profile's extras."""

import importlib.util
import json
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "collect_results.py"


def _collect():
    spec = importlib.util.spec_from_file_location("collect_results", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


def test_a_reproduction_is_copied_with_its_ordering_protocol_tables_and_scores(tmp_path):
    src, dest = tmp_path / "run", tmp_path / "results"
    files = ["table1.md", "table1.json", "table3.md", "table3.json", "ablation.png", "timing.json", "ordering.json",
             "paper-protocol/table3.md", "scores/all-losses-seed0.json", "scores-v3/all-losses-seed0.json"]
    for i, name in enumerate(files):
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        (src / name).write_text(f"content {i}")
    (src / "runs").mkdir()  # models and checkpoints: not copied
    (src / "runs" / "big.pt").write_text("weights")
    for key in ("all-losses-seed0", "wo-R1-seed0", "all-losses-seed1", "warm-up-seed0"):  # rows' small files: copied
        (src / "runs" / key).mkdir()
        (src / "runs" / key / "summary.json").write_text(f'{{"row": "{key}"}}')
        (src / "runs" / key / "best.pt").write_text("weights")
        (src / "runs" / key / "config.yaml").write_text("model:\n  d_scales: 3\n")
        (src / "runs" / key / "log.jsonl").write_text(  # one line per step: committed as means over 50 steps
            "".join(f'{{"step": {s}, "D_A": {s % 2}, "GAN_A": 0.75}}\n' for s in range(800, 900)))
        if not key.startswith("warm-up"):
            (src / "runs" / key / "valid.jsonl").write_text(
                "".join(f'{{"step": {s}, "val_sdr": {s / 1000}, "val_vocal_fraction": 0.1}}\n' for s in (1000, 1250)))
    _collect()("reproduce", str(src), str(dest))
    assert all((dest / name).read_text() == f"content {i}" for i, name in enumerate(files))
    assert not (dest / "runs" / "big.pt").exists() and not list(dest.glob("runs/*/*.pt"))
    assert (dest / "runs" / "wo-R1-seed0" / "valid.jsonl").read_text() == (src / "runs/wo-R1-seed0/valid.jsonl").read_text()
    assert (dest / "runs" / "warm-up-seed0" / "summary.json").is_file()
    assert sorted(p.name for p in dest.glob("selection-curves-*.png")) == ["selection-curves-seed0.png",
                                                                         "selection-curves-seed1.png"]
    losses = [json.loads(line) for line in (dest / "runs/wo-R1-seed0/losses.jsonl").read_text().splitlines()]
    assert losses == [{"step": 849, "D_A": 0.5, "GAN_A": 0.75}, {"step": 899, "D_A": 0.5, "GAN_A": 0.75}]
    assert not (dest / "runs/wo-R1-seed0/log.jsonl").exists()
    assert sorted(p.name for p in dest.glob("game-*.png")) == ["game-seed0.png", "game-seed1.png"]
    with pytest.raises(SystemExit, match="unknown kind"):
        _collect()("nothing", str(src), str(dest))


def test_a_reproduction_still_running_gives_its_scores_and_rows_so_far(tmp_path, capsys):
    """The long profile scores each row as it is trained: before its tables exist, what it has is copied (and
    said), so that a later session can continue it from a clone."""
    src, dest = tmp_path / "run", tmp_path / "results"
    for name in ("scores/all-losses-seed0.json", "scores-v3/all-losses-seed0.json", "runs/all-losses-seed0/summary.json"):
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        (src / name).write_text("{}" if name.startswith("runs") else _scores(1.0))
    (src / "runs" / "all-losses-seed0" / "valid.jsonl").write_text('{"step": 1000, "val_sdr": 1.0, "val_vocal_fraction": 0.1}\n')
    _collect()("reproduce", str(src), str(dest))
    assert (dest / "scores" / "all-losses-seed0.json").is_file() and (dest / "scores-v3" / "all-losses-seed0.json").is_file()
    assert (dest / "runs" / "all-losses-seed0" / "valid.jsonl").is_file() and not (dest / "table3.json").exists()
    assert "still running" in capsys.readouterr().out


def _scores(sdr: float) -> str:
    vocals = {"SDR": sdr, "SIR": sdr + 5, "SAR": 1.0, "ISR": 2.0}
    return json.dumps({"vocals": vocals, "fast_sdr": sdr, "silent_floor": 0.0, "vocal_energy_fraction": 0.1,
                       "tracks": [{"name": "Song A"}, {"name": "Song B"}]})


def test_a_reproduction_still_running_gets_the_table3_of_the_rows_scored_under_every_protocol(tmp_path):
    """Rows whose every seed is scored under both protocols make an interim Table 3 and removal costs; a row
    scored under v4 only (its v3 scoring interrupted) or for one seed of two is left out."""
    src, dest = tmp_path / "run", tmp_path / "results"
    sdr = {"all-losses": 3.0, "wo-R1": 1.0, "wo-R2": 4.0}
    for folder in ("scores", "scores-v3"):
        (src / folder).mkdir(parents=True)
        for row, value in sdr.items():
            for seed in (0, 1):
                (src / folder / f"{row}-seed{seed}.json").write_text(_scores(value + seed))
        (src / folder / "wo-R3-seed0.json").write_text(_scores(2.0))  # one seed of two: not a row yet
    (src / "scores" / "wo-R4-seed0.json").write_text(_scores(2.0))  # v4 only
    (src / "scores" / "wo-R4-seed1.json").write_text(_scores(2.0))
    _collect()("reproduce", str(src), str(dest))
    md = (dest / "so-far" / "table3.md").read_text()
    assert md.startswith("# Table 3 so far (the run is not finished)")
    assert "| all losses | 3.50 [3.00, 4.00] |" in md and "| w/o R1 | 1.50 [1.00, 2.00] |" in md
    assert "w/o R3" not in md and "w/o R4" not in md and "Reported on: Song A, Song B." in md
    v3 = json.loads((dest / "so-far" / "paper-protocol" / "table3.json").read_text())
    assert list(v3["rows"]) == ["all losses", "w/o R1", "w/o R2"] and v3["info"]["seeds"] == 2
    costs = {c["row"]: c for c in json.loads((dest / "so-far" / "ordering.json").read_text())[
        "museval v4 (1 s windows, medians)"]["removal_costs"]}
    assert costs["w/o R1"]["ours"] == -2.0 and costs["w/o R1"]["agrees"] and costs["w/o R2"]["ours"] == 1.0
    for name in ("table1.md", "table1.json", "table3.md", "table3.json", "ablation.png", "timing.json"):
        (src / name).write_text("{}")  # the run finishes: its own tables replace the tables so far
    _collect()("reproduce", str(src), str(dest))
    assert (dest / "table3.json").is_file() and not (dest / "so-far").exists()
