"""Brian2 networks equal the iterative reference, on every code-generation target."""

import gc
import re

import numpy as np
import pytest
from brian2 import (
    Equations,
    Hz,
    Network,
    NeuronGroup,
    PoissonGroup,
    SpikeGeneratorGroup,
    SpikeMonitor,
    StateMonitor,
    Synapses,
    ms,
    mV,
    nA,
    second,
    seed,
    volt,
)
from brian2.core.base import BrianObjectException

from vr_brian import (
    BrianNetwork,
    VRParams,
    add_u_prev_update,
    connect_layers,
    forward,
    simulate,
    vr_neuron_group,
    vr_synapses,
)
from vr_brian.equations import RESET, THRESHOLD, VR_CLIF, set_parameters, synaptic_statement
from vr_brian.traces import spike_array

from .conftest import SIZES, VARIANT_CASES, make_case, variant_case

TOLERANCE = 1e-9  # volts, relative to v_thr = 1 V

TARGETS = [
    pytest.param("numpy", 0.0, id="numpy-alpha0"),
    pytest.param("numpy", 0.3, id="numpy-alpha0.3"),
    pytest.param("cpp_standalone", 0.0, id="cpp_standalone-alpha0", marks=pytest.mark.slow),
    pytest.param("cpp_standalone", 0.3, id="cpp_standalone-alpha0.3", marks=pytest.mark.slow),
    pytest.param("cython", 0.3, id="cython-alpha0.3", marks=pytest.mark.slow),
]


def assert_traces_equal(brian, reference):
    assert len(brian.U) == len(reference.U) and len(brian.P) == len(reference.P)
    for U_b, U_r in zip(brian.U, reference.U, strict=True):
        np.testing.assert_allclose(U_b, U_r, rtol=0, atol=TOLERANCE * reference.params.v_thr)
    for P_b, P_r in zip(brian.P, reference.P, strict=True):
        np.testing.assert_array_equal(P_b, P_r)


@pytest.mark.parametrize("target, alpha", TARGETS)
def test_brian2_equals_reference(target, alpha):
    """3 layers, 200 steps, spikes in every layer; then the same built network (for standalone: the
    compiled binary, re-run with run_args) on new weights and new input spikes."""
    weights, spikes, params = make_case(alpha, batch=2, steps=200)
    reference = forward(weights, spikes, params)
    assert all(P.any() for P in reference.P), "every layer must fire for the comparison to mean anything"
    network = BrianNetwork(SIZES, params, steps=200, batch=2, target=target)
    try:
        assert_traces_equal(network.run(weights, spikes), reference)
        for seed in (11, 12):
            new_weights, new_spikes, _ = make_case(alpha, seed=seed, batch=2, steps=200)
            assert_traces_equal(network.run(new_weights, new_spikes), forward(new_weights, new_spikes, params))
    finally:
        network.close()


@pytest.mark.parametrize("target", ["numpy", pytest.param("cpp_standalone", marks=pytest.mark.slow)])
@pytest.mark.parametrize("params_kwargs", VARIANT_CASES)
def test_variants_equal_reference(params_kwargs, target):
    """Each variant of R(t), declared in Brian2 (VR_CLIF_BOUNDED, VR_CLIF_SPLIT), equals the reference."""
    if target == "cpp_standalone" and params_kwargs.get("variant", "paper") == "paper":
        pytest.skip("the paper's model on cpp_standalone is test_brian2_equals_reference")
    weights, spikes, params = variant_case(params_kwargs, batch=2, steps=150)
    network = BrianNetwork(SIZES, params, steps=150, batch=2, target=target)
    try:
        assert_traces_equal(network.run(weights, spikes), forward(weights, spikes, params))
    finally:
        network.close()


def test_monitors_are_usable():
    weights, spikes, params = make_case(0.3, batch=1, steps=100)
    traces = BrianNetwork(SIZES, params, steps=100, batch=1).run(weights, spikes)
    spike_monitor = traces.monitors["spikes_1"]
    times = spike_monitor.spike_trains()
    for j in range(SIZES[1]):
        np.testing.assert_allclose(times[j] / ms, traces.spike_times(1)[j] / 1e-3 - 1)
    voltage = traces.monitors["U_2"]
    np.testing.assert_allclose(voltage.U[3] / volt, traces.U[1][0, :, 3])
    assert voltage.t[0] == 0 * ms


def test_group_for_any_brian2_user(numpy_target):
    """vr_neuron_group and connect_layers in a hand-built network with a SpikeGeneratorGroup."""
    params = VRParams(alpha=0.3)
    source = SpikeGeneratorGroup(1, [0, 0], [3, 10] * ms, dt=params.dt * 1e3 * ms)
    target = vr_neuron_group(1, params, fires=False)
    synapses = connect_layers(source, target, np.array([[0.8]]))
    monitor = StateMonitor(target, ["U", "R"], record=True, when="before_resets")
    Network(source, target, synapses, monitor).run(40 * ms, namespace={})
    spikes = np.zeros((1, 40, 1), bool)
    spikes[0, [3, 10], 0] = True
    np.testing.assert_allclose(
        monitor.U[0] / volt, forward([np.array([[0.8]])], spikes, params).U[0][0, :, 0], atol=1e-12
    )
    assert monitor.R[0][10] < 0.9  # the second spike met a raised voltage


def test_layers_on_different_time_steps_rejected():
    params = VRParams()
    source = SpikeGeneratorGroup(1, [0], [1] * ms, dt=0.1 * ms)
    with pytest.raises(ValueError, match="share one time step"):
        connect_layers(source, vr_neuron_group(1, params), np.ones((1, 1)))


def test_wrong_sizes_rejected():
    weights, spikes, params = make_case(0.0, steps=50)
    network = BrianNetwork(SIZES, params, steps=50, batch=2)
    with pytest.raises(ValueError, match="built for"):
        network.run(weights[:2], spikes)
    with pytest.raises(ValueError, match="batch=2 and steps=50"):
        network.run(weights, spikes[:1])
    with pytest.raises(ValueError, match="target must be one of"):
        BrianNetwork(SIZES, params, steps=50, target="genn")
    with pytest.raises(ValueError, match="sizes"):
        BrianNetwork([5], params, steps=50)


# -- one's own network: each habit of a Brian2 user gives the model's result or a clear error before running --

HABIT_PARAMS = VRParams(alpha=0.3, dt=0.1 * ms)
N_IN, N_HIDDEN, HABIT_STEPS = 30, 12, 600


def habit_weights(seed: int = 0) -> np.ndarray:
    """(N_HIDDEN, N_IN) volts: 30 inputs at 60 Hz make most hidden neurons fire a few times in 60 ms."""
    return np.random.default_rng(seed).normal(0.06, 0.06, (N_HIDDEN, N_IN))


def habit_network(hidden, make_synapses, *monitors):
    """Poisson input -> ``hidden`` through ``make_synapses(source, hidden)``, with U recorded in
    before_resets and every spike; returns (network, synapses, voltage, input spikes, hidden spikes)."""
    source = PoissonGroup(N_IN, 60 * Hz, dt=HABIT_PARAMS.dt * second)
    synapses = make_synapses(source, hidden)
    voltage = StateMonitor(hidden, "U", record=True, when="before_resets")
    inputs, fired = SpikeMonitor(source), SpikeMonitor(hidden)
    network = Network(source, hidden, synapses, voltage, inputs, fired, *monitors)
    return network, synapses, voltage, inputs, fired


def run_habit(network):
    seed(3)
    network.run(HABIT_STEPS * HABIT_PARAMS.dt * second, namespace={})


def dense(synapses) -> np.ndarray:
    """The (n_post, n_pre) weight matrix of ``synapses``, read back from Brian2."""
    W = np.zeros((len(synapses.target), len(synapses.source)))
    np.add.at(W, (np.asarray(synapses.j), np.asarray(synapses.i)), np.asarray(synapses.w_))
    return W


def assert_hidden_is_reference(W, voltage, inputs, fired, params=HABIT_PARAMS, alpha_of=None):
    """``voltage`` and ``fired`` equal layer 1 of the numpy reference (a silent output layer behind it),
    driven by the input spikes Brian2 recorded; ``alpha_of``: per-neuron alpha, neurons compared one by one."""
    spikes = spike_array(inputs, 1, HABIT_STEPS, W.shape[1], params.dt)
    hidden = spike_array(fired, 1, HABIT_STEPS, W.shape[0], params.dt)
    for j in range(W.shape[0]):
        neuron = params if alpha_of is None else params.replace(alpha=float(alpha_of[j]))
        reference = forward([W[j : j + 1], np.zeros((1, 1))], spikes, neuron)
        np.testing.assert_allclose(voltage.U_[j], reference.U[0][0, :, 0], rtol=0, atol=1e-12)
        np.testing.assert_array_equal(hidden[0, :, j], reference.P[0][0, :, 0])
    assert hidden.sum() > 10, "the hidden layer must fire for the comparison to mean anything"


def refused_before_running(network, match):
    """Running ``network`` raises before its first step, with a message matching ``match``."""
    with pytest.raises(BrianObjectException) as error:
        run_habit(network)
    assert re.search(match, str(error.value.__cause__)), error.value.__cause__
    assert network.t == 0 * second


@pytest.mark.parametrize("how", ["vr_synapses", "synaptic_statement"])
def test_own_synapses_with_the_model_statement_compute_the_model(numpy_target, how):
    """Habit 1, right: connectivity and weights of one's own, through vr_synapses, or a plain Synapses
    with the model's statement in Brian2's default slot (connect_layers' interleaving is not needed)."""

    def make(source, hidden):
        if how == "vr_synapses":
            synapses = vr_synapses(source, hidden)
        else:
            synapses = Synapses(source, hidden, "w : volt", on_pre=synaptic_statement(hidden.equations))
        synapses.connect(p=0.6)
        synapses.w = "(30 + 70*rand())*mV"
        return synapses

    network, synapses, voltage, inputs, fired = habit_network(vr_neuron_group(N_HIDDEN, HABIT_PARAMS), make)
    run_habit(network)
    assert_hidden_is_reference(dense(synapses), voltage, inputs, fired)


@pytest.mark.parametrize(
    "on_pre",
    [
        "Dm_post += w; Ds_post += w",
        "Dm_post += w\nDs_post += w",
        "Dm += N0*w*R; Ds += N0*w*R",
        "Dm_post += N0_post*w*R_post",
        "Dm_post += N0_post*w; Ds_post += N0_post*w",
    ],
)
def test_own_synapses_with_another_statement_are_refused(numpy_target, on_pre):
    """Habit 1, refused: the statement of the issue (no N0, no R: 23 instead of 159 spikes), its
    unsuffixed form, Dm alone, and N0 without R."""

    def make(source, hidden):
        synapses = Synapses(source, hidden, "w : volt", on_pre=on_pre)
        synapses.connect()
        synapses.w = habit_weights().T.ravel() * volt
        return synapses

    network = habit_network(vr_neuron_group(N_HIDDEN, HABIT_PARAMS, name="hidden"), make)[0]
    refused_before_running(
        network,
        r"Synapses 'synapses\w*' change the VR-C-LIF group 'hidden'.*"
        r"synaptic_statement\(hidden.equations\)",
    )


def test_statements_compare_whatever_their_spelling(numpy_target):
    """The model's statement reordered, spaced and commented is accepted; statements on variables of
    one's own, of the synapse or of the group, are left alone."""

    def make(source, hidden):
        synapses = Synapses(
            source,
            hidden,
            "w : volt\ncount : 1",
            on_pre="count += 1  # mine\nhits_post += 1\nDs_post += w*R_post*N0_post\nDm_post+=N0_post * R_post * w",
        )
        synapses.connect(p=0.6)
        synapses.w = "(30 + 70*rand())*mV"
        return synapses

    hidden = vr_neuron_group(N_HIDDEN, HABIT_PARAMS, model=VR_CLIF + Equations("hits : 1"))
    network, synapses, voltage, inputs, fired = habit_network(hidden, make)
    run_habit(network)
    assert_hidden_is_reference(dense(synapses), voltage, inputs, fired)
    arrivals = np.bincount(synapses.j[:], weights=np.asarray(inputs.count)[synapses.i[:]], minlength=N_HIDDEN)
    assert arrivals.sum() > 0
    np.testing.assert_array_equal(hidden.hits, arrivals)


@pytest.mark.parametrize(
    "weights, match",
    [
        (habit_weights() * nA, "must be in volts"),
        (habit_weights() * second, "must be in volts"),
        (np.where(np.eye(N_HIDDEN, N_IN) > 0, np.nan, habit_weights()), "contains NaN"),
        (habit_weights()[:, :-1], "need a source of 29"),
    ],
)
def test_connect_layers_checks_weights_as_simulate_does(numpy_target, weights, match):
    """Habit 2, refused: weights in nA or seconds (whose unit was stripped before), NaN; simulate refuses
    the same weights, before creating anything."""
    params = HABIT_PARAMS
    source, hidden = PoissonGroup(N_IN, 60 * Hz, dt=params.dt * second), vr_neuron_group(N_HIDDEN, params)
    gc.collect()
    before = len(Synapses.__instances__())
    with pytest.raises(ValueError, match=match):
        connect_layers(source, hidden, weights)
    assert len(Synapses.__instances__()) == before
    if "need a source" not in match:
        with pytest.raises(ValueError, match=match):
            simulate([weights], np.zeros((1, 5, N_IN), bool), params)


def test_connect_layers_takes_weights_in_mV(numpy_target):
    """Habit 2, right: weights in mV are converted, not stripped of their unit."""
    W = habit_weights()
    network, synapses, voltage, inputs, fired = habit_network(
        vr_neuron_group(N_HIDDEN, HABIT_PARAMS), lambda source, hidden: connect_layers(source, hidden, W * 1e3 * mV)
    )
    run_habit(network)
    assert_hidden_is_reference(W, voltage, inputs, fired)


def own_group(**changes):
    """A NeuronGroup of the model's equations made by hand, as a Brian2 user would."""
    kwargs = dict(threshold=THRESHOLD, reset=RESET, method="exact", dt=HABIT_PARAMS.dt * second, name="mine")
    kwargs.update(changes)
    group = NeuronGroup(N_HIDDEN, VR_CLIF, **kwargs)
    set_parameters(group, HABIT_PARAMS)
    return group


@pytest.mark.parametrize(
    "changes, match",
    [
        ({}, r"target 'mine' never updates U_prev.*add_u_prev_update\(mine\)"),
        ({"method": "euler"}, r"integrates with method='euler'"),
        ({"reset": "Re += v_thr"}, r"reset='Re \+= v_thr'; the model's are"),
        ({"threshold": "U >= v_thr"}, r"threshold='U >= v_thr'"),
    ],
)
def test_own_neuron_group_that_computes_another_model_is_refused(numpy_target, changes, match):
    """Habit 3, refused: no U_prev update (R stays 1: 867 spikes instead of 674), and the other ways a
    hand-made group differs from the model; connect_layers and vr_synapses refuse it alike."""
    group = own_group(**changes)
    if "U_prev" not in match:
        add_u_prev_update(group)
    source = PoissonGroup(N_IN, 60 * Hz, dt=HABIT_PARAMS.dt * second)
    for connect in (lambda: connect_layers(source, group, habit_weights()), lambda: vr_synapses(source, group)):
        with pytest.raises(ValueError, match=match):
            connect()


def test_own_neuron_group_with_the_u_prev_update_computes_the_model(numpy_target):
    """Habit 3, right: the same hand-made group with add_u_prev_update."""
    group = own_group()
    add_u_prev_update(group)
    W = habit_weights()
    network, synapses, voltage, inputs, fired = habit_network(
        group, lambda source, hidden: connect_layers(source, hidden, W)
    )
    run_habit(network)
    assert_hidden_is_reference(W, voltage, inputs, fired)


@pytest.mark.parametrize(
    "monitor",
    [
        pytest.param(lambda g: StateMonitor(g, "U", record=True), id="default-slot"),
        pytest.param(lambda g: StateMonitor(g[2:5], ["U", "R"], record=True, when="end"), id="subgroup-end"),
    ],
)
def test_state_monitor_outside_before_resets_is_refused(numpy_target, monitor):
    """Habit 4, refused: Brian2's default slot 'start' (0.42 V from the toolkit's traces in the issue),
    and any other slot, also on a subgroup."""
    hidden = vr_neuron_group(N_HIDDEN, HABIT_PARAMS, name="hidden")
    network = habit_network(hidden, lambda source, g: connect_layers(source, g, habit_weights()), monitor(hidden))[0]
    refused_before_running(
        network,
        r"StateMonitor 'statemonitor\w*' records U.* of the VR-C-LIF group 'hidden' in "
        r"the '(start|end)' slot.*when='before_resets'",
    )


def test_alpha_settable_on_a_group_made_at_alpha_zero(numpy_target):
    """Habit 5, right: a group made with VRParams() (alpha = 0) takes per-neuron alpha; each neuron
    computes the model at its own alpha."""
    params = HABIT_PARAMS.replace(alpha=0.0)
    hidden = vr_neuron_group(N_HIDDEN, params)
    alphas = np.linspace(0.0, 0.4, N_HIDDEN)
    hidden.alpha = alphas
    W = habit_weights()
    network, synapses, voltage, inputs, fired = habit_network(hidden, lambda source, g: connect_layers(source, g, W))
    run_habit(network)
    assert_hidden_is_reference(W, voltage, inputs, fired, params=params, alpha_of=alphas)


@pytest.mark.parametrize("name", ["a", "zz"])
def test_recorded_resistance_is_the_one_the_step_input_saw(numpy_target, name):
    """R recorded in before_resets is 1 - alpha*U(t-1)/v_thr, whether the group's name sorts before or
    after the monitor's (the U_prev update runs after the monitors of its slot)."""
    params = VRParams(alpha=0.3)
    source = SpikeGeneratorGroup(1, [0, 0, 0], [2, 5, 9] * ms, dt=params.dt * second)
    group = vr_neuron_group(1, params, fires=False, name=name)
    monitor = StateMonitor(group, ["U", "R"], record=True, when="before_resets", name="m")
    Network(source, group, connect_layers(source, group, np.array([[0.6]])), monitor).run(20 * ms, namespace={})
    U = monitor.U_[0]
    np.testing.assert_allclose(
        monitor.R_[0], 1 - params.alpha * np.concatenate([[0.0], U[:-1]]) / params.v_thr, rtol=0, atol=1e-15
    )
    assert monitor.R_[0].min() < 0.9
