r"""Precision, recall and F-measure of multi-hot predictions.

Predictions and targets are 0/1 arrays of shape (n_samples, n_classes); one
sample may carry any number of labels (single-label data is the one-hot case).
From the per-class counts of true positives TP, false positives FP and false
negatives FN:

.. math::

    P = \frac{TP}{TP + FP},\qquad R = \frac{TP}{TP + FN},\qquad
    F = \frac{2\,TP}{2\,TP + FP + FN} \;(= 2PR/(P+R) \text{ where both are defined}).

- *per class*: the counts of one class;
- *micro*: the counts summed over classes first (every label decision weighs the same);
- *macro*: the unweighted mean of the per-class values.

A ratio whose denominator is 0 takes the value ``zero_division`` (0 by default,
as in scikit-learn): a class never predicted has precision 0, a class never
present has recall 0, and a class neither present nor predicted has F = 0. Set
``zero_division=1.0`` to count "nothing to find and nothing claimed" as perfect.
"""

from __future__ import annotations

import numpy as np

from vr_brian.checks import check_binary

__all__ = ["confusion_counts", "precision_recall_f", "classification_report", "chance_f_measure"]


def _binary(array, name: str) -> np.ndarray:
    return check_binary(array, name, "n_samples, n_classes", allow_empty=True)


def confusion_counts(predictions, targets) -> dict:
    """Per-class counts ``tp``, ``fp``, ``fn``, ``tn`` and ``support`` (= tp + fn), each (n_classes,) int."""
    pred, true = _binary(predictions, "predictions"), _binary(targets, "targets")
    if pred.shape != true.shape:
        raise ValueError(f"predictions {pred.shape} and targets {true.shape} must have the same shape")
    tp = np.count_nonzero(pred & true, axis=0)
    fp = np.count_nonzero(pred & ~true, axis=0)
    fn = np.count_nonzero(~pred & true, axis=0)
    tn = np.count_nonzero(~pred & ~true, axis=0)
    return {"tp": tp, "fp": fp, "fn": fn, "tn": tn, "support": tp + fn}


def _ratio(numerator, denominator, zero_division: float):
    numerator, denominator = np.asarray(numerator, float), np.asarray(denominator, float)
    out = np.full(np.broadcast(numerator, denominator).shape, float(zero_division))
    np.divide(numerator, denominator, out=out, where=denominator > 0)
    return out


def _prf(tp, fp, fn, zero_division: float) -> tuple:
    return (
        _ratio(tp, tp + fp, zero_division),
        _ratio(tp, tp + fn, zero_division),
        _ratio(2 * tp, 2 * tp + fp + fn, zero_division),
    )


def precision_recall_f(predictions, targets, average: str | None = "micro", zero_division: float = 0.0) -> tuple:
    """Precision, recall and F-measure.

    Parameters
    ----------
    predictions, targets : array_like
        0/1 or bool, (n_samples, n_classes).
    average : {"micro", "macro", None}
        ``None`` gives per-class arrays of shape (n_classes,).
    zero_division : float
        Value of a ratio whose denominator is 0 (see the module docstring).

    Returns
    -------
    (precision, recall, f) : floats, or arrays for ``average=None``.
    """
    if average not in ("micro", "macro", None):
        raise ValueError(f"average must be 'micro', 'macro' or None, got {average!r}")
    c = confusion_counts(predictions, targets)
    if average == "micro":
        return tuple(float(x) for x in _prf(c["tp"].sum(), c["fp"].sum(), c["fn"].sum(), zero_division))
    per_class = _prf(c["tp"], c["fp"], c["fn"], zero_division)
    if average is None:
        return per_class
    return tuple(float(x.mean()) for x in per_class)


def classification_report(predictions, targets, zero_division: float = 0.0) -> dict:
    """All of the above in one JSON-ready dict.

    Keys: ``micro`` and ``macro`` ({"precision", "recall", "f"}), ``per_class``
    ({"precision", "recall", "f", "support"}: lists over classes), ``exact_match``
    (fraction of samples whose whole label set is right) and ``chance_f``
    (:func:`chance_f_measure` of the targets).
    """
    c = confusion_counts(predictions, targets)
    P, R, F = _prf(c["tp"], c["fp"], c["fn"], zero_division)
    micro = _prf(c["tp"].sum(), c["fp"].sum(), c["fn"].sum(), zero_division)
    pred, true = _binary(predictions, "predictions"), _binary(targets, "targets")
    return {
        "micro": dict(zip(("precision", "recall", "f"), (float(x) for x in micro), strict=True)),
        "macro": {"precision": float(P.mean()), "recall": float(R.mean()), "f": float(F.mean())},
        "per_class": {"precision": P.tolist(), "recall": R.tolist(), "f": F.tolist(), "support": c["support"].tolist()},
        "exact_match": float(np.mean(np.all(pred == true, axis=1))),
        "chance_f": chance_f_measure(true),
    }


def chance_f_measure(targets) -> float:
    r"""The best micro F-measure a predictor that ignores its input can expect.

    A predictor that outputs each label independently with probability r, on
    targets whose fraction of positive entries is p, expects TP = rpN, FP = r(1-p)N,
    FN = (1-r)pN, so F = 2rp/(r+p), which grows with r: the best is r = 1, "every
    label on", with :math:`F = 2p/(1+p)` (0.4 for one-hot targets over 4 classes).
    """
    p = float(_binary(targets, "targets").mean())
    return 2 * p / (1 + p)
