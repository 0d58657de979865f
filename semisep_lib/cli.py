"""The command line: ``semisep <command> ...`` or ``python -m semisep_lib <command> ...``.

Its one job: turn arguments into calls of the library's plain functions, and user errors into one sentence on
stderr. Every command's parser and the small function that runs it live here, in the order ``--help`` lists
them (:data:`COMMAND_MODULES`); the library modules hold no argument parsing.

``train`` validates with ``reproduce.mask_validator``: ``best.pt`` is chosen by the score of separating the
validation songs as ``separate`` does (wired here, not in ``train``, which sits below ``separate``).

Exit codes: 0 success, 1 other user error, 2 usage, 3 data, 4 audio, 5 checkpoint, 6 training diverged,
7 run directory locked, 130 interrupted (Ctrl-C). A full disk (ENOSPC, EDQUOT) is reported like a
user error, with exit code 1.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import shlex
import sys
import time
from pathlib import Path

import torch
import torch.distributed as dist

from . import train as train_lib
from .baselines import METHODS, fit_baselines
from .config import PRESETS, TERMS, Config, read_overrides
from .data import (SUBSETS, describe, dsd100_to_musdb, ensure_toy_dataset, list_tracks, load_training_data,
                   musdb_folder, resolve_data_root, resolve_root)
from .docs import AUDIO as DOCS_AUDIO
from .docs import build_docs
from .errors import DataError, SemisepError, UsageError
from .evaluate import AGGREGATIONS, PROTOCOLS, evaluate_folder
from .levels import SETTINGS as LEVEL_SETTINGS
from .levels import changes_by_name, default_changes, model_separator, robustness, trivial_baselines
from .levels import write as write_levels
from .notebooks import PROFILES as NOTEBOOK_PROFILES
from .notebooks import RUN_TIMES, record_run_times, run_notebooks, stamp_run_times
from .pretrained import build_card
from .report import CODECS, MAX_SECONDS, build_report
from .reproduce import git_commit, mask_validator, reproduce
from .runs import table_file
from .separate import (DEFAULT_POWERS, MASK_FAMILIES, PRETRAINED_DIR, STEREO_MODES, check_files, load_separator,
                       separate_files, separate_musdb, tune_run)
from .tables import write_table
from .toy import DEFAULTS as TOY_DEFAULTS
from .toy import make_toy_dataset, song_names

#: The modules whose commands ``--help`` lists, in its order; :data:`WIRING` holds each one's parser.
COMMAND_MODULES = ("toy", "data", "train", "separate", "evaluate", "levels", "baselines", "reproduce",
                   "notebooks", "pretrained", "report", "docs")


# ---------------------------------------------------------------------------------------------------------------
# toy-data


def _cmd_toy_data(args: argparse.Namespace) -> None:
    dest = make_toy_dataset(args.dest, tracks=args.tracks, test_tracks=args.test_tracks, seconds=args.seconds,
                            seed=args.seed, sample_rate=args.sample_rate)
    train, test, valid = song_names(args.tracks, args.test_tracks)
    print(f"Wrote {len(train)} training songs ({len(valid)} of them listed in valid.txt for validation) and "
          f"{len(test)} test songs of {args.seconds:g} s at {args.sample_rate} Hz to {dest}.")


def add_toy_commands(sub: argparse._SubParsersAction) -> None:
    """``toy-data``."""
    p = sub.add_parser("toy-data", help="write the procedural toy dataset (MUSDB18-HQ WAV layout)",
                       description="Generate the toy dataset: stereo songs with sung vocals, drums, bass and "
                                   "chords, deterministic from the seed.")
    p.add_argument("dest", type=Path, help="output folder")
    p.add_argument("--tracks", type=int, default=TOY_DEFAULTS["tracks"], help="training songs (at least 4)")
    p.add_argument("--test-tracks", type=int, default=None, help="test songs (default max(4, tracks // 3))")
    p.add_argument("--seconds", type=float, default=TOY_DEFAULTS["seconds"], help="length of each song")
    p.add_argument("--seed", type=int, default=TOY_DEFAULTS["seed"], help="random seed")
    p.add_argument("--sample-rate", type=int, default=TOY_DEFAULTS["sample_rate"], help="sample rate in Hz")
    p.set_defaults(func=_cmd_toy_data)


# ---------------------------------------------------------------------------------------------------------------
# dsd100-to-musdb, data-info


def _cmd_dsd100(args: argparse.Namespace) -> None:
    dest = dsd100_to_musdb(args.dsd_root, args.dest)
    counts = {s: len(list_tracks(dest, s)) for s in SUBSETS}
    print(f"Linked {counts['train']} DSD100 Dev songs into {dest / 'train'} and {counts['test']} Test songs into "
          f"{dest / 'test'}; use --root {dest}.")


def _cmd_data_info(args: argparse.Namespace) -> None:
    if args.data == "toy":
        root = ensure_toy_dataset()
    else:
        root = resolve_root(args.root)
        if root is None:
            raise DataError("No dataset root given; pass --root PATH, set MUSDB_PATH, or use --data toy.")
    print("\n".join(describe(root)))


def add_data_commands(sub: argparse._SubParsersAction) -> None:
    """``dsd100-to-musdb`` and ``data-info``."""
    p = sub.add_parser("dsd100-to-musdb", help="lay DSD100 out as MUSDB18-HQ (symbolic links)",
                       description="Link DSD100's Mixtures/ and Sources/ into MUSDB18-HQ's train/ and test/ "
                                   "song folders, without copying audio.")
    p.add_argument("dsd_root", type=Path, metavar="DSD_ROOT", help="the DSD100 folder (holds Mixtures/, Sources/)")
    p.add_argument("dest", type=Path, metavar="DEST", help="output folder")
    p.set_defaults(func=_cmd_dsd100)

    p = sub.add_parser("data-info", help="count the tracks of a dataset per subset and split",
                       description="Show how many tracks each subset and split of a dataset root holds.")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--root", type=Path, default=None,
                       help="MUSDB18 / MUSDB18-HQ root (default: $MUSDB_PATH, or ~/MUSDB18/MUSDB18-7)")
    group.add_argument("--data", choices=["toy"], default=None, help="the built-in toy set")
    p.set_defaults(func=_cmd_data_info)


# ---------------------------------------------------------------------------------------------------------------
# train


def config_from_args(args: argparse.Namespace) -> Config:
    """Preset, then ``--config`` file values, then ``--steps``, ``--seed``, ``--device``, ``--without`` and
    ``--tensorboard`` on top."""
    cfg = Config.from_preset(args.preset)
    if args.config:
        cfg = cfg.updated(read_overrides(args.config))
    if args.steps:
        cfg.train.steps = args.steps
    if args.seed is not None:
        cfg.train.seed = args.seed
    if args.device:
        cfg.train.device = args.device
    if args.without:
        cfg.loss = cfg.loss.without(args.without)
    if args.tensorboard:
        cfg.train.tensorboard = True
    return cfg


def _init_distributed() -> None:
    """Under ``torchrun`` (``WORLD_SIZE`` > 1), join the process group: NCCL on GPUs, gloo on CPUs."""
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend)
        if torch.cuda.is_available():
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))


def _cmd_train(args: argparse.Namespace) -> None:
    cfg = config_from_args(args)
    root = resolve_data_root(args.data, args.root)
    td = load_training_data(cfg, root, split_mode=args.split, seed=cfg.train.seed, tracks=args.tracks)
    _init_distributed()
    summary = train_lib.train(cfg, td, args.out, objective=args.objective, validator=mask_validator(td, cfg))
    if not dist.is_initialized() or dist.get_rank() == 0:
        best = summary["best"]
        print(f"trained {summary['steps']} steps in {summary['seconds']:.1f} s → {args.out} "
              f"(best selection-song SDR {best['val_sdr']:.2f} dB at step {best['step']})")
    if dist.is_initialized():
        dist.barrier()  # rank 0 may still be writing its last checkpoint: leave together
        dist.destroy_process_group()


def add_train_commands(sub: argparse._SubParsersAction) -> None:
    """``train``."""
    p = sub.add_parser("train", help="train g (and d_A, d_C) on unmatched mixtures and instrumentals",
                       description="Train g, d_A and d_C into OUT (resumed if it holds a checkpoint). Every "
                                   "val_every steps the selection songs (half the validation songs; never songs "
                                   "that report) are separated as `semisep separate` would; the best g by their "
                                   "median vocal SDR is kept as OUT/best.pt.")
    p.add_argument("--data", choices=["toy", "musdb"], default="toy", help="built-in toy songs or MUSDB18")
    p.add_argument("--root", help="dataset root (musdb: else $MUSDB_PATH; toy: else the built-in cache)")
    p.add_argument("--preset", choices=list(PRESETS), default="cpu")
    p.add_argument("--config", help="YAML file whose values override the preset")
    p.add_argument("--device", help="cpu, cuda, cuda:1 ... (default: CUDA when present)")
    p.add_argument("--steps", type=int, help="training iterations (default: the preset's)")
    p.add_argument("--without", nargs="+", metavar="TERM", choices=TERMS, help="switch loss terms off (ablation)")
    p.add_argument("--seed", type=int)
    p.add_argument("--split", choices=["disjoint", "authors"], default="disjoint",
                   help="disjoint: mixtures and instrumentals from different songs; authors: both from all songs")
    p.add_argument("--objective", choices=["semi", "supervised"], default="semi")
    p.add_argument("--tracks", type=int, help="use only the first N training songs")
    p.add_argument("--tensorboard", action="store_true",
                   help="also log losses, validation scores and vocal audio to OUT/tensorboard/")
    p.add_argument("--out", required=True, help="run directory (resumed if it holds a checkpoint)")
    p.set_defaults(func=_cmd_train)


# ---------------------------------------------------------------------------------------------------------------
# separate, tune-mask


def _cmd_separate(args: argparse.Namespace) -> None:
    if bool(args.files) == bool(args.musdb_subset):
        raise UsageError("Give either audio FILEs or --musdb-subset (with --root), not both and not neither.")
    if args.root and not args.musdb_subset:
        raise UsageError("--root applies only with --musdb-subset.")
    if args.mask_power is not None and not args.mask_power > 0:
        raise UsageError(f"--mask-power must be positive, got {args.mask_power}.")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"Output {out} exists and is not a folder.")
    if args.files:
        check_files(args.files, out)  # before the model is loaded
    given = {"mask_power": args.mask_power, "mask_family": args.mask_family, "stereo": args.stereo}
    sep = load_separator(args.model, device=args.device, separate={k: v for k, v in given.items() if v is not None},
                         compile=args.compile)
    if args.musdb_subset:
        root = resolve_root(args.root)
        if root is None:
            raise UsageError("No MUSDB18 root given: pass --root PATH or set MUSDB_PATH.")
        done = separate_musdb(sep, root, args.musdb_subset, out)
        print(f"separated {len(done)} {args.musdb_subset} tracks ({sep.mask_family} mask power {sep.mask_power:g}) → "
              f"{out / musdb_folder(args.musdb_subset)[2]}")
        return
    for r in separate_files(args.files, sep, out):
        print(f"{r['input']}: {r['channels']} ch, {r['rate']} Hz, {r['seconds']:g} s → {out / r['name']}/ "
              f"(vocal energy {100 * r['vocal_energy_fraction']:.1f}% of the mixture)")


def _cmd_tune(args: argparse.Namespace) -> None:
    root = resolve_data_root(args.data, args.root)
    powers = {f: tuple(args.powers) if args.powers else DEFAULT_POWERS[f] for f in args.families}
    by_sdr, by_sir, curve, path = tune_run(args.model, root, powers=powers, device=args.device,
                                           record={"data": args.data})
    fmt = lambda v: "   n/a" if v is None else f"{v:6.2f}"  # noqa: E731
    for r in curve:
        key = {k: r[k] for k in by_sdr}
        mark = "  ← chosen (SDR)" if key == by_sdr else "  ← favouring SIR" if key == by_sir else ""
        print(f"{r['mask_family']:>7} power {r['mask_power']:>5g}: median vocal SDR {fmt(r['SDR'])} dB, "
              f"SIR {fmt(r['SIR'])} dB{mark}")
    print(f"wrote {path}")


def add_separate_commands(sub: argparse._SubParsersAction) -> None:
    """``separate`` and ``tune-mask``."""
    p = sub.add_parser("separate", help="separate audio files (or a MUSDB subset) into vocals and accompaniment",
                       description="Write OUT/<name>/vocals.wav and accompaniment.wav for each FILE (any rate, "
                                   "any channel count; the stems sum to the input), or, with --musdb-subset, "
                                   "musdb's estimates layout OUT/<test|train>/<track>/.")
    p.add_argument("files", nargs="*", metavar="FILE", help="audio files (WAV, FLAC, MP3, MP4 ...)")
    p.add_argument("--model", help="run directory or checkpoint (default: the installed pretrained model)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--mask-power", type=float, help="mask exponent (default: tuned value, else the config's)")
    p.add_argument("--mask-family", choices=MASK_FAMILIES,
                   help="ours: vocal mask (1 - m)^p; authors: 1 - smooth(m^q), as their test.py (default: config's)")
    p.add_argument("--stereo", choices=STEREO_MODES,
                   help="channels: a mask per channel (the authors'); mid: one mask from (L + R) / 2 for all, "
                        "half the work (default: config's)")
    p.add_argument("--device", default="auto", help="cpu, cuda, cuda:1 ... (default: CUDA when present)")
    p.add_argument("--compile", action="store_true",
                   help="torch.compile g's mask: tens of seconds to compile, faster on long inputs (opt-in)")
    p.add_argument("--musdb-subset", choices=["test", "valid", "select", "report"], help="separate a whole MUSDB subset instead")
    p.add_argument("--root", help="MUSDB18 root for --musdb-subset (default $MUSDB_PATH)")
    p.set_defaults(func=_cmd_separate)

    p = sub.add_parser("tune-mask", help="choose the mask post-processing on selection songs; store it in the run",
                       description="Try both post-processing families with several exponents on the selection "
                                   "songs (half the validation songs; never songs that report), score each by "
                                   "museval vocal SDR and SIR, keep the best median SDR in RUN/separate.yaml "
                                   "(which `semisep separate` then uses) and record the whole curve and the "
                                   "SIR-favouring choice beside it.")
    p.add_argument("--model", required=True, help="run directory (or a checkpoint inside one)")
    p.add_argument("--data", choices=["toy", "musdb"], default="toy")
    p.add_argument("--root", help="dataset root (musdb: else $MUSDB_PATH; toy: else the built-in cache)")
    p.add_argument("--powers", type=float, nargs="+", help=f"exponents to try in every family (default {DEFAULT_POWERS})")
    p.add_argument("--families", nargs="+", choices=MASK_FAMILIES, default=list(MASK_FAMILIES),
                   help="post-processing families to try (default: both)")
    p.add_argument("--device", default="auto", help="cpu, cuda ... (default: CUDA when present)")
    p.set_defaults(func=_cmd_tune)


# ---------------------------------------------------------------------------------------------------------------
# evaluate


def _cmd_evaluate(args: argparse.Namespace) -> None:
    res, folder = evaluate_folder(args.estimates, args.root, args.subset, out=args.out, name=args.name,
                                  protocol=args.protocol, workers=args.workers, aggregation=args.aggregation)
    md = write_table([res], folder, "table", aggregation=args.aggregation)
    print(md, end="")
    print(f"wrote {folder}/results.json, table.md and museval/<track>.json")


def add_evaluate_commands(sub: argparse._SubParsersAction) -> None:
    """``evaluate``."""
    p = sub.add_parser("evaluate", help="score estimates with museval (SiSEC 2018 or the paper's aggregation)",
                       description="Score vocal/accompaniment estimates in musdb's layout (ESTIMATES/<test|train>/"
                                   "<track>/vocals.wav, accompaniment.wav) against the references of a MUSDB18 "
                                   "root; print and write the table.")
    p.add_argument("--estimates", required=True, help="estimates folder (as written by `semisep separate`)")
    p.add_argument("--root", help="MUSDB18 root (default $MUSDB_PATH)")
    p.add_argument("--subset", choices=["test", "valid", "select", "report"], default="test",
                   help="test, or validation songs: all (valid), the half that chooses (select) or reports (report)")
    p.add_argument("--protocol", choices=list(PROTOCOLS), default="v4",
                   help="v4: BSS Eval v4, 1 s windows (SiSEC 2018); v3: BSS Eval v3, 30 s / 15 s (DSD100)")
    p.add_argument("--aggregation", choices=list(AGGREGATIONS), default="median",
                   help="median: per-track median over windows (SiSEC 2018); mean: per-track mean (SiSEC 2016, "
                        "the paper's; with --protocol v3 it is the paper's protocol)")
    p.add_argument("--out", help="where to write scores (default ESTIMATES/scores)")
    p.add_argument("--name", help="method name (default: the estimates folder's name)")
    p.add_argument("--workers", type=int, default=2, help="processes scoring tracks in parallel")
    p.set_defaults(func=_cmd_evaluate)


# ---------------------------------------------------------------------------------------------------------------
# levels


def _model_label(path: str) -> str:
    """A model's row label: its run directory's name (a checkpoint file: its folder's name, then the file's)."""
    p = Path(path)
    return p.resolve().name if p.is_dir() else f"{p.resolve().parent.name}/{p.name}"


def _cmd_levels(args: argparse.Namespace) -> None:
    root = resolve_data_root(args.data, args.root)
    models = args.model or [str(PRETRAINED_DIR)]
    labels = [_model_label(m) for m in models]
    if len(set(labels)) < len(labels):
        raise UsageError(f"Two models would share the row label {labels[0]!r}; give models in differently named "
                         "folders.")
    methods = {label: (lambda m=m: model_separator(m, settings=args.settings, device=args.device))
               for label, m in zip(labels, models)}
    if not args.no_baselines:
        methods.update(trivial_baselines(Config.from_preset("cpu")))  # the oracle IRM at the shipped g's STFT
    t0 = time.perf_counter()
    result = robustness(methods, root, songs="report" if args.report_songs else "select",
                        changes=changes_by_name(args.changes), workers=args.workers, limit=args.limit)
    result.update({"models": dict(zip(labels, models)), "settings": args.settings,
                   "command": "semisep " + " ".join(shlex.quote(a) for a in sys.argv[1:]),
                   "git_commit": git_commit(), "seconds": round(time.perf_counter() - t0, 1)})
    out, md = write_levels(result, args.out)
    for label in labels:
        s = result["methods"][label]["summary"]
        print(f"{label}: level-sweep vocal SDR {s['level_sweep_sdr']:.2f} dB"
              + (f" ({s['level_sweep_margin_over_half']:+.2f} dB over half the mixture)"
                 if "level_sweep_margin_over_half" in s else ""))
    print(f"wrote {out} and {md} ({result['songs']} songs, {result['seconds']:.0f} s)")


def add_levels_commands(sub: argparse._SubParsersAction) -> None:
    """``levels``."""
    names = ", ".join(c.name for c in default_changes())
    p = sub.add_parser("levels", help="robustness to the mix: songs remixed from their stems (vocals -6 to +12 dB, "
                                      "EQ, drums), separated and scored",
                       description="Remix the selection songs (half the validation songs; never songs that report "
                                   "unless asked) from their stems — every stem rounded to the 16-bit grid, the "
                                   "mixture their exact sum — with the vocals at -6, 0, +6, +12 dB and three "
                                   "accompaniment changes; separate each with the model as it ships (its "
                                   "separate.yaml) and score with museval v4 as `evaluate` does, beside the "
                                   "mixture, silence, half the mixture and the oracle mask. Writes OUT (JSON) "
                                   "and OUT with .md; one summary number per model: the vocal SDR averaged over "
                                   "the level sweep.")
    p.add_argument("--model", nargs="+", help="run directories or checkpoints (default: the shipped model)")
    p.add_argument("--data", choices=["toy", "musdb"], default="toy")
    p.add_argument("--root", help="dataset root (musdb: else $MUSDB_PATH; toy: else the built-in cache)")
    p.add_argument("--out", required=True, help="the JSON file to write (the table goes beside it, as .md)")
    p.add_argument("--changes", nargs="+", metavar="CHANGE",
                   help=f"mix changes to score (default all: {names}; 'levels' stands for the four vocal levels)")
    p.add_argument("--settings", choices=LEVEL_SETTINGS, default="current",
                   help="separation options a model's checkpoint lacks: current: today's preset, as `separate` "
                        "does now; checkpoint: the behaviour before each option existed (how older models shipped)")
    p.add_argument("--no-baselines", action="store_true", help="score only the models")
    p.add_argument("--report-songs", action="store_true",
                   help="score the report songs instead (labelled as such in every output; never choose by them)")
    p.add_argument("--limit", type=int, help="only the first N songs (a quick check)")
    p.add_argument("--workers", type=int, default=2, help="processes scoring tracks in parallel")
    p.add_argument("--device", default="auto", help="cpu, cuda ... (default: CUDA when present)")
    p.set_defaults(func=_cmd_levels)


# ---------------------------------------------------------------------------------------------------------------
# baselines


def _cmd_baselines(args: argparse.Namespace) -> None:
    cfg = Config.from_preset(args.preset)
    root = resolve_data_root(args.data, args.root)
    td = load_training_data(cfg, root, seed=args.seed, tracks=args.tracks)
    summary = fit_baselines(td, cfg, args.out, methods=args.methods, seed=args.seed)
    done = ", ".join(f"{m} ({summary[m]['seconds']:.1f} s)" for m in args.methods)
    print(f"fitted {done} on {summary['mixtures']} mixture and {summary['instrumentals']} instrumental songs "
          f"→ {args.out}")


def add_baselines_commands(sub: argparse._SubParsersAction) -> None:
    """``baselines``."""
    p = sub.add_parser("baselines", help="fit the NMF and NES baselines on the unmatched training split")
    p.add_argument("--data", choices=["toy", "musdb"], default="toy", help="built-in toy songs or MUSDB18")
    p.add_argument("--root", help="dataset root (musdb: else $MUSDB_PATH; toy: else the built-in cache)")
    p.add_argument("--preset", choices=sorted(PRESETS), default="cpu")
    p.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    p.add_argument("--tracks", type=int, help="use only the first N training songs")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, help="directory for nmf.npz, nes.pt and baselines.json")
    p.set_defaults(func=_cmd_baselines)


# ---------------------------------------------------------------------------------------------------------------
# reproduce


def _cmd_reproduce(args: argparse.Namespace) -> None:
    t0 = time.perf_counter()
    reproduce(args.profile, args.data, args.root, args.seeds, args.out, args.device or "auto", steps=args.steps,
              row_processes=args.row_processes)
    out = Path(args.out)
    print(table_file(out, 1, ".md").read_text())
    print(table_file(out, 3, ".md").read_text())
    print(f"reproduce --profile {args.profile}: {time.perf_counter() - t0:.0f} s; tables in {out}")


def add_reproduce_commands(sub: argparse._SubParsersAction) -> None:
    """``reproduce``."""
    p = sub.add_parser("reproduce", help="train and evaluate every row of Table 1 and Table 3")
    p.add_argument("--profile", choices=list(PRESETS), default="smoke")
    p.add_argument("--data", choices=["toy", "musdb"], default="toy")
    p.add_argument("--root", help="dataset root (musdb: else $MUSDB_PATH; toy: else the built-in set)")
    p.add_argument("--seeds", type=int, default=1, help="seeds per trained row (median and spread)")
    p.add_argument("--device", help="cpu, cuda ... (default: CUDA when present)")
    p.add_argument("--steps", type=int, help="training steps of every row, warm-up included (default: the "
                                             "profile's); a quick end-to-end check of a profile")
    p.add_argument("--row-processes", type=int, help="rows trained at once, one process each (default: the "
                                                     "profile's); resuming with another number gives the same rows")
    p.add_argument("--out", required=True)
    p.set_defaults(func=_cmd_reproduce)


# ---------------------------------------------------------------------------------------------------------------
# notebooks


def _cmd_notebooks(args: argparse.Namespace) -> None:
    if args.record_times and args.data != "toy":
        raise UsageError("--record-times records the run times of the toy data (the notebooks' default): "
                         "drop --data musdb.")
    done = run_notebooks(args.profile, args.out, data=args.data, root=args.root, device=args.device,
                         only=args.only, timeout=args.timeout)
    total = sum(d["seconds"] for d in done)
    print(f"ran {len(done)} notebook(s) in {total:.0f} s → {args.out}")
    if args.record_times:
        changed = stamp_run_times(record_run_times(done, args.profile, args.data))
        print(f"recorded their run times in {RUN_TIMES}; first cells updated: {len(changed)} notebook(s)")


def add_notebooks_commands(sub: argparse._SubParsersAction) -> None:
    """``notebooks``."""
    p = sub.add_parser("notebooks", help="run the narrated notebooks headless (papermill), in order",
                       description="Execute notebooks/NN_*.ipynb with papermill; executed copies go to --out.")
    p.add_argument("--profile", choices=NOTEBOOK_PROFILES, default="smoke",
                   help="smoke (seconds), cpu (minutes), paper (GPU)")
    p.add_argument("--out", required=True, help="folder for the executed notebooks and everything they write")
    p.add_argument("--data", choices=["toy", "musdb"], default="toy")
    p.add_argument("--root", help="dataset root (musdb: else $MUSDB_PATH)")
    p.add_argument("--device", default="auto", help="auto (CUDA when present), cpu, cuda ...")
    p.add_argument("--only", nargs="+", metavar="NN", help="run only these notebooks (numbers or names)")
    p.add_argument("--timeout", type=int, help="seconds allowed per cell")
    p.add_argument("--record-times", action="store_true",
                   help="store each notebook's run time in notebooks/run-times.json and state it in the "
                        "notebook's first cell (run on an idle machine)")
    p.set_defaults(func=_cmd_notebooks)


# ---------------------------------------------------------------------------------------------------------------
# pretrained-card


def _cmd_card(args: argparse.Namespace) -> None:
    cmd = args.command or "semisep " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    if bool(args.run) == args.rescore:
        raise UsageError("Give either --run (install a model) or --rescore (score the installed one anew).")
    card = build_card(None if args.rescore else args.run, args.supervised, args.root, args.out, command=cmd,
                      split_seed=args.split_seed)
    print(json.dumps(card["report"], indent=1))


def add_pretrained_commands(sub: argparse._SubParsersAction) -> None:
    """``pretrained-card``."""
    p = sub.add_parser("pretrained-card", help="install a run's best g as the pretrained model, with its card")
    p.add_argument("--run", nargs="+",
                   help="semi-supervised run directory; of several, the best on the selection songs is installed")
    p.add_argument("--rescore", action="store_true",
                   help="keep the model installed in --out and measure its card's scores anew (e.g. after a "
                        "change of scorer)")
    p.add_argument("--supervised", required=True, nargs="+",
                   help="supervised run(s) of the same preset (a card baseline; chosen likewise)")
    p.add_argument("--root", required=True, help="MUSDB18 root the runs were trained on")
    p.add_argument("--out", default=str(PRETRAINED_DIR))
    p.add_argument("--command", default="", help="the training command to record in the card")
    p.add_argument("--split-seed", type=int, default=None,
                   help="seed of the runs' mixture/instrumental split, for NES and NMF (default: the chosen run's "
                        "train.seed, as `semisep train` splits; 0 for a `reproduce` row)")
    p.set_defaults(func=_cmd_card)


# ---------------------------------------------------------------------------------------------------------------
# report


def _cmd_report(args: argparse.Namespace) -> None:
    r = build_report(args.dir, args.out, root=args.root, subset=args.subset, songs=args.songs, seconds=args.seconds,
                     codec=args.codec, bitrate=args.bitrate, device=args.device or "cpu", jobs=args.jobs)
    print(f"report: {len(r['songs'])} songs × {r['methods']} methods, {r['files']} files, "
          f"{r['bytes'] / 1e6:.2f} MB in {args.out}")
    print(f"open {Path(r['index']).resolve().as_uri()}")


def add_report_commands(sub: argparse._SubParsersAction) -> None:
    """``report``."""
    p = sub.add_parser("report", help="a static listening page (HTML, no server) for a reproduce run or separations")
    p.add_argument("dir", help="a reproduce --out folder, or a folder of <method>/<track>/{vocals,accompaniment}.wav")
    p.add_argument("--out", required=True, help="the site's folder (replaced if it is an earlier report)")
    p.add_argument("--root", help="dataset root (default: the one the run recorded); gives the reference stems")
    p.add_argument("--subset", default="test", help="the dataset subset of the songs (default: test)")
    p.add_argument("--songs", type=int, help="at most this many songs (default: all the run reported)")
    p.add_argument("--seconds", type=float, help="cut songs to this length (default: the excerpt the run scored, "
                   f"else {MAX_SECONDS:.0f} s; 0: whole songs)")
    p.add_argument("--codec", choices=list(CODECS), default="opus", help="opus (WebM, default) or mp3")
    p.add_argument("--bitrate", default="40k", help="audio bitrate per file (default: 40k)")
    p.add_argument("--device", help="where the saved models separate (default: cpu)")
    p.add_argument("--jobs", type=int, default=2, help="ffmpeg encoders at once (default: 2)")
    p.set_defaults(func=_cmd_report)


# ---------------------------------------------------------------------------------------------------------------
# docs


def _cmd_docs(args: argparse.Namespace) -> None:
    if args.skip_run and args.record_times:
        raise UsageError("--record-times records the times of a run: drop --skip-run.")
    if args.skip_run and not args.work:
        raise UsageError("--skip-run renders the notebooks a run already executed: give its folder with --work.")
    r = build_docs(args.out, profile=args.profile, work=args.work, run=not args.skip_run, device=args.device,
                   codec=args.codec, bitrate=args.bitrate, record_times=RUN_TIMES if args.record_times else None,
                   command="python -m semisep_lib " + " ".join(shlex.quote(a) for a in sys.argv[1:]))
    for c in r["chapters"]:
        print(f"{c['page']}: {c['bytes'] / 1e6:.2f} MB ({c['audio']} players, {c['widgets']} widgets, "
              f"{c['math']} formulas)")
    print(f"docs: {len(r['chapters'])} notebooks and the listening page, {r['bytes'] / 1e6:.2f} MB in {args.out} "
          f"({r['seconds']:.0f} s)")
    print(f"open {Path(r['index']).resolve().as_uri()}")


def add_docs_commands(sub: argparse._SubParsersAction) -> None:
    """``docs``."""
    p = sub.add_parser("docs", help="the notebooks executed and rendered to static HTML, with the listening page",
                       description="Run the notebooks on the toy songs (papermill), render each executed copy to "
                                   "a self-contained HTML page (figures inline, audio players that play from "
                                   "file://), put the listening page of the same run beside them, and write an "
                                   "index stating the commit, the command and the size.")
    p.add_argument("--profile", choices=NOTEBOOK_PROFILES, default="cpu",
                   help="the notebooks' profile (default: cpu, the one committed in docs/notebooks)")
    p.add_argument("--out", required=True, help="the pages' folder (replaced if it is an earlier one)")
    p.add_argument("--work", help="where the notebooks run and write (default: runs/docs-PROFILE)")
    p.add_argument("--skip-run", action="store_true",
                   help="render the notebooks --work already holds, executed by `semisep notebooks`")
    p.add_argument("--device", default="auto", help="where the notebooks train: auto (CUDA when present), cpu ...")
    p.add_argument("--codec", choices=list(CODECS), default=DOCS_AUDIO[0],
                   help="the players' audio, re-encoded from the notebooks' WAV (default: opus, in WebM)")
    p.add_argument("--bitrate", default=DOCS_AUDIO[1], help=f"bitrate of each player (default: {DOCS_AUDIO[1]})")
    p.add_argument("--record-times", action="store_true",
                   help="as `notebooks --record-times`: store this run's times in notebooks/run-times.json and "
                        "state them in each notebook's first cell, the rendered copies' too (run on an idle machine)")
    p.set_defaults(func=_cmd_docs)


# ---------------------------------------------------------------------------------------------------------------
# the parser and the entry point

#: module name → the function that adds its commands to the sub-parsers.
WIRING = {
    "toy": add_toy_commands,
    "data": add_data_commands,
    "train": add_train_commands,
    "separate": add_separate_commands,
    "evaluate": add_evaluate_commands,
    "levels": add_levels_commands,
    "baselines": add_baselines_commands,
    "reproduce": add_reproduce_commands,
    "notebooks": add_notebooks_commands,
    "pretrained": add_pretrained_commands,
    "report": add_report_commands,
    "docs": add_docs_commands,
}


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, with every command."""
    parser = argparse.ArgumentParser(
        prog="semisep",
        description="Semi-supervised singing voice separation (Michelashvili, Benaim & Wolf, ICASSP 2019).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        WIRING[name](sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        args.func(args)
    except SemisepError as err:
        print(f"semisep {args.command}: {err}", file=sys.stderr)
        return err.exit_code
    except OSError as err:
        if err.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        # every file is written atomically (fileio), so what was complete before is still intact
        print(f"semisep {args.command}: {err.strerror or 'No space left on device'}; free some space and run the "
              f"same command again (files finished before are intact).", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"semisep {args.command}: interrupted.", file=sys.stderr)
        return 130
    return 0
