"""One configuration object, and the one preset registry.

A :class:`Config` groups seven small dataclasses (spectral front end, networks, loss weights, training,
separation, and the sizes of the two baselines that learn from the same data: NES and NMF). :data:`PRESETS` is the
registry: a scale name gives its :class:`Preset` — the ``Config``, the ``reproduce`` profile and the notebook
profile — in one table. Scales:

* ``paper`` — the authors' settings (20480 Hz, n_fft 512, hop 64, 256×256 images, 64-channel ``g``, weights
  20/20/20/20/10/10, Adam 1e-4, batch 1), for a GPU and full MUSDB18 / DSD100.
* ``cpu`` — small enough to learn something in minutes on two CPU cores: 16 kHz, n_fft 512, hop 128 (the same
  256 frequency bins as the paper, 8 ms hop instead of 3 ms), half-second segments, an 8-channel ``g``, the
  stabilising choices found on toy songs (a discriminator warm-up, a mask that starts near identity, GAN weight
  above the reconstruction weights), and those of the recipe study on real songs (discriminators that see
  levels, an EMA of ``g``, and slower discriminators: lr 2e-4, one step per ``g`` step).
* ``smoke`` — ``cpu`` shrunk further so that a whole pipeline runs in seconds (tests, CI); it keeps the
  renormalising discriminators and no EMA (the cheaper step; the tests pin its numbers).

Every name a command or notebook accepts for a scale (``--preset``, ``--profile``, ``profile=``) is a key of
:data:`PRESETS`, and everything that depends on the scale reads it from there (:func:`preset`) — once, at the top:
below the command line a resolved ``Config`` is passed down, never a preset's name looked up again (a saved config
names its preset only so that :meth:`Config.from_dict` can fill what an older file lacks).

Every run writes its resolved config as YAML next to its checkpoints; ``Config.load`` reads one back.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import yaml

from ..errors import UsageError
from ..fileio import atomic_write_text

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
    mask_domain: str = "linear"  # "linear": the mask multiplies |X|; "compressed": it multiplies |X|^compress,
    # as in the authors' code — the same as the linear mask m^(1/compress)
    d_channels: int = 16
    d_layers: int = 4  # stride-2 convolutions per scale (authors: 4)
    d_scales: int = 3  # scales, average-pooled by 2 between them (authors: 3)
    d_sees_level: bool = False  # True: as the authors, inputs are scaled to unit peak once and d_A/d_C see
    # levels (g(a) keeps a's scale, so removing too much shows as a quieter instrumental); False: every
    # discriminator input is renormalised by its own peak, so a uniformly attenuated g(a) looks like c
    d_spectral_norm: bool = False  # not in the paper: every convolution of d_A/d_C spectrally normalised
    # (each layer at most 1-Lipschitz), so that a small change of g(a) cannot swing their scores far
    # -- four details of the authors' code (networks.py, utils.py) that the paper does not state --------------
    g_instance_norm: str = "affine"  # g's instance norms: "affine" (ours): a learnt per-channel scale and shift,
    # each example's own statistics, always; "running" (the authors'): no affine weights, running statistics
    # (momentum 0.1) kept in training and used after g.eval()
    g_layer_norm: str = "group"  # g's decoder norm: "group" (ours): GroupNorm(1, C), γ = 1, (x − μ)/√(σ² + ε);
    # "authors": their LayerNorm, γ ~ U(0, 1), (x − μ)/(s + ε) with the unbiased std s over (C, F, T), ε = 1e-5
    init: str = "pytorch"  # "pytorch" (ours): PyTorch's default initialisation; "authors": every convolution's
    # weight Kaiming-normal (fan_in, gain √2) in g and N(0, 0.02) in d_A/d_C, every bias 0 (then g_mask_bias)
    down_pad: str = "zero"  # padding of the stride-2 convolutions (g's encoder, every one of d_A/d_C):
    # "zero" (ours); "reflect" (the authors': then every padded convolution reflects)


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
    # not in the paper: the discriminators also learn from fakes that need no g and no clean voice — d_C that a
    # real mixture is not an instrumental, d_A that a real instrumental is not a mixture — with this weight
    # (0: the paper's discriminators). A guard against their forgetting the voice while they chase g
    # (experiments/discriminators).
    d_anchor: float = 0.0
    # not in the paper: d_C's real examples are g(c), instrumentals passed through g, instead of c — both sides
    # then carry g's mask, so that d_C cannot tell them apart by it and is left with the voice
    d_C_real_through_g: bool = False
    # -- details of the authors' code (trainer.py) that the paper does not state ---------------------------------
    recon_scale: float = 1.0  # R1–R4 are means of |difference| of compressed magnitudes on [0, 1], times this:
    # 1 (ours); 2 (the authors': trainer.recon_criterion compares images 2·x^0.3 − 1 in [−1, 1], so at the same
    # weights R1–R4 count twice as much against the GAN terms)
    second_pass_as_is: bool = False  # g's second pass (g(g(a)) in R2, g(ā) in R3/R4) divides its input by the
    # mixture a's peak, not by its own: True (the authors': gen_update feeds g(a) and ā to g as they are, on
    # images where a peaks at 1); False (ours): every input of g is divided by its own peak (spectral.features)
    d_loss_gan_weights: bool = False  # True (the authors': dis_update): D_C times the weight of GAN_C and D_A
    # times that of GAN_A (×10 each in the paper preset); False (ours): unweighted. Under Adam a constant factor
    # changes little but the relative pull of weight_decay (ten times weaker at ×10) and of Adam's ε
    abar_level: str = "free"  # the level of ā = b̄ + c. Every real mixture reaches d_A at unit peak, but ā's
    # peak is free, higher or lower: a level cue for d_A that the method does not intend. "free": as it comes;
    # "clamp" (the authors': scaled_sum clamps images to [0, 1]): ā's magnitude clipped at a's peak bin by bin,
    # R3/R4 keep c and b̄ as targets; "rescale" (ours, a fix for linear magnitudes): ā, b̄ and c scaled
    # together, example by example, so that ā peaks exactly where a does — superposition and R3/R4 kept
    # not in the paper: R3/R4's synthetic mixtures put the estimated voice at a random gain, ā = α·b̄ + c with
    # 20·log10(α) uniform in this range (dB, per example; GAN_A and d_A still see α = 1). (0, 0): the paper's ā.
    # A mixture set fixes how loud its voices are; this teaches g to take apart louder and quieter ones too
    voice_gain_db: tuple[float, float] = (0.0, 0.0)
    # not in the paper: d_C sees its real instrumentals at a random gain, 20·log10 uniform in this range (dB, per
    # example; (0, 0): at unit peak, the paper's). With levels seen, g(a) of a mixture whose voice is loud is much
    # quieter than any unit-peak instrumental, so d_C would push g to keep voice in it
    d_C_real_gain_db: tuple[float, float] = (0.0, 0.0)

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
    bf16: bool = False  # bf16 autocast on CUDA, or on a CPU with bf16 kernels (checkpoint.bf16_available); else fp32
    threads: int = 0  # torch CPU threads; 0 leaves torch's default
    ema_decay: float = 0.0  # > 0 (e.g. 0.999): validate and keep as best.pt an exponential moving average of g
    shared_batch: bool = False  # True (the authors': train.py passes one batch to dis_update and gen_update):
    # the discriminator step(s) and g's step of an iteration use the same mixtures and instrumentals, and d_A's
    # real examples are the very mixtures that built ā; False (ours): a fresh batch for every step and an
    # independent batch of real mixtures for d_A
    tensorboard: bool = False  # also log losses, validation scores and audio to RUN/tensorboard/


@dataclass
class SeparateConfig:
    """Whole-track separation: blocks with overlap and one of two mask post-processing families.

    ``mask_family="ours"``: the vocal mask is ``(1 − m)^p`` with ``p = mask_power`` — raising ``p`` keeps only
    bins ``g`` is sure are voice, so the vocals get *quieter* (more SIR, less SAR); smoothing is a moving average
    over ``smooth_frames`` frames along time. ``mask_family="authors"``: as the authors' ``test.py``, the
    *instrumental* mask (``g``'s sigmoid output ``σ``) is raised, ``σ^q`` with ``q = mask_power`` (their 9, tuned
    on test), smoothed as their ``cv2.bilateralFilter(·, 3, 10, 10)`` does (each bin with its four neighbours;
    on when ``smooth_frames > 1``), and the vocals are ``|X| · (1 − σ^q)`` on the *linear* magnitude — raising
    ``q`` makes the vocals *louder*.
    """

    mask_family: str = "ours"  # "ours": vocal mask (1 − m)^p; "authors": 1 − smooth(σ^q), on linear |X|
    mask_power: float = 1.0  # p or q of the family above (authors: q = 9, tuned on test; we tune on selection songs)
    smooth_frames: int = 1  # mask smoothing: frames along time (ours); authors: > 1 = their 3-wide filter; 1 = none
    overlap: float = 0.5  # overlap between consecutive blocks
    block_factor: int = 1  # blocks of segment_frames × this many frames (1: the length g was trained on)
    stereo: str = "channels"  # "channels": g masks each channel on its own (the authors'); "mid": one mask, from
    # the mid channel (L + R) / 2, applied to every channel — half of g's work on a stereo input
    bf16: bool = False  # g's mask in bf16 autocast where the hardware has bf16 kernels (checkpoint.bf16_available)
    # -- details of the authors' test.py (GenerateMusic) ---------------------------------------------------------
    block_scale: str = "block"  # what g's input is scaled by: "block" (ours, as in training): each block
    # divided by its own peak; "song" (the authors'): the whole song min–max scaled to [0, 1] once (each channel
    # on its own) and every block fed to g as it is
    block_window: str = "triangle"  # how overlapping blocks' masks are blended: "triangle" (ours): weighted by
    # a triangular window; "flat" (the authors'): plain averages — with overlap 0, blocks side by side and the
    # last one, flush with the end, averaged half and half with its neighbour where they overlap
    nyquist: str = "copy"  # the vocal mask at the Nyquist bin g never sees: "copy" (ours) the bin below's;
    # "zero" (the authors': mask_the_music appends a zero column)


@dataclass
class NESConfig:
    """Sizes and schedule of NES (``nes.train_nes``; the defaults are its authors'). ``None`` spectral fields mean
    "the model's" (``cfg.spectral``)."""

    iterations: int = 10  # re-estimations of x̃ (authors: 10)
    epochs: int = 25  # epochs per iteration (authors: 25)
    patches_per_epoch: int | None = None  # budget knob: None = every mixture patch once per epoch
    batch_size: int = 64
    lr: float = 1e-3
    betas: tuple[float, float] = (0.5, 0.999)
    width: int = 64  # channels of the first convolution; doubles per layer, at most 8×
    depth: int = 4  # stride-2 convolutions down (and as many transposed ones up)
    patch_frames: int = 64
    init_fraction: float = 0.1  # x̃ = 0.1·y at the start
    mix_domain: str = "complex"  # "complex" (z = B + X̃) or "magnitude" (|z| = |B| + |X̃|, the authors')
    input_power: float = 0.3  # compression of the normalised network input
    sample_rate: int | None = None
    n_fft: int | None = None
    hop: int | None = None
    device: str = "auto"

    def spectral_for(self, cfg: Config | None) -> SpectralConfig:
        """The STFT NES works with: ours where a field is ``None``."""
        base = cfg.spectral if cfg is not None else SpectralConfig()
        return SpectralConfig(sample_rate=self.sample_rate or base.sample_rate, n_fft=self.n_fft or base.n_fft,
                              hop=self.hop or base.hop)

    def check(self) -> None:
        if self.mix_domain not in ("complex", "magnitude"):
            raise UsageError(f"NES mix_domain must be 'complex' or 'magnitude', got {self.mix_domain!r}.")
        if self.patch_frames % 2**self.depth:
            raise UsageError(f"NES patch_frames ({self.patch_frames}) must be divisible by 2**depth "
                             f"({2**self.depth}).")
        if min(self.iterations, self.epochs, self.batch_size, self.width, self.depth) < 1:
            raise UsageError("NES iterations, epochs, batch_size, width and depth must be at least 1.")


@dataclass
class NMFConfig:
    """Sizes of the semi-supervised NMF baseline (``baselines.NMFBaseline``): instrumental and vocal atoms,
    fitting and separation iterations, the most frames the dictionary learns from, the mask's exponent."""

    n_inst: int = 32
    n_voc: int = 16
    fit_iter: int = 150
    sep_iter: int = 100
    max_frames: int = 8000
    mask_power: float = 1.0


@dataclass
class Config:
    """Everything a run needs. ``preset`` names where it started from. ``nes`` and ``nmf`` size the baselines fitted
    on the same data (``reproduce``, ``baselines``, the model card): they travel with the resolved ``Config``, so
    that no module below the command line looks the preset up again by its name."""

    preset: str = "cpu"
    spectral: SpectralConfig = field(default_factory=SpectralConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    separate: SeparateConfig = field(default_factory=SeparateConfig)
    nes: NESConfig = field(default_factory=NESConfig)
    nmf: NMFConfig = field(default_factory=NMFConfig)

    # -- construction -------------------------------------------------------------------------------------------
    @classmethod
    def from_preset(cls, name: str) -> "Config":
        """A fresh copy of the named preset's configuration (``smoke``, ``cpu`` or ``paper``)."""
        return preset(name).config()

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Config":
        """Build from a (possibly partial) nested dict, starting from its ``preset`` (default ``cpu``): a section
        the dict lacks (a file written before the ``nes`` and ``nmf`` sections existed) is that preset's."""
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
        d["nes"]["betas"] = list(d["nes"]["betas"])
        return d

    def save(self, path: str | Path) -> None:
        """Write as YAML, atomically."""
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


SECTIONS = ("spectral", "model", "loss", "train", "separate", "nes", "nmf")


# ---------------------------------------------------------------------------------------------------------------
# the preset registry: a scale name → everything that depends on the scale


def _cpu() -> Config:
    # discriminators that renormalise each input (a g(a) judged by shape cannot learn a level) and ā at a real
    # mixture's peak (no level cue): the level study; an EMA of g and slower discriminators: the recipe study
    # (docs/decisions.md, "Discriminators that renormalise each input", "ā at a real mixture's peak", "An EMA of g
    # and slower discriminators")
    cfg = Config(preset="cpu")
    cfg.model.d_sees_level = False
    cfg.loss.abar_level = "rescale"
    cfg.train.ema_decay = 0.999
    cfg.train.lr_d, cfg.train.d_steps = 2e-4, 1
    # separation in blocks 4x the training segment, without overlap: the fastest layout that scores as the old one
    # (docs/decisions.md, "Blocks four times the training segment, without overlap")
    cfg.separate.overlap, cfg.separate.block_factor = 0.0, 4
    # a stereo song: one mask from the mid channel for both channels, half of g's work at no cost in SDR
    # (docs/decisions.md, "One mask from the mid channel")
    cfg.separate.stereo = "mid"
    # bf16 autocast where the CPU has bf16 kernels (elsewhere fp32, checkpoint.bf16_available): faster, and scores
    # as fp32 (docs/decisions.md, "bf16 training", "bf16 separation")
    cfg.train.bf16 = True
    cfg.separate.bf16 = True
    # NES: 25 epochs of 256 patches whatever the number of songs, plus the re-estimation passes
    cfg.nes = NESConfig(iterations=5, epochs=5, patches_per_epoch=256, batch_size=32, width=8, patch_frames=64)
    return cfg


def _long() -> Config:
    # the recipe study's cpu preset under its own name, for the long ablation (its rows and checkpoints say "long"):
    # discriminators that see levels, ā as it comes — the recipe its rows were trained with (docs/decisions.md,
    # "The long preset and profile")
    cfg = _cpu()
    cfg.preset = "long"
    cfg.model.d_sees_level, cfg.loss.abar_level = True, "free"
    return cfg


def _smoke() -> Config:
    cfg = Config(preset="smoke")
    cfg.spectral = SpectralConfig(segment_frames=32)
    cfg.model = ModelConfig(g_channels=4, g_res_blocks=1, d_channels=8, d_layers=2, d_scales=1)
    cfg.train = TrainConfig(steps=30, batch_size=4, d_warmup=5, val_every=15, ckpt_every=15, val_segments=8,
                            threads=1)  # tiny tensors: one thread avoids OpenMP overhead and contention
    cfg.nes = NESConfig(iterations=2, epochs=3, patches_per_epoch=32, batch_size=8, width=4, patch_frames=32)
    return cfg


def _paper() -> Config:
    return Config(
        preset="paper",
        spectral=SpectralConfig(sample_rate=20480, n_fft=512, hop=64, segment_frames=256),
        model=ModelConfig(g_channels=64, g_down=2, g_res_blocks=8, g_up_kernel=5, g_mask_bias=0.0,
                          mask_domain="compressed", d_sees_level=True,
                          d_channels=64, d_layers=4, d_scales=3,
                          g_instance_norm="running", g_layer_norm="authors", init="authors", down_pad="reflect"),
        loss=LossConfig(R1=20, R2=20, R3=20, R4=20, GAN_A=10, GAN_C=10, detach_bbar=False,
                        recon_scale=2.0, second_pass_as_is=True, d_loss_gan_weights=True, abar_level="clamp"),
        train=TrainConfig(steps=300_000, batch_size=1, lr_g=1e-4, lr_d=1e-4, weight_decay=1e-4,
                          lr_decay_every=100_000, d_steps=1, d_warmup=0, val_every=5000, ckpt_every=5000,
                          val_segments=256, shared_batch=True),
        # the authors' test.py: one min–max scale per song, 256-frame blocks side by side (the last one flush
        # with the end, averaged with its neighbour), the Nyquist bin of the stems zeroed
        separate=SeparateConfig(mask_family="authors", mask_power=9.0, smooth_frames=3, overlap=0.0,
                                block_scale="song", block_window="flat", nyquist="zero"),
        # NES: the authors' sizes, STFT and magnitude-domain sums
        nes=NESConfig(sample_rate=20480, n_fft=512, hop=204, mix_domain="magnitude"),
    )


@dataclass(frozen=True)
class ReproduceProfile:
    """How big ``semisep reproduce --profile NAME`` is, beyond the scale's ``Config``."""

    steps: int | None = None  # training steps of every row, warm-up included (None: the config's)
    train_tracks: int | None = None  # None: all training songs
    eval_tracks: int | None = None  # None: all evaluation songs
    eval_seconds: float | None = None  # None: whole songs; else each evaluation song is cut to this length
    # (smoke: 4.5 s, not a whole number of 1 s windows: docs/decisions.md, "4.5 s evaluation excerpts")
    workers: int = 2  # museval processes
    threads: int = 0  # torch threads for the whole job (0: torch's default); tiny models run best on one
    row_processes: int = 1  # trained rows at once, each in its own process with ``threads`` threads
    # how every method is scored: "v4" (museval v4, 1 s windows, medians; the tables in OUT/) and, if listed,
    # "v3" (the paper's protocol: BSS Eval v3, 30 s windows — a whole 7 s excerpt is one — per-track means;
    # the tables in OUT/paper-protocol/)
    protocols: tuple = ("v4",)
    # score each trained row under every protocol as soon as it is trained (in its row process, one museval
    # process each), not after all rows, and the baselines beside the warm-up: a run spread over sessions then
    # leaves its ``scores*/`` files, from which alone it resumes, row by row, and no core waits for another;
    # its stages then count that scoring as training time
    score_as_trained: bool = False
    overrides: dict = field(default_factory=dict)  # config values on top of the scale's Config


@dataclass(frozen=True)
class NotebookProfile:
    """What the notebooks do at a scale: the training songs a session loads, its CPU threads, and the length of
    every training run a notebook starts (by run key, see ``notebooks.NOTEBOOK_RUNS``): ``g_steps`` after the
    discriminator warm-up (a run not named: the config's own schedule) and, for some runs, a shorter warm-up."""

    train_tracks: int | None = None  # None: all training songs
    threads: int = 0  # torch threads of a notebook on the CPU (0: torch's default)
    g_steps: dict = field(default_factory=dict)
    warmups: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Preset:
    """Everything that depends on a scale: its ``Config`` (the baselines' sizes included), and how big
    ``reproduce`` and the notebooks are at it."""

    config: Callable[[], Config]
    reproduce: ReproduceProfile
    notebook: NotebookProfile | None  # None: not a profile the notebooks run at


#: The registry. The notebook runs' ``g`` steps: notebook 04's terms, notebook 05's GAN, notebook 06's resume
#: demonstration (it stops after ``06-resume`` and continues to ``06-resume-longer``, both past a short warm-up).
PRESETS: dict[str, Preset] = {
    # seconds: tests and CI
    "smoke": Preset(
        config=_smoke,
        reproduce=ReproduceProfile(steps=20, train_tracks=6, eval_tracks=2, eval_seconds=4.5, workers=1,
                                   threads=1),
        notebook=NotebookProfile(train_tracks=8, threads=1,
                                 g_steps={"04-terms": 35, "05-gan": 25, "06-resume": 10, "06-resume-longer": 20},
                                 warmups={"06-resume": 5, "06-resume-longer": 5}),
    ),
    # minutes on two CPU cores. reproduce: a 500-step discriminator warm-up shared by all rows, then 150 g steps per
    # row (docs/decisions.md, "The cpu profile")
    "cpu": Preset(
        config=_cpu,
        # rows scored as they are trained, and the baselines beside the warm-up: both cores busy to the end, and
        # museval imported once per row process, not twice per method
        reproduce=ReproduceProfile(steps=650, threads=1, row_processes=2, score_as_trained=True,
                                   overrides={"train": {"d_warmup": 500, "val_every": 25, "ckpt_every": 50}}),
        notebook=NotebookProfile(g_steps={"04-terms": 400, "05-gan": 600, "06-resume": 10, "06-resume-longer": 20},
                                 warmups={"06-resume": 5, "06-resume-longer": 5}),
    ),
    # hours on two CPU cores: the ablation long enough to test the paper's claims (`reproduce --profile long
    # --data musdb --root ../shared/data/musdb18-7 --seeds 2`, resumable). The cpu preset's own
    # schedule (its 800-step warm-up), then 2,000 g steps per row, every row scored both ways (museval v4
    # medians, and the paper's BSS Eval v3 whole-excerpt per-track means). Not a notebook profile.
    "long": Preset(
        config=_long,
        reproduce=ReproduceProfile(steps=2800, threads=1, row_processes=2, protocols=("v4", "v3"),
                                   score_as_trained=True,
                                   overrides={"train": {"val_every": 250, "ckpt_every": 250}}),
        notebook=None,
    ),
    # the authors' settings: a GPU job on full MUSDB18 or DSD100
    "paper": Preset(
        config=_paper,
        reproduce=ReproduceProfile(workers=8),
        notebook=NotebookProfile(g_steps={"04-terms": 3000, "05-gan": 5000, "06-resume": 10,
                                          "06-resume-longer": 20},
                                 warmups={"06-resume": 0, "06-resume-longer": 0}),
    ),
}


def preset(name: str, what: str = "preset") -> Preset:
    """The registry's entry for ``name``; an unknown name is a :class:`UsageError` (``what`` names the
    argument in the message: ``preset`` or ``profile``)."""
    if name not in PRESETS:
        raise UsageError(f"Unknown {what} {name!r}; choose from {', '.join(PRESETS)}.")
    return PRESETS[name]
