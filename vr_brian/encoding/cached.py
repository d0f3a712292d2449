"""Encoded spikes cached on disk, keyed by the encoder's settings and the audio's hash."""

from __future__ import annotations

import numpy as np

from ..datasets.cache import ArrayCache, arrays_hash

__all__ = ["encode_cached"]


def encode_cached(encoder, audio, cache_dir=None, progress: bool = False, **options) -> np.ndarray:
    """``encoder.encode(audio)``, read back from the cache when the same encoder settings were
    already applied to the same audio (SHA-256 of its bytes).

    ``encoder`` is any object with ``encode(audio, progress)`` and ``settings() -> dict``
    (:class:`~vr_brian.encoding.SpikegramEncoder`, :class:`~vr_brian.encoding.FilterbankEncoder`).
    ``options`` go to ``encode`` (e.g. ``n_jobs``) and must not change its result.
    """
    audio = np.ascontiguousarray(audio)
    settings = {**encoder.settings(), "audio_sha256": arrays_hash({"audio": audio}),
                "audio_shape": list(audio.shape)}
    result = ArrayCache(cache_dir).load_or_build(
        f"spikes_{settings['encoder']}", settings,
        lambda: {"spikes": np.asarray(encoder.encode(audio, progress=progress, **options), dtype=bool)})
    return result.arrays["spikes"]
