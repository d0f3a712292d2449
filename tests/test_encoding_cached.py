"""Encoded spikes are reused for the same encoder and audio, recomputed when either changes."""

import dataclasses

import numpy as np

from vr_brian.encoding.cached import encode_cached


@dataclasses.dataclass(frozen=True)
class CountingEncoder:
    threshold: float
    calls: list = dataclasses.field(default_factory=list, compare=False)

    def encode(self, audio, progress=False):
        self.calls.append(1)
        return (np.asarray(audio) > self.threshold)[:, :, None]

    def settings(self):
        return {"encoder": "counting", "threshold": self.threshold}


def test_reuse_and_recompute(tmp_path):
    audio = np.linspace(-1, 1, 20).reshape(2, 10)
    encoder = CountingEncoder(0.0)
    first = encode_cached(encoder, audio, tmp_path)
    second = encode_cached(encoder, audio, tmp_path)
    assert len(encoder.calls) == 1
    np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(first[..., 0], audio > 0)
    encode_cached(encoder, audio * 0.5, tmp_path)
    assert len(encoder.calls) == 2
    other = CountingEncoder(0.5)
    assert encode_cached(other, audio, tmp_path).sum() < first.sum() and len(other.calls) == 1
