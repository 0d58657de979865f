"""Scoring separations with museval, aggregated as SiSEC 2018, and tables beside the paper's numbers.

Protocols (:data:`PROTOCOLS`):

* ``v4`` (default, MUSDB18 / SiSEC 2018): BSS Eval v4 images — distortion filters fitted once per track —
  scored in 1 s windows with 1 s hops.
* ``v3`` (the DSD100 / SiSEC 2016 protocol the authors used for Tables 2 and 3): BSS Eval v3 images —
  filters fitted in every window — in 30 s windows with a 15 s hop (``museval.evaluate(mode="v3")``).

Targets are ``vocals`` and ``accompaniment``, scored together as a two-source problem (SIR measures leakage of
one into the other). Aggregation: per track, the median over windows (NaN windows — those where a reference or
an estimate is silent — left out); then the median over tracks.

Beside museval's numbers every result carries three guards, so that a collapsed model cannot pass for a
working one:

* ``fast_sdr`` — :func:`~semisep_lib.metrics.median_sdr`, the v4 SDR computed directly (equal to museval's);
* ``silent_floor`` — the same fast SDR of an all-zero vocal estimate (0 dB in every window where the voice is
  present, computed, not assumed; museval itself gives a silent estimate NaN);
* ``vocal_energy_fraction`` — energy of the vocal estimate over that of the mixture.

Per-track museval JSON files (the format of ``museval.TrackStore``, readable by ``museval.EvalStore``) are
written under ``OUT/<name>/museval/``; the aggregated result goes to ``OUT/<name>/results.json``.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import warnings
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from .errors import AudioError, DataError, UsageError
from .fileio import atomic_write_json, atomic_write_text
from .metrics import median_sdr
from .paper import PAPER_TABLE1

#: protocol → museval mode, window and hop in seconds
PROTOCOLS = {
    "v4": {"mode": "v4", "win": 1.0, "hop": 1.0},
    "v3": {"mode": "v3", "win": 30.0, "hop": 15.0},
}
TARGETS = ("vocals", "accompaniment")
METRICS = ("SDR", "SIR", "ISR", "SAR")
AGGREGATION = "median over windows per track, then median over tracks (SiSEC 2018)"

#: Rows of our Table 1, in order: (key in the results, label, the paper's row it stands beside or None).
TABLE1_ROWS = (
    ("mixture", "mixture as vocals (lower bound)", None),
    ("oracle_irm", "oracle ideal ratio mask (upper bound)", None),
    ("supervised", "same g, supervised", None),
    ("nmf", "NMF", "NMF"),
    ("gan", "GAN only (GAN_C)", "GAN"),
    ("glom", "GLOM", "GLOM"),
    ("nes", "NES", "NES"),
    ("nes_ft", "NES-FT", "NES-FT"),
    ("ours", "ours (all six losses)", "ours"),
)
_ALIASES = {"gan_only": "gan", "irm": "oracle_irm", "oracle": "oracle_irm", "mix": "mixture",
            "nesft": "nes_ft", "semi": "ours", "semisep": "ours"}
NOT_REPRODUCIBLE = ("GLOM and NES-FT cannot be reproduced from public material: neither their definitions nor "
                    "their code are published, so only the paper's numbers are shown for them.")


# ---------------------------------------------------------------------------------------------------------------
# one track


def _nanmedian(values) -> float:
    """Median ignoring NaN; NaN (without a warning) when nothing is left."""
    v = np.asarray(values, dtype=np.float64).ravel()
    v = v[~np.isnan(v)]
    return float(np.median(v)) if v.size else float("nan")


def _samples_first(x: np.ndarray, length: int) -> np.ndarray:
    """``(channels, samples)`` → ``(length, channels)`` float64: cut or zero-padded at the end, as museval does."""
    x = np.asarray(x, dtype=np.float64).T
    if x.shape[0] >= length:
        return x[:length]
    return np.pad(x, ((0, length - x.shape[0]), (0, 0)))


def score_track(name: str, rate: int, mixture: np.ndarray, references: dict[str, np.ndarray],
                estimates: dict[str, np.ndarray], protocol: str = "v4") -> dict:
    """museval scores of one track, with the guards of the module docstring.

    Arrays are ``(channels, samples)`` at ``rate``; ``references`` and ``estimates`` map ``vocals`` and
    ``accompaniment`` to arrays (estimates are cut or zero-padded to the reference length). Returns
    ``{"name", "frames": {target: {metric: [per window]}}, target: {metric: median}, "fast_sdr",
    "silent_floor", "vocal_energy_fraction", "museval_json"}``; infinite window scores become NaN, as in
    museval's JSON."""
    import museval

    p = PROTOCOLS[protocol]
    n = references["vocals"].shape[-1]
    refs = np.stack([_samples_first(references[t], n) for t in TARGETS])  # (2, samples, channels)
    ests = np.stack([_samples_first(estimates[t], n) for t in TARGETS])
    if refs.shape != ests.shape:
        raise AudioError(f"Track {name}: the estimates have {ests.shape[-1]} channel(s), the references "
                         f"{refs.shape[-1]}.")
    win, hop = int(p["win"] * rate), int(p["hop"] * rate)
    # museval refuses an all-zero estimate (e.g. the mixture baseline's accompaniment); a −200 dB dither
    # scores as the silence it stands for (SDR ≈ 0 dB) without changing anything else.
    for i in range(len(TARGETS)):
        if not np.any(ests[i]):
            ests[i] = 1e-10 * np.random.default_rng(0).standard_normal(ests[i].shape)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        sdr, isr, sir, sar = museval.evaluate(refs, ests, win=win, hop=hop, mode=p["mode"])
    store = museval.TrackStore(track_name=name, win=p["win"], hop=p["hop"])
    out: dict = {"name": name, "frames": {}}
    for i, target in enumerate(TARGETS):
        values = {m: np.where(np.isinf(v[i]), np.nan, v[i]).tolist()
                  for m, v in (("SDR", sdr), ("SIR", sir), ("ISR", isr), ("SAR", sar))}
        store.add_target(target_name=target, values=values)
        out["frames"][target] = values
        out[target] = {m: _nanmedian(values[m]) for m in METRICS}
    voc_ref, voc_est = refs[0], ests[0]
    out["fast_sdr"] = median_sdr(voc_ref, voc_est, win, hop)
    out["silent_floor"] = median_sdr(voc_ref, np.zeros_like(voc_ref), win, hop)
    mix_energy = float(np.sum(np.square(mixture, dtype=np.float64)))
    out["vocal_energy_fraction"] = float(np.sum(voc_est**2) / mix_energy) if mix_energy > 0 else 0.0
    out["museval_json"] = store.json
    return out


def _score_job(job: tuple) -> dict:
    """Worker entry point (top level, so that a spawned process can import it)."""
    return score_track(*job)


# ---------------------------------------------------------------------------------------------------------------
# many tracks


def aggregate(tracks: list[dict]) -> dict:
    """The SiSEC 2018 aggregate of per-track results: the median over tracks of every per-track median."""
    agg: dict = {t: {m: _nanmedian([tr[t][m] for tr in tracks]) for m in METRICS} for t in TARGETS}
    for key in ("fast_sdr", "silent_floor", "vocal_energy_fraction"):
        agg[key] = _nanmedian([tr[key] for tr in tracks])
    return agg


def _jobs(items: Iterable, protocol: str) -> Iterator[tuple]:
    for song, est in items:
        if song.vocals is None:
            raise DataError(f"Song {song.name} has no reference vocals to score against.")
        acc = song.accompaniment if song.accompaniment is not None else song.mixture - song.vocals
        refs = {"vocals": song.vocals, "accompaniment": acc}
        yield (song.name, int(song.rate), song.mixture, refs, est, protocol)


def evaluate_estimates(items: Iterable, out_dir: str | Path, name: str, protocol: str = "v4",
                       workers: int = 2, progress: bool = True, total: int | None = None) -> dict:
    """Score ``(song, {"vocals": v, "accompaniment": a})`` pairs (arrays ``(channels, samples)`` at the song's
    rate) and write ``out_dir/<name>/museval/<track>.json`` and ``out_dir/<name>/results.json``.

    ``items`` may be a generator (one song in memory at a time). Tracks are scored in ``workers`` processes
    (``workers <= 1``: in this process). Returns ``{"name", "protocol", "win", "hop", "aggregation",
    "tracks": [per track], "vocals": {SDR, SIR, ISR, SAR}, "accompaniment": {...}, "fast_sdr",
    "silent_floor", "vocal_energy_fraction"}``."""
    from tqdm.auto import tqdm

    if protocol not in PROTOCOLS:
        raise UsageError(f"Unknown protocol {protocol!r}; choose {' or '.join(PROTOCOLS)}.")
    base = Path(out_dir) / name
    results: list[dict] = []
    bar = tqdm(total=total, desc=f"evaluate {name}", unit="track", disable=not progress)

    def finish(r: dict) -> None:
        atomic_write_text(base / "museval" / f"{r['name']}.json", r.pop("museval_json"))
        results.append(r)
        bar.update()

    try:
        if workers <= 1:
            for job in _jobs(items, protocol):
                finish(_score_job(job))
        else:
            # spawn: the workers need numpy and museval only, never a forked copy of torch's thread pools
            ctx = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
                pending: list[Future] = []
                for job in _jobs(items, protocol):
                    pending.append(pool.submit(_score_job, job))
                    while len(pending) > 2 * workers:  # bound the audio held in flight
                        finish(pending.pop(0).result())
                for fut in pending:
                    finish(fut.result())
    finally:
        bar.close()
    if not results:
        raise DataError("There were no tracks to evaluate.")
    p = PROTOCOLS[protocol]
    summary = {"name": name, "protocol": protocol, "win": p["win"], "hop": p["hop"], "aggregation": AGGREGATION,
               "tracks": results}
    summary.update(aggregate(results))
    atomic_write_json(base / "results.json", _jsonable(summary))
    return summary


def evaluate_separator(separator, songs: Iterable, out_dir: str | Path, name: str | None = None,
                       protocol: str = "v4", workers: int = 2, progress: bool = True) -> dict:
    """Separate each :class:`~semisep_lib.data.Song` (at its original rate, e.g. stereo 44.1 kHz) with
    ``separator`` (a :class:`~semisep_lib.separator.Separator`) and score it; see :func:`evaluate_estimates`.
    Separation runs in this process, scoring in ``workers`` others, overlapping."""
    name = name or getattr(separator, "name", "method")
    total = len(songs) if hasattr(songs, "__len__") else None
    # an oracle needs each song's true stems: it offers with_references(vocals, accompaniment)
    per_song = (lambda s: separator.with_references(s.vocals, s.accompaniment)) \
        if hasattr(separator, "with_references") else (lambda s: separator)
    items = ((song, per_song(song).stems(song.mixture, song.rate)) for song in songs)
    return evaluate_estimates(items, out_dir, name, protocol=protocol, workers=workers, progress=progress,
                              total=total)


def _jsonable(obj):
    """NaN/inf → None (strict JSON); numpy scalars → Python numbers."""
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (float, np.floating)):
        return float(obj) if math.isfinite(obj) else None
    if isinstance(obj, np.integer):
        return int(obj)
    return obj


# ---------------------------------------------------------------------------------------------------------------
# tables


def _fmt(x, digits: int = 2) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def _stat(value) -> tuple[float | None, tuple | None]:
    """A number, or a ``{"median", "min", "max"}`` summary over runs → ``(median, (min, max) or None)``."""
    if isinstance(value, dict):
        spread = (value.get("min"), value.get("max")) if "min" in value and "max" in value else None
        return value.get("median"), spread
    return value, None


def _cell(value, digits: int = 2) -> str:
    """``median`` or, over several runs, ``median [min, max]``."""
    med, spread = _stat(value)
    if spread is None or spread[0] == spread[1]:
        return _fmt(med, digits)
    return f"{_fmt(med, digits)} [{_fmt(spread[0], digits)}, {_fmt(spread[1], digits)}]"


def _row(result: dict) -> dict:
    """One result as a flat table row. ``result`` is a dict from :func:`evaluate_estimates` (vocal metrics under
    ``"vocals"``) or a summary over runs with ``"SDR"``, ``"SIR"``... at the top, each a number or a
    ``{"median", "min", "max"}`` dict."""
    v = result.get("vocals") if isinstance(result.get("vocals"), dict) else result
    row = {"method": result.get("name", "?")}
    for m in ("SDR", "SIR", "SAR", "ISR"):
        row[m] = v.get(m)
    for key in ("fast_sdr", "vocal_energy_fraction", "silent_floor"):
        row[key] = result.get(key)
    row["tracks"] = len(result["tracks"]) if isinstance(result.get("tracks"), list) else result.get("tracks")
    if "runs" in result:
        row["runs"] = result["runs"]
    return row


def _paper_cells(ref: dict) -> str:
    return f"{_fmt(ref.get('SDR'), 1)} | {_fmt(ref.get('SIR'), 1)}"


def results_table(rows: list[dict], paper: dict | None = None) -> str:
    """A markdown table of results (see :func:`_row` for the accepted dicts; ``name`` labels the row): median
    vocal SDR, SIR, SAR, the fast SDR, the vocal energy fraction and the silent-estimate floor, and — when
    ``paper`` maps a row's name (or its ``paper_row``) to ``{"SDR": .., "SIR": ..}`` — the paper's numbers
    beside. A row with ``paper_only`` shows the paper's numbers alone; paper entries matched by no row are
    listed at the end. Over several runs a cell reads ``median [min, max]``."""
    paper = paper or {}
    head = ("| method | vocal SDR | vocal SIR | vocal SAR | fast SDR | vocal energy | silent floor "
            "| paper SDR | paper SIR |")
    lines = [head, "|" + "---|" * 9]
    shown = set()
    for res in rows:
        r = _row(res)
        key = res.get("paper_row", r["method"])
        shown.add(key)
        ref = paper.get(key) or {}
        if res.get("paper_only"):
            lines.append(f"| {r['method']} (paper only) | – | – | – | – | – | – | {_paper_cells(ref)} |")
            continue
        frac, _ = _stat(r["vocal_energy_fraction"])
        lines.append(f"| {r['method']} | {_cell(r['SDR'])} | {_cell(r['SIR'])} | {_cell(r['SAR'])} "
                     f"| {_cell(r['fast_sdr'])} | {'–' if frac is None else f'{100 * frac:.1f}%'} "
                     f"| {_cell(r['silent_floor'])} | {_paper_cells(ref)} |")
    for key, ref in paper.items():
        if key not in shown:
            lines.append(f"| {key} (paper only) | – | – | – | – | – | – | {_paper_cells(ref)} |")
    return "\n".join(lines) + "\n"


def results_json(rows: list[dict], paper: dict | None = None) -> dict:
    """The content of :func:`results_table` as data: our rows (numbers only, no per-window frames) and the
    paper's."""
    return _jsonable({"aggregation": AGGREGATION,
                      "rows": [_row(r) | {"paper_row": r.get("paper_row"), "paper_only": bool(r.get("paper_only"))}
                               for r in rows],
                      "paper": paper or {}})


def write_table(rows: list[dict], out_dir: str | Path, stem: str = "results", paper: dict | None = None,
                note: str = "", info: dict | None = None) -> str:
    """Write ``out_dir/<stem>.md`` and ``out_dir/<stem>.json`` (atomically); returns the markdown."""
    md = results_table(rows, paper) + (f"\n{note}\n" if note else "")
    atomic_write_text(Path(out_dir) / f"{stem}.md", md)
    atomic_write_json(Path(out_dir) / f"{stem}.json", results_json(rows, paper) | {"note": note, "info": info or {}})
    return md


def table1_key(label: str) -> str:
    """The Table 1 row a result's label stands for (``"oracle IRM (upper bound)"`` → ``oracle_irm``, ``"GAN
    (GAN_C only)"`` → ``gan`` ...), or the label itself, normalised, when it names none of them."""
    k = label.strip().lower().replace("-", "_").replace(" ", "_")
    if k in _ALIASES:
        return _ALIASES[k]
    words = k.replace("(", "_").replace(")", "_")
    for key, test in (("nes_ft", lambda w: "nes_ft" in w or "nesft" in w), ("glom", lambda w: "glom" in w),
                      ("oracle_irm", lambda w: "oracle" in w or "irm" in w),
                      ("supervised", lambda w: "supervised" in w and "semi" not in w),
                      ("mixture", lambda w: w.startswith("mixture")), ("nmf", lambda w: "nmf" in w),
                      ("nes", lambda w: w.startswith("nes")), ("gan", lambda w: w.startswith("gan")),
                      ("ours", lambda w: w.startswith("ours") or "all_losses" in w)):
        if test(words):
            return key
    return k


def table1(results: dict[str, dict], out_dir: str | Path, info: dict | str | None = None) -> str:
    """Table 1 of the paper rebuilt beside the paper's numbers (NMF 0.0, GAN 0.3, GLOM 0.6, NES 0.3, NES-FT 2.1,
    ours 3.2 / 14.2 dB), with a line saying GLOM and NES-FT cannot be reproduced from public material.

    ``results`` maps a label to a result: a dict from :func:`evaluate_estimates`, or a summary over seeds whose
    ``SDR``/``SIR`` are ``{"median", "min", "max"}`` (see :func:`_row`). Labels are matched to the rows by
    :func:`table1_key` — ``mixture``, ``oracle_irm``, ``supervised``, ``nmf``, ``gan``, ``nes``, ``ours`` — and
    shown in that order under the caller's label (a bare key gets a descriptive one); unmatched labels come
    last. ``info``: what was evaluated (a dict, e.g. profile, data, evaluated_on, evaluation_songs, seeds; or a
    short description). Writes ``table1.md`` and ``table1.json`` into ``out_dir``; returns the markdown."""
    labels = {key: label for key, label, _ in TABLE1_ROWS}
    by_key: dict[str, tuple[str, dict]] = {}
    for label, res in results.items():
        key = table1_key(label)
        bare = label.strip().lower().replace("-", "_").replace(" ", "_")
        shown = labels.get(key, label) if bare == key or bare in _ALIASES else label
        by_key[key if key not in by_key else label] = (shown, res)
    rows, used = [], set()
    for key, _, paper_row in TABLE1_ROWS:
        if key in by_key:
            shown, res = by_key[key]
            rows.append(dict(res, name=shown, paper_row=paper_row))
            used.add(key)
        elif paper_row:  # the paper's number alone, in its place
            rows.append({"name": paper_row, "paper_row": paper_row, "paper_only": True})
    for key, (shown, res) in by_key.items():
        if key not in used:
            rows.append(dict(res, name=shown, paper_row=None))
    if isinstance(info, dict):
        what = ", ".join(f"{k}: {v}" for k, v in info.items())
    else:
        what = info or ""
    note = ("Median vocal scores in dB (" + AGGREGATION + "; over several seeds: median [min, max])"
            + (f". Ours: {what}" if what else "")
            + ". The paper's numbers are on MUSDB18 (baselines as reported by Hoshen et al., who gave no SIR). "
            "Vocal energy: the share of the mixture's energy a method calls voice; silent floor: the SDR of an "
            "all-zero vocal estimate. " + NOT_REPRODUCIBLE)
    return write_table(rows, out_dir, "table1", PAPER_TABLE1, note,
                       info if isinstance(info, dict) else {"description": what})


# ---------------------------------------------------------------------------------------------------------------
# command line


def _estimates_for(est_dir: Path, folder: str, song) -> dict[str, np.ndarray]:
    """Read a track's estimates from ``est_dir/<folder>/<track>/`` (musdb layout) or ``est_dir/<track>/``."""
    from .audio import read_audio

    for d in (est_dir / folder / song.name, est_dir / song.name):
        if (d / "vocals.wav").is_file():
            break
    else:
        raise DataError(f"No estimates for track {song.name}: expected {est_dir / folder / song.name}/vocals.wav.")
    out = {}
    for target in TARGETS:
        path = d / f"{target}.wav"
        if target == "accompaniment" and not path.is_file():
            # the stems must sum to the mixture
            out[target] = song.mixture - _samples_first(out["vocals"], song.samples).T.astype(np.float32)
            continue
        audio, rate = read_audio(path)
        if rate != song.rate:
            raise AudioError(f"Estimate {path} is at {rate} Hz, the reference at {song.rate} Hz.")
        if audio.shape[0] != song.mixture.shape[0]:
            raise AudioError(f"Estimate {path} has {audio.shape[0]} channel(s), the reference "
                             f"{song.mixture.shape[0]}.")
        out[target] = audio
    return out


def _cmd_evaluate(args: argparse.Namespace) -> None:
    from . import data as data_lib
    from .data import iter_songs, musdb_folder

    est_dir = Path(args.estimates)
    if not est_dir.is_dir():
        raise UsageError(f"Estimates folder {est_dir} does not exist.")
    root = data_lib.resolve_root(args.root)
    if root is None:
        raise UsageError("No MUSDB18 root given: pass --root PATH or set MUSDB_PATH.")
    subset, split, folder = musdb_folder(args.subset)
    names = data_lib.list_tracks(root, subset, split)
    missing = [n for n in names if not ((est_dir / folder / n / "vocals.wav").is_file()
                                        or (est_dir / n / "vocals.wav").is_file())]
    if missing:
        raise DataError(f"{len(missing)} of {len(names)} {args.subset} tracks have no estimates in {est_dir} "
                        f"(first: {missing[0]}); run `semisep separate --musdb-subset {args.subset}` first.")
    name = args.name or est_dir.resolve().name
    out = Path(args.out) if args.out else est_dir / "scores"
    items = ((song, _estimates_for(est_dir, folder, song)) for song in iter_songs(root, subset, split))
    res = evaluate_estimates(items, out, name, protocol=args.protocol, workers=args.workers, total=len(names))
    md = write_table([res], out / name, "table")
    print(md, end="")
    print(f"wrote {out / name}/results.json, table.md and museval/<track>.json")


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register ``evaluate``."""
    p = sub.add_parser("evaluate", help="score estimates with museval (SiSEC 2018 aggregation)",
                       description="Score vocal/accompaniment estimates in musdb's layout (ESTIMATES/<test|train>/"
                                   "<track>/vocals.wav, accompaniment.wav) against the references of a MUSDB18 "
                                   "root; print and write the table.")
    p.add_argument("--estimates", required=True, help="estimates folder (as written by `semisep separate`)")
    p.add_argument("--root", help="MUSDB18 root (default $MUSDB_PATH)")
    p.add_argument("--subset", choices=["test", "valid", "select", "report"], default="test",
                   help="test, or validation songs: all (valid), the half that chooses (select) or reports (report)")
    p.add_argument("--protocol", choices=list(PROTOCOLS), default="v4",
                   help="v4: BSS Eval v4, 1 s windows (SiSEC 2018); v3: BSS Eval v3, 30 s / 15 s (DSD100)")
    p.add_argument("--out", help="where to write scores (default ESTIMATES/scores)")
    p.add_argument("--name", help="method name (default: the estimates folder's name)")
    p.add_argument("--workers", type=int, default=2, help="processes scoring tracks in parallel")
    p.set_defaults(func=_cmd_evaluate)
