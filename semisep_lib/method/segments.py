"""What training sees: the paper's two unmatched sets as signals, and random fixed-length segments of them.

* :class:`TrainingData` holds ``S_A`` (mixtures) and ``S_C`` (instrumentals), taken from different songs, mono at
  the model rate; the study fills it from a dataset (:func:`~semisep_lib.study.data.load_training_data`).
* :class:`SegmentDataset` draws random fixed-length segments; item ``i`` depends only on ``(seed, i)``, so a
  resumed run sees exactly the segments an uninterrupted run would have seen. :func:`batch` stacks a batch of them.

The songs themselves, and the unmatched split that picks them, are the study's (:mod:`semisep_lib.study.data`);
these pieces sit in the method, below ``train``, so that the training loop imports nothing of the study.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import torch

from ..errors import DataError, UsageError


@dataclass
class TrainingData:
    """Mono signals at the model rate. ``mixtures`` (S_A) and ``instrumentals`` (S_C) come from different songs
    (unless the authors' protocol is asked for); ``pairs`` are (mixture, accompaniment) of *all* training songs,
    used only by the supervised baseline; ``valid`` are (name, mixture, vocals) of the validation songs."""

    mixtures: list[np.ndarray]
    instrumentals: list[np.ndarray]
    pairs: list[np.ndarray] = field(default_factory=list)  # each (2, samples): mixture, accompaniment
    valid: list[tuple[str, np.ndarray, np.ndarray]] = field(default_factory=list)
    mix_names: list[str] = field(default_factory=list)
    inst_names: list[str] = field(default_factory=list)


class SegmentDataset:
    """Random fixed-length segments of a list of signals, reproducible item by item (a sequence: ``len`` and
    ``[i]``; training takes whole batches with :func:`batch`, without a ``DataLoader``).

    ``songs`` are 1-D ``(samples,)`` or ``(channels, samples)`` arrays. Item ``i`` comes from
    ``np.random.default_rng([seed, i])``: a song drawn with probability proportional to its length, a channel,
    and an offset. It is the same on every access, whatever the order, so resuming at step ``k`` is exact.
    Songs shorter than a segment are zero-padded at the end. ``length`` is the size of a virtual epoch.
    """

    def __init__(self, songs: Sequence[np.ndarray], segment_samples: int, seed: int = 0, length: int = 1000):
        if segment_samples <= 0:
            raise UsageError(f"Segments must be at least 1 sample long, got {segment_samples}.")
        if length <= 0:
            raise UsageError(f"A segment dataset needs a positive length, got {length}.")
        # each song as (channels, samples) float32
        self.songs = [np.atleast_2d(np.asarray(s, dtype=np.float32)) for s in songs]
        if any(s.ndim != 2 for s in self.songs):
            raise UsageError("Songs for segment sampling must be 1-D (samples,) or 2-D (channels, samples).")
        lengths = np.array([s.shape[1] for s in self.songs], dtype=np.float64)
        if len(self.songs) == 0 or lengths.sum() == 0:
            raise DataError("There are no samples to draw training segments from (no songs, or only empty ones).")
        self.probs = lengths / lengths.sum()
        self.segment_samples = int(segment_samples)
        self.seed = int(seed)
        self.length = int(length)

    def __len__(self) -> int:
        return self.length

    def locate(self, index: int) -> tuple[int, int, int]:
        """Where item ``index`` comes from: ``(song, channel, offset)``. Any ``index >= 0`` is valid."""
        rng = np.random.default_rng([self.seed, int(index)])
        song = int(rng.choice(len(self.songs), p=self.probs))
        channels, samples = self.songs[song].shape
        channel = int(rng.integers(channels))
        offset = int(rng.integers(max(samples - self.segment_samples, 0) + 1))
        return song, channel, offset

    def segment(self, index: int) -> torch.Tensor:
        """Segment number ``index`` (not limited to ``len(self)``): float32 ``(segment_samples,)``."""
        song, channel, offset = self.locate(index)
        x = self.songs[song][channel, offset: offset + self.segment_samples]
        if len(x) < self.segment_samples:
            x = np.pad(x, (0, self.segment_samples - len(x)))
        return torch.from_numpy(np.array(x, dtype=np.float32))

    def __getitem__(self, index: int) -> torch.Tensor:
        if index < 0:
            index += self.length
        if not 0 <= index < self.length:
            raise IndexError(f"segment index {index} out of range for length {self.length}")
        return self.segment(index)


def batch(dataset: SegmentDataset, step: int, batch_size: int) -> torch.Tensor:
    """Training batch number ``step``: segments ``step*batch_size … step*batch_size + batch_size − 1``,
    stacked to ``(batch_size, segment_samples)``."""
    start = int(step) * int(batch_size)
    return torch.stack([dataset.segment(start + k) for k in range(int(batch_size))])
