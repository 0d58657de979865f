"""The library's house plan: its folders are its architecture, and data flows one way.

Three parts, lowest first, each in its own folder — the paper's method (``method/``), the study around it
(``study/``) and the interfaces on top (``interfaces/``) — stand on the modules underneath all of them, which sit
beside ``semisep_lib/__init__.py``. A module imports only modules of its own part or of a part below it.
Within the package every module also has a rank; a module imports only modules of a lower rank (at module top or
inside a function), so the import graph has no cycle and no upward edge."""

from __future__ import annotations

import ast
from pathlib import Path

import semisep_lib

PACKAGE = Path(semisep_lib.__file__).parent

#: The parts, lowest first; ``""`` is the package's own folder: what lies underneath all three.
PARTS = ("", "method", "study", "interfaces")
#: The package's door: ``__init__`` (a docstring and the version) and ``__main__`` (``python -m semisep_lib`` calls
#: ``interfaces.cli``). Above everything, in no part.
DOOR = {"__init__", "__main__"}

#: Each part bottom-up, in the order data flows: audio → data → spectral → models → losses → train → separate →
#: evaluate → tables → reproduce → notebooks / listen → report → docs → cli
RANK = {
    # underneath all
    "errors": 0,
    "fileio": 1, "paper": 1,
    "runs": 1,  # a run's file names: under all three parts, since checkpoint (the method) finds weights in a run
    "audio": 2,
    # the method
    "method.config": 3, "method.metrics": 3,
    "method.segments": 3,  # the two unmatched sets as signals and their segments: what train needs of the data
    "method.spectral": 4,
    "method.models": 5, "method.losses": 5, "method.separator": 5,
    "method.checkpoint": 6,
    "method.train": 7, "method.separate": 7,
    # the study
    "study.toy": 8, "study.nes": 8,
    "study.data": 9, "study.baselines": 9,
    "study.evaluate": 10, "study.methods": 10,
    "study.tables": 11,
    "study.plots": 12,  # figures: reproduce draws ablation.png with them, so they sit in the study, below it
    "study.levels": 12,
    "study.pretrained": 13, "study.reproduce": 13,
    # the interfaces
    "interfaces.notebooks": 14, "interfaces.listen": 14,
    "interfaces.report": 15,
    "interfaces.docs": 16,
    "interfaces.cli": 17,
    # the door
    "__main__": 18, "__init__": 18,
}
#: Modules that may import inside a function, and the only modules they may import there: optional heavy
#: dependencies (seconds to import, or refusing to import without ffmpeg), each with its reason in a comment.
LATE_IMPORTS = {"museval", "musdb", "stempeg", "papermill", "nbformat",
                "nbconvert", "jinja2", "latex2mathml",  # only `semisep docs` renders pages (nbconvert: seconds)
                "torch.utils.tensorboard"}  # optional: only `train --tensorboard` needs the tensorboard package


def module_name(path: Path) -> str:
    """``semisep_lib/method/losses.py`` → ``"method.losses"``; ``semisep_lib/errors.py`` → ``"errors"``."""
    return ".".join(path.relative_to(PACKAGE).with_suffix("").parts)


def part_of(name: str) -> str:
    """The part a module belongs to: its folder (``""`` for the package's own)."""
    return name.rpartition(".")[0]


def library_files() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def modules() -> dict[str, Path]:
    """Every module of the package by name, the parts' ``__init__`` files aside (see
    :func:`test_the_parts_inits_import_nothing`)."""
    return {module_name(p): p for p in library_files() if not (p.name == "__init__.py" and p.parent != PACKAGE)}


def library_imports(path: Path, package: str | None = None) -> set[str]:
    """Names (as :func:`module_name` gives them) of the ``semisep_lib`` modules that ``path`` imports, anywhere in the
    file. ``package``: the part ``path`` lies in (``""`` for the package's own folder); by default from its place."""
    if package is None:
        package = ".".join(path.parent.relative_to(PACKAGE).parts)
    known = set(modules())
    here = package.split(".") if package else []

    def named(base: str, names) -> set[str]:  # `from base import a`: the module base.a if there is one, else base
        out = set()
        for a in names:
            full = f"{base}.{a.name}" if base else a.name
            out.add(full if full in known or not base else base)
        return out

    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(here[: len(here) - (node.level - 1)] + ([node.module] if node.module else []))
                found |= named(base, node.names)
            elif node.module == "semisep_lib" or (node.module or "").startswith("semisep_lib."):
                found |= named(node.module.partition(".")[2], node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name.partition(".")[2] for a in node.names if a.name.startswith("semisep_lib."))
    return found


def test_every_module_belongs_to_a_part_and_has_a_rank():
    names = set(modules())
    assert {part_of(n) for n in names - DOOR} <= set(PARTS), "a module outside method/, study/ and interfaces/"
    assert names - set(RANK) == set(), "give each new module a rank in RANK"
    assert set(RANK) - names == set(), "RANK names a module that is gone"


def test_every_library_import_names_a_module():
    """An import of a name that is no module (an old place, a typo) would slip past the two tests below."""
    names = set(modules())
    unknown = [f"{me} imports {other}" for me, path in modules().items()
               for other in library_imports(path) if other not in names]
    assert unknown == []


def test_parts_import_only_parts_below():
    level = {part: i for i, part in enumerate(PARTS)}
    names, upward = set(modules()), []
    for me, path in modules().items():
        if me in DOOR:
            continue
        for other in library_imports(path) & names:
            if other in DOOR or level[part_of(other)] > level[part_of(me)]:
                upward.append(f"{me} ({part_of(me) or 'underneath all'}) imports {other}")
    assert upward == [], "move the piece down rather than import up"


def test_imports_only_go_down():
    upward = []
    for me, path in modules().items():
        for other in library_imports(path):
            if me in RANK and other in RANK and RANK[other] >= RANK[me]:  # a module without a rank fails above
                upward.append(f"{me} (rank {RANK[me]}) imports {other} (rank {RANK[other]})")
    assert upward == []


def test_the_parts_inits_import_nothing():
    """A part's ``__init__`` is its table of contents (a docstring): importing one part loads nothing else."""
    importing = [module_name(p) for p in library_files() if p.name == "__init__.py" and p.parent != PACKAGE
                 and any(isinstance(n, (ast.Import, ast.ImportFrom)) for n in ast.walk(ast.parse(p.read_text())))]
    assert importing == []


def test_the_checker_sees_function_level_and_relative_imports(tmp_path):
    f = tmp_path / "m.py"
    f.write_text("def f():\n    from ..method.train import load_g\n    from . import data\n"
                 "    from .. import errors\n    from ..method import losses\n    from .levels import remix\n")
    assert library_imports(f, package="study") == {"method.train", "study.data", "errors", "method.losses",
                                                   "study.levels"}
    f.write_text("from semisep_lib.method.train import load_g\nfrom semisep_lib.study import data\n"
                 "import semisep_lib.errors\nfrom semisep_lib import fileio\n")
    assert library_imports(f, package="") == {"method.train", "study.data", "errors", "fileio"}


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
    for path in library_files():
        late += [f"{module_name(path)}:{line} imports {name}" for line, name in _function_level_imports(path)
                 if name not in LATE_IMPORTS and name.split(".")[0] not in LATE_IMPORTS]
    assert late == []


def test_argument_parsing_lives_in_cli():
    wiring = []
    for path in library_files():
        if module_name(path) == "interfaces.cli":
            continue
        tree = ast.parse(path.read_text())
        names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        defs = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
        if "argparse" in names or "add_commands" in defs:
            wiring.append(module_name(path))
    assert wiring == []
