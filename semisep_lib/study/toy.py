"""The built-in toy dataset: procedurally generated songs, so that everything runs without downloading MUSDB18.

Each song has four stems, as in MUSDB18:

* ``vocals`` — a sung melody: notes from the song's scale joined by glides (portamento), 5–6 Hz vibrato,
  harmonics shaped by three formants that move from vowel to vowel at each syllable, syllable envelopes with
  rests between phrases, breath noise, and short consonant noise bursts at syllable onsets;
* ``drums`` — kick (a sine whose pitch drops), snare (noise plus a tone) and hi-hat (high-passed noise) on a
  beat grid;
* ``bass`` — a plucked line on the chord roots;
* ``other`` — chords played by a few detuned saw / triangle voices, low-passed.

Key, mode, tempo, chord progression, timbres, levels and stereo panning change from song to song. Every song
is a function of ``(seed, index)`` only, and ``mixture = vocals + drums + bass + other`` holds *exactly* for the
files on disk (float32 sums, written as float WAV). Every stem lies on the 16-bit grid (whole multiples of
1/32768), as the stems of MUSDB18 do once decoded: so ``musdb``, which reads WAV as 16-bit integers, reads the
files exactly, and the references BSS Eval scores against carry the rounding's faint white floor, without which
museval's projection was ill-conditioned here too (``docs/decisions.md``, "Toy stems on the 16-bit grid").

Songs are laid out like MUSDB18-HQ (``train/<song>/{mixture,vocals,drums,bass,other}.wav``), so the same reader
serves both; ``valid.txt`` names the training songs held out for validation. The built-in set (:data:`DEFAULTS`)
is generated once into the cache by ``data.ensure_toy_dataset``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from scipy import signal

from ..audio import write_audio
from ..errors import UsageError

#: Stem names, in MUSDB18's order of files.
STEMS = ("vocals", "drums", "bass", "other")

#: Defaults of the built-in set used by ``--data toy``.
DEFAULTS = {"tracks": 12, "test_tracks": None, "seconds": 8.0, "seed": 0, "sample_rate": 44100}
#: Bump when the songs change for the same arguments (2: stems on the 16-bit grid); a cached set of another
#: version is generated anew.
VERSION = 2

#: Formant frequencies (F1, F2, F3) in Hz of five sung vowels.
VOWELS = np.array([
    [730.0, 1090.0, 2440.0],  # a
    [530.0, 1840.0, 2480.0],  # e
    [300.0, 2200.0, 2950.0],  # i
    [570.0, 840.0, 2410.0],  # o
    [330.0, 870.0, 2240.0],  # u
])
FORMANT_WIDTHS = np.array([90.0, 110.0, 160.0])
FORMANT_GAINS = np.array([1.0, 0.6, 0.35])

MAJOR = np.array([0, 2, 4, 5, 7, 9, 11])
MINOR = np.array([0, 2, 3, 5, 7, 8, 10])
PROGRESSIONS = {
    "major": [[0, 4, 5, 3], [0, 5, 3, 4], [0, 3, 4, 3], [5, 3, 0, 4]],
    "minor": [[0, 5, 2, 6], [0, 3, 4, 0], [0, 6, 5, 4], [0, 5, 3, 4]],
}
CONTROL_HOP = 64  # samples per control frame (envelopes, pitch and formant tracks)


# ---------------------------------------------------------------------------------------------------------------
# small signal helpers


def _midi_to_hz(m: np.ndarray | float) -> np.ndarray:
    return 440.0 * 2.0 ** ((np.asarray(m, dtype=np.float64) - 69.0) / 12.0)


def _smooth(x: np.ndarray, seconds: float, rate: float) -> np.ndarray:
    """One-pole low-pass of a control track ``(frames,)`` with time constant ``seconds``; starts settled."""
    a = 1.0 - np.exp(-1.0 / max(seconds * rate, 1e-9))
    y, _ = signal.lfilter([a], [1.0, a - 1.0], x, zi=[(1.0 - a) * x[0]])
    return y


def _upsample(control: np.ndarray, samples: int) -> np.ndarray:
    """Linear interpolation of a control track ``(frames,)`` to ``(samples,)``; frame f sits at sample f*hop.

    The track must cover the signal: ``frames * CONTROL_HOP >= samples``.
    """
    nxt = np.append(control[1:], control[-1])
    frac = (np.arange(CONTROL_HOP, dtype=np.float32) / CONTROL_HOP)[None, :]
    # (frames, 1) + (frames, 1) * (1, hop) -> (frames, hop) -> (frames * hop,) -> (samples,)
    return (control[:, None] + (nxt - control)[:, None] * frac).reshape(-1)[:samples]


def _filter(x: np.ndarray, kind: str, cutoff: float | list[float], rate: int, order: int = 2) -> np.ndarray:
    """Butterworth filter of ``x`` (last axis); cutoffs above 0.45 × ``rate`` are lowered to it."""
    edges = np.minimum(np.atleast_1d(np.asarray(cutoff, dtype=np.float64)), 0.45 * rate)
    if len(edges) == 2:
        edges[0] = min(edges[0], 0.5 * edges[1])
    sos = signal.butter(order, edges if len(edges) == 2 else edges[0], btype=kind, fs=rate, output="sos")
    return signal.sosfilt(sos, x).astype(np.float32)


def _pan(mono: np.ndarray, position: float) -> np.ndarray:
    """Equal-power pan of ``(samples,)`` to ``(2, samples)``; ``position`` −1 (left) … +1 (right)."""
    angle = (position + 1.0) * np.pi / 4.0
    return np.stack([np.cos(angle) * mono, np.sin(angle) * mono]).astype(np.float32)


def _saw(phase: np.ndarray, step: np.ndarray) -> np.ndarray:
    """Band-limited sawtooth (polyBLEP) from a phase in cycles ``(samples,)`` and its per-sample increment."""
    t = phase - np.floor(phase)
    y = 2.0 * t - 1.0
    dt = np.maximum(step, 1e-9)
    lo = t < dt  # just after the wrap
    x = t[lo] / dt[lo]
    y[lo] -= x + x - x * x - 1.0
    hi = t > 1.0 - dt  # just before the wrap
    x = (t[hi] - 1.0) / dt[hi]
    y[hi] -= x * x + x + x + 1.0
    return y


def _triangle(phase: np.ndarray) -> np.ndarray:
    return 2.0 * np.abs(2.0 * (phase % 1.0) - 1.0) - 1.0


def _note_envelope(n: int, starts: np.ndarray, ends: np.ndarray, attack: float, decay: float,
                   sustain: float, release: float) -> np.ndarray:
    """Envelope ``(n,)`` of non-overlapping notes ``[starts, ends)`` (samples): attack, decay to sustain, release.

    ``attack``, ``decay`` and ``release`` are in samples.
    """
    t = np.arange(n)
    idx = np.searchsorted(starts, t, side="right") - 1
    valid = idx >= 0
    idx = np.maximum(idx, 0)
    since = (t - starts[idx]).astype(np.float64)
    left = (ends[idx] - t).astype(np.float64)
    env = np.minimum(since / max(attack, 1.0), 1.0)
    env = env * (sustain + (1.0 - sustain) * np.exp(-since / max(decay, 1.0)))
    env = env * np.clip(left / max(release, 1.0), 0.0, 1.0)
    return np.where(valid, env, 0.0)


def _line(n: int, notes: list[tuple[int, int, float]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A monophonic line from ``(start, end, midi)`` notes: per-sample frequency ``(n,)``, starts and ends."""
    notes = sorted(notes)
    starts = np.array([s for s, _, _ in notes], dtype=np.int64)
    ends = np.array([e for _, e, _ in notes], dtype=np.int64)
    pitches = np.array([m for _, _, m in notes])
    idx = np.maximum(np.searchsorted(starts, np.arange(n), side="right") - 1, 0)
    return _midi_to_hz(pitches)[idx], starts, ends


# ---------------------------------------------------------------------------------------------------------------
# the four stems


def _song_plan(rng: np.random.Generator, seconds: float) -> dict:
    """Key, mode, tempo and chords of one song."""
    mode = "major" if rng.random() < 0.55 else "minor"
    progression = PROGRESSIONS[mode][rng.integers(len(PROGRESSIONS[mode]))]
    bpm = float(rng.uniform(84, 140))
    return {
        "key": int(rng.integers(12)),
        "mode": mode,
        "scale": MAJOR if mode == "major" else MINOR,
        "beat": 60.0 / bpm,
        "progression": progression,
        "bars": int(np.ceil(seconds / (4 * 60.0 / bpm))) + 1,
    }


def _degree_to_midi(plan: dict, degree: int, base: int) -> int:
    """MIDI note of a scale degree (0 = tonic, may be negative or above 6) in the octave starting at ``base``."""
    octave, step = divmod(int(degree), 7)
    return base + plan["key"] + 12 * octave + int(plan["scale"][step])


def _chord_root(plan: dict, seconds: float) -> float:
    """The scale degree of the chord sounding at time ``seconds``."""
    bar = int(seconds // (4 * plan["beat"]))
    return plan["progression"][bar % len(plan["progression"])]


def _vocals(rng: np.random.Generator, plan: dict, n: int, rate: int) -> np.ndarray:
    """A sung melody ``(2, n)``: pitch glides, vibrato, moving formants, syllables, breath and consonants."""
    eighth = plan["beat"] / 2
    ctrl_rate = rate / CONTROL_HOP
    frames = n // CONTROL_HOP + 2
    center = int(rng.choice([53, 58, 63]))  # low, middle or high voice
    formant_shift = {53: 0.92, 58: 1.0, 63: 1.1}[center] * rng.uniform(0.95, 1.05)
    tonic = center + (plan["key"] - center + 5) % 12 - 5  # the key's tonic within [center - 5, center + 6]
    base = tonic - plan["key"]

    # -- syllables: (start_s, end_s, scale degree, vowel) on an eighth-note grid, with rests between phrases
    syllables: list[tuple[float, float, int, int]] = []
    total = n / rate
    t = min(eighth * int(rng.integers(0, 4)), 0.2 * total)  # at least one syllable, however short
    degree = int(rng.choice([0, 2, 4]))
    phrase_left = int(rng.integers(6, 14))
    while t < total:
        if phrase_left <= 0:
            t += eighth * int(rng.integers(2, 6))  # breath between phrases
            phrase_left = int(rng.integers(6, 14))
            continue
        length = int(rng.choice([1, 1, 2, 2, 2, 3, 4]))
        previous = degree
        degree = int(np.clip(degree + rng.choice([-2, -1, -1, 1, 1, 2, 3, -3, 0]), -2, 7))
        if rng.random() < 0.5:  # pull towards a tone of the sounding chord, other than the last note
            root = _chord_root(plan, t)
            tones = [d for d in range(root - 7, root + 8)
                     if (d - root) % 7 in (0, 2, 4) and -2 <= d <= 7 and d != previous]
            degree = int(min(tones, key=lambda d: abs(d - degree)))
        legato = rng.random() < 0.4
        end = t + length * eighth * (1.0 if legato else rng.uniform(0.7, 0.92))
        syllables.append((t, end, degree, int(rng.integers(len(VOWELS)))))
        t += length * eighth
        phrase_left -= 1
    starts = np.array([int(s * ctrl_rate) for s, _, _, _ in syllables])
    ends = np.array([int(e * ctrl_rate) for _, e, _, _ in syllables])
    midis = np.array([_degree_to_midi(plan, d, base) for _, _, d, _ in syllables], dtype=np.float64)
    vowels = np.array([v for _, _, _, v in syllables])

    # -- control tracks (frames,): which syllable sounds, its pitch and formants
    f = np.arange(frames)
    idx = np.maximum(np.searchsorted(starts, f, side="right") - 1, 0)
    since = (f - starts[idx]) / ctrl_rate  # seconds since the syllable's onset
    left = (ends[idx] - f) / ctrl_rate  # seconds to its end
    sounding = (f >= starts[idx]) & (left > 0)

    glide = rng.uniform(0.03, 0.07)
    pitch = _smooth(midis[idx], glide, ctrl_rate)  # portamento between notes
    vib_rate = rng.uniform(5.0, 6.0)
    vib_depth = rng.uniform(0.25, 0.55)  # semitones
    vib_onset = np.clip((since - 0.15) / 0.3, 0.0, 1.0)  # vibrato grows after the onset
    vib_phase = 2 * np.pi * np.cumsum(vib_rate * (1 + 0.05 * _smooth(rng.standard_normal(frames), 0.3, ctrl_rate)))
    pitch = pitch + vib_depth * vib_onset * np.sin(vib_phase / ctrl_rate)
    pitch = pitch + 0.3 * _smooth(rng.standard_normal(frames), 0.2, ctrl_rate)  # slow drift
    f0 = _midi_to_hz(pitch)

    attack, release = rng.uniform(0.02, 0.05), rng.uniform(0.04, 0.09)
    amp = np.minimum(since / attack, 1.0) * np.clip(left / release, 0.0, 1.0) * sounding
    amp = amp * (1.0 + 0.15 * np.sin(np.pi * np.clip(since / 0.8, 0, 1)))  # a little swell on long notes
    amp = _smooth(amp, 0.008, ctrl_rate)
    formants = np.stack([_smooth(VOWELS[vowels[idx], j] * formant_shift, 0.04, ctrl_rate) for j in range(3)], 1)

    # -- voiced part: sum of harmonics k*f0, each weighted by the formant resonances at its frequency
    phase = 2 * np.pi * np.cumsum(_upsample(f0, n) / rate)
    sin1 = np.sin(phase).astype(np.float32)
    twocos = (2 * np.cos(phase)).astype(np.float32)
    tilt = rng.uniform(0.6, 1.1)
    harmonics = int(np.ceil(5500.0 / f0.min()))
    voiced = np.zeros(n, dtype=np.float32)
    s_prev, s_k = np.zeros(n, dtype=np.float32), sin1
    for k in range(1, harmonics + 1):
        fk = k * f0  # (frames,)
        # Lorentzian resonances: (frames, 3) -> (frames,)
        res = (FORMANT_GAINS / (1.0 + ((fk[:, None] - formants) / (FORMANT_WIDTHS / 2)) ** 2)).sum(1)
        gain = amp * (0.03 + res) * k ** -tilt * (fk < min(0.45 * rate, 6000.0))
        voiced += _upsample(gain.astype(np.float32), n) * s_k
        s_prev, s_k = s_k, twocos * s_k - s_prev  # sin((k+1)φ) = 2cos φ · sin(kφ) − sin((k−1)φ)

    # -- noise: breath under the voice, inhalations in rests, consonant bursts at syllable onsets
    breath = _filter(rng.standard_normal(n), "bandpass", [600.0, 4000.0], rate)
    breathy = rng.uniform(0.02, 0.08)
    nxt = np.minimum(np.searchsorted(starts, f, side="left"), len(starts) - 1)
    to_next = (starts[nxt] - f) / ctrl_rate  # seconds to the next onset
    inhale = (~sounding) & (to_next > 0.03) & (to_next < 0.3)  # a breath just before singing resumes
    noise_env = breathy * amp + 0.03 * _smooth(inhale.astype(np.float64), 0.05, ctrl_rate)
    fricative = _filter(rng.standard_normal(n), "highpass", rng.uniform(2500.0, 4500.0), rate)
    burst = np.zeros(frames)
    for s in starts[rng.random(len(starts)) < 0.6]:  # about 60% of syllables start with a consonant
        width = int(rng.uniform(0.015, 0.05) * ctrl_rate) + 1
        lo = max(s - width, 0)
        burst[lo:s] = np.maximum(burst[lo:s], rng.uniform(0.1, 0.3) * np.hanning(width + 2)[1:s - lo + 1])
    peak = np.abs(voiced).max() + 1e-9
    voice = voiced / peak + _upsample(noise_env.astype(np.float32), n) * breath / (breath.std() + 1e-9) * 0.3
    voice = voice + _upsample(burst.astype(np.float32), n) * fricative / (fricative.std() + 1e-9) * 0.3
    return _pan(voice.astype(np.float32), rng.uniform(-0.2, 0.2))


def _drums(rng: np.random.Generator, plan: dict, n: int, rate: int) -> np.ndarray:
    """Kick, snare and hi-hat on an eighth-note grid ``(2, n)``."""
    def one_shot(seconds: float) -> np.ndarray:
        return np.arange(int(seconds * rate)) / rate

    t = one_shot(0.4)
    f_hi, f_lo = rng.uniform(110, 180), rng.uniform(40, 60)
    kick_freq = f_lo + (f_hi - f_lo) * np.exp(-t / rng.uniform(0.02, 0.05))  # the pitch drops
    kick = np.sin(2 * np.pi * np.cumsum(kick_freq) / rate) * np.exp(-t / rng.uniform(0.1, 0.25))
    t = one_shot(0.3)
    snare_noise = _filter(rng.standard_normal(len(t)), "bandpass", [rng.uniform(800, 1500), 7000.0], rate)
    snare = (snare_noise / (snare_noise.std() + 1e-9) * 0.35 * np.exp(-t / rng.uniform(0.06, 0.14))
             + 0.6 * np.sin(2 * np.pi * rng.uniform(170, 230) * t) * np.exp(-t / 0.05))
    t = one_shot(0.12)
    hat_noise = _filter(rng.standard_normal(len(t)), "highpass", rng.uniform(6000, 9000), rate, order=4)
    hat = hat_noise / (hat_noise.std() + 1e-9) * 0.25 * np.exp(-t / rng.uniform(0.015, 0.04))

    eighth = plan["beat"] / 2
    parts = {"kick": np.zeros(n), "snare": np.zeros(n), "hat": np.zeros(n)}
    sixteenth_hats = rng.random() < 0.35
    start_bar = int(rng.random() < 0.25 and plan["bars"] > 3)  # sometimes the drums come in after one bar
    for bar in range(start_bar, plan["bars"]):
        kicks = {0, 4} | {e for e in (3, 5, 7) if rng.random() < 0.3}
        for e in range(8):
            for name, sample, hit, vel in (
                ("kick", kick, e in kicks, 1.0),
                ("snare", snare, e in (2, 6), 0.9),
                ("hat", hat, True, 0.9 if e % 2 == 0 else 0.6),
            ):
                if not hit:
                    continue
                offsets = (0.0, 0.5) if (name == "hat" and sixteenth_hats) else (0.0,)
                for off in offsets:
                    pos = int(((bar * 8 + e + off) * eighth + rng.normal(0, 0.004)) * rate)
                    if 0 <= pos < n:
                        seg = sample[: n - pos]
                        parts[name][pos:pos + len(seg)] += vel * rng.uniform(0.8, 1.0) * seg
    return (_pan(parts["kick"], 0.0) + _pan(parts["snare"], rng.uniform(-0.15, 0.15))
            + _pan(parts["hat"], rng.uniform(-0.5, 0.5)))


def _bass(rng: np.random.Generator, plan: dict, n: int, rate: int) -> np.ndarray:
    """A plucked bass line on the chord roots ``(2, n)``."""
    eighth = plan["beat"] / 2
    pattern = [[0, 4], [0, 2, 4, 6], [0, 3, 4, 7], list(range(8))][rng.integers(4)]
    base = 28 if plan["key"] >= 6 else 40  # keep the bass between E1 and F3
    notes = []
    for bar in range(plan["bars"]):
        root = plan["progression"][bar % len(plan["progression"])]
        for i, e in enumerate(pattern):
            degree = root + (4 if rng.random() < 0.15 else 0)  # now and then the fifth
            midi = _degree_to_midi(plan, degree, base) + (12 if rng.random() < 0.1 else 0)
            start = int((bar * 8 + e) * eighth * rate)
            gap = (pattern[i + 1] if i + 1 < len(pattern) else 8) - e  # eighths until the next note
            notes.append((start, start + int(gap * eighth * rate * rng.uniform(0.6, 1.0)), float(midi)))
    notes = [(s, min(e, n), m) for s, e, m in notes if s < n]
    for i in range(len(notes) - 1):  # no overlaps: a note stops where the next starts
        notes[i] = (notes[i][0], min(notes[i][1], notes[i + 1][0]), notes[i][2])
    freq, starts, ends = _line(n, notes)
    phase = np.cumsum(freq / rate)
    saw_mix = rng.uniform(0.2, 0.7)
    tone = (1 - saw_mix) * np.sin(2 * np.pi * phase) + saw_mix * _saw(phase, freq / rate)
    env = _note_envelope(n, starts, ends, 0.004 * rate, rng.uniform(0.15, 0.5) * rate, rng.uniform(0.3, 0.6),
                         0.02 * rate)
    bass = _filter(tone * env, "lowpass", rng.uniform(500, 1500), rate)
    return _pan(bass, rng.uniform(-0.1, 0.1))


def _other(rng: np.random.Generator, plan: dict, n: int, rate: int) -> np.ndarray:
    """Chords ``(2, n)``: three or four detuned saw / triangle voices, low-passed, panned apart."""
    bar_len = 4 * plan["beat"]
    timbre = rng.choice(["saw", "triangle", "pluck"])
    stabs = timbre == "pluck" or rng.random() < 0.4  # rhythmic stabs or held pads
    hits = [0, 2, 3, 5, 6] if stabs else [0]
    voices = int(rng.integers(3, 5))
    decay, attack = rng.uniform(0.1, 0.3), rng.uniform(0.05, 0.2)
    out = np.zeros((2, n), dtype=np.float32)
    for v in range(voices):
        notes = []
        for bar in range(plan["bars"]):
            root = plan["progression"][bar % len(plan["progression"])]
            degree = root + 2 * v  # stack thirds: root, third, fifth, seventh
            midi = _degree_to_midi(plan, degree, 48 + (12 if plan["key"] < 4 else 0))
            for i, e in enumerate(hits):
                start = int((bar * bar_len + e * plan["beat"] / 2) * rate)
                stop = int((bar * bar_len + (hits[i + 1] if i + 1 < len(hits) else 8) * plan["beat"] / 2) * rate)
                if start < n:
                    notes.append((start, min(stop, n), float(midi)))
        freq, starts, ends = _line(n, notes)
        tone = np.zeros(n)
        for cents in (-rng.uniform(4, 12), rng.uniform(4, 12)):  # two detuned oscillators per voice
            f = freq * 2 ** (cents / 1200)
            phase = np.cumsum(f / rate) + rng.random()
            tone += _triangle(phase) if timbre == "triangle" else _saw(phase, f / rate)
        if v == 0:  # every voice plays the same rhythm, hence the same envelope
            if stabs:
                env = _note_envelope(n, starts, ends, 0.005 * rate, decay * rate, 0.2, 0.03 * rate)
            else:
                env = _note_envelope(n, starts, ends, attack * rate, 0.5 * rate, 0.8, 0.08 * rate)
        out += _pan((tone * env).astype(np.float32), -0.7 + 1.4 * v / max(voices - 1, 1))
    return _filter(out, "lowpass", rng.uniform(1000, 3500), rate)


def make_song(seed: int, index: int, seconds: float = 8.0, sample_rate: int = 44100) -> dict[str, np.ndarray]:
    """One toy song, a function of ``(seed, index)`` only.

    Returns float32 arrays ``(2, samples)`` for ``vocals``, ``drums``, ``bass``, ``other`` and ``mixture``,
    where ``mixture`` is their float32 sum (exact: every stem is on the 16-bit grid) and every peak is below 1.
    """
    rng = np.random.default_rng([int(seed), int(index)])
    n = int(round(seconds * sample_rate))
    plan = _song_plan(rng, seconds)
    makers = {"vocals": _vocals, "drums": _drums, "bass": _bass, "other": _other}
    levels_db = {"vocals": (0.0, 3.0), "drums": (-3.0, 3.0), "bass": (-4.0, 3.0), "other": (-6.0, 3.0)}
    stems = {}
    for name in STEMS:
        x = makers[name](np.random.default_rng([int(seed), int(index), STEMS.index(name)]), plan, n, sample_rate)
        rms = float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) + 1e-9
        mean, spread = levels_db[name]
        stems[name] = x / rms * 10 ** (rng.uniform(mean - spread, mean + spread) / 20)
    # one gain for the whole song, so that mixture and every stem peak below 1
    mixture = sum(stems.values())
    peak = max(float(np.abs(mixture).max()), *(float(np.abs(s).max()) for s in stems.values()))
    gain = rng.uniform(0.5, 0.9) / peak
    out = {name: (np.round(stems[name] * gain * 32768) / 32768).astype(np.float32) for name in STEMS}  # 16-bit grid
    out["mixture"] = out["vocals"] + out["drums"] + out["bass"] + out["other"]  # float32 sum, exact on disk
    return out


# ---------------------------------------------------------------------------------------------------------------
# datasets on disk


def song_names(tracks: int, test_tracks: int | None) -> tuple[list[str], list[str], list[str]]:
    """Names of (train, test, valid) songs; valid ⊂ train is about a quarter of it, at least two."""
    test_tracks = max(4, tracks // 3) if test_tracks is None else test_tracks
    train = [f"toy-{i:03d}" for i in range(tracks)]
    test = [f"toy-{i:03d}" for i in range(tracks, tracks + test_tracks)]
    valid = train[-max(2, round(0.25 * tracks)):]
    return train, test, valid


def make_toy_dataset(dest: str | Path, tracks: int = 12, test_tracks: int | None = None, seconds: float = 8.0,
                     seed: int = 0, sample_rate: int = 44100) -> Path:
    """Write a toy dataset in MUSDB18-HQ's WAV layout; returns ``dest``.

    ``dest/train/<song>/{mixture,vocals,drums,bass,other}.wav`` for ``tracks`` songs (at least 4),
    ``dest/test/<song>/...`` for ``test_tracks`` songs (default ``max(4, tracks // 3)``), ``dest/valid.txt``
    naming the training songs held out for validation, and ``dest/toy.json`` recording the arguments.
    All files are stereo float WAV at ``sample_rate``.
    """
    if tracks < 4:
        raise UsageError(f"The toy set needs at least 4 training tracks, got {tracks}.")
    if test_tracks is not None and test_tracks < 1:
        raise UsageError(f"The toy set needs at least 1 test track, got {test_tracks}.")
    if not seconds >= 0.5:
        raise UsageError(f"Toy songs must last at least 0.5 seconds, got {seconds}.")
    if sample_rate < 8000:
        raise UsageError(f"The toy set's sample rate must be at least 8000 Hz, got {sample_rate}.")
    dest = Path(dest)
    train, test, valid = song_names(tracks, test_tracks)
    for subset, names in (("train", train), ("test", test)):
        for name in names:
            song = make_song(seed, int(name.split("-")[1]), seconds, sample_rate)
            for stem, audio in song.items():
                write_audio(dest / subset / name / f"{stem}.wav", audio, sample_rate)
    (dest / "valid.txt").write_text("\n".join(valid) + "\n")
    params = {"tracks": tracks, "test_tracks": len(test), "seconds": seconds, "seed": seed,
              "sample_rate": sample_rate, "version": VERSION}
    (dest / "toy.json").write_text(json.dumps(params, indent=2) + "\n")
    return dest


def is_complete(root: Path) -> bool:
    """Whether ``root`` holds the default toy set (:data:`DEFAULTS`), every file present."""
    try:
        params = json.loads((root / "toy.json").read_text())
    except (OSError, ValueError):
        return False
    expected = dict(DEFAULTS, version=VERSION)
    train, test, _ = song_names(expected["tracks"], expected["test_tracks"])
    expected["test_tracks"] = len(test)
    if params != expected or not (root / "valid.txt").is_file():
        return False
    return all((root / subset / name / f"{stem}.wav").is_file()
               for subset, names in (("train", train), ("test", test))
               for name in names for stem in ("mixture",) + STEMS)
