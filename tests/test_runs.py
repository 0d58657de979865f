"""``runs`` is the one module that spells a run's file names: every other library module asks it for a path."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import semisep_lib
from semisep_lib.runs import PROTOCOL_FOLDERS, ReproductionFolder, Run, table_file

PACKAGE = Path(semisep_lib.__file__).parent

#: The names of a run's and a reproduction's files, as they may appear inside a string literal.
RUN_FILES = re.compile(r"best\.pt|checkpoint\.pt|config\.yaml|log\.jsonl|valid\.jsonl|separate\.yaml|summary\.json"
                       r"|nmf\.npz|nes\.pt|baselines\.json|timing\.json|ordering\.json|table[13]\.(json|md)"
                       r"|ablation\.png|warm-up-seed|scores-v3|museval-v3|paper-protocol")
#: Folder names too common to find in any string (``"runs"`` and ``"scores"`` are also dict keys): found only
#: where a string joins a path (``folder / "runs"``).
RUN_FOLDERS = {"runs", "scores", "tensorboard"}

#: (module, the literal's first 40 characters) that may spell a name, each for a reason that is no path (a library
#: module by its name in the package, ``interfaces.cli``; a benchmark or script by its file's stem):
ALLOWED = {
    # argparse help: text a user reads in `--help`, saying which files a command writes; cli owns the wording and
    # a help string is built before any run exists (a rename in runs shows up here, to be fixed by hand)
    ("interfaces.cli", "Train g, d_A and d_C into OUT (resumed i"),
    ("interfaces.cli", "Try both post-processing families with s"),
    ("interfaces.cli", "Remix the selection songs (half the vali"),
    ("interfaces.cli", "directory for nmf.npz, nes.pt and baseli"),
    # `semisep evaluate`'s default output folder beside the estimates: an evaluation's folder, not a run's
    ("study.evaluate", "scores"),
    # the listening page's own copy of the figure (a file of the site that report builds, not of the run)
    ("interfaces.report", "ablation.png"),
    ("interfaces.report", '\n<p><img class="figure" src="ablation.pn'),
}


def _name(path: Path) -> str:
    """A library module by its name in the package (``interfaces.cli``), any other file by its stem."""
    if path.is_relative_to(PACKAGE):
        return ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
    return path.stem


def _docstrings(tree: ast.AST) -> set[int]:
    """``id`` of every docstring node (module, class, function): teaching text, free to name files."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def spelled_names(path: Path) -> list[tuple[int, str]]:
    """``(line, literal)`` of every string literal in ``path`` (docstrings and comments aside) that spells a run's
    file name, or joins a run's folder name onto a path."""
    tree = ast.parse(path.read_text())
    docs, found = _docstrings(tree), []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
            if RUN_FILES.search(node.value):
                found.append((node.lineno, node.value))
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            found += [(side.lineno, side.value) for side in (node.left, node.right)
                      if isinstance(side, ast.Constant) and side.value in RUN_FOLDERS]
    return found


def test_only_runs_spells_a_run_file_name():
    """The library, the benchmarks and the scripts ask ``semisep_lib.runs`` (experiments keep result files of
    their own, so they are not held to it)."""
    spelled = []
    repo = PACKAGE.parent
    for path in sorted([*PACKAGE.rglob("*.py"), *(repo / "benchmarks").glob("*.py"), *(repo / "scripts").glob("*.py")]):
        name = _name(path)
        if name == "runs":
            continue
        spelled += [f"{name}:{line} {text[:60]!r}" for line, text in spelled_names(path)
                    if (name, text[:40]) not in ALLOWED]
    assert spelled == [], "ask semisep_lib.runs for the path"


def test_the_checker_sees_literals_and_joins_but_not_docstrings(tmp_path):
    f = tmp_path / "m.py"
    f.write_text('"""Writes best.pt."""\ndef f(run):\n    """Reads log.jsonl."""\n    a = run / "summary.json"\n'
                 '    b = run / "runs"\n    c = {"runs": 1}\n    return f"{a}/valid.jsonl"\n')
    assert sorted(line for line, _ in spelled_names(f)) == [4, 5, 7]


def test_the_layout_is_the_one_runs_were_written_with():
    """The names every run written before this module was read by: changing one loses those runs."""
    run = Run("r")
    assert [p.as_posix() for p in (run.config, run.checkpoint, run.best, run.log, run.valid, run.tensorboard,
                                   run.tuning, run.summary)] == [
        "r/config.yaml", "r/checkpoint.pt", "r/best.pt", "r/log.jsonl", "r/valid.jsonl", "r/tensorboard",
        "r/separate.yaml", "r/summary.json"]
    out = ReproductionFolder("o")
    assert out.run("all-losses-seed0").folder.as_posix() == "o/runs/all-losses-seed0"
    assert out.warm_up(1).folder.as_posix() == "o/runs/warm-up-seed1"
    assert out.scores("nmf").as_posix() == "o/scores/nmf.json" and out.scores_dir("v3").as_posix() == "o/scores-v3"
    assert out.scores("nmf", "v3").as_posix() == "o/scores-v3/nmf.json"
    assert out.museval("nmf", "v3").as_posix() == "o/museval-v3/nmf"
    assert out.table(3, ".md", "v3").as_posix() == "o/paper-protocol/table3.md"
    assert out.table(1).as_posix() == table_file("o", 1).as_posix() == "o/table1.json"
    assert (out.ablation().as_posix(), out.ordering.as_posix(), out.timing.as_posix()) == (
        "o/ablation.png", "o/ordering.json", "o/timing.json")
    assert set(PROTOCOL_FOLDERS) == {"v4", "v3"}


def test_weights_prefers_best_then_checkpoint(tmp_path):
    run = Run(tmp_path)
    assert run.weights() is None
    run.checkpoint.write_bytes(b"")
    assert run.weights() == run.checkpoint
    run.best.write_bytes(b"")
    assert run.weights() == run.best
