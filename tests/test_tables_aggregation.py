"""Every table says how its scores were aggregated; the paper's per-track mean can be chosen for the tables."""

from __future__ import annotations

import json

import pytest

from conftest import fake_tracks
from semisep_lib.errors import UsageError
from semisep_lib.study.evaluate import AGGREGATION, AGGREGATIONS, aggregate
from semisep_lib.study.tables import TABLE3_ROWS, table1, write_table, write_tables

INFO = {"profile": "smoke", "data": "toy", "evaluation_songs": 3, "evaluated_on": "test", "seeds": 1,
        "steps": 20, "report_songs": ["a", "b", "c"], "selection_songs": ["d"]}


def scored(name: str) -> dict:
    """A result as :func:`~semisep_lib.study.evaluate.evaluate_estimates` returns it (default aggregation)."""
    tracks = fake_tracks()
    return {"name": name, "protocol": "v3", "aggregation": AGGREGATION, "tracks": tracks} | aggregate(tracks)


def test_default_tables_say_sisec_2018_and_keep_their_numbers(tmp_path):
    t1 = {"ours": [scored("ours")], "mixture": [scored("mixture")]}
    t3 = {label: [scored(label)] for label in TABLE3_ROWS}
    rows1, rows3 = write_tables(tmp_path, t1, t3, INFO)
    assert rows1["ours"]["SDR"]["median"] == 2.0 and rows3["w/o R1"]["SIR"]["median"] == 12.0
    md1, md3 = (tmp_path / "table1.md").read_text(), (tmp_path / "table3.md").read_text()
    assert "Median vocal scores in dB (" + AGGREGATION + "; over several seeds" in md1
    assert "| ours (all six losses) | 2.00 | 12.00 |" in md1
    assert "Median vocal SDR / SIR in dB (museval v4, 1 s windows, median over frames then tracks;" in md3
    assert json.loads((tmp_path / "table1.json").read_text())["aggregation"] == AGGREGATION
    assert json.loads((tmp_path / "table3.json").read_text())["aggregation"] == AGGREGATION


def test_the_papers_per_track_mean_re_aggregates_and_is_said(tmp_path):
    t1 = {"ours": [scored("ours")]}
    t3 = {label: [scored(label)] for label in TABLE3_ROWS}
    rows1, rows3 = write_tables(tmp_path, t1, t3, INFO, aggregation="mean")
    assert rows1["ours"]["SDR"]["median"] == pytest.approx(-14 / 3)  # median over tracks of per-track means
    assert rows3["all losses"]["SIR"]["median"] == pytest.approx(10 - 14 / 3)
    md1, md3 = (tmp_path / "table1.md").read_text(), (tmp_path / "table3.md").read_text()
    assert "Vocal scores in dB (" + AGGREGATIONS["mean"] in md1 and "| ours (all six losses) | -4.67 |" in md1
    assert AGGREGATIONS["mean"] in md3 and "| all losses | -4.67 | 5.33 |" in md3
    assert AGGREGATION not in md1 + md3
    assert json.loads((tmp_path / "table1.json").read_text())["aggregation"] == AGGREGATIONS["mean"]
    assert json.loads((tmp_path / "table3.json").read_text())["aggregation"] == AGGREGATIONS["mean"]
    with pytest.raises(UsageError, match="Unknown aggregation"):
        write_tables(tmp_path, t1, t3, INFO, aggregation="average")


def test_a_table_refuses_a_result_aggregated_otherwise(tmp_path):
    with pytest.raises(UsageError, match="re-aggregate it first"):
        table1({"ours": scored("ours")}, tmp_path, aggregation="mean")
    md = write_table([scored("ours")], tmp_path, "table")  # `semisep evaluate`'s table names its aggregation
    assert f"Aggregation: {AGGREGATION}." in md
    assert json.loads((tmp_path / "table.json").read_text())["aggregation"] == AGGREGATION
