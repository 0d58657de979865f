"""A short probe of a change to the game: one row of the long ablation, continued from its seed's warm-up with
some config values changed (or from its own warm-up with them), then asked by ``tell.py`` what its
discriminators can tell.

The row is trained exactly as ``reproduce --profile long --data musdb`` trains it (the long profile's config and
overrides, the same data split, validated on the selection songs every 250 steps), so its selection-song curve
(``valid.jsonl``) and its AUCs compare point for point with the ablation's own row of that seed. One line per
probe goes to ``results/probes.jsonl``: the changes, the selection-song curve and the AUCs at its last step.

    python experiments/discriminators/probe.py --set loss.d_anchor=1.0 --seed 1 --steps 1250 \\
        --warm-up runs/reproduce-long-musdb/runs/warm-up-seed1 --out runs/probes/anchor1-seed1
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import torch
import yaml

from semisep_lib.method.config import Config, preset
from semisep_lib.method.train import train
from semisep_lib.runs import Run
from semisep_lib.study.data import load_training_data
from semisep_lib.study.reproduce import mask_validator
from tell import DEFAULT_ROOT, tell

HERE = Path(__file__).resolve().parent


def changes(pairs: list[str]) -> dict:
    """``["loss.d_anchor=1.0", ...]`` → ``{"loss": {"d_anchor": 1.0}}`` (values read as YAML)."""
    out: dict = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        section, _, name = key.partition(".")
        out.setdefault(section, {})[name] = yaml.safe_load(value)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--set", nargs="+", default=[], metavar="SECTION.KEY=VALUE", help="config values to change")
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--steps", type=int, required=True, help="training steps, the warm-up's included")
    p.add_argument("--warm-up", type=Path, help="the seed's warm-up run folder (its checkpoint.pt); without it the "
                   "probe runs its own warm-up (a change to the discriminators' layout needs one)")
    p.add_argument("--out", type=Path, required=True, help="the probe's run folder (resumed if it has a checkpoint)")
    p.add_argument("--root", type=Path, default=DEFAULT_ROOT)
    args = p.parse_args()
    torch.set_num_threads(1)
    cfg = Config.from_preset("long").updated(preset("long").reproduce.overrides).updated(changes(args.set))
    cfg.train.steps, cfg.train.seed = args.steps, args.seed
    td = load_training_data(cfg, args.root)  # reproduce's split: seed 0 for every row
    run = Run(args.out)
    if args.warm_up and not run.checkpoint.exists():
        args.out.mkdir(parents=True, exist_ok=True)
        shutil.copy(Run(args.warm_up).checkpoint, run.checkpoint)
    train(cfg, td, args.out, progress=False, validator=mask_validator(td, cfg))
    curve = [json.loads(line) for line in run.valid.read_text().splitlines()]
    line = {"probe": args.out.name, "set": args.set, "seed": args.seed,
            "warm_up": str(args.warm_up) if args.warm_up else "its own",
            "selection_sdr": {v["step"]: round(v["val_sdr"], 3) for v in curve},
            "selection_vocal_fraction": {v["step"]: round(v["val_vocal_fraction"], 3) for v in curve},
            **tell(run.checkpoint, args.root)}
    with open(HERE / "results" / "probes.jsonl", "a") as f:
        f.write(json.dumps(line) + "\n")
    print(json.dumps(line, indent=1))


if __name__ == "__main__":
    main()
