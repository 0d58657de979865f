"""The data layer: songs from MUSDB18 / MUSDB18-HQ / DSD100 / the toy set, and the unmatched split.

* :func:`load_songs` reads a MUSDB18-style root — ``.stem.mp4`` files (MUSDB18) or one folder of WAV stems per
  song (MUSDB18-HQ, the converted DSD100, the toy set) — into :class:`Song` records, and caches the decoded
  audio, since decoding a stem file runs ffmpeg.
* :func:`unmatched_split` turns songs into the paper's two unmatched sets: ``S_A`` (mixtures) and ``S_C``
  (instrumentals) taken from *different* songs.
* :func:`resolve_data_root`, :func:`musdb_folder`, :func:`iter_songs`, :func:`evaluation_songs` (the test
  songs, else the report songs) and :func:`load_training_data` (into the method's
  :class:`~semisep_lib.method.segments.TrainingData`, whose segments training draws) give the commands
  their data; :func:`ensure_toy_dataset` generates the built-in toy set
  (``toy``) once, into the one cache root (:func:`cache_root`) that also holds the decoded songs.

Arrays are float32 ``(channels, samples)`` unless stated otherwise.

Why not ``musdb.DB`` for reading: it probes every file with ffprobe when listing (seconds for 94 previews) and
decodes WAV through ffmpeg as 16-bit integers, which would break the toy set's exact superposition. So the
layout is checked and listed here, musdb's own validation list gives the train/valid split, WAV stems are read
by soundfile, and ``.stem.mp4`` files are decoded by :func:`read_stem_file` exactly as ``musdb`` decodes them:
``stempeg`` asks ffmpeg for 16-bit integers, divided by 32768. The samples are then musdb's to the last bit
(``k / 32768`` is exact in float32, and so is a sum of three of them), so the references we score against are
the ones ``museval.eval_mus_track`` scores against — which matters for SIR, SAR and ISR
(:mod:`semisep_lib.study.evaluate`; ``docs/decisions.md``, "MUSDB18 stems decoded on musdb's 16-bit grid"). ``musdb``
is still what downloads the 7-second preview.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
import torchaudio.functional as AF
import yaml
from tqdm.auto import tqdm

from ..audio import read_audio
from ..errors import AudioError, DataError, UsageError
from ..fileio import atomic_write_bytes
from ..method.config import Config
from ..method.segments import TrainingData
from . import toy

SUBSETS = ("train", "test")
SPLITS = (None, "train", "valid", "select", "report")
SOURCES = ("vocals", "drums", "bass", "other")
ACCOMPANIMENT = ("drums", "bass", "other")
#: The files a WAV song folder may hold; ``accompaniment.wav`` stands in for drums + bass + other (two-stem sets)
WAV_STEMS = ("mixture",) + SOURCES + ("accompaniment",)
#: Where ``musdb.DB(download=True)`` puts the 7-second preview of MUSDB18.
MUSDB_PREVIEW_ROOT = Path("~/MUSDB18/MUSDB18-7").expanduser()
#: Bump when the cached arrays change meaning, so old cache files are ignored (2: stem files on musdb's 16-bit grid).
CACHE_VERSION = 2

_LAYOUT_HINT = ("expected MUSDB18 laid out as train/ and test/ folders holding .stem.mp4 files, or song "
                "folders with mixture.wav, vocals.wav, drums.wav, bass.wav and other.wav (MUSDB18-HQ; "
                "accompaniment.wav may replace the last three)")


@dataclass
class Song:
    """One song in memory. Arrays are float32 ``(channels, samples)`` at ``rate`` Hz.

    ``accompaniment`` is ``drums + bass + other`` (or a song folder's ``accompaniment.wav``). ``vocals`` /
    ``accompaniment`` are ``None`` where unknown (and in the mixture set of the unmatched split, which must never
    see them).
    """

    name: str
    rate: int
    mixture: np.ndarray
    vocals: np.ndarray | None = None
    accompaniment: np.ndarray | None = None

    @property
    def samples(self) -> int:
        """Length in samples."""
        return int(self.mixture.shape[-1])

    @property
    def seconds(self) -> float:
        """Length in seconds."""
        return self.samples / self.rate


# ---------------------------------------------------------------------------------------------------------------
# finding roots and tracks


def cache_root() -> Path:
    """``$SEMISEP_CACHE``, or ``~/.cache/semisep``: where decoded songs and the toy set are cached."""
    base = os.environ.get("SEMISEP_CACHE")
    return Path(base).expanduser() if base else Path.home() / ".cache" / "semisep"


def ensure_toy_dataset(cache_dir: str | Path | None = None) -> Path:
    """The built-in toy set (``toy.make_toy_dataset`` with ``toy.DEFAULTS``), generated once and cached.

    It lives in ``cache_dir`` (default ``cache_root()/toy``). An incomplete copy is regenerated; the new set is
    written to a temporary folder and renamed into place, so a killed generation leaves nothing half."""
    root = Path(cache_dir) if cache_dir is not None else cache_root() / "toy"
    if toy.is_complete(root):
        return root
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=root.parent, prefix=f".{root.name}-"))
    try:
        toy.make_toy_dataset(tmp, **toy.DEFAULTS)
        if root.exists():
            if toy.is_complete(root):  # another process finished first
                return root
            shutil.rmtree(root)
        os.rename(tmp, root)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return root


def resolve_root(root: str | Path | None = None) -> Path | None:
    """The dataset root: ``root`` if given, else ``$MUSDB_PATH``, else musdb's download folder of the
    7-second preview (``~/MUSDB18/MUSDB18-7``) if it exists, else ``None``."""
    if root is not None:
        return Path(root).expanduser()
    if os.environ.get("MUSDB_PATH"):
        return Path(os.environ["MUSDB_PATH"]).expanduser()
    return MUSDB_PREVIEW_ROOT if MUSDB_PREVIEW_ROOT.is_dir() else None


def _wav_tracks(folder: Path) -> list[str]:
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if (p / "mixture.wav").is_file())


def _stem_tracks(folder: Path) -> list[str]:
    if not folder.is_dir():
        return []
    return sorted(p.name[: -len(".stem.mp4")] for p in folder.iterdir()
                  if p.name.endswith(".stem.mp4") and p.is_file())


def detect_layout(root: str | Path) -> str:
    """``"wav"`` (MUSDB18-HQ style song folders) or ``"stems"`` (``.stem.mp4`` files) for a dataset root.

    Raises :class:`DataError` naming the root if it is missing, empty, or laid out some other way.
    """
    root = Path(root)
    if not root.exists():
        raise DataError(f"Dataset root {root} does not exist; pass the folder that holds train/ and test/ "
                        f"(with --root or MUSDB_PATH), or use the built-in toy set (--data toy).")
    if not root.is_dir():
        raise DataError(f"Dataset root {root} is a file, not a folder; {_LAYOUT_HINT}.")
    if not any((root / s).is_dir() for s in SUBSETS):
        if (root / "Mixtures").is_dir() and (root / "Sources").is_dir():
            raise DataError(f"Dataset root {root} is laid out like DSD100, not MUSDB18; convert it first with "
                            f"`semisep dsd100-to-musdb {root} DEST` and use DEST.")
        if not any(root.iterdir()):
            raise DataError(f"Dataset root {root} is empty; {_LAYOUT_HINT}.")
        raise DataError(f"Dataset root {root} has no train/ or test/ folder; {_LAYOUT_HINT}.")
    if any(_wav_tracks(root / s) for s in SUBSETS):
        return "wav"
    if any(_stem_tracks(root / s) for s in SUBSETS):
        return "stems"
    raise DataError(f"Dataset root {root} has no tracks in its train/ or test/ folder; {_LAYOUT_HINT}.")


def selection_report_split(names: Sequence[str]) -> tuple[list[str], list[str]]:
    """Split validation songs into two disjoint halves, by sorted name: even positions **select** (training's
    best checkpoint, the mask exponent, every hyper-parameter), odd positions **report** (the tables when the
    data has no test subset). Songs that choose never report."""
    names = sorted(names)
    return names[0::2], names[1::2]


def validation_names(root: str | Path) -> list[str]:
    """Training songs held out for validation: ``root/valid.txt`` if present (the toy set), else musdb's list."""
    listing = Path(root) / "valid.txt"
    if listing.is_file():
        return [line.strip() for line in listing.read_text().splitlines() if line.strip()]
    import musdb  # here, not at the top: musdb imports stempeg, which refuses to import without ffmpeg on PATH

    with open(Path(musdb.__file__).parent / "configs" / "mus.yaml") as f:
        return list(yaml.safe_load(f)["validation_tracks"])


def _check_subset_split(subset: str, split: str | None) -> None:
    if subset not in SUBSETS:
        raise UsageError(f"Unknown subset {subset!r}; choose 'train' or 'test'.")
    if split not in SPLITS:
        raise UsageError(f"Unknown split {split!r}; choose 'train', 'valid', 'select', 'report' or none.")
    if split is not None and subset != "train":
        raise UsageError(f"A {split!r} split applies to the 'train' subset only, not to {subset!r}.")


def list_tracks(root: str | Path, subset: str = "train", split: str | None = None) -> list[str]:
    """Names of the tracks of ``subset`` (and ``split`` of it), sorted; may be empty. Decodes nothing."""
    _check_subset_split(subset, split)
    root = Path(root)
    layout = detect_layout(root)
    names = (_wav_tracks if layout == "wav" else _stem_tracks)(root / subset)
    if split is not None:
        valid = set(validation_names(root))
        names = [n for n in names if (n in valid) == (split != "train")]
        if split in ("select", "report"):
            names = selection_report_split(names)[split == "report"]
    return names


def describe(root: str | Path) -> list[str]:
    """Lines saying what a dataset root holds: its layout, and the tracks of each subset and split."""
    root = Path(root)
    kind = "song folders of WAV stems" if detect_layout(root) == "wav" else ".stem.mp4 files"
    lines = [f"Dataset root {root} ({kind}):"]
    for subset in SUBSETS:
        line = f"  {subset}: {len(list_tracks(root, subset))} tracks"
        if subset == "train":
            line += (f" ({len(list_tracks(root, 'train', 'train'))} in the train split, "
                     f"{len(list_tracks(root, 'train', 'valid'))} in the valid split)")
        lines.append(line)
    return lines


# ---------------------------------------------------------------------------------------------------------------
# decoding and caching


def _source_files(root: Path, layout: str, subset: str, name: str) -> list[Path]:
    if layout == "stems":
        return [root / subset / f"{name}.stem.mp4"]
    folder = root / subset / name
    return [folder / f"{s}.wav" for s in WAV_STEMS if (folder / f"{s}.wav").exists()]


def _decode(root: Path, layout: str, subset: str, name: str) -> tuple[int, dict[str, np.ndarray]]:
    """Decode one track: its rate and float32 ``(channels, samples)`` arrays ``mixture`` (+ sources found)."""
    if layout == "wav":
        folder = root / subset / name
        arrays, rate = {}, None
        for stem in WAV_STEMS:
            if not (folder / f"{stem}.wav").exists():
                continue
            audio, r = read_audio(folder / f"{stem}.wav")
            if rate is not None and r != rate:
                raise DataError(f"Track {folder} mixes sample rates ({rate} Hz and {r} Hz in {stem}.wav).")
            rate, arrays[stem] = r, audio
        # stems of one song should have equal lengths; trim to the shortest if they differ by a few samples
        n = min(a.shape[1] for a in arrays.values())
        return int(rate), {k: v[:, :n] for k, v in arrays.items()}
    return read_stem_file(root / subset / f"{name}.stem.mp4")


#: The streams of a MUSDB18 ``.stem.mp4`` file, in order.
STEM_ORDER = ("mixture", "drums", "bass", "other", "vocals")


def read_stem_file(path: str | Path, grid: str = "int16") -> tuple[int, dict[str, np.ndarray]]:
    """Decode a MUSDB18 stem file: its rate and float32 ``(channels, samples)`` arrays of :data:`STEM_ORDER`.

    ``grid="int16"`` (always, but for the demonstration in notebook 07): as ``musdb`` decodes — ffmpeg's 16-bit
    integers divided by 32768, bit for bit the audio ``musdb.DB`` gives and ``museval.eval_mus_track`` scores
    against. ``grid="float"``: ffmpeg's 32-bit float decode of the AAC streams, which differs from it by at
    most half a 16-bit step (1.5e-5)."""
    import stempeg  # here, not at the top: it refuses to import without ffmpeg on PATH (WAV data needs none)

    if grid not in ("int16", "float"):
        raise UsageError(f"Unknown decoding grid {grid!r}; choose int16 or float.")
    path = Path(path)
    try:
        # (stems, samples, channels)
        stems, rate = stempeg.read_stems(str(path), dtype=np.float32, always_3d=True,
                                         ffmpeg_format="s16le" if grid == "int16" else "f32le")
    except Exception as err:  # stempeg raises whatever ffmpeg-python or ffprobe raised
        raise AudioError(f"Could not decode the stem file {path} ({type(err).__name__}: {err}).") from None
    if stems.shape[0] < 5 or stems.shape[1] == 0:
        raise AudioError(f"Stem file {path} holds {stems.shape[0]} streams of {stems.shape[1]} samples; "
                         f"expected 5 streams (mixture, drums, bass, other, vocals).")
    if not np.isfinite(stems).all():
        raise AudioError(f"Stem file {path} contains NaN or infinite samples.")
    return int(rate), {k: np.ascontiguousarray(stems[i].T) for i, k in enumerate(STEM_ORDER)}


def _to_song(name: str, rate: int, arrays: dict[str, np.ndarray], sample_rate: int | None, mono: bool) -> Song:
    """Build a :class:`Song`: sum the accompaniment, downmix to mono ``(1, samples)``, resample."""
    parts = {"mixture": arrays["mixture"], "vocals": arrays.get("vocals")}
    parts["accompaniment"] = arrays.get("accompaniment")
    if parts["accompaniment"] is None and all(k in arrays for k in ACCOMPANIMENT):
        parts["accompaniment"] = arrays["drums"] + arrays["bass"] + arrays["other"]
    out_rate = int(sample_rate or rate)
    for key, x in parts.items():
        if x is None:
            continue
        if mono:
            x = x.mean(axis=0, keepdims=True)  # (channels, samples) -> (1, samples)
        if out_rate != rate:
            x = AF.resample(torch.from_numpy(np.ascontiguousarray(x)), rate, out_rate).numpy()
        parts[key] = np.ascontiguousarray(x, dtype=np.float32)
    return Song(name=name, rate=out_rate, **parts)


def _cache_path(root: Path, layout: str, subset: str, name: str, sample_rate: int | None, mono: bool) -> Path:
    """``cache_root()/decoded/<name>-<hash>.npz``; the hash covers root, subset, name, rate, mono and the files."""
    files = _source_files(root, layout, subset, name)
    key = {
        "version": CACHE_VERSION,
        "root": str(root.resolve()),
        "subset": subset,
        "name": name,
        "sample_rate": sample_rate,
        "mono": bool(mono),
        "files": [[f.name, f.stat().st_size, f.stat().st_mtime_ns] for f in files],
    }
    digest = hashlib.sha1(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", name)[:60]
    return cache_root() / "decoded" / f"{slug}-{digest}.npz"


def _read_cache(path: Path, name: str) -> Song | None:
    try:
        with np.load(path) as z:
            return Song(name=name, rate=int(z["rate"]), mixture=z["mixture"],
                        vocals=z["vocals"] if "vocals" in z.files else None,
                        accompaniment=z["accompaniment"] if "accompaniment" in z.files else None)
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError):
        return None  # missing or damaged: decode again


def _write_cache(path: Path, song: Song) -> None:
    arrays = {"rate": np.int64(song.rate), "mixture": song.mixture}
    arrays.update({k: getattr(song, k) for k in ("vocals", "accompaniment") if getattr(song, k) is not None})
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    atomic_write_bytes(path, buffer.getvalue())


def _download_preview(root: Path) -> None:
    """Fetch the MUSDB18 7-second preview into ``root`` with musdb's downloader."""
    import musdb  # see validation_names

    try:
        musdb.DB(root=str(root), download=True, subsets=[])
    except (OSError, RuntimeError, zipfile.BadZipFile) as err:
        raise DataError(f"Could not download the MUSDB18 7-second preview into {root} ({err}); check the "
                        f"internet connection, or download it by hand and pass its folder with --root or "
                        f"MUSDB_PATH.") from None


def load_songs(root: str | Path | None = None, subset: str = "train", split: str | None = None,
               sample_rate: int | None = None, mono: bool = False, cache: bool = True, download: bool = False,
               tracks: Sequence[str] | None = None, limit: int | None = None) -> list[Song]:
    """Read the songs of ``subset`` (``"train"`` / ``"test"``) and ``split`` (``None`` / ``"train"`` /
    ``"valid"``, or one of its halves ``"select"`` / ``"report"``) of a MUSDB18-style root, sorted by name.

    ``root`` defaults to :func:`resolve_root`. ``sample_rate`` resamples (default: keep the file's rate),
    ``mono`` downmixes to ``(1, samples)``. ``tracks`` keeps only the named songs, ``limit`` the first few.
    Decoded songs are cached as ``.npz`` under :func:`cache_root` (``cache=False`` skips the cache).
    ``download=True`` fetches MUSDB18's 7-second preview first if the root has no ``train/`` folder.
    The train/valid split is musdb's, or the root's ``valid.txt`` where there is one (the toy set).
    """
    _check_subset_split(subset, split)
    resolved = resolve_root(root)
    if download:
        resolved = resolved or MUSDB_PREVIEW_ROOT
        if not (resolved / "train").is_dir():
            _download_preview(resolved)
    if resolved is None:
        raise DataError("No dataset root given; pass --root PATH, set MUSDB_PATH, or use the built-in toy set "
                        "(--data toy).")
    layout = detect_layout(resolved)
    names = list_tracks(resolved, subset, split)
    what = f"'{subset}' subset" + (f" ('{split}' split)" if split else "")
    if not names:
        raise DataError(f"Dataset root {resolved} has no tracks in its {what}; check the root, or ask for "
                        f"another subset or split.")
    if tracks is not None:
        missing = [t for t in tracks if t not in names]
        if missing:
            raise DataError(f"Track(s) {', '.join(missing)} not found in the {what} of {resolved}.")
        names = [n for n in names if n in set(tracks)]
    if limit is not None:
        names = names[: max(int(limit), 0)]
    songs = []
    for name in tqdm(names, desc=f"loading {subset}", unit="track", disable=len(names) < 8, leave=False):
        path = _cache_path(resolved, layout, subset, name, sample_rate, mono) if cache else None
        song = _read_cache(path, name) if path is not None and path.exists() else None
        if song is None:
            rate, arrays = _decode(resolved, layout, subset, name)
            song = _to_song(name, rate, arrays, sample_rate, mono)
            if path is not None:
                _write_cache(path, song)
        songs.append(song)
    return songs


def evaluation_songs(root: str | Path | None = None, limit: int | None = None,
                     **kwargs) -> tuple[list[Song], str]:
    """The songs every table reports on, and which they are: the test subset (``"test"``), or, when the data has
    none (the MUSDB18 7-second preview is a ``train/`` folder alone), the *report* half of the validation songs
    (``"report"``) — never the *selection* half, which chose checkpoints and post-processing. ``limit`` keeps
    the first few, ``kwargs`` as in :func:`load_songs`. ``reproduce``, the listening page and the notebooks all
    take their songs from here."""
    resolved = resolve_root(root)
    if resolved is not None and list_tracks(resolved, "test"):
        return load_songs(resolved, subset="test", limit=limit, **kwargs), "test"
    return load_songs(resolved, subset="train", split="report", limit=limit, **kwargs), "report"


# ---------------------------------------------------------------------------------------------------------------
# the unmatched split


def check_disjoint(mix_songs: Sequence[Song], inst_songs: Sequence[Song]) -> None:
    """Raise :class:`DataError` naming the songs that give both a mixture and an instrumental."""
    shared = sorted({s.name for s in mix_songs} & {s.name for s in inst_songs})
    if shared:
        raise DataError(f"The mixture set and the instrumental set share {len(shared)} song(s) "
                        f"({', '.join(shared)}); the unmatched split needs different songs on each side.")


def unmatched_split(songs: Sequence[Song], mode: str = "disjoint", seed: int = 0) -> tuple[list[Song], list[Song]]:
    """The paper's two unmatched sets, ``(S_A, S_C)``.

    ``S_A`` songs keep only their mixture (``vocals`` and ``accompaniment`` are ``None``: the method never sees
    them). ``S_C`` songs are instrumentals: their accompaniment, as both ``mixture`` and ``accompaniment``.

    * ``"disjoint"``: a seeded shuffle; the first half gives mixtures, the second half instrumentals, so no
      song appears on both sides (checked).
    * ``"authors"``: both sets from all songs, each in its own shuffled order (the authors' protocol, unpaired
      only by shuffling).
    """
    if mode not in ("disjoint", "authors"):
        raise UsageError(f"Unknown split mode {mode!r}; choose 'disjoint' or 'authors'.")
    without_acc = [s.name for s in songs if s.accompaniment is None]
    if without_acc:
        raise DataError(f"Song(s) {', '.join(without_acc)} have no instrumental stems to build the "
                        f"instrumental set from.")
    rng = np.random.default_rng(seed)
    if mode == "disjoint":
        if len(songs) < 2:
            raise DataError(f"The disjoint unmatched split needs at least 2 songs, got {len(songs)}.")
        order = [songs[i] for i in rng.permutation(len(songs))]
        half = len(order) // 2
        mix_from, inst_from = order[:half], order[half:]
    else:
        if not songs:
            raise DataError("The unmatched split needs at least 1 song, got none.")
        mix_from = [songs[i] for i in rng.permutation(len(songs))]
        inst_from = [songs[i] for i in rng.permutation(len(songs))]
    mixtures = [Song(s.name, s.rate, s.mixture) for s in mix_from]
    instrumentals = [Song(s.name, s.rate, s.accompaniment, None, s.accompaniment) for s in inst_from]
    if mode == "disjoint":
        check_disjoint(mixtures, instrumentals)
    return mixtures, instrumentals


# ---------------------------------------------------------------------------------------------------------------
# the data of the commands: roots, subsets, training data


def resolve_data_root(data: str, root: str | Path | None) -> Path:
    """``--data toy`` → the built-in toy set (made on first use); ``--data musdb`` → ``root`` or its defaults."""
    if data == "toy":
        if root:
            return Path(root)
        return ensure_toy_dataset()
    if data == "musdb":
        resolved = resolve_root(root)
        if resolved is None:
            raise UsageError("No MUSDB18 root given: pass --root PATH or set MUSDB_PATH.")
        return resolved
    raise UsageError(f"Unknown data {data!r}; choose toy or musdb.")


def musdb_folder(subset: str) -> tuple[str, str | None, str]:
    """``--musdb-subset`` → ``(musdb subset, split, folder name in the estimates layout)``. The validation
    songs belong to musdb's ``train`` subset, so their estimates go under ``train/`` as museval expects."""
    if subset == "test":
        return "test", None, "test"
    if subset in ("valid", "select", "report"):
        return "train", subset, "train"
    raise UsageError(f"Unknown MUSDB subset {subset!r}; choose test, valid, select or report.")


def iter_songs(root: str | Path, subset: str, split: str | None = None, **kwargs):
    """The songs of a dataset subset one at a time (only one in memory), at their original rate."""
    for name in list_tracks(root, subset, split):
        yield load_songs(root, subset, split, tracks=[name], **kwargs)[0]


def load_training_data(cfg: Config, root: str | Path, split_mode: str = "disjoint", seed: int = 0,
                       tracks: int | None = None) -> TrainingData:
    """Read the train split (mixtures from half the songs, instrumentals from the other half) and the validation
    split, mono at the model rate. ``tracks`` limits the number of training songs (tests, smoke runs)."""
    sr = cfg.spectral.sample_rate
    songs = load_songs(root, subset="train", split="train", sample_rate=sr, mono=True)
    if tracks:
        songs = songs[:tracks]
    # a root may have no validation songs (none on musdb's list, no valid.txt): train() then keeps the last weights
    valid = (load_songs(root, subset="train", split="select", sample_rate=sr, mono=True)
             if list_tracks(root, "train", "select") else [])
    mix_songs, inst_songs = unmatched_split(songs, mode=split_mode, seed=seed)
    flat = lambda x: np.ascontiguousarray(x.reshape(-1), dtype=np.float32)  # noqa: E731 - (1, n) → (n,)
    return TrainingData(
        mixtures=[flat(s.mixture) for s in mix_songs],
        instrumentals=[flat(s.accompaniment) for s in inst_songs],
        pairs=[np.stack([flat(s.mixture), flat(s.accompaniment)]) for s in songs],
        valid=[(s.name, flat(s.mixture), flat(s.vocals)) for s in valid],
        mix_names=[s.name for s in mix_songs],
        inst_names=[s.name for s in inst_songs],
    )


# ---------------------------------------------------------------------------------------------------------------
# DSD100


def dsd100_to_musdb(dsd_root: str | Path, dest: str | Path) -> Path:
    """Lay DSD100 out as MUSDB18-HQ in ``dest`` with symbolic links (no copies); returns ``dest``.

    ``Mixtures/Dev/<song>/mixture.wav`` and ``Sources/Dev/<song>/{vocals,drums,bass,other}.wav`` become
    ``dest/train/<song>/*.wav``; ``Test`` becomes ``dest/test``. Everything is checked before anything is linked.
    """
    dsd_root, dest = Path(dsd_root), Path(dest)
    if not dsd_root.is_dir():
        raise DataError(f"DSD100 root {dsd_root} does not exist or is not a folder.")
    if not (dsd_root / "Mixtures").is_dir() or not (dsd_root / "Sources").is_dir():
        raise DataError(f"DSD100 root {dsd_root} has no Mixtures/ and Sources/ folders; expected "
                        f"Mixtures/{{Dev,Test}}/<song>/mixture.wav and Sources/{{Dev,Test}}/<song>/<source>.wav.")
    links: list[tuple[Path, Path]] = []  # (link, target)
    for part, subset in (("Dev", "train"), ("Test", "test")):
        mix_dir = dsd_root / "Mixtures" / part
        if not mix_dir.is_dir():
            continue
        for song in sorted(p for p in mix_dir.iterdir() if p.is_dir()):
            wanted = [(song / "mixture.wav", "mixture")]
            wanted += [(dsd_root / "Sources" / part / song.name / f"{s}.wav", s) for s in SOURCES]
            for target, stem in wanted:
                if not target.is_file():
                    raise DataError(f"DSD100 song {song.name!r} lacks {target}; every song needs mixture.wav "
                                    f"and {', '.join(s + '.wav' for s in SOURCES)}.")
                links.append((dest / subset / song.name / f"{stem}.wav", target.resolve()))
    if not links:
        raise DataError(f"DSD100 root {dsd_root} holds no songs under Mixtures/Dev or Mixtures/Test.")
    for link, _ in links:
        if link.exists() and not link.is_symlink():
            raise DataError(f"{link} already exists and is not a link; choose an empty destination folder.")
    for link, target in links:
        link.parent.mkdir(parents=True, exist_ok=True)
        if link.is_symlink():
            link.unlink()
        link.symlink_to(target)
    return dest
