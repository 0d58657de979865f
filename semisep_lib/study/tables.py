"""Table 1 and Table 3 as Markdown and JSON, beside the paper's numbers (:mod:`semisep_lib.paper`): one writer.

Rows are keyed by canonical row keys, never matched from labels:

* Table 1 (:data:`TABLE1_ROWS`): ``mixture``, ``oracle_irm``, ``supervised``, ``nmf``, ``gan``, ``glom``,
  ``nes``, ``nes_ft``, ``ours``; each key has one label and, where the paper has the row, the paper's row name.
  GLOM and NES-FT cannot be reproduced (:data:`NOT_REPRODUCIBLE`): the paper's numbers stand alone there.
* Table 3 (:data:`TABLE3_ROWS`): the paper's ablation labels, ``all losses``, ``w/o R1`` … ``w/o GAN_A &
  GAN_C``, as in :data:`~semisep_lib.paper.PAPER_TABLE3`.

A result is a dict from :func:`~semisep_lib.study.evaluate.evaluate_estimates` (vocal metrics under ``"vocals"``), or
a summary over seeds from :func:`summarise`, whose cells are ``{"median", "min", "max"}``; over several runs a
cell reads ``median [min, max]``.

Every table says how its scores were aggregated (``aggregation``, a key of
:data:`~semisep_lib.study.evaluate.AGGREGATIONS`): ``"median"`` (default, SiSEC 2018: the median over windows per track,
then over tracks) or ``"mean"`` (the paper's, SiSEC 2016 / DSD100: the mean over windows per track, then the
median over tracks). :func:`write_tables` re-aggregates results scored the other way from their per-window scores
(:func:`~semisep_lib.study.evaluate.reaggregate`); the other writers refuse a result that records another aggregation.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from ..errors import UsageError
from ..fileio import atomic_write_json, atomic_write_text, jsonable
from ..paper import PAPER_TABLE1, PAPER_TABLE3
from ..runs import table_file
from .evaluate import AGGREGATIONS, SCORERS, SUSPECT_MARGIN_DB, check_aggregation, common_grid, reaggregate

#: Table 1's rows, in order: canonical key → (label, the paper's row it stands beside or None).
TABLE1_ROWS = {
    "mixture": ("mixture (no separation)", None),
    "oracle_irm": ("oracle IRM (true stems)", None),
    "supervised": ("supervised same g (true vocals)", None),
    "nmf": ("NMF (our stand-in)", "NMF"),
    "gan": ("GAN (our stand-in: GAN_C only)", "GAN"),
    "glom": ("GLOM", "GLOM"),
    "nes": ("NES", "NES"),
    "nes_ft": ("NES-FT", "NES-FT"),
    "ours": ("ours (all six losses)", "ours"),
}
#: Table 3's rows, in order: the paper's labels.
TABLE3_ROWS = tuple(PAPER_TABLE3)
NOT_REPRODUCIBLE = ("GLOM and NES-FT cannot be reproduced from public material: neither their definitions nor "
                    "their code are published, so only the paper's numbers are shown for them.")
#: What Table 1's rows of our own are, beside the paper's (its baselines are Hoshen et al.'s numbers).
STAND_INS = ("The paper's NMF and GAN baselines are not published either: our NMF (instrumental atoms learned "
             "from the instrumental songs, free vocal atoms) and our GAN row (our g trained with GAN_C alone) are "
             "stand-ins of ours beside their numbers, not their methods. The oracle IRM and the supervised g need "
             "the true stems and bound nothing: a mask that uses the true phase, or another ratio, scores above "
             "the IRM, and the supervised g is one training run, which the semi-supervised g can beat.")
#: The vocal metrics and guards a summary carries.
VOCAL_METRICS = ("SDR", "SIR", "SAR", "ISR")
GUARDS = ("fast_sdr", "vocal_energy_fraction", "silent_floor", "suspect_share")


# ---------------------------------------------------------------------------------------------------------------
# summaries over seeds


def summarise(scores: list[dict]) -> dict:
    """Median over seeds of the per-run medians, with the spread (min, max), for each vocal metric and guard of
    results from :func:`~semisep_lib.study.evaluate.evaluate_estimates`; ``runs`` counts them."""
    def stat(values):
        vals = np.array([np.nan if v is None else v for v in values], dtype=float)
        if np.all(np.isnan(vals)):
            return {"median": None, "min": None, "max": None}
        return {"median": float(np.nanmedian(vals)), "min": float(np.nanmin(vals)), "max": float(np.nanmax(vals))}

    out = {m: stat([s["vocals"][m] for s in scores]) for m in VOCAL_METRICS}
    out.update({k: stat([s.get(k) for s in scores]) for k in GUARDS})
    out["references"] = common_grid(scores)
    out["runs"] = len(scores)
    return out


def scorer_note(results) -> str:
    """The sentence a table carries about its scorer and its suspect-window guard."""
    grid = common_grid(results)
    scorer = SCORERS.get(grid, f"museval against references on {grid or 'unrecorded'} grids")
    return (f"Scorer: {scorer}. Suspect: the share of vocal windows whose SDR exceeds their ISR by more than "
            f"{SUSPECT_MARGIN_DB} dB, which an exact projection fitted per window cannot give: where it is high, "
            "check SIR, SAR and ISR before trusting them (a warning light that errs both ways: "
            "semisep_lib.study.evaluate).")


def cell_stat(value) -> tuple[float | None, tuple | None]:
    """A cell — a number, or a ``{"median", "min", "max"}`` summary over runs — as ``(median, (min, max) or
    None)``."""
    if isinstance(value, dict):
        spread = (value.get("min"), value.get("max")) if "min" in value and "max" in value else None
        return value.get("median"), spread
    return value, None


# ---------------------------------------------------------------------------------------------------------------
# results tables (Table 1 and `semisep evaluate`)


def _fmt(x, digits: int = 2) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def _cell(value, digits: int = 2) -> str:
    """``median`` or, over several runs that differ, ``median [min, max]``."""
    med, spread = cell_stat(value)
    if spread is None or spread[0] == spread[1]:
        return _fmt(med, digits)
    return f"{_fmt(med, digits)} [{_fmt(spread[0], digits)}, {_fmt(spread[1], digits)}]"


def _row(result: dict) -> dict:
    """One result as a flat table row (see the module docstring for the accepted dicts)."""
    v = result.get("vocals") if isinstance(result.get("vocals"), dict) else result
    row = {"method": result.get("name", "?")}
    for m in VOCAL_METRICS:
        row[m] = v.get(m)
    for key in GUARDS:
        row[key] = result.get(key)
    row["references"] = result.get("references")
    row["tracks"] = len(result["tracks"]) if isinstance(result.get("tracks"), list) else result.get("tracks")
    if "runs" in result:
        row["runs"] = result["runs"]
    return row


def percent(value) -> str:
    """A share (a number or a summary over runs) as a percentage; over runs, the largest (the guard's worst)."""
    med, spread = cell_stat(value)
    worst = spread[1] if spread is not None and spread[1] is not None else med
    return "–" if worst is None or (isinstance(worst, float) and math.isnan(worst)) else f"{100 * worst:.0f}%"


def _paper_cells(ref: dict) -> str:
    return f"{_fmt(ref.get('SDR'), 1)} | {_fmt(ref.get('SIR'), 1)}"


def results_table(rows: list[dict], paper: dict | None = None) -> str:
    """A markdown table of results (``name`` labels a row): median vocal SDR, SIR, SAR, the fast SDR, the vocal
    energy fraction and the silent-estimate floor, and — when ``paper`` maps a row's ``paper_row`` (default: its
    name) to ``{"SDR": .., "SIR": ..}`` — the paper's numbers beside. A row with ``paper_only`` shows the paper's
    numbers alone; paper entries matched by no row are listed at the end."""
    paper = paper or {}
    head = ("| method | vocal SDR | vocal SIR | vocal SAR | fast SDR | vocal energy | silent floor | suspect "
            "| paper SDR | paper SIR |")
    lines = [head, "|" + "---|" * 10]
    shown = set()
    for res in rows:
        r = _row(res)
        key = res.get("paper_row", r["method"])
        shown.add(key)
        ref = paper.get(key) or {}
        if res.get("paper_only"):
            lines.append(f"| {r['method']} (paper only) | – | – | – | – | – | – | – | {_paper_cells(ref)} |")
            continue
        frac, _ = cell_stat(r["vocal_energy_fraction"])
        lines.append(f"| {r['method']} | {_cell(r['SDR'])} | {_cell(r['SIR'])} | {_cell(r['SAR'])} "
                     f"| {_cell(r['fast_sdr'])} | {'–' if frac is None else f'{100 * frac:.1f}%'} "
                     f"| {_cell(r['silent_floor'])} | {percent(r['suspect_share'])} | {_paper_cells(ref)} |")
    for key, ref in paper.items():
        if key not in shown:
            lines.append(f"| {key} (paper only) | – | – | – | – | – | – | – | {_paper_cells(ref)} |")
    return "\n".join(lines) + "\n"


def _check_rows(rows, aggregation: str) -> str:
    """The description of ``aggregation``; :class:`UsageError` if a row records a different one."""
    described = check_aggregation(aggregation)
    for res in rows:
        found = res.get("aggregation") if isinstance(res, dict) else None
        if found is not None and found != described:
            raise UsageError(f"Result {res.get('name', '?')!r} was aggregated as {found!r}, not {described!r}; "
                             "re-aggregate it first (semisep_lib.study.evaluate.reaggregate).")
    return described


def results_json(rows: list[dict], paper: dict | None = None, aggregation: str = "median") -> dict:
    """The content of :func:`results_table` as data: our rows (numbers only, no per-window frames) and the
    paper's, with the description of ``aggregation``."""
    return jsonable({"aggregation": _check_rows(rows, aggregation), "references": common_grid(rows),
                     "rows": [_row(r) | {"paper_row": r.get("paper_row"), "paper_only": bool(r.get("paper_only"))}
                              for r in rows],
                     "paper": paper or {}})


def write_table(rows: list[dict], out_dir: str | Path, stem: str = "results", paper: dict | None = None,
                note: str = "", info: dict | None = None, aggregation: str = "median") -> str:
    """Write ``out_dir/<stem>.md`` and ``out_dir/<stem>.json`` (atomically); returns the markdown. The JSON
    records ``aggregation``'s description; so does the markdown, unless ``note`` already names it."""
    data = results_json(rows, paper, aggregation)
    if data["aggregation"] not in note:
        note = (f"{note} " if note else "") + f"Aggregation: {data['aggregation']}."
    note += " " + scorer_note(rows)
    md = results_table(rows, paper) + (f"\n{note}\n" if note else "")
    atomic_write_text(Path(out_dir) / f"{stem}.md", md)
    atomic_write_json(Path(out_dir) / f"{stem}.json", data | {"note": note, "info": info or {}})
    return md


def table1(results: dict[str, dict], out_dir: str | Path, info: dict | str | None = None,
           aggregation: str = "median") -> str:
    """Table 1 of the paper rebuilt beside the paper's numbers (NMF 0.0, GAN 0.3, GLOM 0.6, NES 0.3, NES-FT 2.1,
    ours 3.2 / 14.2 dB), with a line saying GLOM and NES-FT cannot be reproduced from public material.

    ``results`` maps a row key of :data:`TABLE1_ROWS` to a result; rows come in that order, under their label,
    and a row of the paper's without a result shows the paper's number alone. A key that is no row of the
    paper's table comes last, under its own name. ``info``: what was evaluated (a dict, e.g. profile, data,
    evaluated_on, evaluation_songs, seeds; or a short description). Writes ``table1.md`` and ``table1.json``
    into ``out_dir``; returns the markdown. ``aggregation``: how the results were aggregated (see the module
    docstring); the note and the JSON say it."""
    described = _check_rows(results.values(), aggregation)
    rows = []
    for key, (label, paper_row) in TABLE1_ROWS.items():
        if key in results:
            rows.append(dict(results[key], name=label, paper_row=paper_row))
        elif paper_row:  # the paper's number alone, in its place
            rows.append({"name": paper_row, "paper_row": paper_row, "paper_only": True})
    rows += [dict(res, name=key, paper_row=None) for key, res in results.items() if key not in TABLE1_ROWS]
    what = ", ".join(f"{k}: {v}" for k, v in info.items()) if isinstance(info, dict) else info or ""
    note = (("Median vocal" if aggregation == "median" else "Vocal") + " scores in dB (" + described
            + "; over several seeds: median [min, max])"
            + (f". Ours: {what}" if what else "")
            + ". The paper's numbers are on MUSDB18 (baselines as reported by Hoshen et al., who gave no SIR). "
            "Vocal energy: the share of the mixture's energy a method calls voice; silent floor: the SDR of an "
            "all-zero vocal estimate. " + NOT_REPRODUCIBLE + " " + STAND_INS)
    return write_table(rows, out_dir, table_file(out_dir, 1).stem, PAPER_TABLE1, note,
                       info if isinstance(info, dict) else {"description": what}, aggregation)


# ---------------------------------------------------------------------------------------------------------------
# Table 3


def _seeds_cell(stat: dict, runs: int) -> str:
    """``median`` of one run; over several, always ``median [min, max]``."""
    if runs == 1:
        return f"{stat['median']:.2f}"
    return f"{stat['median']:.2f} [{stat['min']:.2f}, {stat['max']:.2f}]"


#: Table 3's line saying how its cells were aggregated, per aggregation key
TABLE3_AGGREGATION = {
    "median": "Median vocal SDR / SIR in dB (museval v4, 1 s windows, median over frames then tracks; "
              "with several seeds: median [min, max] over seeds). Paper: DSD100 test set, authors' scale.",
    "mean": "Vocal SDR / SIR in dB (museval, " + AGGREGATIONS["mean"] + "; with several seeds: median "
            "[min, max] over seeds). Paper: DSD100 test set, authors' scale (BSS Eval v3, 30 s windows).",
}


def table3(rows: dict[str, dict], out_dir: str | Path, info: dict, aggregation: str = "median") -> str:
    """Table 3 (the ablation) beside the paper's numbers: ``rows`` maps a label of :data:`TABLE3_ROWS` to a
    :func:`summarise` summary. ``info`` (as ``reproduce`` records it) names the profile, data, evaluation songs,
    seeds and steps, and the report and selection songs. ``aggregation``: how the scores were aggregated (see the
    module docstring), said in the markdown and the JSON. Writes ``table3.md`` and ``table3.json`` into
    ``out_dir``; returns the markdown."""
    described = _check_rows(rows.values(), aggregation)
    lines = [f"# Table 3 — ablation ({info['profile']} profile, {info['data']} data, evaluated on the "
             f"{info['evaluation_songs']} {info['evaluated_on']} songs, {info['seeds']} seed(s), "
             f"{info['steps']} steps)", "",
             TABLE3_AGGREGATION[aggregation], "",
             scorer_note(rows.values()), "",
             "| losses | SDR | SIR | vocal energy fraction | suspect | paper SDR | paper SIR |",
             "|---|---|---|---|---|---|---|"]
    for label, r in rows.items():
        p_sdr, p_sir = PAPER_TABLE3[label]["SDR"], PAPER_TABLE3[label]["SIR"]
        lines.append(f"| {label} | {_seeds_cell(r['SDR'], r['runs'])} | {_seeds_cell(r['SIR'], r['runs'])} | "
                     f"{r['vocal_energy_fraction']['median']:.3f} | {percent(r.get('suspect_share'))} "
                     f"| {p_sdr:.1f} | {p_sir:.1f} |")
    floor = np.median([r["silent_floor"]["median"] for r in rows.values()])
    lines += ["", f"Silent-estimate floor (vocal SDR of an all-zero estimate): {floor:.2f} dB.", ""]
    if info.get("report_songs") is not None:
        lines += [f"Reported on: {', '.join(info['report_songs'])}.",
                  f"Chose checkpoints and mask exponents (never reported): "
                  f"{', '.join(info.get('selection_songs') or []) or 'none'}.", ""]
    md = "\n".join(lines)
    atomic_write_text(table_file(out_dir, 3, ".md"), md)
    atomic_write_json(table_file(out_dir, 3), {"info": info, "aggregation": described,
                                               "references": common_grid(rows.values()), "rows": rows,
                                               "paper": PAPER_TABLE3})
    return md


def _aggregated(scores: list[dict], aggregation: str) -> list[dict]:
    """``scores`` as ``aggregation`` pools them: results that record another aggregation are re-aggregated from
    their per-window scores; the others are taken as they are."""
    described = check_aggregation(aggregation)
    return [s if s.get("aggregation", described) == described else reaggregate(s, aggregation) for s in scores]


def kendall_tau(x: Sequence[float], y: Sequence[float]) -> float:
    """Kendall's τ-b of two equally long sequences: (concordant − discordant pairs) / √((n₀ − ties in x) ·
    (n₀ − ties in y)), n₀ = n(n − 1)/2; NaN when either has no two different values."""
    concordant = discordant = ties_x = ties_y = 0
    for i in range(len(x)):
        for j in range(i + 1, len(x)):
            dx, dy = np.sign(x[i] - x[j]), np.sign(y[i] - y[j])
            ties_x += dx == 0
            ties_y += dy == 0
            concordant += dx * dy > 0
            discordant += dx * dy < 0
    n0 = len(x) * (len(x) - 1) / 2
    denominator = math.sqrt((n0 - ties_x) * (n0 - ties_y))
    return (concordant - discordant) / denominator if denominator else float("nan")


def ranges_apart(a: Sequence[float], b: Sequence[float]) -> bool:
    """Whether two ``[min, max]`` ranges over seeds do not overlap: a difference beyond seed noise."""
    return a[1] < b[0] or a[0] > b[1]


def removal_costs(rows3: Mapping, paper: Mapping, metric: str = "SDR", full: str = "all losses") -> list[dict]:
    """What removing each term costs, ours beside the paper's: for every row both tables have but ``full``,
    ``ours`` and ``paper`` are its ``metric`` minus the full method's (dB; negative: the removal hurts),
    ``agrees`` whether the two have the same sign, and ``beyond_seeds`` whether our row's range over seeds and the
    full method's do not overlap (``None`` with a single seed: one run shows no spread)."""
    ours_full, full_spread = cell_stat(rows3[full][metric])
    out = []
    for label in paper:
        if label == full or label not in rows3 or cell_stat(rows3[label][metric])[0] is None:
            continue
        value, spread = cell_stat(rows3[label][metric])
        ours, theirs = value - ours_full, paper[label][metric] - paper[full][metric]
        several = spread and full_spread and (spread[0] != spread[1] or full_spread[0] != full_spread[1])
        apart = ranges_apart(spread, full_spread) if several else None
        out.append({"row": label, "ours": round(ours, 2), "paper": round(theirs, 2),
                    "agrees": bool(np.sign(ours) == np.sign(theirs)), "beyond_seeds": apart})
    return out


def ordering(rows3: Mapping, paper: Mapping, metric: str = "SDR") -> dict:
    """How far our Table 3 ranks its rows as the paper does: :func:`kendall_tau` between our ``metric`` (the
    median over seeds, as :func:`summarise` gives it) and the paper's, over the rows both have, both orders
    best first, and what each removal costs in both (:func:`removal_costs`). τ = 1: the same order; 0:
    unrelated; −1: reversed."""
    labels = [k for k in paper if k in rows3 and cell_stat(rows3[k][metric])[0] is not None]
    ours = [cell_stat(rows3[k][metric])[0] for k in labels]
    theirs = [paper[k][metric] for k in labels]
    tau = kendall_tau(ours, theirs)
    by = lambda values: [k for _, k in sorted(zip(values, labels), key=lambda t: -t[0])]  # noqa: E731
    return {"metric": metric, "kendall_tau": None if math.isnan(tau) else round(tau, 3), "rows": len(labels),
            "ours_best_first": by(ours), "paper_best_first": by(theirs),
            "removal_costs": removal_costs(rows3, paper, metric) if "all losses" in labels else []}


def write_tables(out: str | Path, table1_scores: dict[str, list[dict]], table3_scores: dict[str, list[dict]],
                 info: dict, aggregation: str = "median") -> tuple[dict, dict]:
    """``table1.md``/``.json`` and ``table3.md``/``.json`` from the results of every run of every row (one per
    seed), keyed by row key (Table 1) and label (Table 3). ``aggregation``: ``"median"`` (default, SiSEC 2018)
    or ``"mean"`` (the paper's per-track mean over windows); results scored the other way are re-aggregated
    from their per-window scores first. Returns the two tables' summaries."""
    rows1 = {k: summarise(_aggregated(v, aggregation)) for k, v in table1_scores.items()}
    rows3 = {label: summarise(_aggregated(v, aggregation)) for label, v in table3_scores.items()}
    table1(rows1, out, info, aggregation)
    table3(rows3, out, info, aggregation)
    return rows1, rows3
