"""The shipped pretrained model and its model card.

``semisep_lib/pretrained/`` holds ``best.pt`` (``g`` only, the ``cpu`` preset: a few hundred kB),
``separate.yaml`` (the mask post-processing chosen on the selection songs by ``semisep tune-mask``), ``card.json``
and ``MODEL_CARD.md``.
``separate`` uses it when no ``--model`` is given.

:func:`build_card` (``semisep pretrained-card --run RUN [RUN ...] --supervised SUP_RUN [SUP_RUN ...] --root MUSDB
--out semisep_lib/pretrained``) copies the best ``g`` of a training run — of several candidate runs, the one whose
best checkpoint scored highest on the selection songs (:func:`choose_run`) — and scores it with museval on the
*report* songs (half of musdb's validation songs; the other half, the selection songs, chose the checkpoint and
the post-processing) with its SDR-favouring and its SIR-favouring post-processing, beside the mixture, the
silent estimate, the oracle mask, the same ``g`` trained supervised, NES and NMF trained on the same data; it
also stores the vocal SDR on stempeg's example track, which ``tests/test_pretrained.py`` checks (±0.1 dB).
Every number in the card comes from this command.
"""

from __future__ import annotations

import json
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from ..errors import UsageError
from ..fileio import atomic_write_json, atomic_write_text
from ..runs import Run
from ..method.checkpoint import HEADER_KEYS, load_checkpoint, save_checkpoint
from ..method.config import Config
from ..method.separate import PRETRAINED_DIR, load_separator, read_tuning
from .data import Song, load_songs, load_training_data, read_stem_file
from .evaluate import evaluate_separator, score_track
from .levels import level_changes, robustness, trivial_baselines
from .methods import METHODS, Method
from .tables import percent, scorer_note


def example_song():
    """stempeg's example excerpt (a MUSDB18 *test* song, never trained on) as a
    :class:`~semisep_lib.study.data.Song`."""
    import stempeg  # here, not at the top: stempeg refuses to import without ffmpeg on PATH

    rate, s = read_stem_file(stempeg.example_stem_path())  # decoded as musdb decodes it
    return Song(name="The Easton Ellises - Falcon 69 (stempeg example)", rate=rate, mixture=s["mixture"],
                vocals=s["vocals"], accompaniment=s["drums"] + s["bass"] + s["other"])


def example_vocal_sdr(model: str | Path = PRETRAINED_DIR) -> float:
    """museval v4 median vocal SDR of a model on :func:`example_song` (the regression figure)."""
    song = example_song()
    stems = load_separator(model).stems(song.mixture, song.rate)
    refs = {"vocals": song.vocals, "accompaniment": song.accompaniment}
    return float(score_track(song.name, song.rate, song.mixture, refs, stems)["vocals"]["SDR"])


def _slim_checkpoint(run: Path, dest: Path) -> dict:
    """Copy ``run``'s best ``g`` (weights, config, step, validation) without optimiser or discriminator state."""
    state = load_checkpoint(run)
    slim = {k: state[k] for k in HEADER_KEYS if k in state}
    slim["valid"] = state.get("valid", {})
    save_checkpoint(Run(dest).best, slim)
    tuning = Run(run).tuning
    if tuning.is_file():
        atomic_write_text(Run(dest).tuning, tuning.read_text())
    return slim


CHOICE_RULE = ("the highest selection-song score of each run's best checkpoint (`val_sdr`: the vocal SDR of "
               "separating the selection songs, the figure that chose each run's checkpoint)")


def choose_run(candidates: list[str | Path]) -> tuple[Path, list[dict]]:
    """The candidate run whose ``best.pt`` scored highest on the selection songs (its ``valid["val_sdr"]``, from
    ``reproduce.mask_validator``: the same songs for every seed and every training path, so runs compare), and
    every candidate's figure in the order given. Raises :class:`UsageError` when a candidate has no scored
    ``best.pt``."""
    table = []
    for run in map(Path, candidates):
        model = Run(run).best
        valid = (load_checkpoint(model).get("valid") or {}) if model.is_file() else {}
        if "val_sdr" not in valid:
            raise UsageError(f"{run} has no {model.name} scored on the selection songs: not a finished training run.")
        table.append({"run": str(run), "val_sdr": round(float(valid["val_sdr"]), 4), "step": int(valid["step"])})
    best = max(range(len(table)), key=lambda i: table[i]["val_sdr"])  # the first of equals
    return Path(table[best]["run"]), table


def build_card(runs: str | Path | list | None, supervised: str | Path | list, root: str | Path,
               out: str | Path = PRETRAINED_DIR, command: str = "", workers: int = 2,
               split_seed: int | None = None) -> dict:
    """Install the best ``g`` of ``runs`` (one run or candidates, :func:`choose_run`) into ``out`` and write
    ``card.json`` and ``MODEL_CARD.md``; the supervised baseline is chosen among ``supervised`` by the same rule.
    ``runs=None`` re-scores the model installed in ``out`` (``pretrained-card --rescore``: its ``best.pt``,
    ``separate.yaml`` and the training facts of its ``card.json`` are kept; every score is measured anew).
    NES and NMF get the sizes of the run's config (``cfg.nes``, ``cfg.nmf``: for a run saved before they were
    sections, its preset's, as ``Config.from_dict`` fills them) and the run's mixture/instrumental split:
    ``split_seed``, by default the run's ``train.seed`` as ``semisep train`` splits (``reproduce`` splits with 0
    for every row). museval's per-track files go to a temporary folder that is removed at the end (not shipped)."""
    out = Path(out)
    sups = [supervised] if isinstance(supervised, (str, Path)) else list(supervised)
    supervised, sup_candidates = choose_run(sups)
    if runs is None:
        previous = json.loads((out / "card.json").read_text())
        slim = load_checkpoint(Run(out).best)
        kept = {k: previous[k] for k in ("command", "run", "best_step", "steps_trained", "training_seconds")}
        kept["chosen_from"] = dict(previous["chosen_from"], supervised=sup_candidates)
        kept["rescored_by"] = command
    else:
        runs = [runs] if isinstance(runs, (str, Path)) else list(runs)
        run, candidates = choose_run(runs)
        if not Run(run).checkpoint.is_file():
            raise UsageError(f"{run} has no {Run(run).checkpoint.name}: the chosen run must be a whole training run.")
        out.mkdir(parents=True, exist_ok=True)
        slim = _slim_checkpoint(run, out)
        state = torch.load(Run(run).checkpoint, map_location="cpu", weights_only=True)
        kept = {"command": command, "run": str(run), "best_step": slim["step"],
                "chosen_from": {"rule": CHOICE_RULE, "runs": candidates, "supervised": sup_candidates},
                "steps_trained": int(state.get("step", 0)),
                "training_seconds": round(float(state.get("elapsed", 0)), 1)}
    cfg = Config.from_dict(slim["config"])
    report = load_songs(root, subset="train", split="report")  # best.pt and the post-processing: "select" songs
    tuned = read_tuning(out)  # separate.yaml: the SDR choice (``separate``) and the rest of the tuning
    tuning = tuned.get("tuning") or {}
    favouring_sir = tuning.get("favouring_sir")
    split_seed = cfg.train.seed if split_seed is None else int(split_seed)
    td = load_training_data(cfg, root, seed=split_seed)
    t0 = time.perf_counter()
    runs = {"ours": out, "supervised": supervised}  # the card's g methods: this model, the supervised one

    def card_method(m: Method):  # the registry's method m as the card scores it, on the same data
        if m.kind == "g":
            return lambda: m.load(runs[m.name], "cpu")
        if m.kind == "baseline":
            return lambda: m.fit(cfg, td, cfg.train.seed, progress=True)
        return lambda: m.build(cfg)

    ours = METHODS["ours"]
    methods = {
        ours.card: card_method(ours),
        **({"ours, SIR-favouring post-processing": lambda: load_separator(out, separate=favouring_sir)}
           if favouring_sir else {}),  # a run tuned by tune-mask: its second post-processing beside the default
        **{m.card: card_method(m) for m in METHODS.values() if m.card and m is not ours},
    }
    scores = {}
    with tempfile.TemporaryDirectory(prefix="semisep-card-") as museval_dir:  # per-track JSON: not shipped
        for i, (name, make) in enumerate(methods.items()):
            r = evaluate_separator(make(), report, museval_dir, f"method{i}", workers=workers)
            scores[name] = {"SDR": r["vocals"]["SDR"], "SIR": r["vocals"]["SIR"], "SAR": r["vocals"]["SAR"],
                            "vocal_energy_fraction": r["vocal_energy_fraction"],
                            "suspect_share": r["suspect_share"], "references": r["references"]}
    sweep = robustness({"ours (this model)": lambda: load_separator(out),
                        "supervised same g": lambda: load_separator(supervised),
                        **{k: v for k, v in trivial_baselines(cfg).items() if k in LEVEL_BASELINES}},
                       root, songs="report", changes=level_changes(), workers=workers, progress=False)
    card = {
        "data": f"MUSDB18 7-second preview at {root}: train split (mixtures and instrumentals from disjoint "
                f"halves: {len(td.mixtures)} + {len(td.instrumentals)} songs), scored on the {len(report)} "
                "report songs (half of musdb's validation songs; the other half, the selection songs, chose the "
                "checkpoint and the post-processing) with museval v4, 1 s windows, median over windows then songs",
        "report_songs": [s.name for s in report],
        **kept, "seed": cfg.train.seed, "split_seed": split_seed,
        "postprocessing": {"by_sdr": _setting(cfg.updated({"separate": tuned.get("separate") or {}})),
                           "favouring_sir": favouring_sir, "criterion": tuning.get("criterion")},
        "stereo": cfg.separate.stereo,
        "parameters_g": int(sum(v.numel() for v in slim["g"].values())),
        "config": slim["config"], "report": scores,
        "level_sweep": _level_rows(sweep),
        "example_track_vocal_sdr": example_vocal_sdr(out),
        "machine": f"{platform.processor() or platform.machine()}, {_threads(torch.get_num_threads())}",
        "card_seconds": round(time.perf_counter() - t0, 1),
    }
    atomic_write_json(out / "card.json", card)
    atomic_write_text(out / "MODEL_CARD.md", render_card(card))
    return card


def _threads(n: int) -> str:
    return f"{n} torch thread" + ("" if n == 1 else "s")


LEVEL_BASELINES = ("half the mixture", "oracle IRM")


def _level_rows(sweep: dict) -> dict:
    """Per method of a :func:`~semisep_lib.study.levels.robustness` result on the report songs: the level-sweep SDR and,
    per vocal level, the median vocal SDR and the vocal energy called against the true one."""
    rows = {}
    for label, m in sweep["methods"].items():
        names = m["summary"]["level_conditions"]
        rows[label] = {"level_sweep_sdr": m["summary"]["level_sweep_sdr"],
                       "conditions": {n: {"SDR": m["conditions"][n]["vocals"]["SDR"],
                                          "called": m["conditions"][n]["vocal_energy_called"],
                                          "true": m["conditions"][n]["vocal_energy_true"]} for n in names}}
    return rows


def _render_levels(rows: dict) -> list[str]:
    """The card's level-sweep table (cards written before it have none)."""
    if not rows:
        return []
    names = list(next(iter(rows.values()))["conditions"])
    head = " · ".join(n.replace("vocals", "") for n in names)
    lines = ["## The voice louder or quieter than MUSDB18 mixes it", "",
             "The same report songs remixed from their stems with the vocals at " + head +
             " (`semisep_lib.study.levels`: every stem on the 16-bit grid, the mixture their exact sum), separated and "
             "scored as above. "
             "*Called / true*: the vocal energy the method calls, against the truth (% of the mixture; median "
             "over songs). A method that learnt how loud MUSDB18's voices are calls too little where they are "
             "louder.", "",
             f"| method | level-sweep SDR | vocal SDR at {head} | called / true % at {head} |", "|---|---|---|---|"]
    for label, r in rows.items():
        c = r["conditions"]
        lines.append(f"| {label} | {r['level_sweep_sdr']:.2f} | "
                     + " · ".join(f"{c[n]['SDR']:.2f}" for n in names) + " | "
                     + " · ".join(f"{100 * c[n]['called']:.0f}/{100 * c[n]['true']:.0f}" for n in names) + " |")
    return lines + [""]


def _training_machine(card: dict) -> str:
    """Where the run trained: ``card["machine"]`` is the card's own process (its processor and threads); the
    run's threads are its config's ``train.threads`` when it set them; otherwise its command says (a
    ``reproduce`` row's threads are its profile's), and the card names the processor only."""
    threads = (card.get("config") or {}).get("train", {}).get("threads")
    processor = card["machine"].split(",")[0]
    return f"{processor}, {_threads(threads)}" if threads else processor


def _choice(card: dict) -> list[str]:
    """The card line saying which candidate runs the model (and the supervised baseline) was chosen from."""
    chosen = card.get("chosen_from") or {}
    if len(chosen.get("runs", [])) + len(chosen.get("supervised", [])) <= 2:
        return []

    def listing(rows: list[dict]) -> str:
        return "; ".join(f"`{r['run']}` {r['val_sdr']:.2f} dB (step {r['step']})" for r in rows)

    return [f"- **Chosen** by {chosen['rule']}, from {listing(chosen['runs'])}; the supervised baseline likewise "
            f"from {listing(chosen['supervised'])}. The report songs below played no part in the choice."]


def _same_networks_and_losses(a: Config, b: Config) -> bool:
    return a.model == b.model and a.loss == b.loss


def _setting(cfg: Config) -> dict:
    return {"mask_family": cfg.separate.mask_family, "mask_power": cfg.separate.mask_power,
            "smooth_frames": cfg.separate.smooth_frames}


def _describe(setting: dict | None) -> str:
    if not setting:
        return "none tuned"
    authors, n = setting["mask_family"] == "authors", int(setting["smooth_frames"])
    family = "the authors' (vocals |X|·(1 − m^q))" if authors else "ours ((1 − m)^p)"
    smoothing = ("no smoothing" if n <= 1 else "their 3-bin filter" if authors
                 else f"a {n}-frame moving average")
    return f"{family}, exponent {setting['mask_power']:g}, {smoothing}"


_STEREO = {"channels": "`g` masks each channel on its own", "mid": "one mask from the mid channel (L + R) / 2 "
           "serves both channels (`separate.stereo: mid`)"}


def render_card(card: dict) -> str:
    """``card.json`` as markdown."""
    name = (card.get("config") or {}).get("preset", "cpu")
    alias = ""
    if name != "cpu" and _same_networks_and_losses(Config.from_dict(card["config"]), Config.from_preset("cpu")):
        alias = ": the networks and losses of today's `cpu` preset"
    lines = [f"# Model card: semisep pretrained `g` (`{name}` preset{alias})", "",
             "Generated by `semisep pretrained-card` (see `command` below); do not edit by hand.", "",
             f"- **Data:** {card['data']}.",
             f"- **Trained with:** `{card['command']}` (seed {card['seed']}); {card['steps_trained']} steps in "
             f"{card['training_seconds'] / 60:.0f} min on {_training_machine(card)}; best step on the selection "
             f"songs {card['best_step']}.",
             *_choice(card),
             f"- **Size:** {card['parameters_g']:,} parameters in `g`.",
             f"- **Post-processing** (chosen on the selection songs by `semisep tune-mask`: "
             f"{card['postprocessing']['criterion']}): SDR-favouring, the default of `semisep separate`: "
             f"{_describe(card['postprocessing']['by_sdr'])}; SIR-favouring: "
             f"{_describe(card['postprocessing']['favouring_sir'])}.",
             f"- **Stereo songs:** {_STEREO.get(card.get('stereo', 'channels'))}; the report songs are scored as "
             "they are, 44.1 kHz stereo.",
             f"- **Report songs:** {', '.join(card['report_songs'])}.",
             f"- **Regression figure:** vocal SDR {card['example_track_vocal_sdr']:.2f} dB on stempeg's example "
             "track (a MUSDB18 test song), checked by `tests/test_pretrained.py` to ±0.1 dB.", "",
             *([f"- **Scores measured anew by:** `{card['rescored_by']}`."] if card.get("rescored_by") else []),
             f"- {scorer_note(card['report'].values())}", "",
             "| method (same data) | vocal SDR | vocal SIR | vocal SAR | vocal energy fraction | suspect |",
             "|---|---|---|---|---|---|"]
    fmt = lambda v: "–" if v is None or (isinstance(v, float) and np.isnan(v)) else f"{v:.2f}"  # noqa: E731
    for name, s in card["report"].items():
        lines.append(f"| {name} | {fmt(s['SDR'])} | {fmt(s['SIR'])} | {fmt(s['SAR'])} | "
                     f"{fmt(s['vocal_energy_fraction'])} | {percent(s.get('suspect_share'))} |")
    lines += ["", "The paper reports 3.2 dB SDR / 14.2 dB SIR on MUSDB18 (trained on its 100 full training songs, "
              "the authors' 11 M parameter `g`, ~285k steps on a GPU); this model saw 80 seven-second excerpts on "
              "a CPU.", ""]
    lines += _render_levels(card.get("level_sweep") or {})
    return "\n".join(lines)
