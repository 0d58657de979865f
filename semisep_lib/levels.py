"""Robustness to the mix: the selection songs remixed from their stems, separated and scored as the project scores.

A model that learned how loud a voice sits in a MUSDB18 mix can fail on mixes where it sits louder (issue 32;
``docs/decisions.md``, "The level sweep"). This module measures that on the songs we have. Each song is remixed
from its stems by a :class:`MixChange` — by default the vocals at −6, 0, +6 and +12 dB relative to the original
balance (:data:`LEVELS_DB`), and three other changes (:func:`default_changes`, argued there) — separated by each
method as it ships, and scored with museval v4 exactly as :mod:`semisep_lib.evaluate` scores (1 s windows; median
over windows, then over songs). Beside SDR, SIR, SAR and ISR it reports the vocal energy fraction a method calls
(``‖vocal estimate‖² / ‖mixture‖²``) against the true one (``‖vocals‖² / ‖mixture‖²``), and their ratio in dB.

**The 16-bit grid.** BSS Eval's SIR, SAR and ISR are ill-conditioned on references off the 16-bit grid (see
:mod:`semisep_lib.evaluate`'s docstring; ``docs/decisions.md``, "MUSDB18 stems decoded on musdb's 16-bit grid").
A gain of +6 dB moves every sample off it. So :func:`remix` changes each stem on its own, rounds it to a
whole number of 16-bit steps (``k / 32768``, as ``musdb`` decodes and as the toy generator writes), and forms
the accompaniment and the mixture as exact integer sums of the rounded stems — ``mixture = vocals +
accompaniment`` holds to the last bit, and every reference carries the rounding's white floor again. Nothing is
clipped or normalised: a sample may exceed 1 (``k`` above 32767) — only a file would need a limiter, and a global
gain changes neither ``g``'s input (each block is normalised by its peak) nor BSS Eval's ratios.

**0 dB is the sum of the stems, not the mix.** MUSDB18's mixture stream was encoded on its own: it differs from
``vocals + drums + bass + other`` (on the preview's selection songs it lies 25 to 31 dB from that sum:
``experiments/levels/results/``, ``song_info``). Every condition here, 0 dB included, separates
the exact sum of its stems, so the sweep compares like with like; :func:`robustness` records how far each song's
original mixture is from that sum (``mix_vs_stems_snr_db``), and the 0 dB numbers may therefore differ from
``semisep evaluate``'s on the same songs.

**Trivial answers beside every method** (:func:`trivial_baselines`): the mixture (vocals = mixture), silence
(vocals = 0, what ``g`` = identity gives), half the mixture (vocals = accompaniment = mixture / 2, which scores
well when the voice is loud), and the oracle ratio mask with the ``cpu`` preset's STFT: a reference for a good
magnitude mask, not an upper bound (a mask that uses phase, or that scores per window, can beat it).

**One number:** ``level_sweep_sdr``, the mean over the vocal-level conditions of the median vocal SDR; beside it
``level_sweep_margin_over_half``, the mean of (method − half the mixture) over the same conditions.

**Songs.** The *selection* songs (half of the validation songs) by default; the *report* songs only when asked,
and then labelled so in every output (``songs: report``): they must never choose anything.
"""

from __future__ import annotations

import dataclasses
import math
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np
import scipy.fft

from .audio import read_audio
from .baselines import MixtureBaseline, OracleIRM, SilentBaseline
from .checkpoint import load_checkpoint, load_g
from .config import Config, SeparateConfig
from .data import ACCOMPANIMENT, Song, detect_layout, list_tracks, read_stem_file, resolve_root
from .errors import DataError, UsageError
from .evaluate import evaluate_separator
from .fileio import atomic_write_json, atomic_write_text, jsonable
from .metrics import energy_fraction
from .separate import MaskSeparator, load_separator, read_tuning
from .separator import Separator, check_audio
from .tables import percent, scorer_note

#: Vocal gains of the level sweep (dB, relative to the original balance of the stems).
LEVELS_DB = (-6.0, 0.0, 6.0, 12.0)
#: The accompaniment tilt: dB per octave about :data:`TILT_PIVOT_HZ`, limited to ±:data:`TILT_LIMIT_DB`.
TILT_DB_PER_OCTAVE = 3.0
TILT_PIVOT_HZ = 1000.0
TILT_LIMIT_DB = 12.0
#: The drums' gain of the drum-heavy condition (dB).
DRUMS_DB = 6.0
#: One 16-bit step is 1 / GRID.
GRID = 32768
#: Which songs a run scores: the half that chooses (default) or the half that reports (only when asked).
SONG_SETS = ("select", "report")
#: How a model's separation settings missing from its checkpoint are filled (:func:`model_separator`).
SETTINGS = ("current", "checkpoint")


# ---------------------------------------------------------------------------------------------------------------
# mix changes


@dataclass(frozen=True)
class MixChange:
    """One way to remix a song from its stems: gains in dB on the vocals and on the drums, and a spectral tilt of
    the accompaniment stems (:func:`tilt`) in dB per octave about :data:`TILT_PIVOT_HZ`. Every change is linear,
    so a remix obeys superposition before the rounding."""

    name: str
    vocals_db: float = 0.0
    drums_db: float = 0.0
    tilt_db_per_octave: float = 0.0

    @property
    def is_level(self) -> bool:
        """Whether this is a point of the vocal-level sweep (only the vocals' gain differs from the original)."""
        return self.drums_db == 0 and self.tilt_db_per_octave == 0

    def describe(self) -> str:
        """A short phrase for tables."""
        parts = []
        if self.vocals_db or self.is_level:
            parts.append(f"vocals {self.vocals_db:+g} dB")
        if self.drums_db:
            parts.append(f"drums {self.drums_db:+g} dB")
        if self.tilt_db_per_octave:
            parts.append(f"accompaniment tilted {self.tilt_db_per_octave:+g} dB/octave about "
                         f"{TILT_PIVOT_HZ:g} Hz (±{TILT_LIMIT_DB:g} dB at most)")
        return ", ".join(parts)


def level_changes(levels: Sequence[float] = LEVELS_DB) -> list[MixChange]:
    """The vocal-level sweep: one :class:`MixChange` per vocal gain, named ``vocals+6dB`` etc."""
    return [MixChange(f"vocals{float(db):+g}dB", vocals_db=float(db)) for db in levels]


def default_changes() -> list[MixChange]:
    """The vocal-level sweep and three other changes of the accompaniment, chosen because mixes differ this way
    and because each moves what ``g`` had to learn from MUSDB18's mixes alone:

    * ``accompaniment-bright`` / ``accompaniment-dark``: the accompaniment's spectral balance tilted by ±3 dB
      per octave about 1 kHz (about ±9 dB at 8 kHz and 125 Hz), as mastering EQs differ. A bright accompaniment
      puts more energy in the band of the voice's upper formants and sibilants, which a mask learned on MUSDB18's
      balance may call voice; a dark one asks the opposite.
    * ``drums+6dB``: a drum-heavy mix. Drums are broadband and transient: the accompaniment a mask most easily
      leaks into the vocals.

    A change of the whole accompaniment's level is left out on purpose: it equals a vocal gain of the opposite
    sign up to a global gain, which neither ``g`` (blocks normalised by their peak) nor BSS Eval sees."""
    return level_changes() + [
        MixChange("accompaniment-bright", tilt_db_per_octave=TILT_DB_PER_OCTAVE),
        MixChange("accompaniment-dark", tilt_db_per_octave=-TILT_DB_PER_OCTAVE),
        MixChange("drums+6dB", drums_db=DRUMS_DB),
    ]


def changes_by_name(names: Iterable[str] | None) -> list[MixChange]:
    """The :func:`default_changes` named in ``names`` (all when ``None``), or :class:`UsageError`; ``levels``
    stands for the vocal-level sweep."""
    every = {c.name: c for c in default_changes()}
    if names is None:
        return list(every.values())
    out: list[MixChange] = []
    for n in names:
        picked = level_changes() if n == "levels" else [every[n]] if n in every else None
        if picked is None:
            raise UsageError(f"Unknown mix change {n!r}; choose among levels, {', '.join(every)}.")
        out += [c for c in picked if c not in out]
    return out


def tilt(x: np.ndarray, rate: int, db_per_octave: float, pivot_hz: float = TILT_PIVOT_HZ,
         limit_db: float = TILT_LIMIT_DB) -> np.ndarray:
    """``x`` ``(channels, samples)`` through a zero-phase filter whose gain is ``db_per_octave · log2(f / pivot)``
    dB, limited to ±``limit_db`` (DC gets ``−limit_db`` for a positive slope); float64. Applied in the frequency
    domain on the signal padded with a quarter second of zeros at each end, so that the filter's tails do not wrap
    around."""
    x = np.asarray(x, dtype=np.float64)
    if db_per_octave == 0:
        return x.copy()
    pad = int(rate) // 4
    n = scipy.fft.next_fast_len(x.shape[-1] + 2 * pad, real=True)
    freqs = np.fft.rfftfreq(n, 1.0 / rate)
    octaves = np.log2(np.maximum(freqs, 1e-6) / pivot_hz)
    gain = 10 ** (np.clip(db_per_octave * octaves, -limit_db, limit_db) / 20)
    padded = np.zeros(x.shape[:-1] + (n,))
    padded[..., pad:pad + x.shape[-1]] = x
    y = scipy.fft.irfft(scipy.fft.rfft(padded, axis=-1) * gain, n=n, axis=-1)
    return y[..., pad:pad + x.shape[-1]]


def to_steps(x: np.ndarray) -> np.ndarray:
    """``x`` rounded to whole 16-bit steps: the integers ``k`` of ``k / 32768`` (int64; halves to even)."""
    return np.rint(np.asarray(x, dtype=np.float64) * GRID).astype(np.int64)


def from_steps(k: np.ndarray) -> np.ndarray:
    """16-bit steps ``k`` as float32 ``k / 32768``, exactly (checked: ``|k| < 2**24``)."""
    if k.size and int(np.max(np.abs(k))) >= 1 << 24:
        raise DataError("A remixed stem is too loud to be held exactly in float32 (above 512 full scales).")
    return (k.astype(np.float32) / np.float32(GRID)).astype(np.float32)


def remix(stems: dict[str, np.ndarray], rate: int, change: MixChange) -> dict[str, np.ndarray]:
    """The song of ``stems`` remixed by ``change``, every part on the 16-bit grid.

    ``stems``: float ``(channels, samples)`` arrays ``vocals`` and either ``drums``, ``bass``, ``other`` or one
    ``accompaniment`` (a ``mixture`` is ignored). Each stem is changed on its own and rounded to whole 16-bit steps;
    the accompaniment is the exact sum of its rounded stems and the mixture the exact sum of vocals and
    accompaniment (sums of integers, then divided by 32768, which float32 holds exactly). Returns float32
    ``vocals``, the accompaniment stems present, ``accompaniment`` and ``mixture``. At 0 dB with no other change,
    stems already on the grid come back unchanged, and the mixture is their sum."""
    if "vocals" not in stems:
        raise DataError("A remix needs the vocals stem.")
    parts = [s for s in ACCOMPANIMENT if s in stems] or (["accompaniment"] if "accompaniment" in stems else [])
    if not parts:
        raise DataError("A remix needs the accompaniment's stems (drums, bass, other) or an accompaniment stem.")
    if change.drums_db and "drums" not in parts:
        raise DataError(f"The mix change {change.name!r} needs a drums stem; this song has only an accompaniment.")
    steps = {"vocals": to_steps(np.asarray(stems["vocals"], np.float64) * 10 ** (change.vocals_db / 20))}
    for s in parts:
        x = tilt(stems[s], rate, change.tilt_db_per_octave)
        if s == "drums":
            x = x * 10 ** (change.drums_db / 20)
        steps[s] = to_steps(x)
    acc = sum(steps[s] for s in parts)
    out = {k: from_steps(v) for k, v in steps.items()}
    out["accompaniment"] = from_steps(acc)
    out["mixture"] = from_steps(steps["vocals"] + acc)
    return out


# ---------------------------------------------------------------------------------------------------------------
# songs


def read_stems(root: str | Path, subset: str, name: str) -> tuple[int, dict[str, np.ndarray]]:
    """One song's rate and float32 ``(channels, samples)`` stems, at the file's rate: a ``.stem.mp4`` decoded as
    ``musdb`` decodes it (:func:`~semisep_lib.data.read_stem_file`), or a folder of WAV stems (the toy set,
    MUSDB18-HQ: ``mixture`` and the stems present, cut to the shortest)."""
    root = Path(root)
    if detect_layout(root) == "stems":
        return read_stem_file(root / subset / f"{name}.stem.mp4")
    folder, arrays, rate = root / subset / name, {}, None
    for stem in ("mixture", "vocals", *ACCOMPANIMENT, "accompaniment"):
        if (folder / f"{stem}.wav").is_file():
            audio, r = read_audio(folder / f"{stem}.wav")
            if rate is not None and r != rate:
                raise DataError(f"Track {folder} mixes sample rates ({rate} Hz and {r} Hz in {stem}.wav).")
            rate, arrays[stem] = r, audio
    if "vocals" not in arrays:
        raise DataError(f"Track {folder} has no vocals.wav to remix.")
    n = min(a.shape[-1] for a in arrays.values())
    return int(rate), {k: np.ascontiguousarray(v[:, :n]) for k, v in arrays.items()}


def on_grid(x: np.ndarray) -> bool:
    """Whether every sample of ``x`` is a whole number of 16-bit steps."""
    scaled = np.asarray(x, dtype=np.float64) * GRID
    return bool(np.array_equal(scaled, np.round(scaled)))


def remixed_song(name: str, rate: int, stems: dict[str, np.ndarray], change: MixChange) -> Song:
    """:func:`remix` as a :class:`~semisep_lib.data.Song` (mixture, vocals, accompaniment) to separate and score."""
    r = remix(stems, rate, change)
    return Song(name=name, rate=rate, mixture=r["mixture"], vocals=r["vocals"], accompaniment=r["accompaniment"])


def _snr_db(reference: np.ndarray, other: np.ndarray) -> float:
    """``10·log10(‖reference‖² / ‖reference − other‖²)``; inf when they are equal."""
    num = float(np.sum(np.square(reference, dtype=np.float64)))
    den = float(np.sum(np.square(np.asarray(reference, np.float64) - other)))
    return float("inf") if den == 0 else 10 * math.log10(num / den) if num > 0 else float("-inf")


# ---------------------------------------------------------------------------------------------------------------
# methods


class HalfMixture(Separator):
    """Vocals = accompaniment = mixture / 2: the answer that knows nothing and splits the difference."""

    name = "half the mixture"

    def separate(self, audio: np.ndarray, rate: int) -> np.ndarray:
        return check_audio(audio, rate) * np.float32(0.5)


def trivial_baselines(cfg: Config) -> dict[str, Callable[[], Separator]]:
    """Label → factory of the baselines scored beside every method: the mixture, silence (``g`` = identity), half
    the mixture, and the oracle ratio mask with ``cfg``'s STFT."""
    return {"mixture": MixtureBaseline, "silent (g = identity)": SilentBaseline, "half the mixture": HalfMixture,
            "oracle IRM": lambda: OracleIRM(cfg)}


def model_separator(model: str | Path, settings: str = "current", device: str = "cpu") -> MaskSeparator:
    """A model as it ships: its ``g`` with its ``separate.yaml`` post-processing on top of its checkpoint's
    ``config.separate``. ``settings`` says how keys its checkpoint lacks are filled (models shipped before a
    separation option existed lack its key):

    * ``"current"``: from today's preset, as ``semisep separate --model MODEL`` does today
      (:func:`~semisep_lib.separate.load_separator`);
    * ``"checkpoint"``: with :class:`~semisep_lib.config.SeparateConfig`'s field defaults, which are the behaviour
      of the code before each option existed (one mask per channel, blocks of the training length, float32,
      the vocal mask ``(1 − m)^p``) — how the model was separated when it shipped."""
    if settings not in SETTINGS:
        raise UsageError(f"Unknown settings {settings!r}; choose {' or '.join(SETTINGS)}.")
    if settings == "current":
        return load_separator(model, device=device)
    stored = load_checkpoint(model)["config"].get("separate") or {}
    g, cfg = load_g(model, device=device)
    filled = {**dataclasses.asdict(SeparateConfig()), **stored, **(read_tuning(model).get("separate") or {})}
    return MaskSeparator(g, cfg.updated({"separate": filled}), device=device)


def separator_settings(sep: Separator) -> dict:
    """What a separator does, for the record: a :class:`MaskSeparator`'s post-processing, stereo handling, block
    length and precision (``bf16`` as it runs on this machine), else its class."""
    if not isinstance(sep, MaskSeparator):
        return {"method": type(sep).__name__}
    return {"mask_family": sep.mask_family, "mask_power": sep.mask_power, "smooth_frames": sep.smooth_frames,
            "stereo": sep.stereo, "block_frames": sep.block, "overlap": sep.overlap, "bf16": sep.bf16,
            "preset": sep.cfg.preset}


# ---------------------------------------------------------------------------------------------------------------
# scoring


def _median(values) -> float:
    v = np.asarray([np.nan if x is None else x for x in values], dtype=np.float64)
    v = v[~np.isnan(v)]
    return float(np.median(v)) if v.size else float("nan")


def _ratio_db(called: float, true: float) -> float:
    """``10·log10(called / true)``: how much more (+) or less (−) voice energy was called than there is; NaN
    when either is zero."""
    return 10 * math.log10(called / true) if called > 0 and true > 0 else float("nan")


def score_condition(separator: Separator, songs: list[Song], workdir: str | Path, name: str,
                    workers: int = 2) -> dict:
    """Separate and score ``songs`` (one condition) with museval v4 as the project scores
    (:func:`~semisep_lib.evaluate.evaluate_separator`); per-track museval files go under ``workdir/name``.

    Returns ``{"vocals": {SDR, SIR, SAR, ISR}, "accompaniment_SDR", "vocal_energy_called", "vocal_energy_true",
    "vocal_energy_ratio_db", "suspect_share", "references", "tracks": [...]}``: medians over songs of each song's
    median over windows (energy fractions: medians over songs of each song's fraction; the ratio: the median
    over songs of each song's ``10·log10(called / true)``)."""
    r = evaluate_separator(separator, songs, workdir, name, workers=workers, progress=False)
    by_name = {s.name: s for s in songs}
    tracks = []
    for t in sorted(r["tracks"], key=lambda t: t["name"]):
        song = by_name[t["name"]]
        true = energy_fraction(song.vocals, song.mixture)
        tracks.append({"name": t["name"], **{m: t["vocals"][m] for m in ("SDR", "SIR", "SAR", "ISR")},
                       "vocal_energy_called": t["vocal_energy_fraction"], "vocal_energy_true": true,
                       "vocal_energy_ratio_db": _ratio_db(t["vocal_energy_fraction"], true),
                       "suspect_windows": t["suspect_windows"]})
    return {"vocals": dict(r["vocals"]), "accompaniment_SDR": r["accompaniment"]["SDR"],
            "vocal_energy_called": r["vocal_energy_fraction"],
            "vocal_energy_true": _median([t["vocal_energy_true"] for t in tracks]),
            "vocal_energy_ratio_db": _median([t["vocal_energy_ratio_db"] for t in tracks]),
            "suspect_share": r["suspect_share"], "references": r["references"], "tracks": tracks}


def summarise(conditions: dict[str, dict], changes: Sequence[MixChange],
              half: dict[str, dict] | None = None) -> dict:
    """A method's summary over its ``conditions`` (name → :func:`score_condition` result): ``level_sweep_sdr``,
    the mean over the vocal-level conditions of the median vocal SDR (NaN if one of them is missing or NaN), and,
    given half the mixture's results ``half``, ``level_sweep_margin_over_half``, the mean of the differences."""
    levels = [c.name for c in changes if c.is_level]
    sdr = [conditions[n]["vocals"]["SDR"] if n in conditions else float("nan") for n in levels]
    out = {"level_conditions": levels, "level_sweep_sdr": float(np.mean(sdr)) if sdr else float("nan")}
    if half is not None:
        diff = [conditions[n]["vocals"]["SDR"] - half[n]["vocals"]["SDR"] if n in conditions and n in half
                else float("nan") for n in levels]
        out["level_sweep_margin_over_half"] = float(np.mean(diff)) if diff else float("nan")
    return out


def robustness(methods: dict[str, Callable[[], Separator]], root: str | Path | None = None,
               songs: str = "select", changes: Sequence[MixChange] | None = None, workers: int = 2,
               workdir: str | Path | None = None, progress: bool = True, settings: dict | None = None,
               limit: int | None = None) -> dict:
    """Score every method of ``methods`` (label → a factory of its :class:`Separator`) on the ``songs`` half of
    the validation songs (``"select"``, or ``"report"`` only when asked) of the dataset ``root``, remixed by each of
    ``changes`` (default :func:`default_changes`).

    Each song's stems are read once; each condition's songs are remixed in memory (a few seconds of audio per
    preview song). ``settings``: label → a record of what the method does (stored as given). museval's
    per-track files go to ``workdir`` (default: a temporary folder, removed). ``limit``: the first few songs
    only (a quick check; the result says so). Returns a JSON-ready dict: the songs and their original
    mixtures' distance from the sum of their stems, every condition's true vocal energy fraction, and per method
    its conditions (:func:`score_condition`), summary (:func:`summarise`) and seconds."""
    if songs not in SONG_SETS:
        raise UsageError(f"Unknown songs {songs!r}; choose {' or '.join(SONG_SETS)}.")
    resolved = resolve_root(root)
    if resolved is None:
        raise UsageError("No dataset root given: pass --root PATH or set MUSDB_PATH.")
    changes = list(changes if changes is not None else default_changes())
    if not changes:
        raise UsageError("Give at least one mix change to score.")
    names = list_tracks(resolved, "train", songs)
    if limit is not None:
        names = names[: max(int(limit), 0)]
    if not names:
        raise DataError(f"Dataset root {resolved} has no {songs} songs (half of its validation songs) to remix.")
    stems, info = {}, []
    for name in names:
        rate, s = read_stems(resolved, "train", name)
        stems[name] = (rate, s)
        sources = [k for k in s if k != "mixture"]
        row = {"name": name, "rate": rate, "seconds": round(s["vocals"].shape[-1] / rate, 3),
               "stems_on_grid": all(on_grid(s[k]) for k in sources)}
        if "mixture" in s:
            row["mix_vs_stems_snr_db"] = _snr_db(s["mixture"], remix(s, rate, MixChange("0"))["mixture"])
        info.append(row)
    conditions = {}
    for c in changes:
        remixed = [remixed_song(n, *stems[n], c) for n in names]
        conditions[c.name] = {
            "change": dataclasses.asdict(c), "description": c.describe(), "is_level": c.is_level,
            "vocal_energy_true": _median([energy_fraction(s.vocals, s.mixture) for s in remixed]),
            "peak": float(max(np.max(np.abs(s.mixture)) for s in remixed))}
    result = {
        "songs": songs, "song_names": names, "limited_to": limit, "root": str(resolved), "song_info": info,
        "protocol": "museval v4 (BSS Eval v4 images, 1 s windows and hops); per song the median over windows, "
                    "then the median over songs",
        "remix": "each stem changed on its own and rounded to whole 16-bit steps; accompaniment and mixture are "
                 "exact sums of the rounded stems (0 dB is the sum of the stems, not the original mixture)",
        "conditions": conditions, "methods": {}}
    with tempfile.TemporaryDirectory(prefix="semisep-levels-") as tmp:
        base = Path(workdir) if workdir else Path(tmp)
        for label, make in methods.items():
            t0 = time.perf_counter()
            sep = make()
            scored = {}
            for i, c in enumerate(changes):
                remixed = [remixed_song(n, *stems[n], c) for n in names]
                scored[c.name] = score_condition(sep, remixed, base / _slug(label), c.name, workers=workers)
                if progress:
                    v = scored[c.name]
                    print(f"  {label} | {c.name}: vocal SDR {v['vocals']['SDR']:.2f} dB, SIR "
                          f"{v['vocals']['SIR']:.2f}, energy called {100 * v['vocal_energy_called']:.1f}% "
                          f"(true {100 * v['vocal_energy_true']:.1f}%)", flush=True)
            result["methods"][label] = {"settings": (settings or {}).get(label) or separator_settings(sep),
                                        "conditions": scored, "seconds": round(time.perf_counter() - t0, 1)}
    half = result["methods"].get("half the mixture", {}).get("conditions")
    for m in result["methods"].values():
        m["summary"] = summarise(m["conditions"], changes, half)
    result["scorer"] = scorer_note(c for m in result["methods"].values() for c in m["conditions"].values())
    return result


def _slug(label: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-+." else "_" for ch in label)


# ---------------------------------------------------------------------------------------------------------------
# results on disk


def merge(results: Sequence[dict]) -> dict:
    """Several :func:`robustness` results of the same songs and conditions as one (methods united; a later
    result's method replaces an earlier one's of the same label; summaries recomputed against half the
    mixture if any result has it). :class:`UsageError` if songs or conditions differ."""
    if not results:
        raise UsageError("Nothing to merge.")
    first = results[0]
    out = {k: v for k, v in first.items() if k != "methods"}
    out["methods"] = {}
    for r in results:
        if r["song_names"] != first["song_names"] or r["songs"] != first["songs"]:
            raise UsageError("These results scored different songs; they cannot share a table.")
        if list(r["conditions"]) != list(first["conditions"]):
            raise UsageError("These results scored different mix changes; they cannot share a table.")
        out["methods"].update(r["methods"])
    changes = [MixChange(**c["change"]) for c in first["conditions"].values()]
    half = out["methods"].get("half the mixture", {}).get("conditions")
    for m in out["methods"].values():
        m["summary"] = summarise(m["conditions"], changes, half)
    return out


def _fmt(v, digits: int = 2) -> str:
    return "–" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{digits}f}"


def _pct(v) -> str:
    return "–" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{100 * v:.1f}%"


def _called(condition: dict) -> str:
    """``called% (ratio dB)``; a silent estimate (scored with a −200 dB dither, see ``evaluate``) as ``0% (silent)``."""
    called = condition["vocal_energy_called"]
    if called is not None and called < 1e-9:
        return "0% (silent)"
    return f"{_pct(called)} ({_fmt(condition['vocal_energy_ratio_db'], 1)} dB)"


def render(result: dict) -> str:
    """A :func:`robustness` (or :func:`merge`) result as markdown: vocal SDR, energy called against the truth,
    and SIR / SAR per method and condition."""
    conds = list(result["conditions"])
    methods = result["methods"]
    report = result["songs"] == "report"
    head = "| method | " + " | ".join(conds)
    rule = "|---|" + "---|" * len(conds)
    which = ("**REPORT songs** (half of the validation songs that never chose anything; do not choose by these "
             "numbers)" if report else "the selection songs (half of the validation songs)")
    limited = f" — the first {result['limited_to']} only, a quick check" if result.get("limited_to") else ""
    lines = [f"# Robustness to the mix ({'report' if report else 'selection'} songs)", "",
             f"Songs: {which}{limited}: {', '.join(result['song_names'])}. Each is remixed from its stems, every "
             f"stem rounded to the 16-bit grid, the mixture their exact sum. Protocol: {result['protocol']}.", "",
             "Conditions: " + "; ".join(f"`{n}` {c['description']}" for n, c in result["conditions"].items())
             + ".", "",
             "## Vocal SDR (dB)", "",
             head + " | level-sweep mean | over half the mixture | suspect (worst) |",
             rule + "---|---|---|"]
    for label, m in methods.items():
        c, s = m["conditions"], m.get("summary", {})
        worst = max((c[n]["suspect_share"] for n in conds if n in c
                     and c[n]["suspect_share"] is not None and not math.isnan(c[n]["suspect_share"])), default=None)
        lines.append(f"| {label} | " + " | ".join(_fmt(c[n]["vocals"]["SDR"]) if n in c else "–" for n in conds)
                     + f" | **{_fmt(s.get('level_sweep_sdr'))}** | {_fmt(s.get('level_sweep_margin_over_half'))}"
                     f" | {percent(worst)} |")
    lines += ["", "Level-sweep mean: the mean of the vocal-level columns (" +
              ", ".join(f"`{n}`" for n in conds if result["conditions"][n]["is_level"]) +
              "); over half the mixture: the mean, over the same columns, of the method's SDR minus that of "
              "vocals = mixture / 2.", "",
              "## Vocal energy called (‖vocal estimate‖² / ‖mixture‖², median over songs)", "",
              head + " |", rule,
              "| **truth** (‖vocals‖² / ‖mixture‖²) | " + " | ".join(
                  _pct(result["conditions"][n]["vocal_energy_true"]) for n in conds) + " |"]
    for label, m in methods.items():
        c = m["conditions"]
        lines.append(f"| {label} | " + " | ".join(_called(c[n]) if n in c else "–" for n in conds) + " |")
    lines += ["", "In brackets: the median over songs of 10·log10(called / true); below zero, the method leaves "
              "voice in the accompaniment (or calls too little voice).", "",
              "## Vocal SIR / SAR (dB)", "", head + " |", rule]
    for label, m in methods.items():
        c = m["conditions"]
        lines.append(f"| {label} | " + " | ".join(
            f"{_fmt(c[n]['vocals']['SIR'])} / {_fmt(c[n]['vocals']['SAR'])}" if n in c else "–" for n in conds)
            + " |")
    lines += ["", result.get("scorer") or scorer_note(
        c for m in methods.values() for c in m["conditions"].values()), ""]
    settings = [f"- **{label}**: " + ", ".join(f"{k} {v}" for k, v in m["settings"].items())
                + f"; {m.get('seconds', 0):.0f} s" for label, m in methods.items()]
    lines += ["Methods as separated:", "", *settings, ""]
    for key in ("command", "git_commit", "machine"):
        if result.get(key):
            lines.append(f"{key.replace('_', ' ').capitalize()}: `{result[key]}`.  ")
    return "\n".join(lines).rstrip() + "\n"


def write(result: dict, out: str | Path) -> tuple[Path, Path]:
    """Write ``result`` as ``OUT`` (JSON, NaN as null) and ``OUT`` with ``.md`` (:func:`render`), atomically;
    returns both paths."""
    out = Path(out)
    md = out.with_suffix(".md")
    if out.suffix != ".json":
        raise UsageError(f"The output {out} must be a .json file (the table goes beside it, as .md).")
    atomic_write_json(out, jsonable(result))
    atomic_write_text(md, render(result))
    return out, md
