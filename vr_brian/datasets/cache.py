"""A disk cache of named arrays keyed by the settings that produced them.

``<directory>/<kind>-<key>.npz`` holds the arrays and ``<kind>-<key>.json`` its manifest: the
settings (which include the seed and the identities of the sound banks), the SHA-256 of the
arrays, and how long the build took. The key is a hash of the settings, so a changed setting
builds a new entry while an unchanged one is read back after its hash is checked. Both files are
written atomically (temporary file in the same folder, then ``os.replace``), the manifest last,
so an interrupted build leaves no entry that looks complete.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import time
from pathlib import Path

import numpy as np

from ..io import atomic_write

__all__ = ["ArrayCache", "CacheResult", "settings_key", "arrays_hash", "atomic_write_bytes", "default_cache_dir"]

FORMAT = 1


def default_cache_dir() -> Path:
    """``$VR_BRIAN_CACHE`` or ``~/.cache/vr_brian``."""
    return Path(os.environ.get("VR_BRIAN_CACHE", Path.home() / ".cache" / "vr_brian"))


def _canonical(settings) -> str:
    return json.dumps(settings, sort_keys=True, separators=(",", ":"), default=_jsonable)


def _jsonable(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (tuple, set, frozenset)):
        return list(value)
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"setting {value!r} of type {type(value).__name__} is not JSON-serialisable")


def settings_key(settings: dict) -> str:
    """SHA-256 (hex, 16 characters) of the settings as canonical JSON."""
    return hashlib.sha256(_canonical(settings).encode()).hexdigest()[:16]


def arrays_hash(arrays: dict) -> str:
    """SHA-256 over every array's name, dtype, shape and bytes, in name order."""
    digest = hashlib.sha256()
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}|{array.dtype.str}|{array.shape}|".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def atomic_write_bytes(path: Path, data: bytes):
    """Write ``data`` to ``path`` atomically (see :func:`vr_brian.io.atomic_write`)."""
    atomic_write(path, lambda file: file.write(data))


def _atomic_savez(path: Path, arrays: dict):
    atomic_write(path, lambda file: np.savez(file, **arrays))


@dataclasses.dataclass(frozen=True)
class CacheResult:
    """Arrays from the cache, their manifest, and whether they were reused (not rebuilt)."""

    arrays: dict
    manifest: dict
    reused: bool


class ArrayCache:
    """Build-once storage of named arrays under a folder (default :func:`default_cache_dir`)."""

    def __init__(self, directory=None):
        self.directory = Path(directory) if directory is not None else default_cache_dir()

    def paths(self, kind: str, settings: dict) -> tuple[Path, Path]:
        stem = f"{kind}-{settings_key(settings)}"
        return self.directory / f"{stem}.npz", self.directory / f"{stem}.json"

    def load(self, kind: str, settings: dict) -> CacheResult | None:
        """The stored entry for these settings, or None when absent, stale or corrupt."""
        data_path, manifest_path = self.paths(kind, settings)
        try:
            manifest = json.loads(manifest_path.read_text())
            if manifest.get("format") != FORMAT or _canonical(manifest["settings"]) != _canonical(settings):
                return None
            with np.load(data_path, allow_pickle=False) as stored:
                arrays = {name: stored[name] for name in stored.files}
        except (OSError, ValueError, KeyError):
            return None
        if arrays_hash(arrays) != manifest.get("hash"):
            return None
        return CacheResult(arrays, manifest, reused=True)

    def load_or_build(self, kind: str, settings: dict, build) -> CacheResult:
        """Reuse the entry for ``settings``, or call ``build() -> dict of arrays`` and store it."""
        if not kind.replace("_", "").isalnum():
            raise ValueError(f"kind must be letters, digits and underscores, got {kind!r}")
        found = self.load(kind, settings)
        if found is not None:
            return found
        start = time.perf_counter()
        arrays = {name: np.asarray(a) for name, a in build().items()}
        seconds = time.perf_counter() - start
        manifest = {
            "format": FORMAT,
            "kind": kind,
            "settings": json.loads(_canonical(settings)),
            "key": settings_key(settings),
            "hash": arrays_hash(arrays),
            "arrays": {n: {"shape": list(a.shape), "dtype": a.dtype.str} for n, a in arrays.items()},
            "build_seconds": round(seconds, 3),
            "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        data_path, manifest_path = self.paths(kind, settings)
        _atomic_savez(data_path, arrays)
        atomic_write_bytes(manifest_path, (json.dumps(manifest, indent=1) + "\n").encode())
        return CacheResult(arrays, manifest, reused=False)
