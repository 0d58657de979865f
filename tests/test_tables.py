"""Table 1 and Table 3 from canonical row keys: order, labels, the paper's numbers beside, spreads over seeds."""

from __future__ import annotations

import json
import math

import pytest

from semisep_lib.paper import PAPER_TABLE1, PAPER_TABLE3
from semisep_lib.study.tables import (TABLE1_ROWS, TABLE3_ROWS, kendall_tau, ordering, removal_costs, results_table,
                                summarise, table1, table3)


def fake_result(name: str, sdr: float) -> dict:
    return {"name": name, "vocals": {"SDR": sdr, "SIR": sdr + 10, "SAR": sdr + 1, "ISR": sdr + 5},
            "fast_sdr": sdr, "silent_floor": 0.0, "vocal_energy_fraction": 0.1, "suspect_share": 0.04,
            "references": "int16", "tracks": [{}, {}]}


def test_results_table_and_table1(tmp_path):
    md = results_table([fake_result("ours", 2.5)], paper={"ours": {"SDR": 3.2, "SIR": 14.2}})
    lines = md.strip().splitlines()
    assert lines[0].startswith("| method | vocal SDR | vocal SIR | vocal SAR")
    assert "| ours | 2.50 | 12.50 | 3.50 | 2.50 | 10.0% | 0.00 | 4% | 3.2 | 14.2 |" in lines
    results = {"ours": fake_result("ours", 2.5), "gan": fake_result("gan", -1.0),
               "mixture": fake_result("mixture", -3.0), "nmf": fake_result("nmf", 0.5),
               "extra": fake_result("extra", 1.0)}
    md = table1(results, tmp_path, {"data": "toy", "evaluated_on": "test"})
    assert (tmp_path / "table1.md").read_text() == md
    labels = [line.split("|")[1].strip() for line in md.splitlines() if line.startswith("| ")][1:]
    assert labels == ["mixture (no separation)", "NMF (our stand-in)", "GAN (our stand-in: GAN_C only)",
                      "GLOM (paper only)", "NES (paper only)", "NES-FT (paper only)", "ours (all six losses)", "extra"]
    assert "| ours (all six losses) | 2.50 | 12.50 | 3.50 | 2.50 | 10.0% | 0.00 | 4% | 3.2 | 14.2 |" in md
    assert "| NMF (our stand-in) | 0.50 |" in md and "| 0.0 | – |" in md  # the paper's NMF 0.0 dB beside ours
    assert "GLOM and NES-FT cannot be reproduced" in md and "stand-ins of ours" in md
    assert "upper bound" not in md and "lower bound" not in md  # the IRM and the supervised g bound nothing
    data = json.loads((tmp_path / "table1.json").read_text())
    assert data["paper"] == PAPER_TABLE1 and data["info"] == {"data": "toy", "evaluated_on": "test"}
    # summaries over seeds, keyed by row key as the reproduce command keys them
    spread = {"SDR": {"median": 1.0, "min": 0.5, "max": 2.0}, "SIR": {"median": 9.0, "min": 8.0, "max": 9.5},
              "vocal_energy_fraction": 0.2, "silent_floor": 0.0, "runs": 2}
    md = table1({"oracle_irm": spread, "gan": spread, "ours": spread}, tmp_path)
    assert ("| GAN (our stand-in: GAN_C only) | 1.00 [0.50, 2.00] | 9.00 [8.00, 9.50] | – | – | 20.0% | 0.00 | – "
            "| 0.3 | – |") in md
    assert md.index("oracle IRM") < md.index("GAN (our stand-in") < md.index("GLOM (paper only)") < md.index("| ours")
    assert [r["method"] for r in data["rows"]][-1] == "extra"


def test_summarise_gives_median_and_spread_over_seeds():
    runs = [fake_result("ours", x) for x in (1.0, 3.0, 2.0)]
    s = summarise(runs)
    assert s["SDR"] == {"median": 2.0, "min": 1.0, "max": 3.0} and s["SIR"]["median"] == 12.0
    assert s["vocal_energy_fraction"]["median"] == pytest.approx(0.1) and s["runs"] == 3
    gaps = summarise([dict(fake_result("a", 1.0), fast_sdr=None)])
    assert gaps["fast_sdr"] == {"median": None, "min": None, "max": None}


def test_table3_rows_beside_the_paper(tmp_path):
    rows = {label: summarise([fake_result(label, 1.0), fake_result(label, 2.0), fake_result(label, 1.5)])
            for label in TABLE3_ROWS}
    info = {"profile": "smoke", "data": "toy", "evaluation_songs": 2, "evaluated_on": "test", "seeds": 3,
            "steps": 20, "report_songs": ["a", "b"], "selection_songs": []}
    md = table3(rows, tmp_path, info)
    assert (tmp_path / "table3.md").read_text() == md
    assert "| w/o R4 | 1.50 [1.00, 2.00] | 11.50 [11.00, 12.00] | 0.100 | 4% | -6.3 | -4.7 |" in md
    assert "Reported on: a, b." in md and "(never reported): none." in md
    data = json.loads((tmp_path / "table3.json").read_text())
    assert list(data["rows"]) == list(PAPER_TABLE3) and data["paper"] == PAPER_TABLE3 and data["info"] == info


def test_every_paper_row_has_a_key():
    assert {paper for _, paper in TABLE1_ROWS.values() if paper} == set(PAPER_TABLE1)
    assert TABLE3_ROWS == tuple(PAPER_TABLE3)


def test_kendall_tau_b_by_hand_and_against_scipy():
    # (1,2,3) vs (1,3,2): pairs (1,2) concordant, (1,3) concordant, (2,3) discordant → (2 - 1) / 3
    assert kendall_tau([1, 2, 3], [1, 3, 2]) == pytest.approx(1 / 3)
    assert kendall_tau([1, 2, 3, 4], [4, 3, 2, 1]) == -1.0
    assert math.isnan(kendall_tau([1, 1, 1], [1, 2, 3]))
    from scipy.stats import kendalltau  # museval's dependency: the reference τ-b, with ties

    x, y = [3.5, -0.9, 2.3, -4.3, -6.3, -6.3, -4.1, -17.0], [2.0, 1.1, 2.4, -0.3, 0.1, -1.0, 0.5, 0.0]
    assert kendall_tau(x, y) == pytest.approx(kendalltau(x, y)[0])


def test_ordering_compares_our_table3_with_the_papers_by_sdr():
    rows = {k: {"SDR": {"median": v["SDR"], "min": v["SDR"], "max": v["SDR"]}} for k, v in PAPER_TABLE3.items()}
    same = ordering(rows, PAPER_TABLE3)
    assert same["kendall_tau"] == 1.0 and same["rows"] == 8 and same["ours_best_first"][0] == "all losses"
    flipped = {k: {"SDR": -v["SDR"]["median"]} for k, v in rows.items()}
    assert ordering(flipped, PAPER_TABLE3)["ours_best_first"][0] == "w/o GAN_A & GAN_C"
    assert ordering(flipped, PAPER_TABLE3)["kendall_tau"] == -1.0
    assert all(c["agrees"] for c in same["removal_costs"]) and len(same["removal_costs"]) == 7


def test_removal_costs_subtract_the_full_method_and_compare_signs_and_seed_ranges():
    paper = {k: PAPER_TABLE3[k] for k in ("all losses", "w/o R1", "w/o R2")}
    one_seed = {"all losses": {"SDR": 4.0}, "w/o R1": {"SDR": 4.5}, "w/o R2": {"SDR": 3.0}}
    costs = {c["row"]: c for c in removal_costs(one_seed, paper)}
    assert set(costs) == {"w/o R1", "w/o R2"}  # the full method is the reference, not a row
    assert costs["w/o R1"]["ours"] == 0.5 and costs["w/o R1"]["paper"] == pytest.approx(-0.9 - 3.5)
    assert costs["w/o R1"]["agrees"] is False and costs["w/o R2"]["agrees"] is True
    assert costs["w/o R2"]["beyond_seeds"] is None  # one run: no spread to compare
    seeds = lambda lo, hi: {"SDR": {"median": (lo + hi) / 2, "min": lo, "max": hi}}  # noqa: E731
    two_seeds = {"all losses": seeds(3.8, 4.2), "w/o R1": seeds(3.9, 4.6), "w/o R2": seeds(2.5, 3.5)}
    costs = {c["row"]: c for c in removal_costs(two_seeds, paper)}
    assert costs["w/o R1"]["beyond_seeds"] is False and costs["w/o R2"]["beyond_seeds"] is True
    assert costs["w/o R2"]["ours"] == pytest.approx(-1.0)
