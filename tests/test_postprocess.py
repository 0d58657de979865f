"""The two mask post-processing families run in opposite directions: raising the authors' q (on the
instrumental mask) makes the vocal estimate louder, raising our p (on the vocal mask) makes it quieter."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import ConstantMask
from semisep_lib.errors import UsageError
from semisep_lib.method.config import Config
from semisep_lib.method.separate import MaskSeparator


def separator(g, family: str, power: float, smooth: int = 1, cfg: Config | None = None) -> MaskSeparator:
    """A MaskSeparator of ``g`` with the post-processing ``family``, ``power`` and ``smooth`` frames."""
    cfg = cfg or Config.from_preset("smoke")
    return MaskSeparator(g, cfg.updated({"separate": {"mask_family": family, "mask_power": power,
                                                      "smooth_frames": smooth}}))


def vocal_energy(family: str, power: float, value: float = 0.6) -> float:
    sep = separator(ConstantMask(value), family, power)
    audio = np.random.default_rng(0).standard_normal((1, 16000)).astype(np.float32) * 0.1
    return float(np.sum(sep.separate(audio, 16000) ** 2))


def test_authors_family_gets_louder_with_q():
    energies = [vocal_energy("authors", q) for q in (1, 3, 9)]
    assert energies[0] < energies[1] < energies[2]


def test_our_family_gets_quieter_with_p():
    energies = [vocal_energy("ours", p) for p in (1, 3, 9)]
    assert energies[0] > energies[1] > energies[2]


def test_authors_mask_formula_on_the_linear_magnitude():
    """As the authors' test.py: vocals = |X|·(1 − σ^q), σ the sigmoid output of g."""
    cfg = Config.from_preset("smoke")
    sep = separator(ConstantMask(0.5), "authors", 2, cfg=cfg)
    m = torch.full((1, 8, 8), 0.5)
    assert torch.allclose(sep.postprocess(m), torch.full_like(m, 1 - 0.5**2))
    g = ConstantMask(0.5)
    g.mask_exponent = 1 / cfg.spectral.compress  # a g whose mask lives in the compressed domain: m = σ^(1/c)
    sep_c = separator(g, "authors", 2, cfg=cfg)
    assert torch.allclose(sep_c.postprocess(m ** g.mask_exponent), torch.full_like(m, 1 - 0.5**2), atol=1e-6)
    ours = separator(ConstantMask(0.5), "ours", 2, cfg=cfg)
    assert torch.allclose(ours.postprocess(m), torch.full_like(m, 0.25))


def test_authors_smoothing_is_their_bilateral_filter_on_a_mask():
    """cv2.bilateralFilter(m, 3, 10, 10) covers each bin and its 4 neighbours (a disc of radius 1) with weights
    within 1 % of each other for values in [0, 1]: one instrumental bin gives 1/5 of itself to each."""
    sep = separator(ConstantMask(0.5), "authors", 1, smooth=3)
    m = torch.zeros(1, 9, 9)
    m[0, 4, 4] = 1.0
    v = sep.postprocess(m)
    assert v[0, 4, 4].item() == pytest.approx(1 - 1 / 5, rel=1e-5)
    assert v[0, 3, 4].item() == pytest.approx(1 - 1 / 5, rel=1e-5) and v[0, 4, 5].item() == pytest.approx(0.8)
    assert v[0, 3, 5].item() == pytest.approx(1.0)  # a diagonal neighbour is outside the disc
    edge = torch.zeros(1, 9, 9)
    edge[0, 0, 4] = 1.0  # mirrored border (OpenCV's default, reflect-101): above row 0 lies row 1, not row 0
    assert sep.postprocess(edge)[0, 1, 4].item() == pytest.approx(0.8)
    assert sep.postprocess(edge)[0, 0, 4].item() == pytest.approx(0.8)


def test_paper_preset_uses_the_authors_family():
    cfg = Config.from_preset("paper")
    assert (cfg.separate.mask_family, cfg.separate.mask_power, cfg.separate.smooth_frames) == ("authors", 9.0, 3)
    assert Config.from_preset("cpu").separate.mask_family == "ours"


def test_unknown_family_is_refused():
    with pytest.raises(UsageError):
        separator(ConstantMask(0.5), "inverse", 1)
