"""Brian2 networks equal the iterative reference, on every code-generation target."""

import numpy as np
import pytest
from brian2 import Network, SpikeGeneratorGroup, StateMonitor, ms, prefs, volt

from vr_brian import BrianNetwork, VRParams, connect_layers, forward, vr_neuron_group

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
    for U_b, U_r in zip(brian.U, reference.U):
        np.testing.assert_allclose(U_b, U_r, rtol=0, atol=TOLERANCE * reference.params.v_thr)
    for P_b, P_r in zip(brian.P, reference.P):
        np.testing.assert_array_equal(P_b, P_r)


@pytest.fixture
def numpy_target():
    """Brian2's default target compiles (cython); tests outside BrianNetwork use numpy."""
    previous, prefs.codegen.target = prefs.codegen.target, "numpy"
    yield
    prefs.codegen.target = previous


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
    np.testing.assert_allclose(monitor.U[0] / volt, forward([np.array([[0.8]])], spikes, params).U[0][0, :, 0],
                               atol=1e-12)
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
