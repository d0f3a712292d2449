"""Random splits of one pool: exact counts per class or group, disjoint, reproducible, errors named."""

import numpy as np
import pytest

from vr_brian.datasets.splits import per_class_split, stratified_split


def test_per_class_split_draws_exact_counts_without_overlap():
    rng = np.random.default_rng(0)
    labels = rng.permutation(np.repeat(np.arange(4), [30, 25, 40, 24]))
    train, test = per_class_split(labels, 16, 8, seed=3)
    assert np.intersect1d(train, test).size == 0
    assert np.all(np.diff(train) > 0) and np.all(np.diff(test) > 0)
    np.testing.assert_array_equal(np.bincount(labels[train]), [16] * 4)
    np.testing.assert_array_equal(np.bincount(labels[test]), [8] * 4)
    again = per_class_split(labels, 16, 8, seed=3)
    np.testing.assert_array_equal(again[0], train)
    other = per_class_split(labels, 16, 8, seed=4)
    assert not np.array_equal(other[1], test)


def test_per_class_split_uses_the_whole_pool_when_it_is_exactly_big_enough():
    labels = np.repeat(np.arange(3), 6)
    train, test = per_class_split(labels, 4, 2, seed=1)
    np.testing.assert_array_equal(np.sort(np.concatenate([train, test])), np.arange(18))


def test_per_class_split_draws_every_member_with_equal_chance():
    labels = np.zeros(6, dtype=int)
    hits = np.zeros(6)
    for seed in range(600):
        hits[per_class_split(labels, 2, 1, seed)[1]] += 1
    np.testing.assert_allclose(hits / 600, 1 / 6, atol=0.05)


def test_per_class_split_names_a_short_class():
    with pytest.raises(ValueError, match=r"train_per_class \+ test_per_class = 5.*'1': 4"):
        per_class_split(np.array([0] * 5 + [1] * 4), 3, 2)
    with pytest.raises(ValueError, match="test_per_class"):
        per_class_split(np.zeros(5), 3, 0)


def test_stratified_split_keeps_every_group_share():
    groups = np.repeat(np.arange(1, 7), 2466)
    train, test = stratified_split(groups, 0.25, seed=0)
    assert len(train) == 11100 and len(test) == 3696
    np.testing.assert_array_equal(np.bincount(groups[test])[1:], [616] * 6)
    np.testing.assert_array_equal(np.union1d(train, test), np.arange(len(groups)))
    assert np.intersect1d(train, test).size == 0
    with pytest.raises(ValueError, match="test_fraction"):
        stratified_split(groups, 1.0)
    with pytest.raises(ValueError, match="groups"):
        stratified_split(np.zeros((2, 2)), 0.5)
