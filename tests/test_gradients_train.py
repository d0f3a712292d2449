"""Training: it learns the built-in task, resumes exactly, and a Brian2 forward pass gives the numpy result."""

import dataclasses
import math
import warnings

import numpy as np
import pytest
from brian2 import ms, mV, volt

import gradients.train
from gradients.checkpoint import load_checkpoint, save_checkpoint
from gradients.data import builtin_task
from gradients.train import BEST_NAME, TrainConfig, TrainingDiverged, best_epoch, evaluate, init_weights, train
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
    config = TrainConfig(
        hidden=(32,), epochs=10, batch_size=32, optimizer=optimizer, lr=lr, momentum=0.9 if optimizer == "sgd" else 0.0
    )
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
    for a, b in zip(whole.weights, resumed.weights, strict=True):
        np.testing.assert_array_equal(a, b)
    assert _without_time(whole.history) == _without_time(resumed.history)
    assert resumed.optimizer_state.count == whole.optimizer_state.count == 3 * 3
    # resuming a finished run does nothing and returns the same weights; a longer run continues it
    longer = train(
        train_data, test_data, config.replace(epochs=4), params, out_dir=tmp_path / "cut", resume=True, progress=False
    )
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


def test_best_epoch_skips_the_initial_weights_and_takes_the_earliest_tie():
    assert best_epoch([0.9, 0.2, 0.5, 0.5, 0.4]) == 2
    assert best_epoch([0.1, 0.3]) == 1
    with pytest.raises(ValueError, match="f_curve must hold epoch 0 and at least one trained epoch"):
        best_epoch([0.5])


@pytest.fixture(scope="module")
def peaking_run(task):
    """A run whose test F peaks at epoch 2 of 5: [0.385, 0.0, 0.522, 0.485, 0.4, 0.5]."""
    data = task[0].subset(slice(0, 48)), task[1].subset(slice(0, 16))
    config = TrainConfig(hidden=(12,), epochs=5, batch_size=20, optimizer="adam", lr=0.02, seed=6)
    return data, config, VRParams(alpha=0.3)


def test_keep_best_keeps_the_weights_of_the_epoch_of_highest_f(peaking_run, tmp_path):
    (train_data, test_data), config, params = peaking_run
    result = train(train_data, test_data, config, params, out_dir=tmp_path, progress=False, keep_best=True)
    curve = [r["test"]["micro"]["f"] for r in result.history]
    assert result.best_epoch == 2 and max(curve[1:]) == curve[2] > curve[-1]
    # the same weights as a run trained for that many epochs only (training is deterministic)
    shorter = train(train_data, test_data, config.replace(epochs=2), params, progress=False)
    kept = load_checkpoint(tmp_path / BEST_NAME)
    assert kept.epoch == 2 and kept.history == load_checkpoint(tmp_path / "checkpoint.npz").history[:3]
    for a, b, c in zip(result.best_weights, shorter.weights, kept.weights, strict=True):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)
    # without keep_best: the epoch is reported, no weights kept, nothing written
    plain = train(train_data, test_data, config, params, out_dir=tmp_path / "plain", progress=False)
    assert plain.best_epoch == 2 and plain.best_weights is None and not (tmp_path / "plain" / BEST_NAME).exists()


def test_keep_best_survives_resume_and_never_trusts_another_epochs_file(peaking_run, tmp_path):
    (train_data, test_data), config, params = peaking_run
    whole = train(train_data, test_data, config, params, out_dir=tmp_path / "whole", progress=False, keep_best=True)

    def stop_after(epoch):
        def interrupt(record):
            if record["epoch"] == epoch:
                raise KeyboardInterrupt

        return interrupt

    def run(folder, keep_best, epochs=config.epochs, on_epoch=None):
        return train(
            train_data,
            test_data,
            config.replace(epochs=epochs),
            params,
            out_dir=tmp_path / folder,
            resume=True,
            progress=False,
            on_epoch=on_epoch,
            keep_best=keep_best,
        )

    with pytest.raises(KeyboardInterrupt):
        run("cut", True, on_epoch=stop_after(3))
    resumed = run("cut", True)
    assert resumed.best_epoch == 2
    for a, b in zip(resumed.best_weights, whole.best_weights, strict=True):
        np.testing.assert_array_equal(a, b)
    # a run begun without keep_best has no weights of its best epoch until a later epoch beats it
    with pytest.raises(KeyboardInterrupt):
        run("begun_plain", False, on_epoch=stop_after(3))
    late = run("begun_plain", True)
    assert late.best_epoch == 2 and late.best_weights is None
    longer = run("begun_plain", True, epochs=6)  # epoch 6 reaches F 0.611
    assert longer.best_epoch == 6 and load_checkpoint(tmp_path / "begun_plain" / BEST_NAME).epoch == 6
    for a, b in zip(longer.best_weights, longer.weights, strict=True):
        np.testing.assert_array_equal(a, b)
    # killed after writing the best epoch's file but before its checkpoint: the file is redone, not trusted
    with pytest.raises(KeyboardInterrupt):
        run("killed", True, on_epoch=stop_after(1))
    (tmp_path / "killed" / BEST_NAME).write_bytes((tmp_path / "whole" / BEST_NAME).read_bytes())  # epoch 2's
    assert run("killed", True, epochs=1).best_weights is None  # epoch 1's own file was replaced: none kept
    redone = run("killed", True)
    for a, b in zip(redone.best_weights, whole.best_weights, strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_checkpoint_older_than_a_setting_resumes_with_its_default(task, tmp_path):
    train_data, test_data = task[0].subset(slice(0, 8)), task[1].subset(slice(0, 4))
    config = TrainConfig(hidden=(4,), epochs=1, batch_size=8)
    train(train_data, test_data, config, VRParams(), out_dir=tmp_path, progress=False)
    saved = load_checkpoint(tmp_path / "checkpoint.npz")
    older = {k: v for k, v in saved.config.items() if k != "positive_weight"}
    save_checkpoint(tmp_path / "checkpoint.npz", dataclasses.replace(saved, config=older))
    resumed = train(
        train_data, test_data, config.replace(epochs=2), VRParams(), out_dir=tmp_path, resume=True, progress=False
    )
    assert len(resumed.history) == 3
    with pytest.raises(ValueError, match="positive_weight: 1.0 there, 2.0 now"):
        train(
            train_data,
            test_data,
            config.replace(epochs=3, positive_weight=2.0),
            VRParams(),
            out_dir=tmp_path,
            resume=True,
        )


def test_a_non_finite_loss_stops_training_and_keeps_the_last_checkpoint(task, tmp_path, monkeypatch):
    train_data, test_data = task
    config = TrainConfig(hidden=(8,), epochs=3, batch_size=16)
    finite = train(train_data, test_data, config.replace(epochs=1), VRParams(), out_dir=tmp_path, progress=False)
    real = gradients.train.loss_and_grad

    def nan_loss(*args, **kwargs):
        value, grads, traces = real(*args, **kwargs)
        return float("nan"), grads, traces

    monkeypatch.setattr(gradients.train, "loss_and_grad", nan_loss)
    with pytest.raises(TrainingDiverged, match="epoch 2, minibatch 1/"):
        train(train_data, test_data, config, VRParams(), out_dir=tmp_path, resume=True, progress=False)
    saved = load_checkpoint(tmp_path / "checkpoint.npz")
    assert saved.epoch == 1
    for W, W_saved in zip(finite.weights, saved.weights, strict=True):
        np.testing.assert_array_equal(W, W_saved)


def test_float64_and_config_validation(task):
    train_data, test_data = task[0].subset(slice(0, 8)), task[1].subset(slice(0, 4))
    result = train(
        train_data, test_data, TrainConfig(hidden=(4,), epochs=1, dtype="float64"), VRParams(), progress=False
    )
    assert all(W.dtype == np.float64 for W in result.weights)
    for bad, match in [
        ({"optimizer": "rmsprop"}, "optimizer"),
        ({"hidden": (0,)}, "hidden"),
        ({"forward": "genn"}, "forward"),
        ({"lr": -1.0}, "lr"),
        ({"dtype": "float16"}, "dtype"),
        ({"epochs": 0}, "epochs"),
        ({"q": 0.0}, "q"),
        ({"margin": 5 * ms}, "margin"),
        ({"positive_weight": 0.0}, "positive_weight"),
    ]:
        with pytest.raises(ValueError, match=match):
            TrainConfig(**bad)
    config = TrainConfig(q=500 * mV, margin=0.1 * volt)
    assert (config.q, config.margin) == (pytest.approx(0.5), pytest.approx(0.1))


def test_init_weights_follow_the_documented_law():
    rng = np.random.default_rng(0)
    W = init_weights((400, 300, 5), VRParams.from_si(v_thr=2.0), rng, "float64", mean_gain=2.0, std_gain=1.0)
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
    assert not np.allclose(
        numpy_run.weights[0], init_weights((8, 6, 3), params, np.random.default_rng(1), "float64")[0]
    )
    for a, b in zip(numpy_run.weights, brian_run.weights, strict=True):
        np.testing.assert_allclose(b, a, rtol=0, atol=1e-10)
    for a, b in zip(numpy_run.history, brian_run.history, strict=True):
        assert b["train_loss"] == pytest.approx(a["train_loss"], abs=1e-10)
        assert b["test"]["micro"] == a["test"]["micro"]


def _nan_at(weights_snapshot, real):
    """loss_and_grad that returns a NaN loss whenever it is handed exactly ``weights_snapshot``: a stand-in
    for a runaway that depends on the weights only, so that runs that reach the same weights meet it alike."""

    def loss_and_grad(weights, *args, **kwargs):
        value, grads, traces = real(weights, *args, **kwargs)
        if all(np.array_equal(W, S) for W, S in zip(weights, weights_snapshot, strict=True)):
            value = float("nan")
        return value, grads, traces

    return loss_and_grad


def test_recovery_restarts_the_epoch_deterministically_and_resumes(task, tmp_path, monkeypatch):
    train_data, test_data = task
    config = TrainConfig(hidden=(8,), epochs=3, batch_size=16, recover=1, recover_factor=0.5)
    batches = math.ceil(len(train_data) / 16)
    real, seen = gradients.train.loss_and_grad, []

    def spy(weights, *args, **kwargs):
        seen.append([W.copy() for W in weights])
        return real(weights, *args, **kwargs)

    monkeypatch.setattr(gradients.train, "loss_and_grad", spy)
    clean = train(train_data, test_data, config, VRParams(alpha=0.3), progress=False)
    snapshot = seen[batches + 2]  # epoch 2, minibatch 3
    monkeypatch.setattr(gradients.train, "loss_and_grad", _nan_at(snapshot, real))
    recovered = train(train_data, test_data, config, VRParams(alpha=0.3), out_dir=tmp_path / "a", progress=False)
    assert recovered.history[2]["recoveries"] == [{"minibatch": 3, "lr_scale": 0.5}]
    assert recovered.history[3]["lr_scale"] == 0.5 and not recovered.history[1]["recoveries"]
    assert not np.array_equal(recovered.weights[0], clean.weights[0])
    # interrupted after epoch 1 (the checkpoint a kill during epoch 2 leaves), then resumed
    train(train_data, test_data, config.replace(epochs=1), VRParams(alpha=0.3), out_dir=tmp_path / "b", progress=False)
    resumed = train(
        train_data, test_data, config, VRParams(alpha=0.3), out_dir=tmp_path / "b", resume=True, progress=False
    )
    for W, W_resumed in zip(recovered.weights, resumed.weights, strict=True):
        np.testing.assert_array_equal(W, W_resumed)
    assert _without_time(resumed.history) == _without_time(recovered.history)
    assert load_checkpoint(tmp_path / "b" / "checkpoint.npz").config["lr_scale"] == 0.5
    with pytest.raises(TrainingDiverged, match="epoch 2, minibatch 3/.*after 0 recoveries of 0"):
        train(train_data, test_data, config.replace(recover=0), VRParams(alpha=0.3), progress=False)


def test_projection_bound_holds_after_every_step(task, monkeypatch):
    from vr_brian.stability import loop_gain

    train_data, test_data = task
    real, moved = gradients.train.project_to_bound, []

    def checked(W, rates, params, bound):
        projected, count = real(W, rates, params, bound)
        assert np.abs(loop_gain(projected, rates.T, params)).max() <= bound * (1 + 1e-5)
        moved.append(count)
        return projected, count

    monkeypatch.setattr(gradients.train, "project_to_bound", checked)
    config = TrainConfig(hidden=(16,), epochs=2, batch_size=32, stability_bound=0.5)
    result = train(train_data, test_data, config, VRParams(alpha=0.3), progress=False)
    assert sum(moved) > 0 and len(moved) == 2 * 2 * math.ceil(len(train_data) / 32)
    assert sum(r["remedies"]["projected_rows"] for r in result.history[1:]) == sum(moved)


def test_clipping_and_learning_rate_schedule_reach_the_optimiser(task, monkeypatch):
    from gradients.optim import Adam, learning_rate_factor

    train_data, test_data = task
    calls = []
    real_step = Adam.step

    def step(self, params, grads, state, scale=1.0):
        calls.append((math.sqrt(sum(float((g.astype(float) ** 2).sum()) for g in grads)), list(scale)))
        return real_step(self, params, grads, state, scale)

    monkeypatch.setattr(Adam, "step", step)
    config = TrainConfig(
        hidden=(16,), epochs=3, batch_size=32, clip_grad_norm=0.05, warmup_epochs=1, lr_decay="cosine", lr_fan_in=8
    )
    result = train(train_data, test_data, config, VRParams(alpha=0.3), progress=False)
    batches = math.ceil(len(train_data) / 32)
    assert len(calls) == 3 * batches
    assert max(norm for norm, _ in calls) <= 0.05 * (1 + 1e-6)
    assert sum(r["remedies"]["clipped_minibatches"] for r in result.history[1:]) > 0
    for k, (_, scale) in enumerate(calls):
        factor = learning_rate_factor(k, 3 * batches, batches, "cosine")
        assert scale == pytest.approx([factor * 8 / 32, factor * 8 / 16])


def test_weight_decay_reaches_the_optimiser_and_the_checkpoint(task, tmp_path, monkeypatch):
    from gradients.optim import Adam

    train_data, test_data = task
    decays = []
    real_step = Adam.step

    def step(self, params, grads, state, scale=1.0):
        decays.append(self.weight_decay)
        return real_step(self, params, grads, state, scale)

    monkeypatch.setattr(Adam, "step", step)
    config = TrainConfig(hidden=(8,), epochs=1, weight_decay=0.25)
    train(train_data, test_data, config, VRParams(alpha=0.0), out_dir=tmp_path, progress=False)
    assert decays and set(decays) == {0.25}
    assert load_checkpoint(tmp_path / "checkpoint.npz").config["weight_decay"] == 0.25


def test_stable_initialisation_meets_its_target(task):
    from gradients.train import initial_weights
    from vr_brian.stability import initial_gain

    train_data, _ = task
    params = VRParams(alpha=0.3)
    sizes = (32, 64, 4)
    config = TrainConfig(hidden=(64,), init="stable", init_mean_gain=0.5, init_std_gain=1.0, stability_target=0.2)
    weights = initial_weights(config, sizes, params, np.random.default_rng(0), train_data)
    plain = initial_weights(config.replace(init="gain"), sizes, params, np.random.default_rng(0), train_data)
    rate = float(train_data.spikes[:256].mean())
    drawn_std = float(weights[0].std())
    assert drawn_std < 0.9 * float(plain[0].std())  # the target binds here
    assert initial_gain(params, rate, 32, 64, 0.5 / 32, drawn_std) == pytest.approx(0.2, rel=0.15)


def test_remedy_settings_are_validated():
    for bad, match in [
        ({"clip_grad_norm": 0.0}, "clip_grad_norm"),
        ({"stability_bound": -1.0}, "stability_bound"),
        ({"warmup_epochs": 20, "epochs": 10}, "warmup_epochs"),
        ({"lr_decay": "linear"}, "lr_decay"),
        ({"recover": -1}, "recover"),
        ({"recover_factor": 1.0}, "recover_factor"),
        ({"lr_fan_in": 0}, "lr_fan_in"),
        ({"init": "xavier"}, "init"),
        ({"stability_target": 0.0}, "stability_target"),
    ]:
        with pytest.raises(ValueError, match=match):
            TrainConfig(**bad)
