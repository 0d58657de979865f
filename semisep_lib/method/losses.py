"""The six terms of the paper — R1, R2, R3, R4, GAN_A, GAN_C — and the discriminators' losses.

Notation (the paper's): ``a`` a mixture, ``c`` an instrumental from *another* song, ``g`` the masking network.
Magnitudes are ``(batch, F, T)``; complex spectrograms carry the same shape. Phase I applies ``g`` to a
mixture, ``g(a)``, and the estimated voice is what it removes, ``b̄ = a − g(a)``. Phase II crosses that voice
with a real instrumental, ``ā = b̄ + c`` — formed on *complex* spectrograms so that superposition holds — and
asks ``g`` to take it apart again.

| term  | formula                      | asks                                                    |
|-------|------------------------------|---------------------------------------------------------|
| R1    | ‖g(c) − c‖₁                  | instrumental music passes through unchanged             |
| R2    | ‖g(g(a)) − g(a)‖₁            | applying g twice changes nothing (idempotence)          |
| R3    | ‖g(ā) − c‖₁                  | g returns the instrumental of a synthetic mixture       |
| R4    | ‖(ā − g(ā)) − b̄‖₁            | ... and what it removes is the estimated voice          |
| GAN_C | LSGAN: d_C(g(a)) → "real"    | g(a) looks like real instrumental music to ``d_C``      |
| GAN_A | LSGAN: d_A(ā) → "real"       | synthetic mixtures look like real mixtures to ``d_A``   |

The L1 norms are means over compressed magnitudes (``spectral.compress``), so that quiet partials matter.
Note that the identity ``g(x) = x`` makes R1–R4 all zero (then ``b̄ = 0`` and ``ā = c``): only the GAN terms
push ``g`` away from it.

Four details of the authors' ``trainer.py`` are options of :class:`~semisep_lib.method.config.LossConfig` (the
``paper`` preset turns them on): the L1 on images in [−1, 1] (``recon_scale = 2``), ``g``'s second pass on
its input as it is (``second_pass_as_is``), the discriminators' losses times the GAN weights
(``d_loss_gan_weights``) and the level of ``ā`` (``abar_level``, :func:`level_abar`).
"""

from __future__ import annotations

from contextlib import contextmanager

import torch

from ..errors import UsageError
from .config import TERMS, LossConfig
from .spectral import compress, magnitude

#: The values of ``LossConfig.abar_level`` (see :func:`level_abar`).
ABAR_LEVELS = ("free", "clamp", "rescale")


def l1(x: torch.Tensor, y: torch.Tensor, power: float | None = None, scale: float = 1.0) -> torch.Tensor:
    """Mean absolute difference, of compressed magnitudes when ``power`` is given, times ``scale``.

    ``scale = 2`` is the authors' L1 on images in [−1, 1]: ``|(2x^p − 1) − (2y^p − 1)| = 2·|x^p − y^p|``."""
    if power is not None:
        x, y = compress(x, power), compress(y, power)
    d = (x - y).abs().mean()
    return d if scale == 1.0 else scale * d


def R1(g_c: torch.Tensor, c: torch.Tensor, power: float | None = None, scale: float = 1.0) -> torch.Tensor:
    """Identity on instrumentals: ``‖g(c) − c‖₁``."""
    return l1(g_c, c, power, scale)


def R2(g_g_a: torch.Tensor, g_a: torch.Tensor, power: float | None = None, scale: float = 1.0) -> torch.Tensor:
    """Idempotence: ``‖g(g(a)) − g(a)‖₁``."""
    return l1(g_g_a, g_a, power, scale)


def R3(g_abar: torch.Tensor, c: torch.Tensor, power: float | None = None, scale: float = 1.0) -> torch.Tensor:
    """The instrumental of a synthetic mixture: ``‖g(ā) − c‖₁``."""
    return l1(g_abar, c, power, scale)


def R4(abar: torch.Tensor, g_abar: torch.Tensor, bbar: torch.Tensor, power: float | None = None,
       scale: float = 1.0) -> torch.Tensor:
    """The voice of a synthetic mixture: ``‖(ā − g(ā)) − b̄‖₁``."""
    return l1(abar - g_abar, bbar, power, scale)


def lsgan_generator(scores: list[torch.Tensor]) -> torch.Tensor:
    """LSGAN loss for the side being fooled: ``Σ_scales mean((D(fake) − 1)²)``."""
    return sum(((s - 1) ** 2).mean() for s in scores)


def lsgan_fake(scores: list[torch.Tensor]) -> torch.Tensor:
    """LSGAN loss of a discriminator on fakes alone: ``Σ_scales mean(D(fake)²)`` (the anchors of ``d_anchor``)."""
    return sum((s**2).mean() for s in scores)


def lsgan_discriminator(real: list[torch.Tensor], fake: list[torch.Tensor]) -> torch.Tensor:
    """LSGAN loss of a discriminator: ``Σ_scales mean(D(fake)²) + mean((D(real) − 1)²)``."""
    return sum((f**2).mean() + ((r - 1) ** 2).mean() for r, f in zip(real, fake))


def GAN_C(d_C: torch.nn.Module, g_a: torch.Tensor) -> torch.Tensor:
    """``g(a)`` must look like real instrumental music to ``d_C``."""
    return lsgan_generator(d_C(g_a))


def GAN_A(d_A: torch.nn.Module, abar: torch.Tensor) -> torch.Tensor:
    """Synthetic mixtures ``ā`` must look like real mixtures to ``d_A``."""
    return lsgan_generator(d_A(abar))


def synthetic_mixture(A: torch.Tensor, mask_a: torch.Tensor, C: torch.Tensor,
                      detach_bbar: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Phase II inputs as complex spectrograms: ``B̄ = (1 − mask(a)) · A`` (the estimated voice, mixture
    phase) and ``Ā = B̄ + C``. Summing complex spectrograms is summing waveforms, so superposition holds."""
    B_bar = (1 - mask_a) * A
    if detach_bbar:
        B_bar = B_bar.detach()
    return B_bar, B_bar + C


def peak(mag: torch.Tensor) -> torch.Tensor:
    """Each example's largest magnitude, ``(batch, F, T)`` → ``(batch,)``, without gradient."""
    return mag.detach().flatten(1).amax(dim=1)


def level_abar(abar: torch.Tensor, bbar: torch.Tensor, c: torch.Tensor, a_peak: torch.Tensor,
               how: str = "free") -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The level of the synthetic mixture, ``LossConfig.abar_level``: magnitudes ``ā``, ``b̄``, ``c``
    ``(batch, F, T)`` and the peaks ``(batch,)`` of the mixtures ``a`` that gave ``b̄`` → ``(ā, b̄, c)`` as R3/R4
    and ``d_A`` see them.

    A real mixture peaks at ``a_peak`` (1 at unit peak), but ``ā = b̄ + c`` may peak higher. ``"free"``: as it
    comes. ``"clamp"``: the authors' ``scaled_sum``, which clamps images to [0, 1] — ``min(ā, a_peak)`` bin by
    bin (its gradient is 0 where it clips); ``b̄`` and ``c`` stay the targets. ``"rescale"``: ``ā``, ``b̄``
    and ``c`` times ``s = a_peak / peak(ā)`` (no gradient through ``s``), so that ``ā`` peaks exactly where
    ``a`` does, ``s·ā = s·b̄ + s·c`` still holds and R3/R4 stay consistent."""
    if how == "free":
        return abar, bbar, c
    if how == "clamp":
        return torch.minimum(abar, a_peak.to(abar.dtype)[:, None, None]), bbar, c
    if how == "rescale":
        s = (a_peak / peak(abar).clamp_min(1e-8)).to(abar.dtype)[:, None, None]
        return s * abar, s * bbar, s * c
    raise UsageError(f"abar_level must be one of {', '.join(ABAR_LEVELS)}, got {how!r}.")


def random_gains(batch: int, db: tuple[float, float], like: torch.Tensor) -> torch.Tensor:
    """``(batch, 1, 1)`` random gains ``α``, ``20·log10(α)`` uniform in ``db`` (``LossConfig.voice_gain_db``,
    ``LossConfig.d_C_real_gain_db``), on ``like``'s device and in its real dtype."""
    lo, hi = db
    u = lo + (hi - lo) * torch.rand(batch, device=like.device)
    return (10.0 ** (u / 20.0)).to(like.real.dtype)[:, None, None]


def vocal_fraction(a: torch.Tensor, g_a: torch.Tensor) -> float:
    """The share of the mixtures' energy that ``g`` removes, ``‖a − g(a)‖² / ‖a‖²`` (magnitudes ``(batch, F, T)``):
    the estimated voice's energy fraction, logged so that a collapse to the identity (→ 0) is visible."""
    return float(((a - g_a).detach().square().sum() / a.square().sum().clamp_min(1e-8)).item())


def unit_peak(*specs: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Each complex spectrogram ``(batch, F, T)`` divided by its own peak magnitude, example by example — the
    authors' images start at unit peak, so that discriminators which see levels (``d_sees_level``) compare
    ``g(a)`` (at ``a``'s scale, peak ≤ 1) with real instrumentals (peak 1)."""
    return tuple(X / X.abs().flatten(1).amax(dim=1).clamp_min(1e-8)[:, None, None] for X in specs)


def needs(weights: dict[str, float]) -> dict[str, bool]:
    """Which intermediate results a set of weights requires (terms switched off cost nothing)."""
    on = {t: weights[t] > 0 for t in TERMS}
    return {"g_c": on["R1"], "g_g_a": on["R2"], "abar": on["R3"] or on["R4"] or on["GAN_A"],
            "g_abar": on["R3"] or on["R4"], **on}


def batched(net, *xs: torch.Tensor, peaks: list[torch.Tensor] | None = None) -> list:
    """``[net(x) for x in xs]`` in one call on the concatenated batch, split back input by input; with
    ``peaks`` (one ``(batch,)`` tensor per input), ``[net(x, peak=p) ...]``: ``g`` on levels set elsewhere.

    Exact for networks that treat each example on its own — ``g`` (InstanceNorm, GroupNorm(1), per-example
    peak) and the discriminators (no normalisation) — and, on a CPU, much faster than several small calls.
    A discriminator's list of score maps comes back as one list per input.
    """
    kw = {} if peaks is None else {"peak": torch.cat(peaks)}
    if len(xs) == 1:
        return [net(xs[0], **kw)]
    sizes = [x.shape[0] for x in xs]
    out = net(torch.cat(xs), **kw)
    if isinstance(out, (list, tuple)):
        return [list(scales) for scales in zip(*(o.split(sizes) for o in out))]
    return list(out.split(sizes))


@contextmanager
def frozen(*modules):
    """Within this block the modules' weights take no gradient (``None`` modules are skipped): ``g``'s step
    back-propagates *through* ``d_A`` and ``d_C`` to ``g`` but never needs their weights' gradients, which the
    discriminators' own step discards anyway — so they are not computed (the step's largest saving)."""
    params = [p for m in modules if m is not None for p in m.parameters() if p.requires_grad]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p in params:
            p.requires_grad_(True)


def generator_losses(g, d_A, d_C, A: torch.Tensor, C: torch.Tensor, loss: LossConfig,
                     power: float) -> tuple[torch.Tensor, dict[str, float]]:
    """One generator step's loss: the weighted sum of the active terms, and a log of every term.

    ``A``, ``C``: complex cropped spectrograms ``(batch, F, T)`` of mixtures and of instrumentals from other
    songs (pairs are unrelated). The log also holds the mean mask on mixtures and on instrumentals and the
    vocal energy fraction ``‖b̄‖²/‖a‖²``, so that a collapse to the identity (fraction → 0) is visible.

    ``g`` runs twice (:func:`batched`): on ``[a; c]`` (phase I and R1), then on ``[g(a); ā]`` (R2, and R3/R4),
    which give the same values and gradients as four separate calls. The second run divides its inputs by
    ``a``'s peak with ``loss.second_pass_as_is`` (by their own otherwise); ``ā``'s level follows
    ``loss.abar_level`` (:func:`level_abar`); R1–R4 are scaled by ``loss.recon_scale``.
    """
    w = loss.weights()
    need = needs(w)
    rs = loss.recon_scale
    if getattr(d_C, "sees_level", False):
        A, C = unit_peak(A, C)
    a, c = magnitude(A), magnitude(C)
    terms: dict[str, torch.Tensor] = {}
    log: dict[str, float] = {}
    if need["g_c"]:
        mask_a, mask_c = batched(g.mask, a, c)
        g_c = mask_c * c
        terms["R1"] = R1(g_c, c, power, rs)
        log["mask_c"] = float((g_c.detach().sum() / c.sum().clamp_min(1e-8)).item())
    else:
        mask_a = g.mask(a)
    g_a = mask_a * a
    second = {}  # phase II inputs of g, run together below
    if need["R2"]:
        second["g_a"] = g_a
    if need["abar"]:
        B_bar, A_bar = synthetic_mixture(A, mask_a, C, loss.detach_bbar)
        bbar, abar = magnitude(B_bar), magnitude(A_bar)
        abar, bbar, c_target = level_abar(abar, bbar, c, peak(a), loss.abar_level)  # c_target: R3's
        abar_r, bbar_r = abar, bbar  # what R3/R4 take apart: ā itself, or with the voice at a random gain
        if need["g_abar"] and tuple(loss.voice_gain_db) != (0.0, 0.0):
            B_gain = random_gains(A.shape[0], loss.voice_gain_db, A) * B_bar
            abar_r, bbar_r, c_target = level_abar(magnitude(B_gain + C), magnitude(B_gain), c, peak(a),
                                                  loss.abar_level)
        if need["g_abar"]:
            second["abar"] = abar_r
    # the second pass sees g(a) and ā on a's scale (the authors') or each on its own
    peaks = [peak(a)] * len(second) if loss.second_pass_as_is else None
    out = dict(zip(second, batched(g, *second.values(), peaks=peaks))) if second else {}
    if need["R2"]:
        terms["R2"] = R2(out["g_a"], g_a, power, rs)
    if need["R3"]:
        terms["R3"] = R3(out["abar"], c_target, power, rs)
    if need["R4"]:
        terms["R4"] = R4(abar_r, out["abar"], bbar_r, power, rs)
    with frozen(d_A, d_C):
        if need["GAN_A"]:
            terms["GAN_A"] = GAN_A(d_A, abar)
        if need["GAN_C"]:
            terms["GAN_C"] = GAN_C(d_C, g_a)
    total = sum(w[t] * v for t, v in terms.items()) if terms else 0.0
    total = total + (g_a * 0).sum()  # a graph to g even when no active term depends on it (backward works)
    log.update({t: float(v.item()) for t, v in terms.items()})
    log["mask_a"] = float(mask_a.detach().mean().item())
    log["vocal_fraction"] = vocal_fraction(a, g_a)
    log["G_total"] = float(total.item())
    return total, log


def discriminator_losses(g, d_A, d_C, A: torch.Tensor, C: torch.Tensor, A_real: torch.Tensor,
                         loss: LossConfig) -> tuple[torch.Tensor, dict[str, float]]:
    """One discriminator step's loss: ``d_C`` tells real instrumentals ``c`` from ``g(a)``; ``d_A`` tells real
    mixtures from synthetic ones ``ā``. ``A_real`` is a batch of real mixtures other than ``A``. Fakes are made
    without gradient to ``g``; each discriminator scores its real and fake batches in one call. A
    discriminator whose GAN term is off is not trained. With ``loss.d_anchor > 0`` each also scores fakes that
    need no ``g`` — ``d_C`` the real mixtures, ``d_A`` the real instrumentals — weighted by it and logged apart
    (``D_C_anchor``, ``D_A_anchor``), so that ``D_C`` and ``D_A`` stay the paper's losses. With
    ``loss.d_C_real_through_g`` ``d_C``'s real examples are ``g(c)`` instead of ``c``. ``ā``'s level follows
    ``loss.abar_level`` as in ``g``'s step. With ``loss.d_loss_gan_weights`` (the authors') each
    discriminator's loss, its anchor included, is multiplied by its GAN term's weight (``D_C`` by GAN_C's,
    ``D_A`` by GAN_A's) in the total; the logged ``D_C`` and ``D_A`` stay unweighted. ``A_real`` may be ``A``
    itself: the authors' ``d_A`` sees as real the very mixtures that built ``ā`` (``TrainConfig.shared_batch``)."""
    w = loss.weights()
    if getattr(d_C, "sees_level", False):
        A, C, A_real = unit_peak(A, C, A_real)
    with torch.no_grad():
        a, c = magnitude(A), magnitude(C)
        mask_a = g.mask(a)
        g_a = mask_a * a
        c_real = g.mask(c) * c if loss.d_C_real_through_g else c  # d_C's real side
        if tuple(loss.d_C_real_gain_db) != (0.0, 0.0):  # at random levels: d_C cannot ask g(a) for one
            c_real = random_gains(c.shape[0], loss.d_C_real_gain_db, c) * c_real
        abar = None
        if w["GAN_A"] > 0:
            B_bar, A_bar = synthetic_mixture(A, mask_a, C)
            abar = level_abar(magnitude(A_bar), magnitude(B_bar), c, peak(a), loss.abar_level)[0]
    parts: dict[str, torch.Tensor] = {}
    anchor = loss.d_anchor
    a_real = magnitude(A_real)
    if w["GAN_C"] > 0:  # with an anchor, the real mixtures are d_C's fakes too: a mixture is not an instrumental
        scores = batched(d_C, c_real, g_a, *([a_real] if anchor else []))
        parts["D_C"] = lsgan_discriminator(*scores[:2])
        if anchor:
            parts["D_C_anchor"] = lsgan_fake(scores[2])
    if w["GAN_A"] > 0:  # and the real instrumentals are d_A's: an instrumental is not a mixture
        scores = batched(d_A, a_real, abar, *([c] if anchor else []))
        parts["D_A"] = lsgan_discriminator(*scores[:2])
        if anchor:
            parts["D_A_anchor"] = lsgan_fake(scores[2])
    gan = {"D_C": w["GAN_C"], "D_A": w["GAN_A"]} if loss.d_loss_gan_weights else {"D_C": 1.0, "D_A": 1.0}
    total = (sum(gan[k[:3]] * (anchor if k.endswith("_anchor") else 1.0) * v for k, v in parts.items())
             if parts else None)
    return total, {k: float(v.item()) for k, v in parts.items()}


def supervised_loss(g, A: torch.Tensor, C: torch.Tensor, power: float) -> tuple[torch.Tensor, dict[str, float]]:
    """The supervised baseline's loss: ``‖g(a) − c‖₁`` where ``c`` is the *true* accompaniment of ``a``."""
    a, c = magnitude(A), magnitude(C)
    mask_a = g.mask(a)
    g_a = mask_a * a
    total = l1(g_a, c, power)
    log = {"supervised": float(total.item()), "mask_a": float(mask_a.detach().mean().item()),
           "vocal_fraction": vocal_fraction(a, g_a),
           "G_total": float(total.item())}
    return total, log
