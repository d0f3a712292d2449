"""Precision, recall and F-measure against counts done by hand."""

import numpy as np
import pytest

from gradients.metrics import chance_f_measure, classification_report, confusion_counts, precision_recall_f

# 4 samples, 3 classes, counted by hand:
#   class 0: tp=2 (s0, s2), fp=1 (s1), fn=0       -> P=2/3, R=1,   F=4/5
#   class 1: tp=1 (s1),     fp=0,      fn=1 (s3)  -> P=1,   R=1/2, F=2/3
#   class 2: tp=0,          fp=1 (s3), fn=0       -> P=0,   R=0 (no support), F=0
TARGETS = np.array([[1, 0, 0], [0, 1, 0], [1, 0, 0], [0, 1, 0]])
PREDICTIONS = np.array([[1, 0, 0], [1, 1, 0], [1, 0, 0], [0, 0, 1]])


def test_per_class_by_hand():
    P, R, F = precision_recall_f(PREDICTIONS, TARGETS, average=None)
    np.testing.assert_allclose(P, [2 / 3, 1, 0])
    np.testing.assert_allclose(R, [1, 1 / 2, 0])
    np.testing.assert_allclose(F, [4 / 5, 2 / 3, 0])


def test_micro_and_macro_by_hand():
    # micro: tp=3, fp=2, fn=1 -> P=3/5, R=3/4, F=6/9
    assert precision_recall_f(PREDICTIONS, TARGETS, "micro") == pytest.approx((3 / 5, 3 / 4, 2 / 3))
    assert precision_recall_f(PREDICTIONS, TARGETS, "macro") == pytest.approx(
        ((2 / 3 + 1) / 3, 1.5 / 3, (4 / 5 + 2 / 3) / 3)
    )


def test_f_is_harmonic_mean_where_defined():
    rng = np.random.default_rng(1)
    pred, true = rng.random((50, 5)) < 0.4, rng.random((50, 5)) < 0.3
    P, R, F = precision_recall_f(pred, true, None)
    np.testing.assert_allclose(F, 2 * P * R / (P + R))


def test_zero_division_cases():
    none = np.zeros((3, 2), int)
    assert precision_recall_f(none, none, "micro") == (0.0, 0.0, 0.0)
    assert precision_recall_f(none, none, "micro", zero_division=1.0) == (1.0, 1.0, 1.0)
    # never predicted but present: P undefined -> zero_division, R = 0, F = 0 either way
    P, R, F = precision_recall_f(none, np.array([[1, 0], [0, 0], [0, 0]]), None, zero_division=1.0)
    np.testing.assert_array_equal(P, [1.0, 1.0])
    np.testing.assert_array_equal(R, [0.0, 1.0])
    np.testing.assert_array_equal(F, [0.0, 1.0])


def test_report_and_counts():
    c = confusion_counts(PREDICTIONS, TARGETS)
    np.testing.assert_array_equal(c["tp"] + c["fp"] + c["fn"] + c["tn"], [4, 4, 4])
    report = classification_report(PREDICTIONS, TARGETS)
    assert report["micro"]["f"] == pytest.approx(2 / 3)
    assert report["per_class"]["support"] == [2, 2, 0]
    assert report["exact_match"] == pytest.approx(2 / 4)
    assert report["chance_f"] == pytest.approx(2 * (4 / 12) / (1 + 4 / 12))


def test_chance_f_is_the_all_on_predictor():
    true = np.eye(4)[np.arange(40) % 4]
    assert chance_f_measure(true) == pytest.approx(0.4)
    assert precision_recall_f(np.ones_like(true), true)[2] == pytest.approx(chance_f_measure(true))


def test_bad_input():
    with pytest.raises(ValueError, match="same shape"):
        precision_recall_f(np.zeros((2, 3)), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="only 0 and 1"):
        precision_recall_f(np.full((2, 2), 2), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="average"):
        precision_recall_f(np.zeros((2, 2)), np.zeros((2, 2)), average="weighted")
