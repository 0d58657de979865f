"""Shared fixtures: the shared MUSDB18 preview (skipped when absent), a small toy set, and a private cache."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from semisep_lib.checkpoint import CHECKPOINT_VERSION, PROGRAM, save_checkpoint
from semisep_lib.config import Config
from semisep_lib.models import build_models
from semisep_lib.toy import make_toy_dataset

REPO_ROOT = Path(__file__).resolve().parents[1]
#: The MUSDB18 7-second preview (train subset, 94 .stem.mp4 files), beside the repository.
SHARED_DATA = REPO_ROOT.parent / "shared" / "data" / "musdb18-7"


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Point ``$SEMISEP_CACHE`` at a temporary folder, so tests never read or fill the user's cache."""
    cache = tmp_path_factory.mktemp("semisep-cache")
    mp = pytest.MonkeyPatch()
    mp.setenv("SEMISEP_CACHE", str(cache))
    mp.delenv("MUSDB_PATH", raising=False)
    yield cache
    mp.undo()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Root of the shared MUSDB18 preview; skips the test when it is not there."""
    if not (SHARED_DATA / "train").is_dir():
        pytest.skip(f"shared MUSDB18 preview not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def toy_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small toy set: 6 train songs (2 of them listed in valid.txt) and 4 test songs of 3 s, at 44.1 kHz."""
    return make_toy_dataset(tmp_path_factory.mktemp("toy") / "toy", tracks=6, test_tracks=4, seconds=3.0, seed=0)


def make_run(run: Path) -> Path:
    """An untrained smoke-preset ``g`` saved as a run directory, in the train module's checkpoint format."""
    torch.manual_seed(0)
    cfg = Config.from_preset("smoke")
    g = build_models(cfg)[0]
    save_checkpoint(run / "best.pt", {"program": PROGRAM, "version": CHECKPOINT_VERSION, "config": cfg.to_dict(),
                                      "step": 0, "objective": "semi", "g": g.state_dict()})
    cfg.save(run / "config.yaml")
    return run


class ConstantMask(torch.nn.Module):
    """A stand-in for ``g`` whose instrumental mask is ``value`` everywhere."""

    down_factor = 4

    def __init__(self, value: float):
        super().__init__()
        self.value = value

    def mask(self, mag: torch.Tensor) -> torch.Tensor:
        assert mag.shape[-1] % self.down_factor == 0
        return torch.full_like(mag, self.value)
