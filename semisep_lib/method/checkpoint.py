"""Checkpoint files: write one atomically, read and check one, load the trained ``g`` of a run; and the device
picker.

A checkpoint is a ``torch.save`` dict with ``program`` (``"semisep"``), ``version`` (:data:`CHECKPOINT_VERSION`),
``config`` (``Config.to_dict()``) and ``g`` (its state dict); training adds what it needs to resume (see
``train.RESUME_KEYS``). Training writes them, separation and the pretrained model read them, so they live
here, below both.
"""

from __future__ import annotations

import io
from pathlib import Path

import torch

from ..errors import CheckpointError
from ..fileio import atomic_write
from ..runs import Run
from .config import Config
from .models import build_models

PROGRAM = "semisep"
CHECKPOINT_VERSION = 1
#: What every checkpoint file starts with, in this order (:func:`checkpoint_header`); a model file holds only
#: these (and ``valid``), a training checkpoint adds ``train.RESUME_KEYS``.
HEADER_KEYS = ("program", "version", "config", "step", "objective", "g")


def checkpoint_header(cfg: Config, step: int, objective: str, g: torch.nn.Module, **extra) -> dict:
    """The one place a checkpoint's header is written (:data:`HEADER_KEYS`, which :func:`load_g` reads):
    program, version, ``cfg`` as a dict, ``step``, ``objective`` and ``g``'s weights; then ``extra``."""
    return {"program": PROGRAM, "version": CHECKPOINT_VERSION, "config": cfg.to_dict(), "step": step,
            "objective": objective, "g": g.state_dict(), **extra}


def save_checkpoint(path: Path, state: dict) -> None:
    """``torch.save`` to a temporary file, then rename: a crash or full disk leaves the previous one intact."""
    buf = io.BytesIO()
    torch.save(state, buf)
    atomic_write(path, lambda f: f.write(buf.getvalue()))


def load_checkpoint(path: str | Path) -> dict:
    """Read a semisep checkpoint (or a run directory's best one) and check that it is one.

    Raises :class:`CheckpointError` for a missing, truncated or foreign file. Only tensors and plain Python
    values are unpickled (``weights_only=True``)."""
    path = Path(path)
    if path.is_dir():
        run = Run(path)
        if (weights := run.weights()) is None:
            raise CheckpointError(f"Run directory {path} holds no {run.best.name} or {run.checkpoint.name}; "
                                  "train it first.")
        path = weights
    if not path.is_file():
        raise CheckpointError(f"Checkpoint {path} does not exist.")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # truncated zip, not a torch file, pickled foreign objects ...
        raise CheckpointError(f"Checkpoint {path} cannot be read ({type(err).__name__}); "
                              "it is truncated or not a semisep checkpoint.") from None
    if not isinstance(state, dict) or state.get("program") != PROGRAM or "config" not in state or "g" not in state:
        raise CheckpointError(f"{path} is not a semisep checkpoint.")
    if state.get("version") != CHECKPOINT_VERSION:
        raise CheckpointError(f"Checkpoint {path} has format version {state.get('version')}, "
                              f"this semisep reads version {CHECKPOINT_VERSION}.")
    state["path"] = str(path)
    return state


def load_weights(module: torch.nn.Module, weights: dict, what: str, path: str) -> None:
    """Load a state dict all-or-nothing; a mismatch becomes a :class:`CheckpointError` and leaves ``module`` as
    it was (the weights are checked before any tensor is copied)."""
    own = module.state_dict()
    if not isinstance(weights, dict):
        weights = {}
    bad = (sorted(set(own) ^ set(weights))
           or [k for k in own if not isinstance(weights[k], torch.Tensor) or own[k].shape != weights[k].shape])
    if bad:
        raise CheckpointError(f"Checkpoint {path} does not fit this configuration's {what} "
                              f"(first mismatch: {bad[0]}); was it trained with another preset or config?")
    module.load_state_dict(weights)


def load_g(source: str | Path, device: str = "cpu") -> tuple[torch.nn.Module, Config]:
    """The trained ``g`` of a run directory or checkpoint file, in eval mode, with its configuration."""
    state = load_checkpoint(source)
    try:
        cfg = Config.from_dict(state["config"])
    except Exception as err:
        raise CheckpointError(f"Checkpoint {state['path']} holds an unreadable configuration ({err}).") from None
    g = build_models(cfg)[0]
    load_weights(g, state.get("g_ema", state["g"]), "g", state["path"])  # a training checkpoint with an EMA: its average
    return g.to(device).eval(), cfg


def pick_device(name: str) -> torch.device:
    """``auto`` → CUDA when present, else CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def cpu_has_bf16() -> bool:
    """Whether this CPU runs bf16 convolutions natively (oneDNN's check: AVX512-BF16 or AMX); without them bf16
    autocast on the CPU is emulated and slower than fp32."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def bf16_available(device: torch.device) -> bool:
    """Whether bf16 autocast runs on native kernels on ``device``: CUDA, or a CPU with :func:`cpu_has_bf16`. A
    request for bf16 (``train.bf16``, ``separate.bf16``) is ignored elsewhere, and the work stays fp32."""
    return device.type == "cuda" or (device.type == "cpu" and cpu_has_bf16())
