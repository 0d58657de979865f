"""Scoring separations with museval, aggregated as SiSEC 2018 or as the paper (the tables built from the scores:
``tables``).

Protocols (:data:`PROTOCOLS`):

* ``v4`` (default, MUSDB18 / SiSEC 2018): BSS Eval v4 images — distortion filters fitted once per track —
  scored in 1 s windows with 1 s hops.
* ``v3`` (the DSD100 / SiSEC 2016 protocol the authors used for Tables 2 and 3): BSS Eval v3 images —
  filters fitted in every window — in 30 s windows with a 15 s hop (``museval.evaluate(mode="v3")``).

Targets are ``vocals`` and ``accompaniment``, scored together as a two-source problem (SIR measures leakage of
one into the other). Aggregation (:data:`AGGREGATIONS`; NaN windows — those where a reference or an estimate is
silent — always left out):

* ``median`` (default, SiSEC 2018): per track, the median over windows; then the median over tracks.
* ``mean`` (the paper's, SiSEC 2016 / DSD100): per track, the *mean* over windows; then the median over tracks.

What the paper says (``PAPER.md``): its DSD100 numbers (Tables 2 and 3) are "BSS Eval v3 images (30 s windows,
15 s hop, stereo, 44.1 kHz)", and its tables are captioned "Median SDR/SIR"; it does not say how the windows of
one track are pooled. ``mean`` follows the DSD100 / SiSEC 2015–2016 convention of the campaign's own result
script (``sisec_mus_boxplots.m`` in faroit/sisec-mus-results): a track's NaN windows are dropped, the track
scores the mean over its remaining windows, and the median over tracks is reported. The paper's numbers are
``protocol="v3", aggregation="mean"``.

Why it matters. BSS Eval's image SDR is a plain SNR per window, ``10·log10(‖s‖² / ‖ŝ − s‖²)``, in v3 as
in v4, so an exactly silent vocal estimate (``g`` the identity, ``b̄ = a − g(a) = 0``) scores 0 dB in every
window under either aggregation (museval leaves a window with a silent estimate NaN, so :func:`score_track`
dithers an all-zero estimate to score as the silence it is). A *leaky* near-silent estimate, ``ŝ ≈ ε·a`` with a
small ``ε`` (e.g. a mask just below one, raised to the power 9 at inference as the authors do), is another
matter: where the voice is loud the window still scores about 0 dB, but where the voice is faint the leaked
accompaniment dominates and the window scores far below 0 dB (about ``10·log10(‖s‖² / (ε²‖a‖²))``). The median
over windows ignores those windows; a per-track mean is pulled down by every one of them. This is the likely
reason (not verifiable: the authors' per-window scores are not published) the paper's "w/o GAN_A & GAN_C" row
reads −17.0 dB where our museval v4 medians of the same collapse read near the 0 dB floor
(``tests/test_evaluate_aggregation.py`` shows both on synthetic windows).

Beside museval's numbers every result carries three guards, so that a collapsed model cannot pass for a
working one:

* ``fast_sdr`` — :func:`~semisep_lib.method.metrics.median_sdr`, the v4 SDR computed directly (equal to museval's);
* ``silent_floor`` — the same fast SDR of an all-zero vocal estimate (0 dB in every window where the voice is
  present, computed, not assumed; museval itself gives a silent estimate NaN);
* ``vocal_energy_fraction`` — energy of the vocal estimate over that of the mixture;
* ``suspect_share`` — the share of vocal windows whose SIR, SAR and ISR cannot be trusted (below).

SIR, SAR and ISR, and why they are fragile. BSS Eval splits an estimate ``ŝ`` of a source image ``s`` into
``s + e_spat + e_interf + e_artif``: ``e_spat`` is what a 512-tap filter of ``s`` itself adds (a spatial or
filtering distortion), ``e_interf`` what 512-tap filters of the *other* references explain (here: accompaniment
heard in the vocals), ``e_artif`` the rest (musical noise, smearing). ``ISR = 10·log10(‖s‖²/‖e_spat‖²)``,
``SIR = 10·log10(‖s + e_spat‖²/‖e_interf‖²)``, ``SAR = 10·log10(‖s + e_spat + e_interf‖²/‖e_artif‖²)`` and
``SDR`` puts all three errors in the denominator. The split is a least-squares projection onto delayed copies
of the references: it solves a linear system whose matrix is the references' auto- and cross-correlations. On
MUSDB18 that system is close to singular: its stems are AAC-coded, and the encoder leaves almost nothing above
its cut-off (about 17 kHz), so many filters explain the references equally well. Decoded as ``musdb`` decodes
them (16-bit integers), every reference carries a faint full-band floor of rounding noise that keeps the system
well posed; decoded to floats, the floor is gone, and a change of 1e-5 in a reference moves SIR, SAR and ISR
by several dB, up or down, while SDR, a plain ratio, stays put. Adding white noise of the rounding's size to
the float decode gives back musdb's numbers, whatever the noise's seed, and noise above the cut-off alone does
it: the floor, not the exact rounding, sets them (:func:`reference_sensitivity`, notebook 07;
``experiments/scorer/`` on the 14 validation songs). So every MUSDB18
stem file is decoded on musdb's grid (:func:`~semisep_lib.study.data.read_stem_file`), and our numbers equal
``museval.eval_mus_track``'s window by window (``tests/test_evaluate_musdb.py``). The toy songs needed the
same floor, so the toy generator puts every stem on the 16-bit grid (``mixture = vocals + drums + bass + other``
still holds exactly); both decisions and their measurements: ``docs/decisions.md``, "MUSDB18 stems decoded on
musdb's 16-bit grid" and "Toy stems on the 16-bit grid". Each result records which grid its references were
on (``references``: ``int16``, or ``float`` for float audio off that grid, whose SIR, SAR and ISR may be
ill-conditioned).

The guard. The three errors are orthogonal when the projection is exact, so ``‖ŝ − s‖² ≥ ‖e_spat‖²`` and a
window's SDR can never exceed its ISR (in v3, whose filters are fitted per window, exactly; in v4, whose filters
are fitted once per track and then cut into windows, up to a little). A window whose SDR exceeds its ISR by
more than :data:`SUSPECT_MARGIN_DB` therefore signals a projection that went wrong; ``suspect_share`` is their
share of the vocal windows, pooled over tracks, and every table shows it. It is a warning light, not a
certificate, and it errs both ways: an ill-posed projection need not flag a window, and under v4, which cuts a
per-track decomposition into windows, a song that changes a lot from window to window can break the inequality
with a well-posed projection (measured: ``docs/decisions.md``, "The suspect-window guard"). A high share says:
check SIR, SAR and ISR before trusting them; a low one does not prove them right.

Per-track museval JSON files (the format of ``museval.TrackStore``, readable by ``museval.EvalStore``) are
written under ``OUT/<name>/museval/``; the aggregated result goes to ``OUT/<name>/results.json``.
:func:`evaluate_folder` scores separations already on disk (``semisep evaluate``); :func:`separate_musdb` writes a
separator's estimates of MUSDB18 songs in the layout it reads (``semisep separate --musdb-subset``).
"""

from __future__ import annotations

import multiprocessing
import warnings
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
from tqdm.auto import tqdm

from ..audio import read_audio
from ..errors import AudioError, DataError, UsageError
from ..fileio import atomic_write_json, atomic_write_text, jsonable
from ..method.metrics import energy_fraction, median_sdr
from ..method.separate import write_stems
from ..method.separator import Separator, check_audio
from .data import iter_songs, list_tracks, musdb_folder, read_stem_file, resolve_root

#: protocol → museval mode, window and hop in seconds
PROTOCOLS = {
    "v4": {"mode": "v4", "win": 1.0, "hop": 1.0},
    "v3": {"mode": "v3", "win": 30.0, "hop": 15.0},
}
TARGETS = ("vocals", "accompaniment")
METRICS = ("SDR", "SIR", "ISR", "SAR")
#: a vocal window whose SDR exceeds its ISR by more than this (dB) is *suspect* (see the module docstring)
SUSPECT_MARGIN_DB = 0.5
#: the grids a result's references can be on (``references``) → how the tables name the scorer
SCORERS = {
    "int16": "museval against references decoded as musdb decodes them (16-bit), the numbers of "
             "museval.eval_mus_track",
    "float": "museval against float references off the 16-bit grid, whose SIR, SAR and ISR may be ill-conditioned",
}
#: aggregation key → what it does (the ``aggregation`` of a summary and of a table); see the module docstring
AGGREGATIONS = {
    "median": "median over windows per track, then median over tracks (SiSEC 2018)",
    "mean": "mean over windows per track, then median over tracks (SiSEC 2016 / DSD100, the paper's tables)",
}
#: the default aggregation's description (SiSEC 2018)
AGGREGATION = AGGREGATIONS["median"]


# ---------------------------------------------------------------------------------------------------------------
# one track


def _nanmedian(values) -> float:
    """Median ignoring NaN; NaN (without a warning) when nothing is left."""
    v = np.asarray(values, dtype=np.float64).ravel()
    v = v[~np.isnan(v)]
    return float(np.median(v)) if v.size else float("nan")


def _nanmean(values) -> float:
    """Mean ignoring NaN (and ``None``, JSON's NaN); NaN (without a warning) when nothing is left."""
    v = np.asarray(values, dtype=np.float64).ravel()
    v = v[~np.isnan(v)]
    return float(np.mean(v)) if v.size else float("nan")


def check_aggregation(aggregation: str) -> str:
    """The description of an aggregation key of :data:`AGGREGATIONS`; :class:`UsageError` for any other."""
    if aggregation not in AGGREGATIONS:
        raise UsageError(f"Unknown aggregation {aggregation!r}; choose {' or '.join(AGGREGATIONS)}.")
    return AGGREGATIONS[aggregation]


def track_score(values, aggregation: str = "median") -> float:
    """One track's score from its per-window values (a list, ``None`` or NaN for windows museval leaves out):
    their median (``aggregation="median"``) or mean (``"mean"``), NaN windows skipped; NaN when none is left."""
    check_aggregation(aggregation)
    return _nanmean(values) if aggregation == "mean" else _nanmedian(values)


def suspect_windows(frames: dict) -> tuple[int, int]:
    """``(suspect, scored)``: of the windows where both are defined, how many have an SDR above their ISR by more
    than :data:`SUSPECT_MARGIN_DB` — ``frames`` is one target's ``{metric: [per window]}`` (``None`` for NaN)."""
    sdr, isr = (np.asarray(frames[m], dtype=np.float64) for m in ("SDR", "ISR"))  # None → NaN
    ok = ~(np.isnan(sdr) | np.isnan(isr))
    return int(np.sum(sdr[ok] > isr[ok] + SUSPECT_MARGIN_DB)), int(np.sum(ok))


def reference_grid(references: np.ndarray) -> str:
    """``"int16"`` if every sample is a whole number of 16-bit steps (musdb's decoding), else ``"float"``."""
    scaled = np.asarray(references, dtype=np.float64) * 32768.0
    return "int16" if np.array_equal(scaled, np.round(scaled)) else "float"


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
    "silent_floor", "vocal_energy_fraction", "suspect_windows": [suspect, scored], "references": "int16" or
    "float", "museval_json"}``; infinite window scores become NaN, as in museval's JSON. Given the references
    ``musdb`` gives (as :func:`~semisep_lib.study.data.load_songs` decodes them), every window equals
    ``museval.eval_mus_track``'s."""
    import museval  # here, not at the top: it takes seconds to import (pandas) and only scoring needs it

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
    out["vocal_energy_fraction"] = energy_fraction(voc_est, mixture)
    out["suspect_windows"] = list(suspect_windows(out["frames"]["vocals"]))
    out["references"] = reference_grid(refs)
    out["museval_json"] = store.json
    return out


def _score_job(job: tuple) -> dict:
    """Worker entry point (top level, so that a spawned process can import it)."""
    return score_track(*job)


# ---------------------------------------------------------------------------------------------------------------
# many tracks


def aggregate(tracks: list[dict], aggregation: str = "median") -> dict:
    """The aggregate of per-track results (:func:`score_track`'s): the median over tracks of every track's score.

    ``aggregation="median"`` (SiSEC 2018): a track's score is its median over windows (the per-track value
    :func:`score_track` stores). ``"mean"`` (the paper's, SiSEC 2016): its mean over windows, computed from the
    per-window ``frames``. NaN windows are skipped either way, as museval does. The guards (``fast_sdr``,
    ``silent_floor``, ``vocal_energy_fraction``) are the median over tracks of their per-track values under
    either aggregation (the two SDR guards are per-track medians over windows)."""
    check_aggregation(aggregation)
    if aggregation == "median":
        agg: dict = {t: {m: _nanmedian([tr[t][m] for tr in tracks]) for m in METRICS} for t in TARGETS}
    else:
        missing = [tr.get("name", "?") for tr in tracks if not isinstance(tr.get("frames"), dict)]
        if missing:
            raise UsageError(f"Track {missing[0]} has no per-window scores (frames): the {aggregation!r} "
                             "aggregation needs them.")
        agg = {t: {m: _nanmedian([track_score(tr["frames"][t][m], aggregation) for tr in tracks])
                   for m in METRICS} for t in TARGETS}
    for key in ("fast_sdr", "silent_floor", "vocal_energy_fraction"):
        agg[key] = _nanmedian([tr[key] for tr in tracks])
    agg["suspect_share"] = suspect_share(tracks)
    agg["references"] = common_grid(tracks)
    return agg


def common_grid(results) -> str | None:
    """The one reference grid (``references``: ``int16`` / ``float``, see :data:`SCORERS`) of some results or
    tracks, ``"mixed"`` if they differ, ``None`` if none records it (results written before it was recorded)."""
    grids = {r.get("references") for r in results if isinstance(r, dict) and not r.get("paper_only")} - {None}
    return grids.pop() if len(grids) == 1 else ("mixed" if grids else None)


def suspect_share(tracks: list[dict]) -> float:
    """The share of the vocal windows of ``tracks`` (pooled) that :func:`suspect_windows` flags; NaN if none is
    scored. Computed from the per-window ``frames``, so results written before the guard existed get it too."""
    counts = np.array([suspect_windows(tr["frames"]["vocals"]) for tr in tracks if isinstance(tr.get("frames"), dict)])
    return float(counts[:, 0].sum() / counts[:, 1].sum()) if counts.size and counts[:, 1].sum() else float("nan")


def reaggregate(result: dict, aggregation: str) -> dict:
    """A copy of a result of :func:`evaluate_estimates` (or its ``results.json``, NaN read back as ``None``)
    aggregated anew with ``aggregation`` from its per-track windows; nothing is scored again."""
    out = dict(result)
    out["aggregation"] = check_aggregation(aggregation)
    out.update(aggregate(result["tracks"], aggregation))
    return out


def _jobs(items: Iterable, protocol: str) -> Iterator[tuple]:
    for song, est in items:
        if song.vocals is None:
            raise DataError(f"Song {song.name} has no reference vocals to score against.")
        acc = song.accompaniment if song.accompaniment is not None else song.mixture - song.vocals
        refs = {"vocals": song.vocals, "accompaniment": acc}
        yield (song.name, int(song.rate), song.mixture, refs, est, protocol)


def evaluate_estimates(items: Iterable, out_dir: str | Path, name: str, protocol: str = "v4",
                       workers: int = 2, progress: bool = True, total: int | None = None,
                       aggregation: str = "median") -> dict:
    """Score ``(song, {"vocals": v, "accompaniment": a})`` pairs (arrays ``(channels, samples)`` at the song's
    rate) and write ``out_dir/<name>/museval/<track>.json`` and ``out_dir/<name>/results.json``.

    ``items`` may be a generator (one song in memory at a time). Tracks are scored in ``workers`` processes
    (``workers <= 1``: in this process). Returns ``{"name", "protocol", "win", "hop", "aggregation",
    "tracks": [per track], "vocals": {SDR, SIR, ISR, SAR}, "accompaniment": {...}, "fast_sdr",
    "silent_floor", "vocal_energy_fraction"}``. ``aggregation`` (:data:`AGGREGATIONS`): how the tracks' windows
    are pooled — ``"median"`` (SiSEC 2018) or ``"mean"`` (the paper's); its description is the summary's
    ``aggregation``. The paper's protocol is ``protocol="v3", aggregation="mean"``."""
    if protocol not in PROTOCOLS:
        raise UsageError(f"Unknown protocol {protocol!r}; choose {' or '.join(PROTOCOLS)}.")
    described = check_aggregation(aggregation)
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
    summary = {"name": name, "protocol": protocol, "win": p["win"], "hop": p["hop"], "aggregation": described,
               "tracks": results}
    summary.update(aggregate(results, aggregation))
    atomic_write_json(base / "results.json", jsonable(summary))
    return summary


def evaluate_separator(separator, songs: Iterable, out_dir: str | Path, name: str | None = None,
                       protocol: str = "v4", workers: int = 2, progress: bool = True,
                       aggregation: str = "median") -> dict:
    """Separate each :class:`~semisep_lib.study.data.Song` (at its original rate, e.g. stereo 44.1 kHz) with
    ``separator`` (a :class:`~semisep_lib.method.separator.Separator`) and score it; see :func:`evaluate_estimates`.
    Separation runs in this process, scoring in ``workers`` others, overlapping."""
    name = name or getattr(separator, "name", "method")
    total = len(songs) if hasattr(songs, "__len__") else None
    # an oracle needs each song's true stems: it offers with_references(vocals, accompaniment)
    per_song = (lambda s: separator.with_references(s.vocals, s.accompaniment)) \
        if hasattr(separator, "with_references") else (lambda s: separator)
    items = ((song, per_song(song).stems(song.mixture, song.rate)) for song in songs)
    return evaluate_estimates(items, out_dir, name, protocol=protocol, workers=workers, progress=progress,
                              total=total, aggregation=aggregation)


# ---------------------------------------------------------------------------------------------------------------
# separations on disk


def separate_musdb(separator: Separator, root: str | Path, subset: str, out_dir: str | Path,
                   progress: bool = True) -> list[dict]:
    """Separate every song of MUSDB's ``test`` or ``valid`` songs into musdb's estimates layout,
    ``out_dir/<test|train>/<track>/{vocals,accompaniment}.wav``, each track written all-or-nothing."""
    mus_subset, split, folder = musdb_folder(subset)
    names = list_tracks(root, mus_subset, split)
    if not names:
        raise DataError(f"Dataset root {root} has no tracks in its {subset} songs.")
    out = []
    for song in tqdm(iter_songs(root, mus_subset, split), total=len(names), desc=f"separate {subset}",
                     disable=not progress, unit="track"):
        mixture = check_audio(song.mixture, song.rate, what=f"The mixture of {song.name}")
        vocals = separator.checked_vocals(mixture, song.rate)
        fraction = energy_fraction(vocals, mixture)
        files = write_stems(mixture, vocals, song.rate, Path(out_dir) / folder / song.name)
        out.append({"name": song.name, "rate": song.rate, **files, "vocal_energy_fraction": fraction})
    return out


def _estimates_for(est_dir: Path, folder: str, song) -> dict[str, np.ndarray]:
    """Read a track's estimates from ``est_dir/<folder>/<track>/`` (musdb layout) or ``est_dir/<track>/``."""
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


def evaluate_folder(estimates: str | Path, root: str | Path | None = None, subset: str = "test",
                    out: str | Path | None = None, name: str | None = None, protocol: str = "v4",
                    workers: int = 2, aggregation: str = "median") -> tuple[dict, Path]:
    """Score the separations in the folder ``estimates`` (musdb's layout, ``ESTIMATES/<test|train>/<track>/
    vocals.wav`` and ``accompaniment.wav``, as ``semisep separate`` writes it) against the references of the
    MUSDB18 ``root``'s ``subset`` (``test``, or the validation songs: ``valid``, ``select``, ``report``);
    ``root`` defaults to :func:`~semisep_lib.study.data.resolve_root`'s.

    Every track must have estimates (checked before scoring). Results go to ``out/<name>/`` (default
    ``ESTIMATES/scores/<folder name>/``), see :func:`evaluate_estimates` (also for ``aggregation``). Returns the
    result and that folder."""
    check_aggregation(aggregation)
    est_dir = Path(estimates)
    if not est_dir.is_dir():
        raise UsageError(f"Estimates folder {est_dir} does not exist.")
    root = resolve_root(root)
    if root is None:
        raise UsageError("No MUSDB18 root given: pass --root PATH or set MUSDB_PATH.")
    mus_subset, split, folder = musdb_folder(subset)
    names = list_tracks(root, mus_subset, split)
    missing = [n for n in names if not ((est_dir / folder / n / "vocals.wav").is_file()
                                        or (est_dir / n / "vocals.wav").is_file())]
    if missing:
        raise DataError(f"{len(missing)} of {len(names)} {subset} tracks have no estimates in {est_dir} "
                        f"(first: {missing[0]}); run `semisep separate --musdb-subset {subset}` first.")
    name = name or est_dir.resolve().name
    out = Path(out) if out else est_dir / "scores"
    items = ((song, _estimates_for(est_dir, folder, song)) for song in iter_songs(root, mus_subset, split))
    result = evaluate_estimates(items, out, name, protocol=protocol, workers=workers, total=len(names),
                                aggregation=aggregation)
    return result, out / name


# ---------------------------------------------------------------------------------------------------------------
# how SIR, SAR and ISR depend on the references' last bits (notebook 07)

#: the reference decodings :func:`reference_sensitivity` compares, one row each
DECODINGS = ("musdb's 16-bit grid", "float decode", "float decode + 16-bit-size dither",
             "float decode + that dither above 17 kHz only")
#: where the MUSDB18 AAC encoder's cut-off lies (Hz): above it the stems hold almost nothing
AAC_CUTOFF_HZ = 17000
#: the shared MUSDB18 preview beside the repository's checkout (``../shared/data/musdb18-7``), if it is there
SHARED_PREVIEW = Path(__file__).resolve().parents[3] / "shared" / "data" / "musdb18-7"
#: the song :func:`demo_stem_file` prefers (``docs/decisions.md``, "The demonstration song of reference_sensitivity")
DEMO_TRACK = "Johnny Lokke - Promises & Lies"


def demo_stem_file(root: str | Path | None = None) -> Path | None:
    """A MUSDB18 ``.stem.mp4`` file to demonstrate on, from ``root`` (else ``$MUSDB_PATH``, else musdb's preview
    folder: :func:`~semisep_lib.study.data.resolve_root`), else from :data:`SHARED_PREVIEW`: :data:`DEMO_TRACK` if it
    is there, else the first file of ``train/`` or ``test/``. ``None`` if there is none (WAV stems have none)."""
    for base in (resolve_root(root), SHARED_PREVIEW):
        files = [f for sub in ("train", "test") for f in sorted((base / sub).glob("*.stem.mp4"))] if base else []
        if files:
            return next((f for f in files if f.name == f"{DEMO_TRACK}.stem.mp4"), files[0])
    return None


def reference_sensitivity(path: str | Path, estimates: dict[str, np.ndarray], seconds: float | None = None,
                          seed: int = 0) -> list[dict]:
    """One estimate scored against the references of one stem file decoded three ways (:data:`DECODINGS`).

    ``estimates``: ``{"vocals", "accompaniment"}``, arrays ``(channels, samples)`` of the file's first
    ``seconds`` (default: all of it). Returns one row per decoding: ``{"references", "SDR", "SIR", "SAR",
    "ISR"}`` (vocal medians over the windows of :func:`score_track`), ``"suspect_share"``
    (:func:`suspect_windows`) and ``"gram_condition"``: the condition number of the Gram matrix BSS Eval solves
    with to project the estimate on the references (the correlations of 512 delayed copies of each reference),
    built from the left channel — a dual-mono stem (left = right) makes the stereo matrix exactly singular on
    every decoding, harmlessly, since the projection never needs the difference of identical channels.

    What it teaches. The AAC encoder left almost nothing above its cut-off (about 17 kHz), so that matrix is
    nearly singular, and the projection rests on whatever faint signal is left there. Rounding to musdb's grid
    lays white noise at −101 dBFS under every stem, and above the cut-off that noise is most of what the
    references hold; the float decode lies mostly below it there, its matrix is worse conditioned, and SIR, SAR
    and ISR move by dB while SDR, a plain ratio, does not. The third row adds to the float decode uniform noise
    of the rounding's size (``±0.5/32768``, drawn with ``seed``) where the rounding happens: in every stem
    (the accompaniment, drums + bass + other, carries three), the same in identical channels. That it scores
    like the first row, whatever the seed, says that the noise floor, not the exact rounding, sets the numbers;
    the fourth keeps only that noise's part above :data:`AAC_CUTOFF_HZ`, and scoring like the first row too says
    where: in the band the codec emptied."""
    from museval.metrics import _compute_reference_correlations, _reshape_G  # BSS Eval's own Gram matrix

    rate, grid = read_stem_file(path, "int16")
    floats = read_stem_file(path, "float")[1]
    n = grid["mixture"].shape[-1] if seconds is None else min(int(seconds * rate), grid["mixture"].shape[-1])
    rng = np.random.default_rng(seed)
    noise = lambda x: rng.uniform(-0.5, 0.5, (1 if np.array_equal(x[0], x[-1]) else len(x), x.shape[-1]))  # noqa: E731
    noises = {k: noise(x) / 32768 for k, x in floats.items()}
    dithered = {k: (x + noises[k]).astype(np.float32) for k, x in floats.items()}
    above = np.fft.rfftfreq(grid["mixture"].shape[-1], 1 / rate) > AAC_CUTOFF_HZ
    high = {k: (x + np.fft.irfft(np.fft.rfft(noises[k]) * above, n=x.shape[-1])).astype(np.float32)
            for k, x in floats.items()}
    rows = []
    for label, stems in zip(DECODINGS, (grid, floats, dithered, high)):
        refs = {"vocals": stems["vocals"][:, :n],
                "accompaniment": (stems["drums"] + stems["bass"] + stems["other"])[:, :n]}
        r = score_track(Path(path).name, rate, grid["mixture"][:, :n], refs, estimates)
        suspect, scored = suspect_windows(r["frames"]["vocals"])
        left = np.stack([_samples_first(refs[t][:1], n) for t in TARGETS])  # (2 sources, samples, 1 channel)
        eig = np.linalg.eigvalsh(_reshape_G(_compute_reference_correlations(left, 512)[0]))  # 512: museval's taps
        rows.append({"references": label, **r["vocals"], "suspect_share": suspect / scored if scored else np.nan,
                     "gram_condition": float(eig[-1] / max(eig[0], eig[-1] * np.finfo(float).eps))})
    return rows
