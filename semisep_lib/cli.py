"""The command line: ``semisep <command> ...`` or ``python -m semisep_lib <command> ...``.

Each module that owns a command registers it with an ``add_commands(subparsers)`` function, setting
``func`` on its parser; this file only collects them and turns user errors into one sentence on stderr.
Exit codes: 0 success, 1 other user error, 2 usage, 3 data, 4 audio, 5 checkpoint, 6 training diverged,
7 run directory locked, 130 interrupted (Ctrl-C). A full disk (ENOSPC, EDQUOT) is reported like a
user error, with exit code 1.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import sys

from .errors import SemisepError

#: Modules that contribute sub-commands, in the order they appear in ``--help``.
COMMAND_MODULES = ("toy", "data", "train", "separate", "evaluate", "baselines", "reproduce", "notebooks",
                   "pretrained")


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, with every module's sub-commands."""
    parser = argparse.ArgumentParser(
        prog="semisep",
        description="Semi-supervised singing voice separation (Michelashvili, Benaim & Wolf, ICASSP 2019).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"semisep_lib.{name}")
        module.add_commands(sub)
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
