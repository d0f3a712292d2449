"""The built-in timing task (its construction guarantees) and loading spike data from .npz files."""

import numpy as np
import pytest

from gradients.data import SpikeData, builtin_task, load_npz, save_npz


def test_builtin_task_is_deterministic_and_shaped():
    a_train, a_test = builtin_task(4, n_in=16, steps=40, n_train=20, n_test=10, seed=3)
    b_train, _ = builtin_task(4, n_in=16, steps=40, n_train=20, n_test=10, seed=3)
    c_train, _ = builtin_task(4, n_in=16, steps=40, n_train=20, n_test=10, seed=4)
    assert a_train.spikes.shape == (20, 40, 16) and a_train.spikes.dtype == bool
    assert a_test.targets.shape == (10, 4) and set(np.unique(a_test.targets)) <= {0, 1}
    np.testing.assert_array_equal(a_train.spikes, b_train.spikes)
    assert not np.array_equal(a_train.spikes, c_train.spikes)
    assert not a_train.multilabel and np.all(a_train.targets.sum(axis=1) == 1)


def test_only_timing_separates_the_classes():
    # without jitter, dropout and noise every channel fires exactly once in every sample of every class,
    # so the spike counts per channel carry no class information; the spike times do
    train, _ = builtin_task(3, n_in=10, steps=30, n_train=30, n_test=1, jitter=0, dropout=0, noise_rate=0, seed=1)
    np.testing.assert_array_equal(train.spikes.sum(axis=1), 1)
    times = train.spikes.argmax(axis=1)
    labels = train.targets.argmax(axis=1)
    for c in range(3):
        assert len({tuple(t) for t in times[labels == c]}) == 1
    assert len({tuple(t) for t in times}) == 3


def test_multilabel_superposes_one_to_three_patterns():
    train, _ = builtin_task(
        5, n_in=12, steps=30, n_train=200, n_test=1, multilabel=True, jitter=0, dropout=0, noise_rate=0, seed=2
    )
    k = train.targets.sum(axis=1)
    assert set(np.unique(k)) == {1, 2, 3} and train.multilabel
    # a superposition of k single-spike patterns has at most k spikes per channel, and at least one
    counts = train.spikes.sum(axis=1)
    assert np.all(counts <= k[:, None]) and np.all(counts >= 1)


def test_npz_round_trip(tmp_path):
    train, _ = builtin_task(3, n_in=8, steps=20, n_train=6, n_test=2)
    path = save_npz(tmp_path / "d.npz", train)
    loaded = load_npz(path)
    np.testing.assert_array_equal(loaded.spikes, train.spikes)
    np.testing.assert_array_equal(loaded.targets, train.targets)
    assert loaded.class_names == train.class_names
    assert [p.name for p in tmp_path.iterdir()] == ["d.npz"]


@pytest.mark.parametrize(
    "arrays, message",
    [
        ({"spikes": np.zeros((2, 5, 3), bool)}, r"lacks the array\(s\) \['targets'\]"),
        ({"spikes": np.zeros((2, 5), bool), "targets": np.zeros((2, 2))}, "spikes must be a 3-D array"),
        ({"spikes": np.full((2, 5, 3), 2), "targets": np.zeros((2, 2))}, "spikes must be binary"),
        ({"spikes": np.zeros((2, 5, 3)), "targets": np.zeros(2)}, "targets must be a 2-D array"),
        ({"spikes": np.zeros((2, 5, 3)), "targets": np.full((2, 2), 0.5)}, "targets must be multi-hot"),
        ({"spikes": np.zeros((2, 5, 3)), "targets": np.zeros((3, 2))}, "targets has 3 samples but spikes has 2"),
        (
            {"spikes": np.zeros((2, 5, 3)), "targets": np.zeros((2, 2)), "class_names": np.array(["a"])},
            "class_names has 1 names",
        ),
    ],
)
def test_npz_validation_errors(tmp_path, arrays, message):
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match=message) as error:
        load_npz(path)
    assert "bad.npz" in str(error.value)


def test_npz_not_a_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_npz(tmp_path / "missing.npz")
    (tmp_path / "text.npz").write_text("not a zip")
    with pytest.raises(ValueError, match="damaged or not an .npz archive"):
        load_npz(tmp_path / "text.npz")
    np.save(tmp_path / "single.npy", np.zeros(3))
    with pytest.raises(ValueError, match="single array"):
        load_npz(tmp_path / "single.npy")
    np.savez(tmp_path / "obj.npz", spikes=np.array([None, 1], dtype=object), targets=np.zeros((2, 2)))
    with pytest.raises(ValueError, match="plain bool, numeric or str"):
        load_npz(tmp_path / "obj.npz")


def test_builtin_task_rejects_bad_arguments():
    with pytest.raises(ValueError, match="n_classes"):
        builtin_task(1)
    with pytest.raises(ValueError, match="max_labels"):
        builtin_task(2, multilabel=True, max_labels=3)
    with pytest.raises(ValueError, match="noise_rate"):
        builtin_task(2, noise_rate=1.5)


def test_split_is_disjoint_and_seeded():
    data, _ = builtin_task(3, n_in=4, steps=10, n_train=20, n_test=1)
    a, b = data.split(0.25, seed=1)
    assert (len(a), len(b)) == (15, 5)
    both = np.concatenate([a.spikes, b.spikes]).reshape(20, -1)
    assert len({row.tobytes() for row in both}) == len({row.tobytes() for row in data.spikes.reshape(20, -1)})
    np.testing.assert_array_equal(data.split(0.25, seed=1)[1].spikes, b.spikes)
    with pytest.raises(ValueError, match="test_fraction"):
        data.split(1.0)
    assert isinstance(a, SpikeData)
