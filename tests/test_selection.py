"""Songs that choose never report: selection and report songs are disjoint in every command.

The validation songs are split in two halves by :func:`semisep_lib.study.data.selection_report_split`; training's
best checkpoint and ``tune-mask`` see only the *select* half, and ``reproduce`` (when the data has no test
subset) and the model card report only on the *report* half.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from semisep_lib.interfaces.cli import main
from semisep_lib.method.config import Config
from semisep_lib.study.data import list_tracks, load_training_data, selection_report_split
from semisep_lib.study.reproduce import git_commit, relative


def test_split_halves_are_disjoint_and_cover_the_validation_songs():
    names = [f"song {i}" for i in (5, 1, 4, 2, 3)]
    select, report = selection_report_split(names)
    assert select == ["song 1", "song 3", "song 5"] and report == ["song 2", "song 4"]
    assert selection_report_split(["only"]) == (["only"], [])


@pytest.mark.parametrize("which", ["toy", "shared"])
def test_list_tracks_select_and_report(which, request):
    root = request.getfixturevalue("toy_root" if which == "toy" else "shared_data")
    select, report = list_tracks(root, "train", "select"), list_tracks(root, "train", "report")
    assert select and report and not set(select) & set(report)
    assert sorted(select + report) == list_tracks(root, "train", "valid")
    assert not set(select + report) & set(list_tracks(root, "train", "train"))


def test_training_validates_on_selection_songs_only(toy_root):
    td = load_training_data(Config.from_preset("smoke"), toy_root)
    assert [name for name, _, _ in td.valid] == list_tracks(toy_root, "train", "select")


@pytest.fixture(scope="module")
def no_test_reproduction(toy_root, tmp_path_factory):
    """A smoke ``reproduce`` on toy data without a test subset (like MUSDB18-7's train folder alone)."""
    root = tmp_path_factory.mktemp("no-test") / "toy"
    shutil.copytree(toy_root, root)
    shutil.rmtree(root / "test")
    out = root.parent / "out"
    assert main(["reproduce", "--profile", "smoke", "--data", "toy", "--root", str(root), "--out", str(out)]) in (0, None)
    return root, out


def test_reproduce_reports_on_no_song_that_chose(no_test_reproduction):
    root, out = no_test_reproduction
    info = yaml.safe_load((out / "table1.json").read_text())["info"]
    report, select = set(info["report_songs"]), set(info["selection_songs"])
    assert info["evaluated_on"] == "report" and report and select
    assert not report & select
    assert not report & set(list_tracks(root, "train", "train"))  # nor did a report song train
    tunings = sorted((out / "runs").glob("*/separate.yaml"))
    assert tunings, "reproduce chose no mask exponent"
    for path in tunings:
        tuned_on = set(yaml.safe_load(path.read_text())["tuning"]["songs"])
        assert tuned_on and tuned_on <= select and not tuned_on & report, path
    table3 = (out / "table3.md").read_text()
    assert "Reported on:" in table3 and "never reported" in table3


def test_reproduce_records_its_command_and_commit(no_test_reproduction):
    """The listening page and a reader re-run what the run recorded, not a guess."""
    root, out = no_test_reproduction
    info = yaml.safe_load((out / "table1.json").read_text())["info"]
    # the output folder as the run recorded it: relative to where it ran, no absolute path of the machine
    assert info["command"] == (f"python -m semisep_lib reproduce --profile smoke --data toy --seeds 1 "
                               f"--out {relative(out)}")
    assert "git_commit" in info
    if git_commit() is not None:  # inside a git work tree (as in CI): the commit of the code that ran
        assert info["git_commit"] == git_commit()


def test_the_benchmarks_that_chose_a_setting_saw_no_report_song(shared_data):
    """bench_blocks.py, bench_stereo.py and bench_bf16.py chose the cpu preset's separation layout and precision:
    on songs that never report."""
    results = Path(__file__).resolve().parents[1] / "benchmarks" / "results"
    report = set(list_tracks(shared_data, "train", "report"))
    bf16 = json.loads((results / "bf16.json").read_text())["separation"]
    for name, chosen in [(n, json.loads((results / n).read_text())) for n in ("blocks.json", "stereo.json",
                                                                             "stereo-select.json")] + [("bf16", bf16)]:
        assert chosen["songs"] and not set(chosen["songs"]) & report, name
