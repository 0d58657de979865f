"""The Separator contract (``semisep_lib.method.separator``): ``stems`` checks its input with ``check_audio``, sums back
to it and checks the method's output; ``at_model_rate`` runs mono methods per channel at their own rate."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import tones
from semisep_lib.errors import AudioError
from semisep_lib.method.separator import Separator, at_model_rate, check_audio


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_or_inf_input_is_an_audio_error(separator, bad):
    audio = tones(2, 16000, 0.5)
    audio[1, 100] = bad
    with pytest.raises(AudioError, match="NaN or infinite"):
        separator.stems(audio, 16000)
    with pytest.raises(AudioError):
        separator.stems(np.zeros((2, 0), np.float32), 16000)


class Half(Separator):
    """A toy method: half of every sample is voice."""

    name = "half"

    def separate(self, audio, rate):
        return 0.5 * audio


class WrongShape(Separator):
    def separate(self, audio, rate):
        return audio[:, :-1]


def test_stems_sum_back_to_the_input_and_take_one_dimensional_audio():
    audio = tones(1, 8000, 0.3)[0]  # (samples,): one channel
    stems = Half().stems(audio, 8000)
    assert stems["vocals"].shape == (1, audio.size) and stems["vocals"].dtype == np.float32
    np.testing.assert_allclose(stems["vocals"] + stems["accompaniment"], audio[None], atol=1e-7)


@pytest.mark.parametrize("audio, rate, message", [
    (np.zeros((2, 3, 4), np.float32), 8000, "shaped"),
    (np.array([["a", "b"]]), 8000, "numbers"),
    (np.zeros((1, 10), np.float32), 0, "sample rate"),
    (np.zeros((1, 10), np.float32), 8000.5, "sample rate"),
])
def test_check_audio_refuses_what_no_method_can_separate(audio, rate, message):
    with pytest.raises(AudioError, match=message):
        check_audio(audio, rate)


def test_a_method_returning_the_wrong_shape_is_a_bug_not_a_user_error():
    with pytest.raises(RuntimeError, match="WrongShape.separate returned shape"):
        WrongShape().stems(tones(2, 8000, 0.2), 8000)


def test_at_model_rate_runs_per_channel_at_the_model_rate_and_keeps_the_length():
    audio = tones(2, 22050, 0.5, noise=0.0)  # harmonics below 2 kHz: nothing lost at 16 kHz
    seen = []

    def fn(mono):
        seen.append(mono.shape)
        return mono

    out = at_model_rate(fn, 22050, 16000, audio)
    assert out.shape == audio.shape and seen == [(8000,), (8000,)]
    assert np.abs(out[:, 2000:-2000] - audio[:, 2000:-2000]).max() < 1e-3  # resampled there and back
