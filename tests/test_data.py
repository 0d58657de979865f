"""The data layer: roots and layouts, loading and caching, the unmatched split, segment sampling (the method's
``segments``), DSD100."""

from __future__ import annotations

import os
import urllib.error
from pathlib import Path

import numpy as np
import pytest
import torch

from semisep_lib.audio import write_audio
from semisep_lib.errors import AudioError, DataError, UsageError
from semisep_lib.interfaces import cli
from semisep_lib.method import segments
from semisep_lib.study import data
from semisep_lib.study.data import Song

# -- roots and layouts -------------------------------------------------------------------------------------------


def test_resolve_root_prefers_argument_then_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(data, "MUSDB_PREVIEW_ROOT", tmp_path / "absent")
    assert data.resolve_root() is None
    monkeypatch.setenv("MUSDB_PATH", str(tmp_path / "env"))
    assert data.resolve_root() == tmp_path / "env"
    assert data.resolve_root(tmp_path / "arg") == tmp_path / "arg"
    monkeypatch.delenv("MUSDB_PATH")
    monkeypatch.setattr(data, "MUSDB_PREVIEW_ROOT", tmp_path)
    assert data.resolve_root() == tmp_path


def test_toy_root_splits(toy_root: Path) -> None:
    assert data.detect_layout(toy_root) == "wav"
    assert data.list_tracks(toy_root, "train", "valid") == ["toy-004", "toy-005"]  # from valid.txt
    assert data.list_tracks(toy_root, "train", "train") == [f"toy-00{i}" for i in range(4)]
    assert len(data.list_tracks(toy_root, "train")) == 6 and len(data.list_tracks(toy_root, "test")) == 4


def test_load_toy_songs_keeps_superposition(toy_root: Path) -> None:
    songs = data.load_songs(toy_root, "train", "valid")
    assert [s.name for s in songs] == ["toy-004", "toy-005"]
    for s in songs:
        assert s.rate == 44100 and s.mixture.shape == s.vocals.shape == s.accompaniment.shape == (2, 3 * 44100)
        assert s.mixture.dtype == np.float32
        assert np.abs(s.vocals + s.accompaniment - s.mixture).max() < 1e-6


def test_evaluation_songs_are_the_test_songs_else_the_report_songs(toy_root: Path, tmp_path: Path) -> None:
    songs, subset = data.evaluation_songs(toy_root, limit=3, cache=False)  # the cache test counts its files
    assert subset == "test" and [s.name for s in songs] == data.list_tracks(toy_root, "test")[:3]
    no_test = tmp_path / "no-test"
    (no_test / "train").mkdir(parents=True)
    for name in data.list_tracks(toy_root, "train"):
        (no_test / "train" / name).symlink_to(toy_root / "train" / name)
    (no_test / "valid.txt").write_text((toy_root / "valid.txt").read_text())
    songs, subset = data.evaluation_songs(no_test, mono=True, cache=False)
    assert subset == "report" and [s.name for s in songs] == data.list_tracks(no_test, "train", "report")
    assert [s.name for s in songs] == ["toy-005"] and songs[0].mixture.shape[0] == 1  # never a selection song


def test_a_two_stem_song_folder_gives_its_accompaniment_wav(tmp_path: Path) -> None:
    """``accompaniment.wav`` stands in for drums + bass + other; a folder without vocals has none."""
    rng = np.random.default_rng(0)
    acc, voc = (rng.uniform(-0.3, 0.3, (1, 800)).astype(np.float32) for _ in range(2))
    for name, stems in {"a": {"vocals": voc, "accompaniment": acc}, "b": {"accompaniment": acc}}.items():
        folder = tmp_path / "train" / name
        folder.mkdir(parents=True)
        write_audio(folder / "mixture.wav", voc + acc if "vocals" in stems else acc, 8000)
        for stem, x in stems.items():
            write_audio(folder / f"{stem}.wav", x, 8000)
    a, b = data.load_songs(tmp_path, "train", cache=False)
    assert np.abs(a.accompaniment - acc).max() < 1e-6 and np.abs(a.vocals - voc).max() < 1e-6
    assert b.vocals is None and np.abs(b.accompaniment - acc).max() < 1e-6


def test_resample_and_mono(toy_root: Path) -> None:
    (song,) = data.load_songs(toy_root, "test", sample_rate=16000, mono=True, limit=1)
    assert song.rate == 16000 and song.mixture.shape == (1, 3 * 16000)
    assert np.abs(song.vocals + song.accompaniment - song.mixture).max() < 1e-4  # resampling is linear


def test_cache_is_used_and_damage_is_repaired(toy_root: Path, monkeypatch: pytest.MonkeyPatch,
                                              _private_cache: Path) -> None:
    first = data.load_songs(toy_root, "test", tracks=["toy-007"], mono=True)
    cached = list((_private_cache / "decoded").glob("toy-007-*.npz"))
    assert len(cached) == 1

    def fail(*args: object) -> None:
        raise AssertionError("decoded again although cached")

    with monkeypatch.context() as m:
        m.setattr(data, "_decode", fail)
        again = data.load_songs(toy_root, "test", tracks=["toy-007"], mono=True)
    np.testing.assert_array_equal(first[0].mixture, again[0].mixture)

    cached[0].write_bytes(b"not a zip file")  # a damaged cache file is decoded again and rewritten
    repaired = data.load_songs(toy_root, "test", tracks=["toy-007"], mono=True)
    np.testing.assert_array_equal(first[0].vocals, repaired[0].vocals)

    before = set((_private_cache / "decoded").iterdir())
    data.load_songs(toy_root, "test", tracks=["toy-008"], cache=False)
    assert set((_private_cache / "decoded").iterdir()) == before


# -- the shared MUSDB18 preview and stem files -------------------------------------------------------------------


def test_shared_preview_splits(shared_data: Path) -> None:
    assert data.detect_layout(shared_data) == "stems"
    assert len(data.list_tracks(shared_data, "train", "train")) == 80
    valid = data.list_tracks(shared_data, "train", "valid")
    assert len(valid) == 14
    songs = data.load_songs(shared_data, "train", "valid", tracks=valid[:2])
    assert [s.name for s in songs] == valid[:2]
    for s in songs:
        assert s.rate == 44100 and s.mixture.shape[0] == 2 and s.mixture.shape[1] > 6 * 44100
        assert s.vocals.shape == s.accompaniment.shape == s.mixture.shape
        assert np.abs(s.vocals).max() > 0.01  # validation tracks have vocals


def test_shared_preview_has_no_test_subset(shared_data: Path) -> None:
    with pytest.raises(DataError, match="no tracks in its 'test' subset") as info:
        data.load_songs(shared_data, "test")
    assert str(shared_data) in str(info.value)


def test_stem_file_through_musdb_layout(tmp_path: Path) -> None:
    import stempeg  # pinned in requirements.txt; imported here: it refuses to import without ffmpeg on PATH
    (tmp_path / "train").mkdir()
    os.symlink(stempeg.example_stem_path(), tmp_path / "train" / "Example - Song.stem.mp4")
    (song,) = data.load_songs(tmp_path, "train", cache=False)
    assert song.name == "Example - Song" and song.mixture.shape[0] == 2
    # the mixture stream is close to the sum of the four source streams (AAC coding keeps it from being exact)
    residual = song.mixture - song.vocals - song.accompaniment
    assert np.sqrt((residual ** 2).mean()) < 0.25 * np.sqrt((song.mixture ** 2).mean())


# -- bad roots, subsets and tracks -------------------------------------------------------------------------------


def _bad_roots(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    empty = tmp_path / "empty"
    empty.mkdir()
    wrong = tmp_path / "wrong"
    (wrong / "songs").mkdir(parents=True)
    (wrong / "a.wav").write_bytes(b"")
    dsd = tmp_path / "dsd"
    (dsd / "Mixtures").mkdir(parents=True)
    (dsd / "Sources").mkdir()
    trackless = tmp_path / "trackless"
    (trackless / "train" / "some folder").mkdir(parents=True)
    (trackless / "test").mkdir()
    afile = tmp_path / "afile"
    afile.write_text("x")
    return {
        "missing": (tmp_path / "nowhere", "does not exist"),
        "file": (afile, "is a file"),
        "empty": (empty, "is empty"),
        "wrong layout": (wrong, "has no train/ or test/ folder"),
        "dsd100": (dsd, "dsd100-to-musdb"),
        "no tracks": (trackless, "has no tracks"),
    }


@pytest.mark.parametrize("case", ["missing", "file", "empty", "wrong layout", "dsd100", "no tracks"])
def test_bad_roots_raise_one_sentence_naming_the_root(tmp_path: Path, case: str) -> None:
    root, fragment = _bad_roots(tmp_path)[case]
    with pytest.raises(DataError) as info:
        data.load_songs(root)
    message = str(info.value)
    assert fragment in message and str(root) in message and "\n" not in message


def test_zero_track_subset_and_split(tmp_path: Path) -> None:
    root = tmp_path / "r"
    write_audio(root / "train" / "a" / "mixture.wav", np.zeros((2, 100)), 8000)
    with pytest.raises(DataError, match=r"no tracks in its 'test' subset"):
        data.load_songs(root, "test")
    with pytest.raises(DataError, match=r"'valid' split"):
        data.load_songs(root, "train", "valid")  # 'a' is not on musdb's validation list
    with pytest.raises(DataError, match="not found"):
        data.load_songs(root, "train", tracks=["b"])


def test_no_root_anywhere(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(data, "MUSDB_PREVIEW_ROOT", tmp_path / "absent")
    with pytest.raises(DataError, match="No dataset root"):
        data.load_songs()


def test_bad_subset_and_split_are_usage_errors(toy_root: Path) -> None:
    with pytest.raises(UsageError):
        data.load_songs(toy_root, "dev")
    with pytest.raises(UsageError):
        data.load_songs(toy_root, "test", split="valid")


def test_unreadable_audio_in_a_root(tmp_path: Path) -> None:
    song = tmp_path / "r" / "train" / "broken"
    song.mkdir(parents=True)
    (song / "mixture.wav").write_text("garbage")
    with pytest.raises(AudioError, match="mixture.wav"):
        data.load_songs(tmp_path / "r")


def test_download_offline_fails_with_a_sentence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import musdb

    def offline(*args: object, **kwargs: object) -> None:
        raise urllib.error.URLError("network is unreachable")

    monkeypatch.setattr(musdb, "urlopen", offline)
    with pytest.raises(DataError, match="Could not download") as info:
        data.load_songs(tmp_path / "dl", download=True)
    assert str(tmp_path / "dl") in str(info.value)


# -- the unmatched split -----------------------------------------------------------------------------------------


def _fake_songs(n: int) -> list[Song]:
    rng = np.random.default_rng(0)
    out = []
    for i in range(n):
        v, a = rng.standard_normal((2, 1, 50)).astype(np.float32)
        out.append(Song(f"s{i}", 8000, v + a, v, a))
    return out


def test_disjoint_split() -> None:
    songs = _fake_songs(7)
    mixes, insts = data.unmatched_split(songs, "disjoint", seed=1)
    assert len(mixes) == 3 and len(insts) == 4
    assert {s.name for s in mixes} | {s.name for s in insts} == {s.name for s in songs}
    assert not {s.name for s in mixes} & {s.name for s in insts}
    assert all(s.vocals is None and s.accompaniment is None for s in mixes)  # S_B is never seen
    by_name = {s.name: s for s in songs}
    for s in insts:
        assert s.vocals is None
        np.testing.assert_array_equal(s.mixture, by_name[s.name].accompaniment)
    again = data.unmatched_split(songs, "disjoint", seed=1)
    assert [s.name for s in again[0]] == [s.name for s in mixes]
    assert any([s.name for s in data.unmatched_split(songs, "disjoint", seed=k)[0]] != [s.name for s in mixes]
               for k in range(2, 6))


def test_authors_split_uses_all_songs_on_both_sides() -> None:
    songs = _fake_songs(5)
    mixes, insts = data.unmatched_split(songs, "authors", seed=0)
    assert sorted(s.name for s in mixes) == sorted(s.name for s in insts) == [s.name for s in songs]


def test_check_disjoint_names_the_shared_songs() -> None:
    songs = _fake_songs(3)
    with pytest.raises(DataError, match="s1"):
        data.check_disjoint(songs[:2], songs[1:])
    data.check_disjoint(songs[:1], songs[1:])
    with pytest.raises(UsageError):
        data.unmatched_split(songs, "paired")
    with pytest.raises(DataError, match="at least 2"):
        data.unmatched_split(songs[:1])


# -- segment sampling --------------------------------------------------------------------------------------------


def test_segments_are_reproducible_and_order_independent() -> None:
    rng = np.random.default_rng(0)
    songs = [rng.standard_normal(1000).astype(np.float32), rng.standard_normal((2, 3000)).astype(np.float32)]
    ds = segments.SegmentDataset(songs, segment_samples=100, seed=5, length=50)
    forward = [ds[i] for i in range(len(ds))]
    backward = [ds[i] for i in reversed(range(len(ds)))][::-1]
    fresh = segments.SegmentDataset(songs, segment_samples=100, seed=5, length=50)
    for i in range(len(ds)):
        assert forward[i].shape == (100,) and forward[i].dtype == torch.float32
        assert torch.equal(forward[i], backward[i]) and torch.equal(forward[i], fresh[i])
    assert not torch.equal(ds[0], ds[1])
    assert not torch.equal(ds[0], segments.SegmentDataset(songs, 100, seed=6, length=50)[0])
    with pytest.raises(IndexError):
        ds[50]


def test_segments_follow_song_lengths_and_pad_short_songs() -> None:
    songs = [np.ones(10, dtype=np.float32), np.full(190, 2.0, dtype=np.float32)]
    ds = segments.SegmentDataset(songs, segment_samples=20, seed=0, length=2000)
    picks = [ds.locate(i)[0] for i in range(2000)]
    assert 0.02 < picks.count(0) / 2000 < 0.09  # drawn in proportion to length: 10 / 200 = 5%
    short = picks.index(0)
    assert torch.equal(ds[short], torch.cat([torch.ones(10), torch.zeros(10)]))  # zero-padded


def test_batch_stacks_consecutive_items() -> None:
    ds = segments.SegmentDataset([np.arange(500, dtype=np.float32)], segment_samples=64, seed=1, length=10)
    b = segments.batch(ds, step=3, batch_size=4)
    assert b.shape == (4, 64)
    assert torch.equal(b[1], ds.segment(13))  # may run past the virtual epoch: item 13 of a length-10 set


def test_segment_dataset_rejects_nothing_to_sample() -> None:
    with pytest.raises(DataError):
        segments.SegmentDataset([], 10)
    with pytest.raises(UsageError):
        segments.SegmentDataset([np.zeros(10)], 0)


# -- DSD100 ------------------------------------------------------------------------------------------------------


def _fake_dsd100(root: Path) -> Path:
    for part, songs in (("Dev", ["001 - A - One", "002 - B - Two"]), ("Test", ["003 - C - Three"])):
        for song in songs:
            write_audio(root / "Mixtures" / part / song / "mixture.wav", np.zeros((2, 80)), 8000)
            for source in data.SOURCES:
                write_audio(root / "Sources" / part / song / f"{source}.wav", np.zeros((2, 80)), 8000)
    return root


def test_dsd100_is_linked_as_musdb(tmp_path: Path) -> None:
    dsd = _fake_dsd100(tmp_path / "DSD100")
    dest = data.dsd100_to_musdb(dsd, tmp_path / "musdb")
    link = dest / "train" / "001 - A - One" / "vocals.wav"
    assert link.is_symlink() and link.resolve() == (dsd / "Sources" / "Dev" / "001 - A - One" / "vocals.wav").resolve()
    assert data.list_tracks(dest, "train") == ["001 - A - One", "002 - B - Two"]
    assert data.list_tracks(dest, "test") == ["003 - C - Three"]
    (song,) = data.load_songs(dest, "test", cache=False)
    assert song.accompaniment.shape == (2, 80)
    data.dsd100_to_musdb(dsd, tmp_path / "musdb")  # running it again is harmless


def test_dsd100_bad_layouts(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        data.dsd100_to_musdb(tmp_path / "nowhere", tmp_path / "out")
    (tmp_path / "plain").mkdir()
    with pytest.raises(DataError, match="Mixtures/"):
        data.dsd100_to_musdb(tmp_path / "plain", tmp_path / "out")
    dsd = _fake_dsd100(tmp_path / "DSD100")
    (dsd / "Sources" / "Test" / "003 - C - Three" / "bass.wav").unlink()
    with pytest.raises(DataError, match="bass.wav"):
        data.dsd100_to_musdb(dsd, tmp_path / "out")
    assert not (tmp_path / "out").exists()  # checked before anything is linked


# -- commands ----------------------------------------------------------------------------------------------------


def _run(argv: list[str]) -> None:
    args = cli.build_parser().parse_args(argv)
    args.func(args)


def test_data_info_and_dsd100_commands(toy_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _run(["data-info", "--root", str(toy_root)])
    out = capsys.readouterr().out
    assert "train: 6 tracks (4 in the train split, 2 in the valid split)" in out and "test: 4 tracks" in out
    _run(["dsd100-to-musdb", str(_fake_dsd100(tmp_path / "DSD100")), str(tmp_path / "m")])
    assert "Linked 2 DSD100 Dev songs" in capsys.readouterr().out


def test_data_info_on_shared_preview(shared_data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _run(["data-info", "--root", str(shared_data)])
    out = capsys.readouterr().out
    assert "train: 94 tracks (80 in the train split, 14 in the valid split)" in out and "test: 0 tracks" in out
