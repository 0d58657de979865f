"""The two mask post-processing families run in opposite directions: raising the authors' q (on the
instrumental mask) makes the vocal estimate louder, raising our p (on the vocal mask) makes it quieter."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import ConstantMask
from semisep_lib.config import Config
from semisep_lib.errors import UsageError
from semisep_lib.separate import MaskSeparator


def vocal_energy(family: str, power: float, value: float = 0.6) -> float:
    cfg = Config.from_preset("smoke")
    sep = MaskSeparator(ConstantMask(value), cfg, mask_family=family, mask_power=power, smooth_frames=1)
    audio = np.random.default_rng(0).standard_normal((1, 16000)).astype(np.float32) * 0.1
    return float(np.sum(sep.separate(audio, 16000) ** 2))


def test_authors_family_gets_louder_with_q():
    energies = [vocal_energy("authors", q) for q in (1, 3, 9)]
    assert energies[0] < energies[1] < energies[2]


def test_our_family_gets_quieter_with_p():
    energies = [vocal_energy("ours", p) for p in (1, 3, 9)]
    assert energies[0] > energies[1] > energies[2]


def test_authors_mask_formula_in_the_compressed_domain():
    cfg = Config.from_preset("smoke")
    sep = MaskSeparator(ConstantMask(0.5), cfg, mask_family="authors", mask_power=2, smooth_frames=1)
    m = torch.full((1, 8, 8), 0.5)
    expected = (1 - 0.5**2) ** (1 / cfg.spectral.compress)
    assert torch.allclose(sep.postprocess(m), torch.full_like(m, expected))
    ours = MaskSeparator(ConstantMask(0.5), cfg, mask_family="ours", mask_power=2, smooth_frames=1)
    assert torch.allclose(ours.postprocess(m), torch.full_like(m, 0.25))


def test_authors_smoothing_is_a_square_over_frequency_and_time():
    cfg = Config.from_preset("smoke")
    sep = MaskSeparator(ConstantMask(0.5), cfg, mask_family="authors", mask_power=1, smooth_frames=3)
    m = torch.zeros(1, 9, 9)
    m[0, 4, 4] = 1.0  # one instrumental bin: its 3×3 neighbourhood gets 1/9 of it
    v = sep.postprocess(m)
    c = 1 / cfg.spectral.compress
    assert v[0, 4, 4].item() == pytest.approx((1 - 1 / 9) ** c, rel=1e-5)
    assert v[0, 3, 5].item() == pytest.approx((1 - 1 / 9) ** c, rel=1e-5)  # a diagonal neighbour too
    assert v[0, 0, 0].item() == pytest.approx(1.0)


def test_paper_preset_uses_the_authors_family():
    cfg = Config.from_preset("paper")
    assert (cfg.separate.mask_family, cfg.separate.mask_power, cfg.separate.smooth_frames) == ("authors", 9.0, 3)
    assert Config.from_preset("cpu").separate.mask_family == "ours"


def test_unknown_family_is_refused():
    with pytest.raises(UsageError):
        MaskSeparator(ConstantMask(0.5), Config.from_preset("smoke"), mask_family="inverse")
