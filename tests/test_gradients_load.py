"""A `vr-brian train` run back in Brian2: weights, parameters and data as trained, the same answers."""

import warnings

import numpy as np
import pytest
from brian2 import Network, SpikeGeneratorGroup, StateMonitor, second

from gradients import load_network
from gradients.checkpoint import load_checkpoint
from gradients.data import builtin_task
from vr_brian import VRParams, forward
from vr_brian_app.train import main as train_main

TASK = dict(n_classes=3, n_in=12, steps=30, n_train=48, n_test=24, seed=2)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("trained")
    argv = [
        "builtin",
        "--out",
        str(out),
        "--classes",
        "3",
        "--inputs",
        "12",
        "--steps",
        "30",
        "--train-samples",
        "48",
        "--test-samples",
        "24",
        "--data-seed",
        "2",
        "--hidden",
        "10",
        "--epochs",
        "3",
        "--lr",
        "0.02",
        "--alpha",
        "0.3",
        "--tau-m",
        "15ms",
        "--no-progress",
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        assert train_main(argv) == 0
    return out


def micro_f(predicted, targets) -> float:
    tp = np.sum(predicted & targets)
    return 2 * tp / (2 * tp + np.sum(predicted & ~targets) + np.sum(~predicted & targets))


def test_loads_the_checkpoint_as_trained(run_dir):
    trained = load_network(run_dir)
    checkpoint = load_checkpoint(run_dir / "checkpoint.npz")
    assert trained.sizes == (12, 10, 3) and trained.epoch == 3
    for W, W_saved in zip(trained.weights, checkpoint.weights, strict=True):
        np.testing.assert_array_equal(W, W_saved)
    assert trained.params == VRParams.from_si(tau_m=15e-3, alpha=0.3) and trained.params == checkpoint.params
    assert trained.class_names == ("pattern 0", "pattern 1", "pattern 2")
    assert load_network(run_dir / "checkpoint.npz").weights[0].tobytes() == trained.weights[0].tobytes()


def test_data_rebuilt_from_the_run_are_the_training_data(run_dir):
    train, test = load_network(run_dir).data()
    expected_train, expected_test = builtin_task(**TASK)
    for rebuilt, expected in ((train, expected_train), (test, expected_test)):
        np.testing.assert_array_equal(rebuilt.spikes, expected.spikes)
        np.testing.assert_array_equal(rebuilt.targets, expected.targets)


def test_brian2_gives_the_test_score_training_measured(run_dir):
    """The loaded network run in Brian2 on the rebuilt test set scores the F that training's own
    evaluation (numpy reference, float32) wrote for the last epoch."""
    trained = load_network(run_dir)
    _, test = trained.data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        traces = trained.simulate(test.spikes, backend="brian2")
    predicted = traces.output.max(axis=1) > trained.params.v_thr
    assert micro_f(predicted, test.targets.astype(bool)) == pytest.approx(trained.history[-1]["test"]["micro"]["f"])


def test_build_puts_the_trained_layers_into_ones_own_network(run_dir, numpy_target):
    """Three test samples side by side behind a SpikeGeneratorGroup of one's own equal the reference."""
    trained = load_network(run_dir)
    _, test = trained.data()
    spikes, (n_in, _, n_out) = test.spikes[:3], trained.sizes
    sample, step, channel = np.nonzero(spikes)
    source = SpikeGeneratorGroup(
        3 * n_in, sample * n_in + channel, step * trained.params.dt * second, dt=trained.params.dt * second
    )
    layers = trained.build(source, batch=3)
    output = StateMonitor(layers.output, "U", record=True, when="before_resets")
    Network(source, *layers, output).run(spikes.shape[1] * trained.params.dt * second, namespace={})
    reference = forward([np.asarray(W, float) for W in trained.weights], spikes, trained.params)
    np.testing.assert_allclose(output.U_.reshape(3, n_out, -1).transpose(0, 2, 1), reference.output, rtol=0, atol=1e-9)
    assert len(layers.hidden) == 1 and len(layers.synapses) == 2


def test_errors_name_what_is_missing(tmp_path, run_dir):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_network(tmp_path)
    (tmp_path / "checkpoint.npz").write_bytes((run_dir / "checkpoint.npz").read_bytes())
    with pytest.raises(FileNotFoundError, match="data.json' does not exist: runs of `vr-brian train` write it"):
        load_network(tmp_path).data()
