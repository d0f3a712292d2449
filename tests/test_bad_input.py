"""Bad input, case by case: each is refused before any work with a message naming the parameter and what
is accepted, or computed correctly (README "What is checked"). Property-based tests (hypothesis) of the
validators at the end."""

import argparse
import json
import zipfile

import numpy as np
import pytest
from brian2 import ms, second, volt
from hypothesis import given, settings
from hypothesis import strategies as st

import gradients
from gradients.data import load_npz
from gradients.train import TrainConfig
from vr_brian import BrianNetwork, VRParams, connect_layers, simulate, vr_neuron_group
from vr_brian.checks import check_integer
from vr_brian.params import parse_quantity, to_si
from vr_brian.traces import weights_fingerprint
from vr_brian_app.genn import main as genn_main
from vr_brian_app.train import main as train_main

P = VRParams(alpha=0.3)
TINY = ["--no-progress", "--train-samples", "8", "--test-samples", "4", "--steps", "15", "--hidden", "4"]
TINY += ["--inputs", "6", "--classes", "3"]


def network(seed=0):
    rng = np.random.default_rng(seed)
    weights = [rng.normal(0.2, 0.3, (5, 4)), rng.normal(0.2, 0.3, (2, 5))]
    spikes = rng.random((3, 30, 4)) < 0.3
    targets = np.zeros((3, 2), bool)
    targets[:, 0] = True
    return weights, spikes, targets


# -- silently wrong or ignored, before --------------------------------------------------------------


def test_replay_with_other_weights_is_refused():
    W, S, T = network()
    traces = simulate(W, S, P)
    other = [w * 1.1 for w in W]
    with pytest.raises(ValueError, match="recorded with other weights"):
        gradients.loss_and_grad(other, S, T, P, traces=traces)
    # the same weights replay, also as float32 copies of float32 values
    value, _ = gradients.loss_and_grad(W, S, T, P, traces=traces)
    assert value == pytest.approx(gradients.loss_and_grad(W, S, T, P)[0], rel=1e-12)
    W32 = [w.astype(np.float32) for w in W]
    assert weights_fingerprint(W32) == weights_fingerprint([w.astype(np.float64) for w in W32])
    gradients.loss_and_grad(W32, S, T, P, traces=simulate(W32, S, P))


def test_connect_layers_refuses_seconds_and_nan():
    source, target = vr_neuron_group(4, P), vr_neuron_group(5, P)
    with pytest.raises(ValueError, match="volts"):
        connect_layers(source, target, np.ones((5, 4)) * second)
    with pytest.raises(ValueError, match="NaN"):
        connect_layers(source, target, np.full((5, 4), np.nan))
    with pytest.raises(ValueError, match=r"2-D \(n_post, n_pre\)"):
        connect_layers(source, target, np.ones(5))


def test_float16_weights_and_an_ignored_target_are_refused():
    W, S, _ = network()
    with pytest.raises(TypeError, match="float32 or float64"):
        simulate([w.astype(np.float16) for w in W], S, P)
    for kwargs in ({"target": "cython"}, {"target": "numpy"}, {"directory": "x"}, {"report": "text"}):
        with pytest.raises(ValueError, match="backend='brian2'"):
            simulate(W, S, P, backend="numpy", **kwargs)


def test_non_integer_sizes_are_refused():
    with pytest.raises(ValueError, match="integers >= 1"):
        BrianNetwork([4, 2.5, 2], P, steps=5)
    with pytest.raises(ValueError, match="n \\(the number of neurons\\) must be an integer >= 1, got 2.5"):
        vr_neuron_group(2.5, P)
    with pytest.raises(ValueError, match="steps must be an integer"):
        BrianNetwork([4, 2], P, steps=5.5)


def test_momentum_with_adam_is_refused(tmp_path, capsys):
    with pytest.raises(ValueError, match="momentum is a setting of optimizer='sgd'"):
        TrainConfig(optimizer="adam", momentum=5.0)
    TrainConfig(optimizer="sgd", momentum=0.9)
    assert train_main(["builtin", "--out", str(tmp_path / "a"), "--momentum", "0.9", *TINY]) == 2
    assert "momentum" in capsys.readouterr().err and not (tmp_path / "a" / "checkpoint.npz").exists()


def test_negative_weight_decay_is_refused_before_any_work(tmp_path, capsys):
    with pytest.raises(ValueError, match=r"weight_decay must lie in \[0, inf\)"):
        TrainConfig(weight_decay=-1e-3)
    assert train_main(["builtin", "--out", str(tmp_path / "a"), "--weight-decay", "-0.1", *TINY]) == 2
    assert "weight_decay" in capsys.readouterr().err and not (tmp_path / "a" / "checkpoint.npz").exists()


@pytest.mark.parametrize("option", ["--tau-m", "--tau-s", "--dt", "--v-thr", "--margin", "--q"])
def test_train_options_need_units(tmp_path, capsys, option):
    with pytest.raises(SystemExit):
        train_main(["builtin", "--out", str(tmp_path / "a"), option, "20", *TINY])
    err = capsys.readouterr().err
    assert f"argument {option}" in err and "needs a Brian2 unit" in err and "bare number" in err
    assert not (tmp_path / "a").exists()


@pytest.mark.parametrize(
    "option, text", [("--tau-m", "20"), ("--dt", "1"), ("--v-thr", "1"), ("--mean", "0.02"), ("--rate", "10")]
)
def test_genn_options_need_units(tmp_path, capsys, option, text):
    with pytest.raises(SystemExit):
        genn_main(["--sizes", "4,3", "--rate", "10Hz", "--steps", "5", "-o", str(tmp_path / "p"), option, text])
    assert "needs a Brian2 unit" in capsys.readouterr().err


@pytest.mark.parametrize(
    "study, option, text",
    [
        ("alpha_sweep", "--dt", "0.003"),
        ("alpha_sweep", "--tau-m", "30"),
        ("training_stability", "--instruments-dt", "0.003"),
        ("training_stability", "--piano-tau-m", "0.03"),
        ("instrument_recognition", "--dt", "0.003"),
        ("instrument_recognition", "--delay", "0.015"),
        ("piano_multipitch", "--dt", "0.003"),
        ("psp_amplitude", "--weight", "0.1"),
        ("hh_comparison", "--fit-duration", "20"),
        ("genn_scaling", "--timeout", "600"),
    ],
)
def test_study_options_need_units(tmp_path, capsys, study, option, text):
    """The studies' own command lines follow the same rule, before any work."""
    import importlib

    study_main = importlib.import_module(f"studies.{study}.run").main
    with pytest.raises(SystemExit):
        study_main(["--out-dir", str(tmp_path / "out"), option, text])
    err = capsys.readouterr().err
    assert f"argument {option}" in err and "needs a Brian2 unit" in err
    assert not (tmp_path / "out").exists()


def test_study_options_read_units():
    from vr_brian_app.arguments import quantity_arg

    assert quantity_arg("second", "--dt")("3ms") == pytest.approx(0.003)
    assert quantity_arg("second", "--dt", as_quantity=True)("3 ms") == 3 * ms
    with pytest.raises(argparse.ArgumentTypeError, match="--dt must be in units of second"):
        quantity_arg("second", "--dt")("3mV")


def test_tau_m_means_the_same_in_both_commands(tmp_path):
    """'20ms' is 20 ms in vr-brian train and vr-brian genn alike (genn once read a bare 20 as ms)."""
    from vr_brian_app.genn import _parser
    from vr_brian_app.train import build_parser

    train_args = build_parser().parse_args(["builtin", "--out", "x", "--tau-m", "20ms"])
    genn_args = _parser().parse_args(["--sizes", "2,2", "--rate", "1Hz", "--steps", "1", "-o", "x", "--tau-m", "20ms"])
    assert train_args.tau_m == genn_args.tau_m == pytest.approx(0.02)


def test_resume_with_fewer_epochs_is_refused(tmp_path, capsys):
    out = tmp_path / "run"
    assert train_main(["builtin", "--out", str(out), "--epochs", "2", *TINY]) == 0
    capsys.readouterr()
    assert train_main(["builtin", "--out", str(out), "--epochs", "1", "--resume", *TINY]) == 2
    err = capsys.readouterr().err
    assert "trained 2 epochs already" in err and "epochs >= 2" in err
    assert train_main(["builtin", "--out", str(out), "--epochs", "2", "--resume", *TINY]) == 0  # nothing to do


# -- unclear messages, before -------------------------------------------------------------------------


def test_spike_times_of_a_missing_layer_or_sample():
    W, S, _ = network()
    traces = simulate(W, S, P)
    assert len(traces.spike_times(1)) == 5 and len(traces.spike_times(0, sample=2)) == 4
    for layer in (7, -1, 2, 1.0):
        with pytest.raises(ValueError, match="layer must be 0 \\(the input\\) or a hidden layer 1..1"):
            traces.spike_times(layer)
    with pytest.raises(ValueError, match="sample must be an integer in \\[0, 3\\)"):
        traces.spike_times(1, sample=3)


@pytest.mark.parametrize("params", [{"dt": 1e-3}, None, 0.3])
def test_params_that_are_not_vrparams(params):
    with pytest.raises(TypeError, match="must be a VRParams"):
        BrianNetwork([4, 2], params, steps=5)
    with pytest.raises(TypeError, match="must be a VRParams"):
        vr_neuron_group(3, params)
    W, S, _ = network()
    with pytest.raises(TypeError, match="must be a VRParams"):
        simulate(W, S, params)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"hidden": 2.5}, "hidden must be a layer size or a sequence of layer sizes, integers >= 1, got 2.5"),
        ({"hidden": (4, "a")}, "hidden must be"),
        ({"positive_weight": "a"}, "positive_weight must be a finite number > 0, got 'a'"),
        ({"lr": "fast"}, "lr must be a number"),
        ({"epochs": 2.5}, "epochs must be an integer >= 1"),
        ({"batch_size": True}, "batch_size must be an integer >= 1"),
    ],
)
def test_train_config_names_the_parameter(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", "\\(").replace(")", "\\)")):
        TrainConfig(**kwargs)


def test_positive_weight_is_named_in_loss_and_grad():
    W, S, T = network()
    with pytest.raises(ValueError, match="positive_weight must be a finite number"):
        gradients.loss_and_grad(W, S, T, P, positive_weight="a")


@pytest.mark.parametrize("damage", ["random", "truncated", "empty", "crc", "pickle"])
def test_damaged_data_file(tmp_path, damage):
    good = tmp_path / "good.npz"
    np.savez(good, spikes=np.zeros((4, 5, 3), bool), targets=np.eye(4, 2))
    path = tmp_path / "data.npz"
    data = good.read_bytes()
    if damage == "random":
        path.write_bytes(np.random.default_rng(0).bytes(3000))
    elif damage == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "empty":
        path.write_bytes(b"")
    elif damage == "crc":
        with zipfile.ZipFile(good) as archive:
            offset = archive.getinfo("spikes.npy").header_offset + 30 + len("spikes.npy") + 100
        path.write_bytes(data[:offset] + bytes([data[offset] ^ 0xFF]) + data[offset + 1 :])
    else:  # a pickle, which np.load would offer to load "unsafely"
        import pickle

        path.write_bytes(pickle.dumps({"spikes": 1}))
    with pytest.raises(ValueError) as error:
        load_npz(path)
    message = str(error.value)
    assert ("damaged or not an .npz archive" in message or "is empty" in message) and "unsafely" not in message


def test_multilabel_with_too_few_classes(tmp_path, capsys):
    argv = ["builtin", "--out", str(tmp_path / "a"), "--multilabel", *TINY, "--classes", "2"]
    assert train_main(argv) == 2
    err = capsys.readouterr().err
    assert "--multilabel" in err and "--classes >= 3" in err and "max_labels" not in err


@pytest.mark.parametrize("kind", ["file", "under a file", "unwritable"])
def test_output_folder_checked_before_any_work(tmp_path, capsys, monkeypatch, kind):
    import gradients.train as train_module

    def no_work(*args, **kwargs):
        raise AssertionError("the network was evaluated before the output folder was checked")

    monkeypatch.setattr(train_module, "evaluate", no_work)
    (tmp_path / "file").write_text("")
    out = {
        "file": tmp_path / "file",
        "under a file": tmp_path / "file" / "run",
        "unwritable": "/proc/vr_brian_run",  # cannot be created, even as root
    }[kind]
    assert train_main(["builtin", "--out", str(out), *TINY]) == 2
    err = capsys.readouterr().err
    assert err.startswith("vr-brian train: error: --out") and "Traceback" not in err and len(err.splitlines()) == 1


def test_training_diverged_is_one_line(tmp_path, capsys, monkeypatch):
    import gradients.train as train_module

    def diverge(state, *args, **kwargs):
        return train_module._NonFinite(epoch=state.epoch + 1, minibatch=1, batches=1)

    monkeypatch.setattr(train_module, "_train_epoch", diverge)
    argv = ["builtin", "--out", str(tmp_path / "a"), "--recover", "0", *TINY]
    assert train_main(argv) == 1
    err = capsys.readouterr().err
    assert "training diverged" in err and "Traceback" not in err
    assert train_main(["builtin", "--out", str(tmp_path / "b"), "--recover", "0", "--debug", *TINY]) == 1
    assert "Traceback" in capsys.readouterr().err  # --debug shows it


def test_genn_sizes_are_named(tmp_path, capsys):
    for sizes in ("10,abc", "10", "10,0"):
        with pytest.raises(SystemExit):
            genn_main(["--sizes", sizes, "--rate", "10Hz", "--steps", "5", "-o", str(tmp_path / "p")])
        assert "argument --sizes" in capsys.readouterr().err


# -- the unit rule at the edge: VRParams ------------------------------------------------------------


@pytest.mark.parametrize(
    "name, unit", [("tau_m", "second"), ("tau_s", "second"), ("dt", "second"), ("v_thr", "volt"), ("e_inh", "volt")]
)
def test_vrparams_refuses_a_bare_number_naming_the_unit(name, unit):
    """``VRParams(tau_m=20)`` (20 s or 20 ms?) is refused, naming the unit and the SI constructor."""
    extra = {"variant": "split", "alpha": 0.3} if name == "e_inh" else {}
    with pytest.raises(TypeError, match=rf"{name} needs a Brian2 unit of {unit}.*VRParams\.from_si"):
        VRParams(**{name: -2.0 if name == "e_inh" else 20}, **extra)
    with pytest.raises(TypeError, match=f"{name} needs a Brian2 unit"):
        VRParams(**extra).replace(**{name: -2.0 if name == "e_inh" else 0.5})


def test_vrparams_from_si_equals_quantities_and_checks_units():
    """Plain SI floats say so with ``from_si``; quantities given to it are still checked."""
    assert VRParams(tau_m=20 * ms) == VRParams.from_si(tau_m=0.02)
    assert VRParams.from_si(tau_m=0.03, tau_s=0.0075).replace(alpha=0.3).tau_m == 0.03
    with pytest.raises(ValueError, match="units of second"):
        VRParams(tau_m=20 * volt)
    with pytest.raises(ValueError, match="units of second"):
        VRParams.from_si(tau_m=20 * volt)
    with pytest.raises(TypeError, match="tau_m must be a number"):
        VRParams.from_si(tau_m="20ms")


# -- property-based tests of the validators ---------------------------------------------------------


@given(st.one_of(st.integers(-5, 10**6), st.floats(allow_nan=True, allow_infinity=True), st.booleans(), st.text()))
@settings(max_examples=200, deadline=None)
def test_check_integer_accepts_whole_numbers_only(value):
    whole = not isinstance(value, (bool, str)) and np.isfinite(value) and float(value).is_integer() and value >= 1
    if whole:
        assert check_integer(value, "n") == int(value)
    else:
        with pytest.raises(ValueError, match="n must be an integer >= 1"):
            check_integer(value, "n")


units = st.sampled_from([("ms", 1e-3, "second"), ("s", 1.0, "second"), ("mV", 1e-3, "volt"), ("V", 1.0, "volt")])


@given(st.floats(-1e6, 1e6, allow_nan=False), units, st.sampled_from(["", " ", "*"]))
@settings(max_examples=200, deadline=None)
def test_parse_quantity_reads_units_and_refuses_bare_numbers(value, unit, joint):
    symbol, scale, base = unit
    text = f"{value!r}{joint}{symbol}"
    assert parse_quantity(text, base, "--x", bare=False) == pytest.approx(value * scale, rel=1e-12, abs=1e-300)
    with pytest.raises(ValueError, match="--x needs a Brian2 unit of"):
        parse_quantity(repr(value), base, "--x", bare=False)
    other = "volt" if base == "second" else "second"
    with pytest.raises(ValueError, match=f"must be in units of {other}"):
        parse_quantity(text, other, "--x", bare=False)


@given(st.floats(allow_nan=False, allow_infinity=False))
@settings(max_examples=100, deadline=None)
def test_to_si_bare_rule(value):
    assert to_si(value, "second", "tau") == value
    with pytest.raises(TypeError, match="tau needs a Brian2 unit of second"):
        to_si(value, "second", "tau", bare=False)
    assert to_si(value * second, "second", "tau", bare=False) == pytest.approx(value)


@given(st.lists(st.one_of(st.integers(-2, 50), st.floats(-2, 50), st.text(max_size=2)), max_size=4))
@settings(max_examples=100, deadline=None)
def test_train_config_hidden(hidden):
    valid = all(not isinstance(n, str) and float(n).is_integer() and n >= 1 and not isinstance(n, bool) for n in hidden)
    if valid:
        assert TrainConfig(hidden=hidden).hidden == tuple(int(n) for n in hidden)
    else:
        with pytest.raises(ValueError, match="hidden must be"):
            TrainConfig(hidden=hidden)


@given(st.integers(1, 6), st.integers(1, 6), st.floats(0.5, 2.0))
@settings(max_examples=30, deadline=None)
def test_weights_fingerprint_tells_weights_apart(n_post, n_pre, factor):
    W = np.random.default_rng(n_post * 7 + n_pre).normal(size=(n_post, n_pre))
    assert weights_fingerprint([W]) == weights_fingerprint([W.copy()])
    if factor != 1.0:
        assert weights_fingerprint([W]) != weights_fingerprint([W * factor])
    assert weights_fingerprint([W]) != weights_fingerprint([W.T]) or n_post == n_pre == 1


def test_metrics_json_is_plain(tmp_path):
    """The metrics written by a run read back as JSON (a guard for the files the fault tests compare)."""
    assert train_main(["builtin", "--out", str(tmp_path / "m"), "--epochs", "1", *TINY]) == 0
    assert json.loads((tmp_path / "m" / "metrics.json").read_text())["history"][-1]["epoch"] == 1
