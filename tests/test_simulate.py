import glob
import os
import tempfile

import numpy as np
import pytest
from brian2 import Network, StateMonitor, defaultclock, get_device, ms, prefs, second, set_device, volt
from brian2.devices import reset_device
from brian2.devices.device import all_devices

from vr_brian import forward, simulate, vr_neuron_group

from .conftest import make_case


@pytest.mark.parametrize("backend", ["numpy", "brian2"])
def test_backends_return_the_same_record(backend):
    weights, spikes, params = make_case(0.3, batch=2, steps=60)
    traces = simulate(weights, spikes, params, backend=backend)
    reference = forward(weights, spikes, params)
    assert [U.shape for U in traces.U] == [(2, 60, 30), (2, 60, 20), (2, 60, 6)]
    assert [P.dtype for P in traces.P] == [bool, bool]
    for U, U_ref in zip(traces.U, reference.U, strict=True):
        np.testing.assert_allclose(U, U_ref, atol=1e-9)
    assert (traces.monitors != {}) == (backend == "brian2")


def test_unknown_backend_and_target():
    weights, spikes, params = make_case(0.0, steps=10)
    with pytest.raises(ValueError, match="backend must be one of"):
        simulate(weights, spikes, params, backend="torch")
    with pytest.raises(ValueError, match="target must be one of"):
        simulate(weights, spikes, params, backend="brian2", target="cuda")
    with pytest.raises(TypeError, match="params must be a VRParams"):
        simulate(weights, spikes, {"alpha": 0.3})


def test_brian2_backend_leaves_the_users_device_prefs_and_clock(tmp_path):
    """Habit 6, right: after the user's own set_device('cpp_standalone'), the numpy target runs on the
    runtime device (before, the network went into the user's project: 'already built', or no values),
    and the user's device, its build options, the code-generation target and the default dt are as set."""
    weights, spikes, params = make_case(0.3, batch=1, steps=60)
    user_dir = str(tmp_path / "user_project")
    previous_target = prefs.codegen.target
    set_device("cpp_standalone", build_on_run=False, directory=user_dir)
    try:
        prefs.codegen.target = "cython"
        defaultclock.dt = 0.5 * ms
        traces = simulate(weights, spikes, params, backend="brian2", target="numpy")
        device = get_device()
        assert device is all_devices["cpp_standalone"]
        assert device.build_on_run is False and device.build_options == {"directory": user_dir}
        assert prefs.codegen.target == "cython" and defaultclock.dt == 0.5 * ms
    finally:
        defaultclock.dt = 0.1 * ms
        reset_device()
        prefs.codegen.target = previous_target
    for U, U_ref in zip(traces.U, forward(weights, spikes, params).U, strict=True):
        np.testing.assert_allclose(U, U_ref, atol=1e-9)


def _standalone_projects() -> set:
    return set(glob.glob(os.path.join(tempfile.gettempdir(), "vr_brian_standalone_*")))


@pytest.mark.slow
def test_standalone_run_removes_its_project_and_leaves_the_users_one(tmp_path, capfd):
    """Habit 6: simulate with cpp_standalone compiles on a device of its own: the project the user is
    building on Brian2's standalone device keeps its objects, simulate's temporary project is gone after
    the run, its monitors stay readable, and report='text' is printed by the compiled program."""
    weights, spikes, params = make_case(0.3, batch=1, steps=60)
    before = _standalone_projects()
    all_devices["cpp_standalone"].reinit()  # whatever an earlier test in this process left on it
    set_device("cpp_standalone", build_on_run=False, directory=str(tmp_path / "user_project"))
    try:
        user = vr_neuron_group(3, params)
        Network(user, StateMonitor(user, "U", record=True, when="before_resets")).run(10 * ms)
        user_code = set(get_device().code_objects)
        traces = simulate(weights, spikes, params, backend="brian2", target="cpp_standalone", report="text")
        assert get_device() is all_devices["cpp_standalone"] and set(get_device().code_objects) == user_code
        assert not get_device().has_been_run
    finally:
        reset_device()
        all_devices["cpp_standalone"].reinit()
    assert _standalone_projects() == before
    assert "100%" in capfd.readouterr().out
    reference = forward(weights, spikes, params)
    np.testing.assert_allclose(traces.U[0], reference.U[0], atol=1e-9)
    np.testing.assert_allclose(traces.monitors["U_1"].U_[4], reference.U[0][0, :, 4], atol=1e-9)
    assert len(traces.monitors["spikes_1"].i) == reference.P[0].sum() > 0


def test_progress_reported_as_brian2_does(capsys):
    weights, spikes, params = make_case(0.0, batch=1, steps=40)
    completed = []
    simulate(
        weights, spikes, params, backend="brian2", report=lambda elapsed, done, start, duration: completed.append(done)
    )
    assert completed[0] == 0 and completed[-1] == 1
    simulate(weights, spikes, params, backend="brian2", report="text", report_period=1 * second)
    out = capsys.readouterr().out
    assert "Starting simulation" in out and "(100%) simulated" in out


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"report": "verbose"}, ValueError, "report must be None, one of"),
        ({"report": "text", "report_period": 10}, TypeError, r"report_period must be a Brian2 quantity in second"),
        (
            {"report": "text", "report_period": 10 * ms / ms * volt},
            ValueError,
            "report_period must be in units of second",
        ),
        ({"report": "text", "report_period": -1 * second}, ValueError, "report_period must be finite and > 0"),
        ({"report": print, "target": "cpp_standalone"}, ValueError, "the compiled program reports itself"),
    ],
)
def test_bad_report_refused_before_any_work(kwargs, error, match):
    weights, spikes, params = make_case(0.0, steps=10)
    with pytest.raises(error, match=match):
        simulate(weights, spikes, params, backend="brian2", **kwargs)
