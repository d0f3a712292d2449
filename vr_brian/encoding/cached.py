"""Encoded spikes and spikegram atoms cached on disk, keyed by the encoder's settings and the audio's hash."""

from __future__ import annotations

import numpy as np

from ..datasets.cache import ArrayCache, arrays_hash

__all__ = ["encode_cached", "atoms_cached"]


def _audio_key(audio) -> dict:
    return {"audio_sha256": arrays_hash({"audio": audio}), "audio_shape": list(audio.shape)}


def atoms_cached(encoder, audio, cache_dir=None, progress: bool = False, n_jobs: int = 1, build: bool = True):
    """``encoder.atoms(audio)`` (:class:`~vr_brian.encoding.SpikegramEncoder`), read back from the
    cache when the same pursuit settings (:meth:`~vr_brian.encoding.SpikegramEncoder.pursuit_settings`)
    were already applied to the same audio.

    The atoms do not depend on the mapping, the time step or the level edges, so every expansion
    of them shares one entry. Returns an :class:`~vr_brian.encoding.spikegram.AtomSet` whose
    ``manifest`` holds the entry's manifest (``build_seconds``: the pursuit's wall time) and
    ``reused``; with ``build=False``, None when there is no entry yet.
    """
    from .spikegram import AtomSet

    audio = np.ascontiguousarray(audio)
    settings = {**encoder.pursuit_settings(), **_audio_key(audio)}
    cache = ArrayCache(cache_dir)
    if not build:
        result = cache.load("atoms_spikegram", settings)
        return None if result is None else AtomSet.from_arrays(result.arrays, {**result.manifest, "reused": True})
    result = cache.load_or_build(
        "atoms_spikegram", settings, lambda: encoder.atoms(audio, progress=progress, n_jobs=n_jobs).arrays()
    )
    return AtomSet.from_arrays(result.arrays, {**result.manifest, "reused": result.reused})


def encode_cached(encoder, audio, cache_dir=None, progress: bool = False, **options) -> np.ndarray:
    """``encoder.encode(audio)``, read back from the cache when the same encoder settings were
    already applied to the same audio (SHA-256 of its bytes).

    ``encoder`` is any object with ``encode(audio, progress)`` and ``settings() -> dict``
    (:class:`~vr_brian.encoding.FilterbankEncoder`). A spikegram encoder (one with ``atoms`` and
    ``expand``) caches its atoms instead (:func:`atoms_cached`) and expands them, which takes
    a moment, so its spikes are not stored. ``options`` go to ``encode`` or ``atoms``
    (e.g. ``n_jobs``) and must not change the result.
    """
    audio = np.ascontiguousarray(audio)
    if hasattr(encoder, "atoms") and hasattr(encoder, "expand"):
        return encoder.expand(atoms_cached(encoder, audio, cache_dir, progress, **options))
    settings = {**encoder.settings(), **_audio_key(audio)}
    result = ArrayCache(cache_dir).load_or_build(
        f"spikes_{settings['encoder']}",
        settings,
        lambda: {"spikes": np.asarray(encoder.encode(audio, progress=progress, **options), dtype=bool)},
    )
    return result.arrays["spikes"]
