"""GeNN support: the X form equals the standard form under GeNN's schedule, and the GeNN project is right.

Runs in both environments: the main one (brian2 2.9, no brian2genn: code generation skips) and
the GeNN one (requirements-genn.txt: brian2 2.5 + brian2genn 1.7). Compiling and running GeNN
needs a GeNN 4.x checkout named by GENN_PATH.
"""

import os
import re

import numpy as np
import pytest
from brian2.utils.stringtools import get_identifiers

from vr_brian import VRParams, forward
from vr_brian.equations import ON_PRE, ON_PRE_X, VR_CLIF, VR_CLIF_X
from vr_brian.genn import Connection, dense_connection, generate, random_connection, run_genn_schedule
from vr_brian_app.genn import load_weights, main

from .conftest import VARIANT_CASES, make_case, variant_case

TOLERANCE = 1e-9  # volts, relative to v_thr = 1 V

try:
    import brian2genn  # noqa: F401

    HAVE_BRIAN2GENN = True
except ImportError:
    HAVE_BRIAN2GENN = False

needs_brian2genn = pytest.mark.skipif(
    not HAVE_BRIAN2GENN,
    reason="brian2genn is not installed: it needs its own "
    "environment (brian2 2.5.x, numpy < 2): make genn-env, make test-genn",
)


def genn_schedule_loops(weights, spikes, params):
    """GeNN's step written out independently with numpy: propagate the previous step's spikes, decay, fire, reset.

    Input and layer n-1 spikes of step t-1 reach layer n in step t, added before that step's decay,
    scaled by R from the voltage of step t-1 (pre-reset).
    """
    p, (batch, steps, _) = params, spikes.shape
    n_layers = len(weights)
    Dm = [np.zeros((batch, W.shape[0])) for W in weights]
    Ds, Re, U_last = ([np.zeros_like(x) for x in Dm] for _ in range(3))
    fired_last = [np.zeros((batch, weights[0].shape[1]), bool)] + [np.zeros_like(x, bool) for x in Dm]
    U_all, P_all = [[] for _ in weights], [[] for _ in weights[:-1]]
    for t in range(steps):
        for n, W in enumerate(weights):
            R = 1 - p.alpha * U_last[n] / p.v_thr
            if p.variant == "bounded":
                R = np.clip(R, 0, p.r_max)
            if p.variant == "split":
                e_inh = p.e_inh if p.e_inh is not None else -p.v_thr / p.alpha
                T = p.N0 * (
                    (fired_last[n] @ np.maximum(W, 0).T) * R
                    + (fired_last[n] @ np.minimum(W, 0).T) * (1 - U_last[n] / e_inh)
                )
            else:
                T = p.N0 * (fired_last[n] @ W.T) * R
            Dm[n] += T
            Ds[n] += T
        fired_now = [spikes[:, t]]
        for n in range(n_layers):
            Dm[n] *= p.gamma_m
            Ds[n] *= p.gamma_s
            Re[n] *= p.gamma_m
            U_last[n] = Dm[n] - Ds[n] - Re[n]
            U_all[n].append(U_last[n])
            if n < n_layers - 1:
                fired = U_last[n] > p.v_thr
                Re[n] += p.v_thr / p.gamma_m * fired
                fired_now.append(fired)
                P_all[n].append(fired)
        fired_last = fired_now + [None]
    return [np.stack(U, 1) for U in U_all], [np.stack(P, 1) for P in P_all]


# -- the GeNN-ready form ------------------------------------------------------------------


def test_x_form_writes_one_postsynaptic_variable_without_subexpressions():
    """What brian2genn demands of a synapse: one variable written, with +=, no subexpression read."""
    written = re.findall(r"(\w+)_post\s*\+=", ON_PRE_X)
    assert written == ["Dm"] and ON_PRE_X.count("=") == 1
    per_step_subexpressions = {
        name + "_post"
        for name, eq in VR_CLIF_X.items()
        if eq.type == "subexpression" and "constant over dt" not in eq.flags
    }
    assert not get_identifiers(ON_PRE_X) & per_step_subexpressions
    assert "Ds" not in VR_CLIF_X.names and {"X", "Dm", "Re", "U_prev"} <= set(VR_CLIF_X.names)
    assert set(re.findall(r"(\w+)_post\s*\+=", ON_PRE)) == {"Dm", "Ds"}


def test_x_form_keeps_everything_else_of_the_model():
    """VR_CLIF_X is derived from VR_CLIF: every equation other than Ds and U is VR_CLIF's own."""
    for name in VR_CLIF.names - {"Ds", "U"}:
        assert str(VR_CLIF_X[name]) == str(VR_CLIF[name])


def assert_forms_equal_genn_schedule_loops(weights, spikes, params):
    U_loop, P_loop = genn_schedule_loops(weights, spikes, params)
    assert all(P.any() for P in P_loop), "every layer must fire for the comparison to mean anything"
    for form in ("x", "standard"):
        traces = run_genn_schedule(weights, spikes, params, form=form)
        for U, U_ref in zip(traces.U, U_loop, strict=True):
            np.testing.assert_allclose(U, U_ref, rtol=0, atol=TOLERANCE)
        for P, P_ref in zip(traces.P, P_loop, strict=True):
            np.testing.assert_array_equal(P, P_ref)


@pytest.mark.parametrize("alpha", [0.0, 0.3], ids=["alpha0", "alpha0.3"])
def test_forms_equal_under_genn_schedule(alpha):
    """Both neuron forms, run in Brian2 under GeNN's schedule, equal an independent loop of that schedule."""
    assert_forms_equal_genn_schedule_loops(*make_case(alpha, batch=2, steps=200))


@pytest.mark.parametrize("params_kwargs", VARIANT_CASES)
def test_variants_in_both_forms_equal_genn_schedule_loops(params_kwargs):
    """Each variant of R(t), in the X form and the standard form, under GeNN's schedule."""
    assert_forms_equal_genn_schedule_loops(*variant_case(params_kwargs, batch=2, steps=150))


@needs_brian2genn
@pytest.mark.parametrize("variant, marker", [("bounded", "_clip("), ("split", "$(E_inh_post)")])
def test_variants_generate_genn_code(tmp_path, variant, marker):
    """brian2genn accepts the variants' X form: one addToInSyn per synapse, with the variant's resistance."""
    weights, spikes, params = variant_case({"alpha": 0.3, "variant": variant}, batch=1, steps=20)
    project = generate(str(tmp_path / variant), weights=weights, spikes=spikes, params=params, build=False)
    source = _model_source(project)
    for n in (1, 2, 3):
        update = re.search(rf'class weights{n}WEIGHTUPDATE.*?SET_SIM_CODE\("(.*?)"\);', source, re.S).group(1)
        assert update.count("addToInSyn") == 1
        assert marker in (update if variant == "split" else source)


def test_genn_schedule_is_the_iterative_model_when_alpha_is_zero():
    """The latency of GeNN's schedule costs nothing: an input does not move U in its own step."""
    weights, spikes, params = make_case(0.0, batch=2, steps=200)
    genn, reference = run_genn_schedule(weights, spikes, params), forward(weights, spikes, params)
    for U, U_ref in zip(genn.U, reference.U, strict=True):
        np.testing.assert_allclose(U, U_ref, rtol=0, atol=TOLERANCE)
    for P, P_ref in zip(genn.P, reference.P, strict=True):
        np.testing.assert_array_equal(P, P_ref)


def fresh_resistance_loops(weights, spikes, params):
    """The iterative model of MODEL.md with R(t) from U(t) = gamma_m Dm(t-1) - gamma_s Ds(t-1) - Re(t)."""
    p, (batch, steps, _) = params, spikes.shape
    Dm = [np.zeros((batch, W.shape[0])) for W in weights]
    Ds, Re = [np.zeros_like(x) for x in Dm], [np.zeros_like(x) for x in Dm]
    fired = [np.zeros_like(x, bool) for x in Dm]
    U_all, P_all = [[] for _ in weights], [[] for _ in weights[:-1]]
    for t in range(steps):
        below = spikes[:, t]
        for n, W in enumerate(weights):
            Re[n] = p.gamma_m * Re[n] + p.v_thr * fired[n]
            U_now = p.gamma_m * Dm[n] - p.gamma_s * Ds[n] - Re[n]
            T = p.N0 * (below @ W.T) * (1 - p.alpha * U_now / p.v_thr)
            Dm[n], Ds[n] = p.gamma_m * Dm[n] + T, p.gamma_s * Ds[n] + T
            U_all[n].append(Dm[n] - Ds[n] - Re[n])
            if n < len(weights) - 1:
                fired[n] = below = U_all[n][-1] > p.v_thr
                P_all[n].append(fired[n])
    return [np.stack(U, 1) for U in U_all], [np.stack(P, 1) for P in P_all]


def test_genn_schedule_is_the_iterative_model_with_a_fresher_resistance():
    """With alpha != 0, GeNN's schedule differs from the paper's model only in R: R(t) from U(t), not U(t-1)."""
    weights, spikes, params = make_case(0.3, batch=2, steps=200)
    genn = run_genn_schedule(weights, spikes, params)
    U_fresh, P_fresh = fresh_resistance_loops(weights, spikes, params)
    for U, U_ref in zip(genn.U, U_fresh, strict=True):
        np.testing.assert_allclose(U, U_ref, rtol=0, atol=TOLERANCE)
    for P, P_ref in zip(genn.P, P_fresh, strict=True):
        np.testing.assert_array_equal(P, P_ref)
    reference = forward(weights, spikes, params)
    assert np.abs(genn.U[0] - reference.U[0]).max() > 1e-3, "the two models must differ when alpha != 0"


# -- connectivity and input files -------------------------------------------------------------


def test_random_connection_has_distinct_partners_and_the_asked_weights():
    rng = np.random.default_rng(3)
    connection = random_connection(50, 2000, fan_in=40, mean=0.1, std=0.2, rng=rng)
    assert len(connection) == 2000 * 40
    np.testing.assert_array_equal(np.bincount(connection.j, minlength=2000), 40)
    pairs = connection.j.astype(np.int64) * 50 + connection.i
    assert len(np.unique(pairs)) == len(pairs)
    assert abs(connection.w.mean() - 0.1) < 0.01 and abs(connection.w.std() - 0.2) < 0.01
    assert connection.i.min() >= 0 and connection.i.max() < 50


def test_dense_connection_round_trips_and_drops_zeros():
    W = np.array([[0.0, 1.5, -2.0], [0.3, 0.0, 0.0]])
    connection = dense_connection(W)
    assert isinstance(connection, Connection) and len(connection) == 3
    np.testing.assert_array_equal(connection.dense(), W)


def test_load_weights_orders_layers_by_number(tmp_path):
    W = [np.full((3, 2), 1.0), np.full((4, 3), 2.0), np.full((1, 4), 3.0)]
    np.savez(tmp_path / "w.npz", W10=W[2], W2=W[1], W1=W[0])
    assert [w.shape for w in load_weights(str(tmp_path / "w.npz"))] == [(3, 2), (4, 3), (1, 4)]
    for n, w in enumerate(W):
        np.save(tmp_path / f"layer{n}.npy", w)
    assert [w[0, 0] for w in load_weights([str(tmp_path / f"layer{n}.npy") for n in range(3)])] == [1, 2, 3]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(sizes=[4, 2], weights=[np.ones((2, 4))], rate=5.0, steps=10), "either sizes"),
        (dict(sizes=[4, 2], rate=5.0), "steps"),
        (dict(sizes=[4, 2], rate=5.0, steps=10, spikes=np.zeros((1, 10, 4), bool)), "either spikes"),
        (dict(sizes=[4], rate=5.0, steps=10), "sizes must list"),
        (dict(sizes=[4, 2], rate=-1.0, steps=10), "rate must be"),
        (dict(sizes=[4, 2], spikes=np.zeros((1, 10, 3), bool)), "n_pre=4"),
        (dict(sizes=[4, 2], rate=5.0, steps=10, genn_path="/nonexistent"), "genn_path"),
        (dict(sizes=[4, 2], rate=5.0, steps=10, genn_path="", build=True), "build=True"),
    ],
)
def test_generate_rejects_bad_input_before_any_work(tmp_path, monkeypatch, kwargs, message):
    monkeypatch.delenv("GENN_PATH", raising=False)
    with pytest.raises(ValueError, match=message):
        generate(str(tmp_path / "project"), **kwargs)
    assert not (tmp_path / "project").exists()


@pytest.mark.skipif(HAVE_BRIAN2GENN, reason="checks the message given where brian2genn is missing")
def test_command_says_what_is_missing_without_brian2genn(tmp_path, capsys):
    assert main(["--sizes", "4,3", "--rate", "10Hz", "--steps", "5", "-o", str(tmp_path / "p")]) == 2
    assert "brian2genn" in capsys.readouterr().err


# -- GeNN code generation (GeNN environment) --------------------------------------------------


@pytest.fixture(scope="module")
def large_project(tmp_path_factory):
    """The GeNN project of a 100,000-neuron VR-C-LIF network, fan-in 10, code generated only."""
    pytest.importorskip("brian2genn", reason="brian2genn is not installed (make genn-env, make test-genn)")
    sizes = [1000, 98_000, 1000]
    directory = tmp_path_factory.mktemp("genn") / "large"
    project = generate(
        str(directory),
        sizes=sizes,
        rate=20.0,
        steps=100,
        fan_in=10,
        seed=5,
        record=False,
        params=VRParams(alpha=0.3),
        build=False,
    )
    rng = np.random.default_rng(5)
    expected = [random_connection(sizes[n], sizes[n + 1], fan_in=10, mean=0.02, std=0.05, rng=rng) for n in range(2)]
    return project, expected


def _model_source(project) -> str:
    with open(os.path.join(project.directory, "magicnetwork_model.cpp")) as f:
        return f.read()


@needs_brian2genn
def test_generated_project_has_the_network(large_project):
    project, expected = large_project
    assert not project.built and project.neurons == 100_000
    source = _model_source(project)
    populations = dict(re.findall(r'addNeuronPopulation<\w+>\("(\w+)", (\d+)', source))
    assert populations == {"layer0": "1000", "layer1": "98000", "layer2": "1000"}
    assert project.synapses == (98_000 * 10, 1000 * 10)
    arrays = os.path.join(project.directory, "static_arrays")
    for n, connection in enumerate(expected, start=1):
        sources = np.fromfile(os.path.join(arrays, f"_static_array__array_weights{n}_sources"), np.int32)
        targets = np.fromfile(os.path.join(arrays, f"_static_array__array_weights{n}_targets"), np.int32)
        weights = np.fromfile(os.path.join(arrays, f"_static_array__dynamic_array_weights{n}_w"), np.float64)
        assert len(sources) == len(targets) == len(weights) == len(connection)
        np.testing.assert_array_equal(sources, connection.i)
        np.testing.assert_array_equal(targets, connection.j)
        np.testing.assert_array_equal(weights, connection.w)


@needs_brian2genn
def test_generated_neuron_is_the_x_form(large_project):
    project, _ = large_project
    source = _model_source(project)
    hidden = source[source.index("class layer1NEURON") : source.index("IMPLEMENT_MODEL(layer1NEURON)")]
    sim_code = hidden[hidden.index("SET_SIM_CODE") : hidden.index("SET_THRESHOLD_CONDITION_CODE")]
    assert "$(X) = _X" in sim_code and "$(Dm) = _Dm" in sim_code and "$(Re) = _Re" in sim_code
    assert "Ds" not in source
    # U_prev is set in the state update, after the integration step, from U = X - Re
    assert sim_code.index("$(X) = _X") < sim_code.index("$(U_prev) = U")
    assert re.search(r"double U = \(- \$\(Re\)\) \+ \$\(X\);", sim_code)
    assert "char _cond = U > $(v_thr);" in sim_code
    assert 'SET_RESET_CODE("$(Re) += $(v_thr) * exp(1.0f*DT/$(tau_m));")' in hidden
    assert 'SET_THRESHOLD_CONDITION_CODE("0")' in source[source.index("class layer2NEURON") :]  # output: no spikes


@needs_brian2genn
def test_generated_synapse_writes_one_postsynaptic_input(large_project):
    project, _ = large_project
    source = _model_source(project)
    for n in (1, 2):
        update = re.search(rf'class weights{n}WEIGHTUPDATE.*?SET_SIM_CODE\("(.*?)"\);', source, re.S).group(1)
        assert update.count("addToInSyn") == 1
        assert "$(U_prev_post)" in update and "$(N0_post)" in update and "$(alpha_post)" in update
        apply_input = re.search(rf'class weights{n}POSTSYN.*?SET_APPLY_INPUT_CODE\("(.*?)"\);', source, re.S).group(1)
        assert re.findall(r"\$\((\w+)\) \+= \$\(inSyn\)", apply_input) == ["Dm"]


@needs_brian2genn
def test_command_generates_and_says_what_is_needed(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("GENN_PATH", raising=False)
    weights = [np.random.default_rng(0).normal(0, 0.1, (6, 4)), np.ones((2, 6))]
    np.savez(tmp_path / "w.npz", W1=weights[0], W2=weights[1])
    spikes = np.random.default_rng(1).random((20, 4)) < 0.2
    np.savez(tmp_path / "s.npz", spikes=spikes)
    assert (
        main(
            [
                "--weights",
                str(tmp_path / "w.npz"),
                "--spikes",
                str(tmp_path / "s.npz"),
                "-o",
                str(tmp_path / "p"),
                "--cpu",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "GENN_PATH" in out and "synapses [24, 12]" in out
    assert (tmp_path / "p" / "magicnetwork_model.cpp").exists()


# -- GeNN itself ------------------------------------------------------------------------------


@needs_brian2genn
@pytest.mark.slow
@pytest.mark.skipif(
    not os.environ.get("GENN_PATH"),
    reason="GENN_PATH is unset: compiling and running GeNN needs "
    "a GeNN 4.x checkout (https://github.com/genn-team/genn, tag 4.x), which is on neither PyPI "
    "nor Debian",
)
def test_genn_run_equals_brian2_under_its_schedule(tmp_path):
    """GeNN (CPU backend) computes what Brian2 computes under GeNN's schedule."""
    weights, spikes, params = make_case(0.3, batch=2, steps=100)
    expected = run_genn_schedule(weights, spikes, params)
    project = generate(str(tmp_path / "run"), weights=weights, spikes=spikes, params=params, use_gpu=False)
    assert project.built
    for U, U_ref in zip(project.traces.U, expected.U, strict=True):
        np.testing.assert_allclose(U, U_ref, rtol=0, atol=TOLERANCE)
    for P, P_ref in zip(project.traces.P, expected.P, strict=True):
        np.testing.assert_array_equal(P, P_ref)


@needs_brian2genn
def test_user_groups_choose_the_x_form_on_the_genn_device(tmp_path):
    """vr_neuron_group and connect_layers pick the GeNN-ready form themselves when the device is GeNN."""
    import brian2genn  # noqa: F401  (registers the device)
    from brian2 import Network, SpikeGeneratorGroup, defaultclock, ms, set_device
    from brian2.devices import reinit_devices, reset_device

    from vr_brian import connect_layers, vr_neuron_group

    params = VRParams(alpha=0.3)
    directory = tmp_path / "user"
    reinit_devices()  # a project generated earlier in this process leaves the device used
    set_device("genn", directory=str(directory), compile=False, run=False, use_GPU=False)
    try:
        defaultclock.dt = params.dt * 1e3 * ms
        source = SpikeGeneratorGroup(3, [0, 1, 2], [1, 2, 3] * ms)
        hidden = vr_neuron_group(4, params, name="hidden")
        output = vr_neuron_group(2, params, fires=False, name="output")
        Network(
            source,
            hidden,
            output,
            connect_layers(source, hidden, np.full((4, 3), 0.2), name="w_in"),
            connect_layers(hidden, output, np.full((2, 4), 0.2), name="w_out"),
        ).run(10 * ms)
    finally:
        reset_device()
        reinit_devices()
    assert "Dm" in hidden.variables and "X" in hidden.variables and "Ds" not in hidden.variables
    with open(directory / "magicnetwork_model.cpp") as f:
        source_code = f.read()
    assert "Ds" not in source_code
    for name in ("w_in", "w_out"):
        update = re.search(rf'class {name}WEIGHTUPDATE.*?SET_SIM_CODE\("(.*?)"\);', source_code, re.S).group(1)
        assert update.count("addToInSyn") == 1
