"""The library's house plan: data flows one way. Every module has a rank; a module imports only modules of a
lower rank (at module top or inside a function), so the import graph has no cycle and no upward edge."""

from __future__ import annotations

import ast
from pathlib import Path

import semisep_lib

PACKAGE = Path(semisep_lib.__file__).parent

#: data → spectral → models → losses → train / separate → evaluate → tables → reproduce → notebooks / listen → report
#: → docs → cli
RANK = {
    "errors": 0,
    "fileio": 1, "paper": 1, "metrics": 1,
    "runs": 1,  # a run's file names: the study part, but below checkpoint, which finds the weights in a run folder
    "config": 2, "audio": 2,
    "toy": 3, "spectral": 3,
    "data": 4, "models": 4,
    "losses": 5, "separator": 5,
    "checkpoint": 6,
    "train": 7, "separate": 7, "evaluate": 7,
    "nes": 8, "tables": 8,
    "plots": 9, "baselines": 9,
    "levels": 10, "methods": 10,
    "pretrained": 11,
    "reproduce": 12,
    "listen": 13, "notebooks": 13,
    "report": 14,
    "docs": 15,
    "cli": 16,
    "__main__": 17, "__init__": 17,
}
#: Modules that may import inside a function, and the only modules they may import there: optional heavy
#: dependencies (seconds to import, or refusing to import without ffmpeg), each with its reason in a comment.
LATE_IMPORTS = {"museval", "musdb", "stempeg", "papermill", "nbformat",
                "nbconvert", "jinja2", "latex2mathml",  # only `semisep docs` renders pages (nbconvert: seconds)
                "torch.utils.tensorboard"}  # optional: only `train --tensorboard` needs the tensorboard package


def library_imports(path: Path) -> set[str]:
    """Names of the ``semisep_lib`` modules that ``path`` imports, anywhere in the file."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1 and node.module:
                found.add(node.module.split(".")[0])
            elif node.level == 1:  # from . import data
                found.update(a.name for a in node.names)
            elif node.module and node.module.startswith("semisep_lib."):
                found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[1] for a in node.names if a.name.startswith("semisep_lib."))
    return found


def test_every_module_has_a_rank():
    modules = {p.stem for p in PACKAGE.glob("*.py")}
    assert modules - set(RANK) == set(), "give each new module a rank in RANK"


def test_imports_only_go_down():
    upward = []
    for path in sorted(PACKAGE.glob("*.py")):
        me = path.stem
        for other in library_imports(path):
            if other in RANK and RANK[other] >= RANK[me]:
                upward.append(f"{me} (rank {RANK[me]}) imports {other} (rank {RANK[other]})")
    assert upward == []


def test_the_checker_sees_function_level_imports(tmp_path):
    f = tmp_path / "m.py"
    f.write_text("def f():\n    from .train import load_g\n    from . import data\n")
    assert library_imports(f) == {"train", "data"}


def _function_level_imports(path: Path) -> list[tuple[int, str]]:
    """``(line, module)`` of every import inside a function or method of ``path``."""
    found = []
    for fn in ast.walk(ast.parse(path.read_text())):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for node in ast.walk(fn):
                if isinstance(node, ast.Import):
                    found += [(node.lineno, a.name) for a in node.names]
                elif isinstance(node, ast.ImportFrom):
                    found.append((node.lineno, "." * node.level + (node.module or "")))
    return found


def test_imports_are_at_module_top():
    """The import graph is what the module tops say: inside functions only the optional heavy dependencies."""
    late = []
    for path in sorted(PACKAGE.glob("*.py")):
        late += [f"{path.stem}:{line} imports {name}" for line, name in _function_level_imports(path)
                 if name not in LATE_IMPORTS and name.split(".")[0] not in LATE_IMPORTS]
    assert late == []


def test_argument_parsing_lives_in_cli():
    wiring = []
    for path in sorted(PACKAGE.glob("*.py")):
        if path.stem == "cli":
            continue
        tree = ast.parse(path.read_text())
        names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        defs = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
        if "argparse" in names or "add_commands" in defs:
            wiring.append(path.stem)
    assert wiring == []
