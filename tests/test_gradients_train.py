"""Training: it learns the built-in task, resumes exactly, and a Brian2 forward pass gives the numpy result."""

import dataclasses
import math
import warnings

import numpy as np
import pytest

from brian2 import mV, ms, volt

from gradients.checkpoint import load_checkpoint, save_checkpoint
from gradients.data import builtin_task
import gradients.train
from gradients.train import TrainConfig, TrainingDiverged, evaluate, init_weights, train
from vr_brian import VRParams
from vr_brian.traces import NegativeResistanceWarning


@pytest.fixture(autouse=True)
def _quiet_resistance_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NegativeResistanceWarning)
        yield


@pytest.fixture(scope="module")
def task():
    return builtin_task(4, n_in=32, steps=60, n_train=128, n_test=64, seed=0)


def _without_time(history):
    return [{k: v for k, v in record.items() if k != "seconds"} for record in history]


@pytest.mark.parametrize("optimizer, lr", [("adam", 0.01), ("sgd", 0.1)])
def test_training_lowers_the_loss_and_beats_chance(task, optimizer, lr):
    train_data, test_data = task
    config = TrainConfig(hidden=(32,), epochs=10, batch_size=32, optimizer=optimizer, lr=lr,
                         momentum=0.9 if optimizer == "sgd" else 0.0)
    result = train(train_data, test_data, config, VRParams(alpha=0.3), progress=False)
    first, last = result.history[0], result.history[-1]
    assert [r["epoch"] for r in result.history] == list(range(11))
    assert last["train_loss"] < 0.25 * first["train_loss"]
    assert last["test"]["loss"] < 0.25 * first["test"]["loss"]
    chance = last["test"]["chance_f"]
    assert chance == pytest.approx(0.4)
    assert last["test"]["micro"]["f"] > chance + 0.35, last["test"]["micro"]
    assert all(r["test"]["runaway"] == 0 for r in result.history)
    # the reported metrics are those of the returned weights
    again = evaluate(result.weights, test_data, result.params)
    assert again["micro"] == last["test"]["micro"] and again["loss"] == pytest.approx(last["test"]["loss"])
    assert all(W.dtype == np.float32 for W in result.weights)


def test_resume_after_interruption_equals_uninterrupted_run(task, tmp_path):
    train_data, test_data = task[0].subset(slice(0, 48)), task[1].subset(slice(0, 16))
    config = TrainConfig(hidden=(12,), epochs=3, batch_size=20, optimizer="adam", lr=0.02, seed=5)
    params = VRParams(alpha=0.3)
    whole = train(train_data, test_data, config, params, out_dir=tmp_path / "whole", progress=False)

    def interrupt(record):
        if record["epoch"] == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(train_data, test_data, config, params, out_dir=tmp_path / "cut", progress=False, on_epoch=interrupt)
    assert load_checkpoint(tmp_path / "cut" / "checkpoint.npz").epoch == 1
    resumed = train(train_data, test_data, config, params, out_dir=tmp_path / "cut", resume=True, progress=False)
    for a, b in zip(whole.weights, resumed.weights):
        np.testing.assert_array_equal(a, b)
    assert _without_time(whole.history) == _without_time(resumed.history)
    assert resumed.optimizer_state.count == whole.optimizer_state.count == 3 * 3
    # resuming a finished run does nothing and returns the same weights; a longer run continues it
    longer = train(train_data, test_data, config.replace(epochs=4), params, out_dir=tmp_path / "cut", resume=True,
                   progress=False)
    assert len(longer.history) == 5 and _without_time(longer.history[:4]) == _without_time(whole.history)


def test_resume_refuses_a_different_run(task, tmp_path):
    train_data, test_data = task[0].subset(slice(0, 8)), task[1].subset(slice(0, 4))
    config = TrainConfig(hidden=(4,), epochs=1, batch_size=8)
    train(train_data, test_data, config, VRParams(), out_dir=tmp_path, progress=False)
    with pytest.raises(FileExistsError, match="resume"):
        train(train_data, test_data, config, VRParams(), out_dir=tmp_path, progress=False)
    with pytest.raises(ValueError, match="lr: 0.01 there, 0.02 now"):
        train(train_data, test_data, config.replace(lr=0.02), VRParams(), out_dir=tmp_path, resume=True)
    with pytest.raises(ValueError, match="VRParams"):
        train(train_data, test_data, config, VRParams(alpha=0.1), out_dir=tmp_path, resume=True)
    with pytest.raises(ValueError, match="other data"):
        train(task[0].subset(slice(8, 16)), test_data, config, VRParams(), out_dir=tmp_path, resume=True)


def test_a_checkpoint_older_than_a_setting_resumes_with_its_default(task, tmp_path):
    train_data, test_data = task[0].subset(slice(0, 8)), task[1].subset(slice(0, 4))
    config = TrainConfig(hidden=(4,), epochs=1, batch_size=8)
    train(train_data, test_data, config, VRParams(), out_dir=tmp_path, progress=False)
    saved = load_checkpoint(tmp_path / "checkpoint.npz")
    older = {k: v for k, v in saved.config.items() if k != "positive_weight"}
    save_checkpoint(tmp_path / "checkpoint.npz", dataclasses.replace(saved, config=older))
    resumed = train(train_data, test_data, config.replace(epochs=2), VRParams(), out_dir=tmp_path, resume=True,
                    progress=False)
    assert len(resumed.history) == 3
    with pytest.raises(ValueError, match="positive_weight: 1.0 there, 2.0 now"):
        train(train_data, test_data, config.replace(epochs=3, positive_weight=2.0), VRParams(), out_dir=tmp_path,
              resume=True)


def test_a_non_finite_loss_stops_training_and_keeps_the_last_checkpoint(task, tmp_path, monkeypatch):
    train_data, test_data = task
    config = TrainConfig(hidden=(8,), epochs=3, batch_size=16)
    finite = train(train_data, test_data, config.replace(epochs=1), VRParams(), out_dir=tmp_path, progress=False)
    real = gradients.train.loss_and_grad

    def nan_loss(*args, **kwargs):
        value, grads = real(*args, **kwargs)
        return float("nan"), grads

    monkeypatch.setattr(gradients.train, "loss_and_grad", nan_loss)
    with pytest.raises(TrainingDiverged, match="epoch 2, minibatch 1/"):
        train(train_data, test_data, config, VRParams(), out_dir=tmp_path, resume=True, progress=False)
    saved = load_checkpoint(tmp_path / "checkpoint.npz")
    assert saved.epoch == 1
    for W, W_saved in zip(finite.weights, saved.weights):
        np.testing.assert_array_equal(W, W_saved)


def test_float64_and_config_validation(task):
    train_data, test_data = task[0].subset(slice(0, 8)), task[1].subset(slice(0, 4))
    result = train(train_data, test_data, TrainConfig(hidden=(4,), epochs=1, dtype="float64"), VRParams(),
                   progress=False)
    assert all(W.dtype == np.float64 for W in result.weights)
    for bad, match in [({"optimizer": "rmsprop"}, "optimizer"), ({"hidden": (0,)}, "hidden"),
                       ({"forward": "genn"}, "forward"), ({"lr": -1.0}, "lr"), ({"dtype": "float16"}, "dtype"),
                       ({"epochs": 0}, "epochs"), ({"q": 0.0}, "q"), ({"margin": 5 * ms}, "margin"),
                       ({"positive_weight": 0.0}, "positive_weight")]:
        with pytest.raises(ValueError, match=match):
            TrainConfig(**bad)
    config = TrainConfig(q=500 * mV, margin=0.1 * volt)
    assert (config.q, config.margin) == (pytest.approx(0.5), pytest.approx(0.1))


def test_init_weights_follow_the_documented_law():
    rng = np.random.default_rng(0)
    W = init_weights((400, 300, 5), VRParams(v_thr=2.0), rng, "float64", mean_gain=2.0, std_gain=1.0)
    assert W[0].shape == (300, 400) and W[1].shape == (5, 300)
    assert W[0].mean() == pytest.approx(2.0 * 2.0 / 400, abs=4 * (2.0 / 20) / math.sqrt(W[0].size))
    assert W[0].std() == pytest.approx(2.0 / 20, rel=0.01)


@pytest.mark.slow
def test_brian2_forward_gives_the_numpy_training_run(task):
    # SGD steps are linear in the gradient, so equal weights after every step mean equal gradients;
    # 6 samples in minibatches of 4 make the second minibatch a padded one
    train_data, test_data = task[0].subset(slice(0, 6)), task[1].subset(slice(0, 3))
    train_data = type(train_data)(train_data.spikes[:, :30, :8], train_data.targets[:, :3])
    test_data = type(test_data)(test_data.spikes[:, :30, :8], test_data.targets[:, :3])
    config = TrainConfig(hidden=(6,), epochs=2, batch_size=4, optimizer="sgd", lr=0.3, dtype="float64", seed=1)
    params = VRParams(alpha=0.3)
    numpy_run = train(train_data, test_data, config, params, progress=False)
    brian_run = train(train_data, test_data, config.replace(forward="brian2"), params, progress=False)
    assert not np.allclose(numpy_run.weights[0], init_weights((8, 6, 3), params, np.random.default_rng(1),
                                                              "float64")[0])
    for a, b in zip(numpy_run.weights, brian_run.weights):
        np.testing.assert_allclose(b, a, rtol=0, atol=1e-10)
    for a, b in zip(numpy_run.history, brian_run.history):
        assert b["train_loss"] == pytest.approx(a["train_loss"], abs=1e-10)
        assert b["test"]["micro"] == a["test"]["micro"]
