"""The NES baseline (``semisep_lib.study.nes``): deterministic training, falling loss, files, variants and presets."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from conftest import SR, smoke_config as _cfg, synthetic_song as _song
from semisep_lib.errors import CheckpointError, UsageError
from semisep_lib.method.config import Config
from semisep_lib.study.nes import NESConfig, NESSeparator, train_nes

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_nes_deterministic_and_loss_decreases(td, nes, tmp_path):
    again = train_nes(td, _cfg(), Config.from_preset("smoke").nes, seed=0, progress=False)
    for k, w in nes.net.state_dict().items():
        assert torch.equal(w, again.net.state_dict()[k]), k
    assert again.history == nes.history
    smoke = Config.from_preset("smoke").nes
    assert len(nes.history) == smoke.iterations * smoke.epochs
    # within one iteration (x̃ fixed) the L1 loss goes down epoch after epoch
    longer = dataclasses.replace(Config.from_preset("smoke").nes, iterations=1, epochs=8)
    losses = [h["loss"] for h in train_nes(td, _cfg(), longer, seed=0, progress=False).history]
    assert losses[-1] < 0.95 * losses[0] and sum(b < a for a, b in zip(losses, losses[1:])) >= 6
    other = train_nes(td, _cfg(), Config.from_preset("smoke").nes, seed=1, progress=False)
    assert other.history != nes.history
    # save / load keeps the separation
    mix, _, _ = _song(SR, 1, seconds=0.5)
    nes.save(tmp_path / "nes.pt")
    loaded = NESSeparator.load(tmp_path / "nes.pt")
    np.testing.assert_array_equal(loaded.separate(mix, SR), nes.separate(mix, SR))
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError):
        NESSeparator.load(tmp_path / "junk.pt")


def test_nes_magnitude_domain_and_paper_config(td):
    cfg = Config.from_preset("smoke").nes
    cfg.mix_domain, cfg.iterations, cfg.epochs = "magnitude", 1, 1
    sep = train_nes(td, _cfg(), cfg, seed=0, progress=False)
    assert np.isfinite(sep.history[0]["loss"])
    paper = Config.from_preset("paper").nes
    assert (paper.sample_rate, paper.n_fft, paper.hop, paper.width, paper.batch_size) == (20480, 512, 204, 64, 64)
    assert paper.spectral_for(_cfg()).sample_rate == 20480
    assert Config.from_preset("cpu").nes.spectral_for(_cfg()).hop == 128
    with pytest.raises(UsageError):
        NESConfig(patch_frames=30).check()
