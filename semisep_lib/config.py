"""One configuration object, with presets.

A :class:`Config` groups five small dataclasses (spectral front end, networks, loss weights, training,
separation). Presets:

* ``paper`` — the authors' settings (20480 Hz, n_fft 512, hop 64, 256×256 images, 64-channel ``g``, weights
  20/20/20/20/10/10, Adam 1e-4, batch 1), for a GPU and full MUSDB18 / DSD100.
* ``cpu`` — small enough to learn something in minutes on two CPU cores: 16 kHz, n_fft 512, hop 128 (the same
  256 frequency bins as the paper, 8 ms hop instead of 3 ms), half-second segments, an 8-channel ``g``, and the
  stabilising choices found on toy songs (discriminator warm-up, a faster discriminator, a mask that starts
  near identity, GAN weight above the reconstruction weights).
* ``smoke`` — ``cpu`` shrunk further so that a whole pipeline runs in seconds (tests, CI).

Every run writes its resolved config as YAML next to its checkpoints; ``Config.load`` reads one back.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import UsageError

#: The six terms of the paper, in the paper's order.
TERMS = ("R1", "R2", "R3", "R4", "GAN_A", "GAN_C")


@dataclass
class SpectralConfig:
    """STFT front end. The top (Nyquist) bin is dropped for the networks, so they see ``n_fft // 2`` bins."""

    sample_rate: int = 16000
    n_fft: int = 512
    hop: int = 128
    segment_frames: int = 64  # frames per training example (0.5 s in the cpu preset)
    compress: float = 0.3  # power-law compression of magnitudes for network inputs and losses
    mono: bool = True  # the authors train and separate one channel at a time

    @property
    def bins(self) -> int:
        """Frequency bins seen by the networks (Nyquist bin dropped)."""
        return self.n_fft // 2

    @property
    def segment_samples(self) -> int:
        """Samples in one training segment; a centred STFT of this many samples has ``segment_frames`` frames."""
        return self.hop * (self.segment_frames - 1)


@dataclass
class ModelConfig:
    """Sizes of ``g`` (encoder–decoder masking network) and of ``d_A``/``d_C`` (multi-scale PatchGANs)."""

    g_channels: int = 8  # width of the first layer; doubles at each downsampling
    g_down: int = 2  # stride-2 downsamplings (and as many upsamplings)
    g_res_blocks: int = 3  # residual blocks at the bottleneck (authors: 8)
    g_up_kernel: int = 3  # kernel of the decoder's convolutions (authors: 5)
    g_mask_bias: float = 3.0  # initial bias of the mask logit: sigmoid(3) ≈ 0.95, g starts near identity
    d_channels: int = 16
    d_layers: int = 4  # stride-2 convolutions per scale (authors: 4)
    d_scales: int = 3  # scales, average-pooled by 2 between them (authors: 3)


@dataclass
class LossConfig:
    """Weights of the six terms (0 switches a term off) and whether ``b̄`` is detached in R3/R4/GAN_A."""

    R1: float = 1.0
    R2: float = 1.0
    R3: float = 1.0
    R4: float = 1.0
    GAN_A: float = 3.0
    GAN_C: float = 3.0
    detach_bbar: bool = False  # the authors detach nothing

    def weights(self) -> dict[str, float]:
        """The six weights by name."""
        return {t: float(getattr(self, t)) for t in TERMS}

    def without(self, terms: list[str] | tuple[str, ...]) -> "LossConfig":
        """A copy with the named terms switched off (weight 0)."""
        bad = [t for t in terms if t not in TERMS]
        if bad:
            raise UsageError(f"Unknown loss term(s) {', '.join(bad)}; choose from {', '.join(TERMS)}.")
        return dataclasses.replace(self, **{t: 0.0 for t in terms})


@dataclass
class TrainConfig:
    """Optimisation: Adam for ``g`` and for the discriminators, step decay, schedule and bookkeeping."""

    steps: int = 3000
    batch_size: int = 8
    lr_g: float = 2e-4
    lr_d: float = 1e-3
    betas: tuple[float, float] = (0.5, 0.999)
    weight_decay: float = 1e-4
    lr_decay_every: int = 100_000  # halve both learning rates every this many steps
    lr_decay_gamma: float = 0.5
    d_steps: int = 2  # discriminator steps per generator step
    d_warmup: int = 800  # discriminator-only steps before g is trained at all
    val_every: int = 250
    ckpt_every: int = 250
    val_segments: int = 32  # validation segments scored with the fast SDR
    seed: int = 0
    device: str = "auto"  # "auto" picks CUDA when present
    bf16: bool = False  # bf16 autocast on CUDA
    threads: int = 0  # torch CPU threads; 0 leaves torch's default


@dataclass
class SeparateConfig:
    """Whole-track separation: blocks with overlap and one of two mask post-processing families.

    ``mask_family="ours"``: the vocal mask is ``(1 − m)^p`` with ``p = mask_power`` — raising ``p`` keeps only
    bins ``g`` is sure are voice, so the vocals get *quieter* (more SIR, less SAR); smoothing is a moving average
    over ``smooth_frames`` frames along time. ``mask_family="authors"``: as the authors' ``test.py``, the
    *instrumental* mask is raised, ``m^q`` with ``q = mask_power`` (their 9, tuned on test), smoothed by a
    ``smooth_frames × smooth_frames`` mean over frequency and time (their 3×3), and the vocals are
    ``1 − m^q`` of the compressed magnitude image (``|X|^0.3``) — raising ``q`` makes the vocals *louder*.
    """

    mask_family: str = "ours"  # "ours": vocal mask (1 − m)^p; "authors": 1 − m^q in the compressed domain
    mask_power: float = 1.0  # p or q of the family above (authors: q = 9, tuned on test; we tune on selection songs)
    smooth_frames: int = 1  # mask smoothing: frames along time (ours), or a k×k square (authors); 1 = none
    overlap: float = 0.5  # overlap between consecutive blocks


@dataclass
class Config:
    """Everything a run needs. ``preset`` names where it started from."""

    preset: str = "cpu"
    spectral: SpectralConfig = field(default_factory=SpectralConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    separate: SeparateConfig = field(default_factory=SeparateConfig)

    # -- construction -------------------------------------------------------------------------------------------
    @classmethod
    def from_preset(cls, name: str) -> "Config":
        """The named preset (``paper``, ``cpu`` or ``smoke``)."""
        if name not in PRESETS:
            raise UsageError(f"Unknown preset {name!r}; choose from {', '.join(PRESETS)}.")
        return PRESETS[name]()

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Config":
        """Build from a (possibly partial) nested dict, starting from its ``preset`` (default ``cpu``)."""
        cfg = cls.from_preset(d.get("preset", "cpu"))
        return cfg.updated(d)

    def updated(self, d: dict[str, Any]) -> "Config":
        """An independent copy (no section or value shared with ``self``) with the nested values of ``d``
        replacing ours; unknown keys raise :class:`UsageError`."""
        out = copy.deepcopy(self)
        for section, values in d.items():
            if section == "preset":
                out.preset = str(values)
                continue
            if section not in SECTIONS:
                raise UsageError(f"Unknown config section {section!r}; expected one of {', '.join(SECTIONS)}.")
            if not isinstance(values, dict):
                raise UsageError(f"Config section {section!r} must be a mapping.")
            current = getattr(out, section)
            names = {f.name for f in dataclasses.fields(current)}
            unknown = set(values) - names
            if unknown:
                raise UsageError(f"Unknown key(s) {sorted(unknown)} in config section {section!r}.")
            fixed = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
            setattr(out, section, dataclasses.replace(current, **fixed))
        return out

    @classmethod
    def load(cls, path: str | Path) -> "Config":
        """Read a YAML file written by :meth:`save` (or written by hand, partially)."""
        return cls.from_dict(read_overrides(path))

    # -- output -------------------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Nested plain dict (tuples as lists), suitable for YAML and for checkpoints."""
        d = dataclasses.asdict(self)
        d["train"]["betas"] = list(d["train"]["betas"])
        return d

    def save(self, path: str | Path) -> None:
        """Write as YAML, atomically."""
        from .fileio import atomic_write_text

        atomic_write_text(path, yaml.safe_dump(self.to_dict(), sort_keys=False))

    def architecture(self) -> dict[str, Any]:
        """The values a checkpoint's weights depend on; loading checks them."""
        return {"spectral": {"n_fft": self.spectral.n_fft}, "model": dataclasses.asdict(self.model)}


def read_overrides(path: str | Path) -> dict[str, Any]:
    """The nested mapping in a YAML config file, with a clear error for a missing or malformed file."""
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"Config file {path} does not exist.")
    try:
        d = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise UsageError(f"Config file {path} is not valid YAML ({err}).") from None
    if not isinstance(d, dict):
        raise UsageError(f"Config file {path} must hold a mapping of sections.")
    return d


SECTIONS = ("spectral", "model", "loss", "train", "separate")


def _cpu() -> Config:
    return Config(preset="cpu")


def _smoke() -> Config:
    cfg = Config(preset="smoke")
    cfg.spectral = SpectralConfig(segment_frames=32)
    cfg.model = ModelConfig(g_channels=4, g_res_blocks=1, d_channels=8, d_layers=2, d_scales=1)
    cfg.train = TrainConfig(steps=30, batch_size=4, d_warmup=5, val_every=15, ckpt_every=15, val_segments=8,
                            threads=1)  # tiny tensors: one thread avoids OpenMP overhead and contention
    return cfg


def _paper() -> Config:
    return Config(
        preset="paper",
        spectral=SpectralConfig(sample_rate=20480, n_fft=512, hop=64, segment_frames=256),
        model=ModelConfig(g_channels=64, g_down=2, g_res_blocks=8, g_up_kernel=5, g_mask_bias=0.0,
                          d_channels=64, d_layers=4, d_scales=3),
        loss=LossConfig(R1=20, R2=20, R3=20, R4=20, GAN_A=10, GAN_C=10, detach_bbar=False),
        train=TrainConfig(steps=300_000, batch_size=1, lr_g=1e-4, lr_d=1e-4, weight_decay=1e-4,
                          lr_decay_every=100_000, d_steps=1, d_warmup=0, val_every=5000, ckpt_every=5000,
                          val_segments=256),
        separate=SeparateConfig(mask_family="authors", mask_power=9.0, smooth_frames=3, overlap=0.5),
    )


PRESETS = {"paper": _paper, "cpu": _cpu, "smoke": _smoke}
