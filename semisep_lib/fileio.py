"""Atomic writes, strict JSON and a run-directory lock, so that a killed command never leaves a corrupt file behind.

Every file the project writes goes first to a temporary file in the same directory, is flushed to disk, and
is then renamed over the target (``os.replace`` is atomic on POSIX). A failed write leaves the old file intact.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import json
import math
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from .errors import LockError


_UMASK = os.umask(0)
os.umask(_UMASK)


def atomic_write(path: str | Path, write: Callable[[io.BufferedWriter], None]) -> None:
    """Call ``write(f)`` on a temporary binary file next to ``path``, then rename it onto ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600 files; give the usual permissions
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    atomic_write(path, lambda f: f.write(data))


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    atomic_write_bytes(path, text.encode("utf-8"))


def write_between_markers(path: str | Path, text: str, start: str = "<!-- table:start -->",
                          end: str = "<!-- table:end -->") -> bool:
    """Replace what lies between the markers ``start`` and ``end`` of the text file ``path`` (a README's generated
    table) by ``text``; returns whether the file had both markers (else it is left as it is)."""
    path = Path(path)
    doc = path.read_text() if path.is_file() else ""
    if start not in doc or end not in doc:
        return False
    head, rest = doc.split(start, 1)
    path.write_text(head + start + "\n" + text + end + rest.split(end, 1)[1])
    return True


def jsonable(obj: Any) -> Any:
    """``obj`` as strict JSON data: NaN/inf → None, numpy scalars → Python numbers, tuples → lists."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, (float, np.floating)):
        return float(obj) if math.isfinite(obj) else None
    if isinstance(obj, np.integer):
        return int(obj)
    return obj


def atomic_write_json(path: str | Path, obj: Any) -> None:
    """Write ``obj`` as indented JSON to ``path`` atomically."""
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")


@contextlib.contextmanager
def run_lock(directory: str | Path) -> Iterator[None]:
    """Hold an exclusive lock on ``directory`` for the duration; a second holder gets :class:`LockError`.

    The lock is an ``flock`` on ``directory/.lock``: the kernel releases it when the process dies, even by
    SIGKILL, so a stale lock never blocks a resumed run.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    f = open(directory / ".lock", "a+")
    try:
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LockError(
                f"Another semisep command is already writing to {directory}; wait for it to finish "
                f"or use another output directory."
            ) from None
        f.seek(0)
        f.truncate()
        f.write(str(os.getpid()))
        f.flush()
        yield
    finally:
        f.close()


def replace_dir(tmp: Path, target: Path) -> None:
    """Move the finished folder ``tmp`` to ``target``, replacing an older ``target`` only once ``tmp`` is in
    place nearby (a rename on the same file system)."""
    if target.exists() or target.is_symlink():
        old = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.old-"))
        os.replace(target, old / "x")
        try:
            os.replace(tmp, target)
        except BaseException:
            os.replace(old / "x", target)  # put the old one back
            raise
        finally:
            shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, target)
