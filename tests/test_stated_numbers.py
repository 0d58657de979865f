"""Numbers the notebooks' narration states, checked against the committed files they are read from (issue 33:
nothing stale). A cell that quotes a committed result must quote it as the file has it now; where the file
changes, this test names the cell to rewrite. Numbers of the previous long ablation are read with ``git show
cb5dc79:...`` (skipped where the history is absent, e.g. a shallow clone, or once the cell no longer quotes it).
The paper's numbers come from :mod:`semisep_lib.paper`."""

from __future__ import annotations

import json
import math
import subprocess
from pathlib import Path

import nbformat
import pytest

from semisep_lib.interfaces.notebooks import EXPERIMENTS_DIR, NOTEBOOK_DIR, RESULTS_DIR
from semisep_lib.paper import PAPER_TABLE3

PREVIOUS_LONG = "cb5dc79"  # the commit that last held the previous long ablation's tables (README)


def _cell(stem: str, cell_id: str) -> str:
    nb = nbformat.read(str(NOTEBOOK_DIR / f"{stem}.ipynb"), as_version=4)
    (cell,) = [c for c in nb.cells if c.get("id") == cell_id]
    return cell.source


def _dB(value: float, digits: int = 2, sign: bool = False) -> str:
    """A number as the narration writes it: a typographic minus, a plus only where asked for."""
    text = f"{value:+.{digits}f}" if sign else f"{value:.{digits}f}"
    return text.replace("-", "−")


def _median(cell) -> float:
    return cell["median"] if isinstance(cell, dict) else cell


def _table1(run: str) -> dict[str, dict]:
    """A committed Table 1's rows by the label before its parenthesis (``oracle IRM``, ``ours`` ...)."""
    rows = json.loads((RESULTS_DIR / run / "table1.json").read_text())["rows"]
    return {r["method"].split(" (")[0]: r for r in rows if not r.get("paper_only")}


def _table3(run: str) -> dict[str, dict]:
    return json.loads((RESULTS_DIR / run / "table3.json").read_text())["rows"]


def _git_json(path: str):
    root = NOTEBOOK_DIR.parent
    shown = subprocess.run(["git", "show", f"{PREVIOUS_LONG}:{path}"], cwd=root, capture_output=True, text=True)
    if shown.returncode != 0:
        pytest.skip(f"{PREVIOUS_LONG} is not in this clone's history")
    return json.loads(shown.stdout)


def _missing(text: str, expected: list[str]) -> list[str]:
    """The expected phrases not in ``text``, line breaks and indents read as single spaces."""
    flat = " ".join(text.split())
    return [e for e in expected if e not in flat]


def test_notebook_07_reads_sir_against_sdr_from_the_committed_tables():
    text = _cell("07_evaluation", "d63179bc")
    musdb, toy = _table1("reproduce-cpu-musdb"), _table1("reproduce-cpu-toy")
    pair = lambda row: f"{_dB(_median(row['SIR']))} against {_dB(_median(row['SDR']))}"  # noqa: E731
    gap = lambda row: _dB(_median(row["SIR"]) - _median(row["SDR"]), 1)  # noqa: E731
    expected = [f"SIR {_dB(_median(musdb['mixture']['SIR']))} against SDR {_dB(_median(musdb['mixture']['SDR']))}",
                pair(musdb["oracle IRM"]), pair(toy["oracle IRM"]),
                f"SIR {_dB(_median(musdb['NES']['SIR']))} against SDR {_dB(_median(musdb['NES']['SDR']))}",
                pair(toy["NES"]),
                f"{100 * _median(musdb['NES']['vocal_energy_fraction']):.1f} %",
                f"{100 * _median(toy['NES']['vocal_energy_fraction']):.1f} %",
                f"ours {pair(musdb['ours'])} (a {gap(musdb['ours'])} dB gap)",
                f"supervised {pair(musdb['supervised same g'])} ({gap(musdb['supervised same g'])} dB)",
                f"ours {pair(toy['ours'])}", f"supervised `g` {pair(toy['supervised same g'])}"]
    assert not _missing(text, expected)


def test_notebook_07_reads_the_decodes_from_the_scorer_experiment():
    text = _cell("07_evaluation", "50a8a7cf")
    rows = json.loads((EXPERIMENTS_DIR / "scorer" / "results" / "decodes.json").read_text())["rows"]
    (song,) = [r for r in rows if r["song"].startswith("Johnny Lokke")]
    grid, floats = song["int16"], song["float"]
    moved = [max(abs(r["int16"][m] - r["float"][m]) for m in ("SIR", "SAR", "ISR")) for r in rows]
    suspect = lambda kind: (sum(r[kind]["suspect"][0] for r in rows)  # noqa: E731 - the share of all windows
                            / sum(r[kind]["suspect"][1] for r in rows))
    toy = json.loads((EXPERIMENTS_DIR / "scorer" / "results" / "toy-float-stems.json").read_text())["rows"]
    toy_moved = [r[k]["SIR"] - r["exact"]["SIR"] for r in toy for k in r if k.startswith("noise")]
    expected = [f"vocal SDR is {_dB(grid['SDR'])} dB",
                f"SIR is {_dB(grid['SIR'])}, ISR {_dB(grid['ISR'])} and SAR {_dB(grid['SAR'])} dB",
                f"SIR reads {_dB(floats['SIR'])}, ISR {_dB(floats['ISR'])} and SAR {_dB(floats['SAR'])} dB",
                f"{floats['suspect'][0]} of {floats['suspect'][1]} windows suspect",
                f"by {min(moved):.1f} to {max(moved):.1f} dB",
                f"{100 * suspect('int16'):.0f}% of the windows against musdb's references, "
                f"{100 * suspect('float'):.0f}%",
                f"moved by {min(toy_moved):.0f} to {max(toy_moved):.0f} dB"]
    assert not _missing(text, expected)
    assert max(abs(r["int16"]["SDR"] - r["float"]["SDR"]) for r in rows) < 5e-4  # "and SDR by 0.000 dB"


def test_notebook_08_reads_the_cpu_run_from_its_files():
    text = _cell("08_ablation", "b6a11c80")
    costs = json.loads((RESULTS_DIR / "reproduce-cpu-musdb" / "ordering.json").read_text())
    (order,) = costs.values()
    label = lambda row: row.replace("w/o GAN_A & GAN_C", "w/o both GAN terms")  # noqa: E731
    listing = ", ".join(f"{label(c['row'])} {_dB(c['ours'], sign=True)}" for c in order["removal_costs"])
    single = [c for c in order["removal_costs"] if c["row"] != "w/o GAN_A & GAN_C"]
    (both,) = [c for c in order["removal_costs"] if c["row"] == "w/o GAN_A & GAN_C"]
    theirs = sorted(-c["paper"] for c in single)
    t3 = _table3("reproduce-cpu-musdb")
    fraction = lambda row: f"{t3[row]['vocal_energy_fraction']['median']:.3f}"  # noqa: E731
    expected = [f"against the full method (dB): {listing}.",
                f"loses {theirs[0]:.1f}–{theirs[-1]:.1f} dB for a single removal, {-both['paper']:.1f} without both",
                f"without both GAN terms (vocal energy fraction {fraction('w/o GAN_A & GAN_C')})",
                f"already without GAN_C ({fraction('w/o GAN_C')})"]
    assert not _missing(text, expected)
    # what the cell reads from the numbers: which removals cost, which do not, which collapse
    cost = {c["row"]: c["ours"] for c in order["removal_costs"]}
    assert all(cost[r] > 0 for r in ("w/o R1", "w/o R2", "w/o R3")) and cost["w/o R4"] < 0 and cost["w/o GAN_A"] < 0
    assert float(fraction("w/o GAN_C")) < 0.01 and float(fraction("w/o GAN_A & GAN_C")) < 0.01


def test_notebook_08_reads_the_committed_toy_collapse():
    text = _cell("08_ablation", "c7b78301")
    row = _table3("reproduce-cpu-toy")["w/o GAN_A & GAN_C"]
    paper = PAPER_TABLE3["all losses"]["SIR"], PAPER_TABLE3["w/o R2"]["SIR"]
    assert not _missing(text, [f"vocal energy fraction {row['vocal_energy_fraction']['median']:.3f}, SDR "
                               f"{row['SDR']['median']:.2f} dB", "SIR falls from {:.1f} to {:.1f} dB".format(*paper)])


def test_notebook_08_reads_the_long_run():
    text = _cell("08_ablation", "reading-long-run")
    t1 = _table1("reproduce-long-musdb")
    t1v3 = {r["method"].split(" (")[0]: r for r in json.loads(
        (RESULTS_DIR / "reproduce-long-musdb" / "paper-protocol" / "table1.json").read_text())["rows"]}
    t3 = _table3("reproduce-long-musdb")
    order = json.loads((RESULTS_DIR / "reproduce-long-musdb" / "ordering.json").read_text())
    v4, v3 = (order[k] for k in order)  # museval v4, then the paper's protocol
    spread = lambda c: f"{c['median']:.2f} [{c['min']:.2f}, {c['max']:.2f}]"  # noqa: E731
    cost = {c["row"]: c for c in v4["removal_costs"]}, {c["row"]: c for c in v3["removal_costs"]}
    pair = lambda row: f"{_dB(cost[0][row]['ours'], sign=True)} / {_dB(cost[1][row]['ours'], sign=True)}"  # noqa: E731
    both = lambda key: f"{_median(t1[key]['SDR']):.2f} / {_median(t1v3[key]['SDR']):.2f}"  # noqa: E731
    fraction = lambda row: f"{t3[row]['vocal_energy_fraction']['median']:.3f}"  # noqa: E731
    expected = [f"{spread(t1['ours']['SDR'])} dB (museval v4) and {spread(t1v3['ours']['SDR'])} dB",
                f"GAN-only row ({both('GAN')})", f"supervised ({both('supervised same g')})",
                f"{v4['kendall_tau']:.2f} (v4) and {v3['kendall_tau']:.2f}",
                pair("w/o GAN_A & GAN_C").replace("+", ""), pair("w/o R1"), pair("w/o GAN_A"),
                pair("w/o R3").replace("+", ""), f"vocal energy fraction {fraction('w/o GAN_A')} against "
                                                 f"{fraction('all losses')}"]
    assert not _missing(text, expected)
    # which removals the cell says cost (or gain) more than the seed spread, and under which protocol
    assert [r for r, c in cost[0].items() if c["beyond_seeds"]] == ["w/o R1", "w/o GAN_A & GAN_C"]
    assert [r for r, c in cost[1].items() if c["beyond_seeds"]] == ["w/o GAN_A", "w/o GAN_A & GAN_C"]
    assert not _missing(text, ["beyond the seed spread under v4 and within it under the paper's protocol"])
    # ours against the GAN-only row: apart under v4, overlapping under the paper's protocol
    ours, gan = (t1["ours"]["SDR"], t1["GAN"]["SDR"]), (t1v3["ours"]["SDR"], t1v3["GAN"]["SDR"])
    assert ours[0]["min"] > ours[1]["max"] and gan[0]["min"] <= gan[1]["max"]
    # the selection curves: every Table 3 row but the collapsed one, at its first validation and after
    first, dev = [], []
    for run in (RESULTS_DIR / "reproduce-long-musdb" / "runs").glob("wo-*-seed*"):
        if "GAN_A-GAN_C" in run.name:
            continue
        sdr = [json.loads(line)["val_sdr"] for line in (run / "valid.jsonl").read_text().splitlines()]
        first.append(sdr[0])
        dev.append(max(abs(x - sdr[0]) for x in sdr))
    for run in (RESULTS_DIR / "reproduce-long-musdb" / "runs").glob("all-losses-seed*"):
        sdr = [json.loads(line)["val_sdr"] for line in (run / "valid.jsonl").read_text().splitlines()]
        first.append(sdr[0])
        dev.append(max(abs(x - sdr[0]) for x in sdr))
    assert len(first) == 14
    down, up = (lambda x: math.floor(10 * x) / 10), (lambda x: math.ceil(10 * x) / 10)  # bounds, rounded outwards
    assert not _missing(text, [f"scores {down(min(first)):.1f}–{up(max(first)):.1f} dB on the selection songs",
                               f"within {up(max(dev)):.1f} dB of that to the end"])


def test_try_next_cells_quote_committed_files():
    """The *Try next* cells that predict from measured results quote them as committed."""
    musdb, toy = _table3("reproduce-cpu-musdb"), _table3("reproduce-cpu-toy")
    fraction = lambda rows, label: f"{rows[label]['vocal_energy_fraction']['median']:.3f}"  # noqa: E731
    text04 = _cell("04_reconstruction_losses", "try-next")
    both = "w/o GAN_A & GAN_C"
    assert not _missing(text04, [f"{fraction(musdb, 'w/o GAN_A')} on MUSDB18-7 and {fraction(toy, 'w/o GAN_A')} on "
                                 f"the toy", f"ends at {fraction(musdb, both)} and {fraction(toy, both)}"])
    assert not _missing(_cell("05_gan", "try-next"), [f"fraction {fraction(musdb, 'w/o GAN_A')} on MUSDB18-7"])
    recipe = json.loads((EXPERIMENTS_DIR / "recipe" / "results" / "summary.json").read_text())
    authors = [r["final_vocal_energy_fraction"] for k, r in recipe.items() if r["recipe"] == "authors"]
    assert max(authors) < 5e-4  # "final vocal energy fraction 0.000"
    final = lambda name: recipe[name]["final_SDR"]  # noqa: E731
    share = lambda recipe_name: sorted(r["final_vocal_energy_fraction"] for r in recipe.values()  # noqa: E731
                                       if r["recipe"] == recipe_name and r["g_steps"] == 3000)
    ema, slow = share("level-ema"), share("level-ema-slow-d")
    text06 = _cell("06_training", "try-next")
    assert not _missing(text06, [f"ended at {final('level-seed0'):.2f} dB against {final('level-ema-seed0'):.2f} dB",
                                 f"{ema[0]:.2f}–{ema[-1]:.2f}, against {slow[0]:.2f}–{slow[-1]:.2f}"])
    text07 = _cell("07_evaluation", "try-next")
    full = _table3("reproduce-long-musdb")["all losses"]["SDR"]
    apart = f"{full['max'] - full['min']:.2f} dB apart"  # of the values, not of their printed digits
    assert not _missing(text07, [f"ended {full['min']:.2f} and {full['max']:.2f} dB, {apart}"])
    assert not _missing(_cell("08_ablation", "b6a11c80"), [f"two seeds of the full method end {apart}"])


def test_notebook_04_quotes_the_papers_ablation():
    full, paper = PAPER_TABLE3["all losses"], PAPER_TABLE3
    quoted = {"654704e9": [f"from {_dB(full['SDR'], 1)} to {_dB(paper['w/o R1']['SDR'], 1)} dB SDR"],
              "7f036b31": [f"from {_dB(full['SDR'], 1)} to {_dB(paper['w/o R2']['SDR'], 1)} dB",
                           f"SIR from {_dB(full['SIR'], 1)} to {_dB(paper['w/o R2']['SIR'], 1)} dB"],
              "4d56c48e": [f"({_dB(paper['w/o R3']['SIR'], 1)} dB)",
                           f"SDR falling to {_dB(paper['w/o R3']['SDR'], 1)} dB"],
              "487ece01": [f"({_dB(paper['w/o R4']['SDR'], 1)} dB SDR, {_dB(paper['w/o R4']['SIR'], 1)} dB SIR)"]}
    for cell_id, expected in quoted.items():
        assert not _missing(_cell("04_reconstruction_losses", cell_id), expected), cell_id


def test_notebook_07_reads_the_pretrained_exponent_curve():
    """*SDR against the mask exponent*: what the cell says of the curve committed with the pretrained g."""
    import yaml

    from semisep_lib.method.separate import PRETRAINED_DIR

    text = _cell("07_evaluation", "exponent")
    tuning = yaml.safe_load((PRETRAINED_DIR / "separate.yaml").read_text())["tuning"]
    rows = lambda family: sorted((r for r in tuning["curve"] if r["mask_family"] == family),  # noqa: E731
                                 key=lambda r: r["mask_power"])
    assert not _missing(text, ["along ours, SDR and SIR pull apart", "the authors' family loses SDR as `q` grows",
                               "their `q = 9`", "is not this `g`'s best"])
    ours, authors = rows("ours"), rows("authors")
    sir = [r["SIR"] for r in ours]
    assert sir == sorted(sir) and ours[-1]["SDR"] < max(r["SDR"] for r in ours)  # SIR up, SDR down at the end
    sdr = [r["SDR"] for r in authors]
    assert sdr == sorted(sdr, reverse=True)  # loses SDR as q grows
    nine = next(r for r in authors if r["mask_power"] == 9.0)
    assert nine["SDR"] < max(sdr)


def test_the_readme_states_the_cpu_run_times_and_the_size_of_the_committed_pages():
    """The README's paragraph on the rendered notebooks: the ``cpu`` times as ``notebooks/run-times.json`` has
    them (``make docs`` recorded them) and the size of ``docs/notebooks`` as committed."""
    readme = " ".join((NOTEBOOK_DIR.parent / "README.md").read_text().split())
    cpu = {k: v["seconds"] for k, v in json.loads((NOTEBOOK_DIR / "run-times.json").read_text())["cpu"].items()}
    minutes = lambda name: round(cpu[name] / 60)  # noqa: E731
    expected = [f"04 {minutes('04_reconstruction_losses')} minutes", f"05 {minutes('05_gan')},",
                f"06 {minutes('06_training')} (", f"07 {minutes('07_evaluation')} (",
                f"08 {cpu['08_ablation']:.0f} s", f"09 {cpu['09_listening']:.0f} s",
                f"{round(sum(cpu.values()) / 60)} minutes in all"]
    assert all(cpu[n] < 90 for n in ("01_data", "02_stft", "03_masking_network"))  # "01–03 take seconds"
    assert not _missing(readme, expected)
    site = NOTEBOOK_DIR.parent / "docs" / "notebooks"
    if not (site / "index.html").is_file():
        pytest.skip("no rendered notebooks are committed in docs/notebooks")
    size = lambda p: sum(f.stat().st_size for f in p.rglob("*") if f.is_file())  # noqa: E731
    assert not _missing(readme, [f"The folder is {size(site) / 1e6:.0f} MB",
                                 f"the listening page ({size(site / 'listening') / 1e6:.1f} MB)",
                                 f"chapter 09 ({(site / '09_listening.html').stat().st_size / 1e6:.1f} MB)"])
