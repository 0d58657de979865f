"""NES — "Neural separation of observed and unobserved distributions" (Hoshen, Halperin & Ephrat), the
semi-supervised baseline of the paper's Table 1, as its authors' code does it.

The idea: we observe instrumentals ``b`` (S_C) and mixtures ``y`` (S_A) but never the voice. Guess the voice of
each mixture, ``x̃ = 0.1·y``, and iterate::

    x̃_i = 0.1 · y_i                                   for every training mixture (patch)
    repeat `iterations` times (authors: 10):
        new Adam optimiser (weights carry over)
        for `epochs` epochs (authors: 25):
            pair every x̃ patch with an instrumental patch b, shuffled independently each epoch
            z = b + x̃;   loss = L1(mask(|z|)·|z|, |b|)    # the net learns to keep the instrumental
        x̃_i ← (1 − mask(|y_i|)) · y_i                     # re-estimate the voice of every mixture

Choices, and why:

* **Where b and x̃ are summed** (``NESConfig.mix_domain``). The authors add linear magnitudes,
  ``|z| = |b| + |x̃|`` (``"magnitude"``, used by the ``paper`` preset). The project's other presets sum
  complex spectrograms, ``z = B + X̃`` with ``X̃ = (1 − m)·Y`` carrying the mixture's phase (``"complex"``),
  because real mixtures superpose there, not in magnitude (see ``spectral``); the network then sees at
  training time the same kind of input it is applied to.
* **STFT.** The ``paper`` preset keeps the authors' 20480 Hz, n_fft 512, hop 204; the smaller presets leave
  ``sample_rate``/``n_fft``/``hop`` as ``None`` and take ``cfg.spectral``'s, so that NES and the paper's method
  see the same time–frequency grid. The Nyquist bin is dropped (256 bins instead of the authors' 257, so four
  stride-2 convolutions divide it evenly) and given its neighbour's mask back.
* **Network input**: each patch's magnitude divided by its maximum and compressed (``spectral.features``,
  power ``input_power``), so the mask does not depend on the loudness of a song; the mask multiplies the
  linear magnitude, and the loss is L1 on linear magnitudes, as the authors'.
* **Patches** of ``patch_frames`` frames cut without overlap from every song (the last one zero-padded);
  ``x̃`` is kept per patch. ``patches_per_epoch`` (``None`` = all mixture patches) is the budget knob.

The sizes and schedule are :class:`~semisep_lib.method.config.NESConfig`, the ``nes`` section of the resolved ``Config``
(each scale's in ``config.PRESETS``). Training is a pure function of the data, the configs and ``seed`` (on the
CPU: bit for bit).
"""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from ..errors import CheckpointError, TrainingError, UsageError
from ..fileio import atomic_write
from ..method.checkpoint import PROGRAM, pick_device
from ..method.config import Config, NESConfig, SpectralConfig
from ..method.segments import TrainingData
from ..method.separator import MonoSTFT, Separator, at_model_rate
from ..method.spectral import crop, features, resample, uncrop_mask

KIND = "nes"
VERSION = 1


class NESNet(nn.Module):
    """The authors' masking network: ``depth`` stride-2 4×4 convolutions (width, 2·width, … at most 8·width;
    BatchNorm after all but the first; LeakyReLU 0.2), as many stride-2 4×4 transposed convolutions back, and a
    sigmoid. ``(batch, F, T)`` magnitudes → ``(batch, F, T)`` mask; ``F`` and ``T`` divisible by ``2**depth``."""

    def __init__(self, width: int = 64, depth: int = 4, input_power: float = 0.3):
        super().__init__()
        self.power, self.down_factor = input_power, 2**depth
        chans = [1] + [width * 2 ** min(i, 3) for i in range(depth)]  # e.g. 1, 64, 128, 256, 512
        enc: list[nn.Module] = []
        for i in range(depth):
            enc.append(nn.Conv2d(chans[i], chans[i + 1], 4, stride=2, padding=1))
            if i > 0:
                enc.append(nn.BatchNorm2d(chans[i + 1]))
            enc.append(nn.LeakyReLU(0.2, inplace=True))
        dec: list[nn.Module] = []
        for i in range(depth, 0, -1):
            dec.append(nn.ConvTranspose2d(chans[i], chans[i - 1], 4, stride=2, padding=1))
            if i > 1:
                dec += [nn.BatchNorm2d(chans[i - 1]), nn.LeakyReLU(0.2, inplace=True)]
        self.net = nn.Sequential(*enc, *dec)

    def forward(self, mag: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.net(features(mag, self.power))).squeeze(1)


# ------------------------------------------------------------------------------------------------------------
# patches
# ------------------------------------------------------------------------------------------------------------
def _patches(spec: torch.Tensor, frames: int) -> torch.Tensor:
    """Complex ``(F, T)`` → ``(ceil(T / frames), F, frames)``, the last patch zero-padded."""
    F, T = spec.shape
    n = max(1, -(-T // frames))
    padded = torch.nn.functional.pad(spec, (0, n * frames - T))
    # (F, n·frames) → (F, n, frames) → (n, F, frames)
    return padded.reshape(F, n, frames).permute(1, 0, 2).contiguous()


def _unpatch(patches: torch.Tensor, T: int) -> torch.Tensor:
    """Inverse of :func:`_patches`: ``(n, F, frames)`` → ``(F, T)``."""
    n, F, frames = patches.shape
    return patches.permute(1, 0, 2).reshape(F, n * frames)[:, :T]


def _song_patches(songs: list[np.ndarray], stft: MonoSTFT, frames: int) -> torch.Tensor:
    """Cropped complex patches of every song, stacked: ``(patches, F, frames)``."""
    return torch.cat([_patches(crop(stft.forward(s)), frames) for s in songs if len(s)])


@torch.no_grad()
def _masks(net: NESNet, mags: torch.Tensor, batch: int) -> torch.Tensor:
    """The net's mask of ``(n, F, T)`` magnitudes, ``batch`` at a time, in eval mode."""
    was = net.training
    net.eval()
    out = torch.cat([net(mags[i:i + batch]) for i in range(0, len(mags), batch)]) if len(mags) else mags
    net.train(was)
    return out


def _order(rng: np.random.Generator, n: int, count: int) -> np.ndarray:
    """``count`` indices into ``range(n)``: fresh random permutations, concatenated as often as needed."""
    reps = -(-count // n)
    return np.concatenate([rng.permutation(n) for _ in range(reps)])[:count]


# ------------------------------------------------------------------------------------------------------------
# training
# ------------------------------------------------------------------------------------------------------------
def train_nes(td: TrainingData, cfg: Config, nes_cfg: NESConfig | None = None, seed: int = 0,
              progress: bool = True) -> "NESSeparator":
    """Train NES on ``td.mixtures`` (y) and ``td.instrumentals`` (b), mono at ``cfg.spectral.sample_rate``.

    Sizes and schedule: ``nes_cfg``, by default ``cfg.nes`` (the resolved config's, its preset's unless
    overridden). Returns an :class:`NESSeparator` whose ``history`` lists ``{"iteration", "epoch", "loss"}`` (mean
    L1 of each epoch). Deterministic from ``seed``.
    """
    nes_cfg = nes_cfg or cfg.nes
    nes_cfg.check()
    if not td.mixtures or not td.instrumentals:
        raise UsageError("NES needs at least one mixture song and one instrumental song.")
    spectral = nes_cfg.spectral_for(cfg)
    device = pick_device(nes_cfg.device)
    stft = MonoSTFT(spectral)

    def at_rate(songs: list[np.ndarray]) -> list[np.ndarray]:  # td is at the model rate; NES may use another
        return [resample(torch.from_numpy(np.asarray(s, np.float32)), cfg.spectral.sample_rate,
                         spectral.sample_rate).numpy() for s in songs]

    P = nes_cfg.patch_frames
    Y = _song_patches(at_rate(td.mixtures), stft, P).to(device)  # (n_mix, F, P) complex
    B = _song_patches(at_rate(td.instrumentals), stft, P).to(device)  # (n_inst, F, P) complex
    Y_mag, B_mag = Y.abs(), B.abs()
    X = nes_cfg.init_fraction * Y  # x̃, complex, mixture phase

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = NESNet(nes_cfg.width, nes_cfg.depth, nes_cfg.input_power).to(device)
    rng = np.random.default_rng(seed)
    per_epoch = nes_cfg.patches_per_epoch or len(Y)
    history: list[dict[str, Any]] = []
    total = nes_cfg.iterations * nes_cfg.epochs
    bar = tqdm(total=total, desc="NES", unit="epoch", disable=not progress)
    try:
        for it in range(nes_cfg.iterations):
            opt = torch.optim.Adam(net.parameters(), lr=nes_cfg.lr, betas=tuple(nes_cfg.betas))
            net.train()
            for ep in range(nes_cfg.epochs):
                xi, bi = _order(rng, len(X), per_epoch), _order(rng, len(B), per_epoch)  # independent shuffles
                losses = []
                for s in range(0, per_epoch, nes_cfg.batch_size):
                    x = torch.from_numpy(xi[s:s + nes_cfg.batch_size]).to(device)
                    b = torch.from_numpy(bi[s:s + nes_cfg.batch_size]).to(device)
                    if nes_cfg.mix_domain == "complex":
                        z = (X[x] + B[b]).abs()
                    else:
                        z = X[x].abs() + B_mag[b]
                    loss = (net(z) * z - B_mag[b]).abs().mean()
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    opt.step()
                    losses.append(loss.item())
                mean = float(np.mean(losses))
                if not np.isfinite(mean):
                    raise TrainingError(f"NES loss became {mean} at iteration {it + 1}, epoch {ep + 1}; "
                                        "try a lower learning rate.")
                history.append({"iteration": it + 1, "epoch": ep + 1, "loss": mean})
                bar.update(1)
                bar.set_postfix(it=it + 1, loss=f"{mean:.4f}", refresh=False)
            X = (1 - _masks(net, Y_mag, nes_cfg.batch_size)) * Y  # re-estimate the voice of every mixture
    finally:
        bar.close()
    return NESSeparator(net.eval(), nes_cfg, spectral, history, device)


# ------------------------------------------------------------------------------------------------------------
# separation and files
# ------------------------------------------------------------------------------------------------------------
class NESSeparator(Separator):
    """A trained NES network: vocals = ``(1 − mask(|X|))·X`` per channel, at NES's sample rate, the mask computed
    on non-overlapping patches of ``patch_frames`` frames as in training. ``device`` runs the network there."""

    name = "nes"

    def __init__(self, net: NESNet, nes_cfg: NESConfig, spectral: SpectralConfig,
                 history: list[dict[str, Any]] | None = None, device: str | torch.device = "cpu"):
        self.device = pick_device(str(device))
        self.net, self.nes_cfg, self.spectral = net.to(self.device).eval(), nes_cfg, spectral
        self.history = history or []
        self._stft = MonoSTFT(spectral)

    @torch.no_grad()
    def _mono(self, mix: np.ndarray) -> np.ndarray:
        S = self._stft.forward(mix)  # (F+1, T) complex
        patches = _patches(crop(S), self.nes_cfg.patch_frames)
        m = _unpatch(_masks(self.net, patches.abs().to(self.device), self.nes_cfg.batch_size).cpu(), S.shape[-1])
        return self._stft.inverse((1 - uncrop_mask(m)) * S, len(mix))

    def separate(self, audio: np.ndarray, rate: int) -> np.ndarray:
        return at_model_rate(self._mono, rate, self.spectral.sample_rate, audio)

    def state(self) -> dict[str, Any]:
        cfg = dataclasses.asdict(self.nes_cfg)
        cfg["betas"] = list(cfg["betas"])
        return {"program": PROGRAM, "kind": KIND, "version": VERSION, "nes_config": cfg,
                "spectral": {"sample_rate": self.spectral.sample_rate, "n_fft": self.spectral.n_fft,
                             "hop": self.spectral.hop},
                "state_dict": {k: v.cpu() for k, v in self.net.state_dict().items()}, "history": self.history}

    def save(self, path: str | Path) -> None:
        """State dict, configs and loss history in one torch file, written atomically."""
        buf = io.BytesIO()
        torch.save(self.state(), buf)
        atomic_write(path, lambda f: f.write(buf.getvalue()))

    @classmethod
    def load(cls, path: str | Path, device: str | torch.device = "cpu") -> "NESSeparator":
        """Read a file written by :meth:`save`; a missing or foreign file is a :class:`CheckpointError`."""
        path = Path(path)
        if not path.is_file():
            raise CheckpointError(f"NES checkpoint {path} does not exist.")
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as err:
            raise CheckpointError(f"{path} cannot be read as an NES checkpoint ({type(err).__name__}).") from None
        if not isinstance(state, dict) or state.get("kind") != KIND or state.get("version") != VERSION:
            raise CheckpointError(f"{path} is not a semisep NES checkpoint (version {VERSION}).")
        c = dict(state["nes_config"])
        c["betas"] = tuple(c["betas"])
        nes_cfg = NESConfig(**c)
        net = NESNet(nes_cfg.width, nes_cfg.depth, nes_cfg.input_power)
        try:
            net.load_state_dict(state["state_dict"])
        except RuntimeError:
            raise CheckpointError(f"NES checkpoint {path} does not match its own configuration.") from None
        return cls(net, nes_cfg, SpectralConfig(**state["spectral"]), state.get("history"), device)
