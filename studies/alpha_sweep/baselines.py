r"""Non-spiking baselines on the same spike inputs as the spiking networks.

- A one-hidden-layer tanh MLP (L2-penalised, fitted by L-BFGS) on the spike counts per channel
  and time bin, :math:`x_{c,b} = \log(1 + \#\text{spikes of channel } c \text{ in bin } b)`,
  standardised with the training statistics: softmax output and cross-entropy, prediction the
  argmax class, for single-label data; sigmoid outputs and binary cross-entropy, prediction
  :math:`p > 1/2` per label, for multi-label data (the piano). With ``hidden = 0`` it is a
  logistic (softmax or per-label sigmoid) regression of the same features.
- An LSTM (torch, optional: the ``autodiff`` extra) over the sequence of spike counts per
  channel in time bins, read out from its last hidden state, trained by Adam with the same
  losses, stopped at the epoch of best validation F.
"""

from __future__ import annotations

import math
import time

import numpy as np

__all__ = [
    "count_features",
    "mlp_parameter_count",
    "mlp_logits",
    "mlp_loss_and_grad",
    "is_multi_label",
    "train_baseline",
    "f_by_label_count",
    "binned_counts",
    "lstm_parameter_count",
    "train_lstm",
]


def count_features(spikes, bins: int) -> np.ndarray:
    r"""Spike counts per channel and time bin, :math:`\log(1 + n_{c,b})`, flattened to (n, channels * bins).

    The ``steps`` axis is cut into ``bins`` nearly equal contiguous parts (:func:`numpy.array_split`).
    """
    spikes = np.asarray(spikes)
    if spikes.ndim != 3:
        raise ValueError(f"spikes must be (n, steps, channels), got shape {spikes.shape}")
    if int(bins) != bins or not 1 <= bins <= spikes.shape[1]:
        raise ValueError(f"bins must be an integer in [1, steps={spikes.shape[1]}], got {bins!r}")
    parts = [part.sum(axis=1) for part in np.array_split(spikes.astype(np.float64), int(bins), axis=1)]
    return np.log1p(np.stack(parts, axis=2)).reshape(len(spikes), -1)


def mlp_parameter_count(n_in: int, hidden: int, n_out: int) -> int:
    """Weights and biases of an ``n_in``-``hidden``-``n_out`` MLP (``hidden = 0``: softmax regression)."""
    if hidden == 0:
        return n_in * n_out + n_out
    return n_in * hidden + hidden + hidden * n_out + n_out


def _unpack(theta, n_in, hidden, n_out):
    if hidden == 0:
        return theta[: n_in * n_out].reshape(n_in, n_out), theta[n_in * n_out :], None, None
    a = n_in * hidden
    W1, b1 = theta[:a].reshape(n_in, hidden), theta[a : a + hidden]
    W2 = theta[a + hidden : a + hidden + hidden * n_out].reshape(hidden, n_out)
    return W1, b1, W2, theta[a + hidden + hidden * n_out :]


def mlp_logits(theta, X, hidden: int, n_out: int):
    """``(z, h)``: output logits and hidden activations (None without a hidden layer)."""
    W1, b1, W2, b2 = _unpack(theta, X.shape[1], hidden, n_out)
    if hidden == 0:
        return X @ W1 + b1, None
    h = np.tanh(X @ W1 + b1)
    return h @ W2 + b2, h


def mlp_loss_and_grad(theta, X, targets, hidden: int, n_out: int, l2: float):
    r"""Mean cross-entropy of a tanh MLP plus an L2 penalty on the weights, and its gradient.

    :math:`h = \tanh(X W_1 + b_1)`, :math:`z = h W_2 + b_2` (``hidden = 0``: :math:`z = X W + b`).
    ``targets`` as class indices (n,): softmax output,
    :math:`L = -\frac1n \sum_i \log \operatorname{softmax}(z_i)_{y_i}`; as a multi-hot (n, n_out)
    array: independent sigmoid outputs,
    :math:`L = -\frac1n \sum_{i,k} [y_{ik} \log \sigma(z_{ik}) + (1 - y_{ik}) \log(1 - \sigma(z_{ik}))]`;
    plus :math:`\frac{l_2}{2} \sum \lVert W\rVert^2` (biases not penalised). ``theta`` is the
    flat parameter vector (:func:`mlp_parameter_count`).
    """
    n, n_in = X.shape
    W1, b1, W2, b2 = _unpack(theta, n_in, hidden, n_out)
    z, h = mlp_logits(theta, X, hidden, n_out)
    targets = np.asarray(targets)
    if targets.ndim == 2:
        # log sigma(z) = -log(1 + e^-z), written stably with logaddexp
        loss = np.sum(targets * np.logaddexp(0, -z) + (1 - targets) * np.logaddexp(0, z)) / n
        dz = (0.5 * (1 + np.tanh(0.5 * z)) - targets) / n
    else:
        z = z - z.max(axis=1, keepdims=True)
        log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        loss = -np.mean(log_p[np.arange(n), targets])
        dz = (np.exp(log_p) - np.eye(n_out)[targets]) / n
    if hidden == 0:
        loss += 0.5 * l2 * np.sum(W1**2)
        return loss, np.concatenate([(X.T @ dz + l2 * W1).ravel(), dz.sum(axis=0)])
    loss += 0.5 * l2 * (np.sum(W1**2) + np.sum(W2**2))
    dh = (dz @ W2.T) * (1 - h**2)
    return loss, np.concatenate(
        [(X.T @ dh + l2 * W1).ravel(), dh.sum(axis=0), (h.T @ dz + l2 * W2).ravel(), dz.sum(axis=0)]
    )


def is_multi_label(data) -> bool:
    """Whether any sample of ``data`` has other than exactly one label."""
    return bool(np.any(data.targets.sum(axis=1) != 1))


def train_baseline(
    train_data, test_data, *, bins: int, hidden: int, seed: int, l2: float = 1e-3, max_iter: int = 500
) -> dict:
    """Fit the count-feature MLP by L-BFGS (scipy) and evaluate it like the spiking networks.

    Single-label data (one label per training sample) get the softmax MLP and argmax predictions,
    multi-label data the sigmoid MLP and :math:`p > 1/2` per label. Returns a dict with
    ``parameters``, ``train_f`` (micro F on the training set), ``seconds``, ``multi_label``, the test
    :func:`gradients.metrics.classification_report` and ``f_by_label_count``.
    """
    from scipy.optimize import minimize

    from gradients.metrics import classification_report

    start = time.perf_counter()
    X_train, X_test = count_features(train_data.spikes, bins), count_features(test_data.spikes, bins)
    mean, std = X_train.mean(axis=0), X_train.std(axis=0) + 1e-6
    X_train, X_test = (X_train - mean) / std, (X_test - mean) / std
    multi_label = is_multi_label(train_data)
    labels = train_data.targets.astype(float) if multi_label else np.argmax(train_data.targets, axis=1)
    n_in, n_out = X_train.shape[1], train_data.n_classes
    size = mlp_parameter_count(n_in, hidden, n_out)
    rng = np.random.default_rng(seed)
    theta = rng.normal(0.0, 1.0 / math.sqrt(n_in), size) if hidden else np.zeros(size)
    fit = minimize(
        mlp_loss_and_grad,
        theta,
        args=(X_train, labels, hidden, n_out, l2),
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": max_iter},
    )

    def predict(X):
        z, _ = mlp_logits(fit.x, X, hidden, n_out)
        return z > 0 if multi_label else np.eye(n_out, dtype=bool)[np.argmax(z, axis=1)]

    test_predictions = predict(X_test)
    return {
        "parameters": size,
        "bins": bins,
        "hidden": hidden,
        "seed": seed,
        "l2": l2,
        "multi_label": multi_label,
        "train_f": classification_report(predict(X_train), train_data.targets)["micro"]["f"],
        "seconds": time.perf_counter() - start,
        "test": classification_report(test_predictions, test_data.targets),
        "f_by_label_count": f_by_label_count(test_predictions, test_data.targets),
    }


def f_by_label_count(predictions, targets) -> dict:
    """Micro F-measure of the samples with each number of labels (the polyphony of a chord)."""
    from gradients.metrics import classification_report

    counts = np.asarray(targets).sum(axis=1)
    return {
        str(int(k)): classification_report(predictions[counts == k], targets[counts == k])["micro"]["f"]
        for k in np.unique(counts)
    }


def binned_counts(spikes, bin_steps: int) -> np.ndarray:
    r""":math:`\log(1 + n)` of the spikes of each channel in consecutive bins of ``bin_steps`` steps:
    (n, bins, channels) float32, the last bin shorter when the steps do not divide."""
    spikes = np.asarray(spikes)
    if int(bin_steps) != bin_steps or not 1 <= bin_steps <= spikes.shape[1]:
        raise ValueError(f"bin_steps must be an integer in [1, steps={spikes.shape[1]}], got {bin_steps!r}")
    edges = np.arange(0, spikes.shape[1], int(bin_steps))
    counts = np.add.reduceat(spikes.astype(np.float32), edges, axis=1)
    return np.log1p(counts).astype(np.float32)


def lstm_parameter_count(n_in: int, hidden: int, n_out: int) -> int:
    """Weights and biases of an LSTM (torch's two bias vectors) with a linear read-out."""
    return 4 * hidden * (n_in + hidden + 2) + hidden * n_out + n_out


def train_lstm(
    train_data,
    validation_data,
    test_data,
    *,
    hidden: int,
    bin_steps: int,
    seed: int,
    epochs: int = 30,
    lr: float = 3e-3,
    batch_size: int = 32,
    positive_weight: float = 1.0,
) -> dict:
    """Fit the LSTM baseline (torch) and evaluate it like the spiking networks.

    The features are :func:`binned_counts`, standardised per channel with the training statistics;
    the read-out is linear on the last hidden state; single-label data get softmax and
    cross-entropy, multi-label data sigmoids and binary cross-entropy (as the MLP), its positive
    terms weighted by ``positive_weight`` (as the spiking networks' loss: most labels of a chord are
    silent, and without the weight the LSTM learns to answer none). The weights
    of the epoch with the best validation micro F are the ones tested.
    """
    import torch

    from gradients.metrics import classification_report

    start = time.perf_counter()
    torch.manual_seed(seed)
    features = [binned_counts(d.spikes, bin_steps) for d in (train_data, validation_data, test_data)]
    mean = features[0].mean(axis=(0, 1))
    std = features[0].std(axis=(0, 1)) + 1e-6
    X_train, X_val, X_test = (torch.from_numpy((x - mean) / std) for x in features)
    multi_label = is_multi_label(train_data)
    n_in, n_out = X_train.shape[2], train_data.n_classes
    lstm = torch.nn.LSTM(n_in, hidden, batch_first=True)
    readout = torch.nn.Linear(hidden, n_out)
    model = torch.nn.ModuleDict({"lstm": lstm, "readout": readout})
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    if multi_label:
        y_train = torch.from_numpy(train_data.targets.astype(np.float32))
        criterion = torch.nn.BCEWithLogitsLoss(pos_weight=torch.full((n_out,), float(positive_weight)))
    else:
        y_train = torch.from_numpy(np.argmax(train_data.targets, axis=1))
        criterion = torch.nn.CrossEntropyLoss()

    def logits(X):
        output, _ = lstm(X)
        return readout(output[:, -1])

    def predict(X):
        with torch.no_grad():
            z = torch.cat([logits(X[i : i + 256]) for i in range(0, len(X), 256)]).numpy()
        return z > 0 if multi_label else np.eye(n_out, dtype=bool)[np.argmax(z, axis=1)]

    generator = np.random.default_rng(seed)
    best = (-1.0, 0, None)
    curve = []
    for epoch in range(1, epochs + 1):
        order = generator.permutation(len(X_train))
        for first in range(0, len(order), batch_size):
            index = torch.from_numpy(order[first : first + batch_size])
            optimizer.zero_grad()
            criterion(logits(X_train[index]), y_train[index]).backward()
            optimizer.step()
        f = classification_report(predict(X_val), validation_data.targets)["micro"]["f"]
        curve.append(f)
        if f > best[0]:
            best = (f, epoch, {name: value.clone() for name, value in model.state_dict().items()})
    model.load_state_dict(best[2])
    test_predictions = predict(X_test)
    return {
        "parameters": lstm_parameter_count(n_in, hidden, n_out),
        "hidden": hidden,
        "bin_steps": bin_steps,
        "seed": seed,
        "lr": lr,
        "positive_weight": positive_weight if multi_label else None,
        "epochs": epochs,
        "best_epoch": best[1],
        "validation_f": best[0],
        "curve_validation_f": curve,
        "multi_label": multi_label,
        "train_f": classification_report(predict(X_train), train_data.targets)["micro"]["f"],
        "seconds": time.perf_counter() - start,
        "test": classification_report(test_predictions, test_data.targets),
        "f_by_label_count": f_by_label_count(test_predictions, test_data.targets),
    }
