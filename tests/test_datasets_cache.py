"""The array cache: reuse, rebuild on a changed setting, corruption detection, atomic files."""

import json

import numpy as np
import pytest

from vr_brian.datasets.cache import ArrayCache, arrays_hash, settings_key


def counting_builder(value):
    calls = []

    def build():
        calls.append(1)
        return {"x": np.arange(5) * value, "y": np.ones((2, 3), dtype=np.uint8)}

    return build, calls


def test_reuse_then_rebuild_on_changed_setting(tmp_path):
    cache = ArrayCache(tmp_path)
    build, calls = counting_builder(2)
    first = cache.load_or_build("demo", {"seed": 1, "banks": ["a", "b"]}, build)
    second = cache.load_or_build("demo", {"banks": ["a", "b"], "seed": 1}, build)
    assert not first.reused and second.reused and len(calls) == 1
    np.testing.assert_array_equal(second.arrays["x"], np.arange(5) * 2)
    third = cache.load_or_build("demo", {"seed": 2, "banks": ["a", "b"]}, build)
    assert not third.reused and len(calls) == 2


def test_manifest_records_settings_and_a_hash_of_the_arrays(tmp_path):
    cache = ArrayCache(tmp_path)
    build, _ = counting_builder(3)
    result = cache.load_or_build("demo", {"seed": 5}, build)
    _, manifest_path = cache.paths("demo", {"seed": 5})
    manifest = json.loads(manifest_path.read_text())
    assert manifest["settings"] == {"seed": 5}
    assert manifest["hash"] == arrays_hash({"x": np.arange(5) * 3, "y": np.ones((2, 3), dtype=np.uint8)})
    assert manifest == result.manifest
    assert not list(tmp_path.glob("*.tmp"))


def test_corrupted_data_is_rebuilt(tmp_path):
    cache = ArrayCache(tmp_path)
    build, calls = counting_builder(1)
    cache.load_or_build("demo", {"seed": 0}, build)
    data_path, _ = cache.paths("demo", {"seed": 0})
    np.savez(data_path, x=np.arange(5) + 1, y=np.ones((2, 3), dtype=np.uint8))  # same names, other values
    result = cache.load_or_build("demo", {"seed": 0}, build)
    assert not result.reused and len(calls) == 2
    np.testing.assert_array_equal(result.arrays["x"], np.arange(5))


def test_missing_manifest_means_not_cached(tmp_path):
    cache = ArrayCache(tmp_path)
    build, calls = counting_builder(1)
    cache.load_or_build("demo", {"seed": 0}, build)
    cache.paths("demo", {"seed": 0})[1].unlink()
    assert cache.load("demo", {"seed": 0}) is None


def test_settings_key_ignores_order_but_not_values():
    assert settings_key({"a": 1, "b": [1, 2]}) == settings_key({"b": (1, 2), "a": 1})
    assert settings_key({"a": 1}) != settings_key({"a": 1.5})


def test_hash_sees_dtype_and_shape():
    assert arrays_hash({"x": np.zeros(4, dtype=np.int32)}) != arrays_hash({"x": np.zeros(4, dtype=np.int64)})
    assert arrays_hash({"x": np.zeros((2, 2))}) != arrays_hash({"x": np.zeros(4)})


def test_bad_kind_is_rejected(tmp_path):
    with pytest.raises(ValueError, match="kind"):
        ArrayCache(tmp_path).load_or_build("../escape", {}, lambda: {})
