"""Whole-track separation: shapes, rates and channels kept, stems summing to the input, silent and bad inputs,
blocks and chunks assembled exactly, the mask exponent tuned on validation songs and stored in the run."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch

from conftest import ConstantMask, make_run, tones
from semisep_lib.audio import read_audio, write_audio
from semisep_lib.errors import UsageError
from semisep_lib.interfaces import cli
from semisep_lib.method import separate as sep_lib
from semisep_lib.method.config import Config
from semisep_lib.method.separate import (SIR_SDR_COST, MaskSeparator, load_separator, read_tuning, save_tuning,
                                  separate_file, tune_mask)
from semisep_lib.study.data import Song


def _with(cfg: Config, **separate) -> Config:
    """``cfg`` with other separation settings (``SeparateConfig`` fields), as a MaskSeparator takes them."""
    return cfg.updated({"separate": separate})


def test_separate_file_keeps_rate_channels_and_sums_to_input(separator, tmp_path):
    audio = tones(2, 22050, 2.5)
    write_audio(tmp_path / "song.wav", audio, 22050)
    info = separate_file(tmp_path / "song.wav", separator, tmp_path / "out")
    vocals, r1 = read_audio(info["vocals"])
    acc, r2 = read_audio(info["accompaniment"])
    assert r1 == r2 == 22050 and info["rate"] == 22050 and info["channels"] == 2
    assert vocals.shape == acc.shape == audio.shape
    assert np.abs(vocals + acc - audio).max() < 1e-2  # in fact exact to float32 rounding
    assert np.abs(vocals + acc - audio).max() < 1e-6
    assert 0 < info["vocal_energy_fraction"] < 1
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["song"]  # no temporary folders left
    assert sorted(p.name for p in (tmp_path / "out" / "song").iterdir()) == ["accompaniment.wav", "vocals.wav"]
    # separating again replaces the old stems, leaving nothing else behind
    write_audio(tmp_path / "song.wav", audio[:, :1000], 22050)
    separate_file(tmp_path / "song.wav", separator, tmp_path / "out")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["song"]
    assert sf.info(str(tmp_path / "out" / "song" / "vocals.wav")).frames == 1000


@pytest.mark.parametrize("channels, rate, seconds", [(1, 22050, 1.0), (3, 44100, 0.6), (2, 8000, 1.5),
                                                     (1, 96000, 0.4), (2, 44100, 0.0005)])
def test_any_channel_count_and_rate(separator, channels, rate, seconds):
    audio = tones(channels, rate, seconds)
    stems = separator.stems(audio, rate)
    assert stems["vocals"].shape == stems["accompaniment"].shape == audio.shape
    assert stems["vocals"].dtype == np.float32
    assert np.isfinite(stems["vocals"]).all()
    assert np.abs(stems["vocals"] + stems["accompaniment"] - audio).max() < 1e-6


def test_silent_input_gives_silent_stems(separator):
    stems = separator.stems(np.zeros((2, 20000), np.float32), 44100)
    for x in stems.values():
        assert np.isfinite(x).all() and np.abs(x).max() == 0


def test_blocks_chunks_power_and_smoothing_assemble_exactly():
    """With a constant mask m the vocals must be (1 − m^p)·x exactly, whatever the blocks and chunks."""
    cfg = Config.from_preset("smoke")  # 16 kHz: no resampling, so the only error is float rounding
    x = tones(2, 16000, 2.3)
    for power, smooth in ((1.0, 1), (2.0, 5)):
        sep = MaskSeparator(ConstantMask(0.5), _with(cfg, mask_power=power, smooth_frames=smooth, overlap=0.5),
                            chunk_seconds=0.5, crossfade_seconds=0.1)
        assert len(sep_lib._chunk_bounds(x.shape[1], 8000, 1600)) > 3  # several chunks and blocks
        np.testing.assert_allclose(sep.separate(x, 16000), 0.5**power * x, atol=2e-6)
    # resampled input: exact up to the band limit of the model rate (the tones are far below 8 kHz)
    sep = MaskSeparator(ConstantMask(0.25), cfg, chunk_seconds=0.5, crossfade_seconds=0.1)
    y = tones(1, 44100, 1.5, noise=0)
    err = np.abs(sep.separate(y, 44100) - 0.75 * y)[:, 2000:-2000]  # away from the signal's own edges
    assert err.max() < 0.01 * np.abs(y).max()


def test_chunk_bounds_cover_the_signal_with_fixed_overlaps():
    for n in (1, 999, 1000, 1001, 5000, 5432):
        bounds = sep_lib._chunk_bounds(n, 1000, 200)
        assert bounds[0][0] == 0 and bounds[-1][1] == n
        for (s0, e0), (s1, e1) in zip(bounds, bounds[1:]):
            assert e0 - s1 == 200 and e1 - s1 > 200


def test_default_model_without_pretrained(monkeypatch, tmp_path):
    monkeypatch.setattr(sep_lib, "PRETRAINED_DIR", tmp_path / "none")
    with pytest.raises(UsageError, match="no pretrained model"):
        sep_lib.default_model()


def test_tune_mask_searches_both_families_and_stores_the_sdr_choice(tmp_path):
    run = make_run(tmp_path / "run")
    cfg = Config.from_preset("smoke")
    # songs at the model rate, mono, as `tune-mask` loads the selection split
    voc, acc = tones(1, 16000, 2.0, seed=1), tones(1, 16000, 2.0, seed=2)[:, ::-1].copy()
    songs = [Song("a", 16000, voc + acc, voc, acc), Song("b", 16000, 0.5 * voc + acc, 0.5 * voc, acc)]
    g = load_separator(run).g
    by_sdr, by_sir, curve = tune_mask(g, cfg, songs, powers={"ours": (1, 3), "authors": (1, 9)})
    assert [(r["mask_family"], r["mask_power"]) for r in curve] == [("ours", 1), ("ours", 3), ("authors", 1),
                                                                   ("authors", 9)]
    best = max(curve, key=lambda r: r["SDR"])
    assert by_sdr == {k: best[k] for k in ("mask_family", "mask_power", "smooth_frames")}
    sir_ok = [r for r in curve if r["SDR"] >= best["SDR"] - SIR_SDR_COST]
    assert by_sir == {k: max(sir_ok, key=lambda r: r["SIR"])[k] for k in by_sdr}
    # the criterion, recomputed by hand for one candidate: museval's SDR is the fast SDR
    sep = MaskSeparator(g, _with(cfg, mask_power=3, mask_family="ours", smooth_frames=1))
    from semisep_lib.method.metrics import median_sdr

    by_hand = np.median([median_sdr(s.vocals.T, sep.separate(s.mixture, 16000).T, 16000) for s in songs])
    assert curve[1]["SDR"] == pytest.approx(by_hand, abs=1e-3)
    # museval's own SDR and SIR of every candidate: the same SDRs, and SIR exactly where it can be chosen
    from semisep_lib.method.metrics import median_sdr_sir

    for r in curve:
        sep = MaskSeparator(g, _with(cfg, **{k: r[k] for k in ("mask_power", "mask_family", "smooth_frames")}))
        full = [median_sdr_sir(s.vocals.T, s.accompaniment.T, sep.separate(s.mixture, 16000).T, 16000) for s in songs]
        assert r["SDR"] == pytest.approx(round(float(np.median([v[0] for v in full])), 4), abs=2e-4)
        if r["SDR"] >= best["SDR"] - SIR_SDR_COST:
            assert r["SIR"] == pytest.approx(round(float(np.median([v[1] for v in full])), 4), abs=2e-4)
        else:
            assert r["SIR"] is None

    path = save_tuning(run / "best.pt", by_sdr, by_sir, curve, {"data": "synthetic"})
    tuning = read_tuning(run)
    assert path == run / "separate.yaml" and tuning["separate"]["mask_power"] == by_sdr["mask_power"]
    assert tuning["tuning"]["curve"] == curve and tuning["tuning"]["favouring_sir"] == by_sir
    sep = load_separator(run)
    assert (sep.mask_family, sep.mask_power, sep.smooth_frames) == tuple(by_sdr.values())
    assert load_separator(run / "best.pt").mask_power == by_sdr["mask_power"]
    assert load_separator(run, separate={"mask_power": 0.5}).mask_power == 0.5  # above separate.yaml
    assert load_separator(run, separate={"mask_power": 0.5}).cfg.separate.mask_power == 0.5  # sep.cfg says so
    with pytest.raises(UsageError):
        tune_mask(g, cfg, songs, powers={"log": (1,)})


def test_cli_separates_and_rejects_non_audio_cleanly(run_dir, tmp_path, capsys):
    good = tmp_path / "good.wav"
    write_audio(good, tones(2, 22050, 0.5), 22050)
    bad = tmp_path / "notes.wav"
    bad.write_text("these are not audio samples\n" * 20)
    out = tmp_path / "out"
    # a bad file among good ones: a clear sentence, exit code 4, and nothing written
    rc = cli.main(["separate", str(good), str(bad), "--model", str(run_dir), "--out", str(out), "--device", "cpu"])
    err = capsys.readouterr().err
    assert rc == 4
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1 and "notes.wav" in err
    assert not out.exists() or not any(out.iterdir())
    # good files only: both stems, same shape and rate, summing to the input
    rc = cli.main(["separate", str(good), "--model", str(run_dir), "--out", str(out), "--device", "cpu",
                   "--mask-power", "2"])
    assert rc == 0, capsys.readouterr().err
    info = sf.info(str(out / "good" / "vocals.wav"))
    assert (info.samplerate, info.channels, info.frames) == (22050, 2, 11025)
    assert sorted(p.name for p in out.iterdir()) == ["good"]
    # --stereo picks how a stereo file is masked: mid differs from per-channel, both sum to the input
    per_channel = read_audio(out / "good" / "vocals.wav")[0]
    rc = cli.main(["separate", str(good), "--model", str(run_dir), "--out", str(out), "--device", "cpu",
                   "--mask-power", "2", "--stereo", "mid"])
    vocals, acc = (read_audio(out / "good" / f"{stem}.wav")[0] for stem in ("vocals", "accompaniment"))
    assert rc == 0 and not np.allclose(vocals, per_channel, atol=1e-4)
    assert np.abs(vocals + acc - read_audio(good)[0]).max() < 1e-4
    # no model and no pretrained one: a usage error, not a traceback
    rc = cli.main(["separate", str(good), "--out", str(out), "--model", str(tmp_path / "missing")])
    err = capsys.readouterr().err
    assert rc == 5 and "Traceback" not in err


def test_tune_mask_command_writes_the_run_settings(toy_root, tmp_path, capsys):
    run = make_run(tmp_path / "run")
    rc = cli.main(["tune-mask", "--model", str(run), "--data", "toy", "--root", str(toy_root), "--powers", "1", "9",
                   "--device", "cpu"])
    assert rc == 0, capsys.readouterr().err
    tuning = read_tuning(run)
    assert tuning["separate"]["mask_power"] in (1.0, 9.0)
    assert tuning["tuning"]["songs"] == ["toy-004"]  # the selection half of the validation songs (toy-005 reports)
    assert load_separator(run).mask_power == tuning["separate"]["mask_power"]


def test_block_batches_take_few_shapes_whatever_the_length():
    """Memory must not grow with the number of files: oneDNN caches a primitive per input shape, so the
    batches of blocks come in a fixed small set of sizes (full batches, then powers of two)."""
    from semisep_lib.method.separate import _batches

    for n in range(0, 300):
        b = _batches(n, 48)
        assert sum(s for _, s in b) == n and [i for i, _ in b] == list(np.cumsum([0] + [s for _, s in b])[:-1])
    sizes = {s for n in range(300) for _, s in _batches(n, 48)}
    assert sizes <= {48, 32, 16, 8, 4, 2, 1}
    cfg = Config.from_preset("smoke")
    seen = set()

    class Recorder(ConstantMask):
        def mask(self, mag):
            seen.add(tuple(mag.shape))
            return super().mask(mag)

    sep = MaskSeparator(Recorder(0.5), cfg, batch_blocks=8)
    for seconds in np.linspace(1.0, 6.0, 23):
        audio = np.random.default_rng(0).standard_normal((1, int(seconds * 16000))).astype(np.float32)
        sep.separate(audio, 16000)
    assert len({s[0] for s in seen if s[-1] == sep.block}) <= 4  # 8, 4, 2, 1


@pytest.mark.slow
def test_compile_is_an_opt_in_that_leaves_the_output_unchanged(run_dir):
    """``MaskSeparator(..., compile=True)`` (``semisep separate --compile``) runs g's mask through torch.compile: the
    same stems to float rounding, and the plain path stays the default."""
    audio = tones(2, 16000, 3.0)
    plain = load_separator(run_dir, device="cpu")
    compiled = load_separator(run_dir, device="cpu", compile=True)
    assert plain._compiled == plain.g.mask and compiled._compiled != compiled.g.mask
    assert np.abs(plain.separate(audio, 16000) - compiled.separate(audio, 16000)).max() < 1e-4


def test_a_mid_channel_mask_runs_g_once_and_serves_every_channel(run_dir):
    """``stereo="mid"``: ``g`` sees one channel, the mid one, whatever the input's channel count; on a signal
    whose channels are equal, that mask is each channel's own, so the output equals the per-channel one; on any
    input the stems still sum to it. ``stereo="channels"`` runs ``g`` on every channel."""
    per_channel = load_separator(run_dir, device="cpu", separate={"stereo": "channels"})
    mid = load_separator(run_dir, device="cpu", separate={"stereo": "mid"})
    seen = {}  # blocks g was given, per separator
    for sep in (per_channel, mid):
        mask = sep._mask
        sep._mask = lambda mag, peak=None, mask=mask, sep=sep: (
            seen.update({sep.stereo: seen.get(sep.stereo, 0) + len(mag)}), mask(mag, peak))[1]
    x = tones(1, 16000, 1.0)
    twin = np.concatenate([x, x])
    np.testing.assert_allclose(mid.separate(twin, 16000), per_channel.separate(twin, 16000), atol=1e-6)
    assert seen["channels"] == 2 * seen["mid"] > 0  # the mid channel's blocks alone
    y = tones(3, 16000, 1.0, seed=1)
    stems = mid.stems(y, 16000)
    assert np.abs(stems["vocals"] + stems["accompaniment"] - y).max() < 1e-6
    assert not np.allclose(stems["vocals"], per_channel.separate(y, 16000), atol=1e-4)  # a different mask
    with pytest.raises(UsageError, match="stereo"):
        load_separator(run_dir, device="cpu", separate={"stereo": "side"})


def test_bf16_separation_is_an_opt_in_close_to_fp32_and_needs_bf16_kernels(run_dir, monkeypatch):
    """``separate.bf16`` runs g's mask under bf16 autocast where the hardware has
    bf16 kernels: a mask within a few percent of fp32's, float32 out, the stems still summing to the input; on a
    CPU without them the request is ignored (fp32, the same stems as the default)."""
    from semisep_lib.method import separate as module

    audio = tones(2, 16000, 2.0)
    plain = load_separator(run_dir, device="cpu", separate={"bf16": False})
    assert Config().separate.bf16 is False and not plain.bf16
    monkeypatch.setattr(module, "bf16_available", lambda device: False)
    ignored = load_separator(run_dir, device="cpu", separate={"bf16": True})
    assert not ignored.bf16 and np.array_equal(ignored.separate(audio, 16000), plain.separate(audio, 16000))
    monkeypatch.setattr(module, "bf16_available", lambda device: True)
    half = load_separator(run_dir, device="cpu", separate={"bf16": True})
    mag = torch.rand(1, half.cfg.spectral.n_fft // 2, 64)
    m_plain, m_half = plain.raw_mask(mag), half.raw_mask(mag)
    assert half.bf16 and m_half.dtype == torch.float32 and not torch.equal(m_plain, m_half)
    assert (m_plain - m_half).abs().max() < 0.05


# -- the authors' test.py (SeparateConfig: block_scale, block_window, nyquist) ------------------------------------


class BlockMean(torch.nn.Module):
    """A stand-in for ``g`` whose mask is, on every block, the block's mean input; it keeps what it was given."""

    down_factor = 4

    def __init__(self):
        super().__init__()
        self.calls = []

    def mask(self, mag, peak=None):
        self.calls.append((mag.clone(), None if peak is None else peak.clone()))
        return mag.mean(dim=(1, 2), keepdim=True).expand_as(mag)


def test_flat_blocks_without_overlap_are_side_by_side_and_the_last_is_averaged_half_and_half():
    """GenerateMusic.stft_music: 80 frames in 32-frame blocks → blocks at 0 and 32 side by side, and a last one
    flush with the end (48..79), its first 16 frames averaged equally with the block before it."""
    cfg = _with(Config.from_preset("smoke"), overlap=0.0, block_window="flat")
    T = 80
    mag = (torch.arange(T, dtype=torch.float32) / 100).expand(1, 4, T).contiguous()  # frame t holds t / 100
    m0, m1, m2 = 0.155, 0.475, 0.635  # the means of frames 0..31, 32..63, 48..79, over 100
    expected = torch.cat([torch.full((32,), m0), torch.full((16,), m1), torch.full((16,), (m1 + m2) / 2),
                          torch.full((16,), m2)])
    raw = MaskSeparator(BlockMean(), cfg).raw_mask(mag)
    assert torch.allclose(raw[0, 0], expected, atol=1e-6)
    # ours, the triangular window, weighs the overlap otherwise
    tri = MaskSeparator(BlockMean(), _with(cfg, block_window="triangle")).raw_mask(mag)
    assert not torch.allclose(tri[0, 0], expected, atol=1e-3)


def test_song_scale_feeds_every_block_the_songs_min_max_as_it_is():
    """block_scale="song": g sees (|X| − min) / (max − min) of the whole song, per channel, and no block is
    renormalised by its own peak (test.py: np.interp(stft_mag, (min, max), (0, 1)) once per channel)."""
    from semisep_lib.method.spectral import STFT, crop, magnitude

    cfg = _with(Config.from_preset("smoke"), overlap=0.0, block_window="flat", block_scale="song")
    x = tones(2, 16000, 1.3)  # the model's rate: no resampling
    x[1] *= 0.1  # a quieter second channel has its own scale
    g = BlockMean()
    MaskSeparator(g, cfg, chunk_seconds=60.0).separate(x, 16000)
    mag = magnitude(crop(STFT(cfg.spectral)(torch.from_numpy(x))))  # (2, F, T)
    low, high = mag.flatten(1).amin(1), mag.flatten(1).amax(1)
    blocks = torch.cat([b for b, _ in g.calls])  # every block g saw: (channel 0, channel 1) for each start
    peaks = torch.cat([p for _, p in g.calls])
    assert mag.shape[-1] > 2 * blocks.shape[-1] and blocks.shape[0] % 2 == 0  # several blocks per channel
    assert torch.allclose(peaks, (high - low).repeat(blocks.shape[0] // 2))
    B = blocks.shape[-1]
    for c in range(2):  # the first block of each channel: the song's magnitude less the channel's minimum
        assert torch.allclose(blocks[c], mag[c, :, :B] - low[c], atol=1e-6)
    # by default each block is divided by its own peak (no level passed to g)
    g = BlockMean()
    MaskSeparator(g, Config.from_preset("smoke")).separate(x, 16000)
    assert all(p is None for _, p in g.calls)


def test_nyquist_zero_leaves_the_top_bin_out_of_the_vocals():
    """mask_the_music appends a zero column: the vocals hold nothing at the Nyquist bin (16 kHz, no resampling)."""
    from semisep_lib.method.spectral import STFT

    cfg = _with(Config.from_preset("smoke"), nyquist="zero")
    x = tones(1, 16000, 0.7)
    stft = STFT(cfg.spectral)
    X = stft(torch.from_numpy(x))  # (1, F + 1, T)
    keep = torch.full(X.shape, 0.5)
    keep[:, -1] = 0
    expected = stft.inverse(X * keep, length=x.shape[1]).numpy()
    got = MaskSeparator(ConstantMask(0.5), cfg, chunk_seconds=60.0).separate(x, 16000)
    np.testing.assert_allclose(got, expected, atol=2e-6)
    assert np.abs(got - 0.5 * x).max() > 1e-4  # ours copies the mask: 0.5·x exactly


def test_the_authors_separation_runs_on_a_real_g_across_chunks(run_dir):
    """The paper preset's separation options together, on an untrained g, a stereo 44.1 kHz input cut into
    several chunks (the song's scale is taken over all of them): finite stems that sum to the input."""
    base = load_separator(run_dir, device="cpu")
    cfg = _with(base.cfg, **{k: v for k, v in vars(Config.from_preset("paper").separate).items()
                                if k in ("mask_family", "mask_power", "smooth_frames", "overlap", "block_scale",
                                         "block_window", "nyquist")})
    sep = MaskSeparator(base.g, cfg, chunk_seconds=0.5, crossfade_seconds=0.1)
    x = tones(2, 44100, 1.7)
    stems = sep.stems(x, 44100)
    assert np.isfinite(stems["vocals"]).all() and np.abs(stems["vocals"] + stems["accompaniment"] - x).max() < 1e-6
    assert not np.allclose(stems["vocals"], base.separate(x, 44100), atol=1e-4)
