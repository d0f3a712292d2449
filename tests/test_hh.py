"""Hodgkin-Huxley models against known properties: rest, spike threshold, onset of firing.

Literature relied on:
- Squid axon (Hodgkin & Huxley 1952, 6.3 degC, modern convention as in Dayan & Abbott 2001
  ch. 5.6): rest -65 mV. Under a current step from rest, a single spike needs a little over
  2 uA/cm^2, and repetitive firing sets in near 6.2-6.3 uA/cm^2 (Rinzel & Miller 1980,
  Math. Biosci. 49:27, the saddle-node of periodic orbits at I ~ 6.26 uA/cm^2, below the
  Hopf point at 9.78), at a high onset rate (type II: ~50 Hz, never slower). Measured with
  this implementation at dt = 0.025 ms over 300 ms: 2 spikes at 6.0, 3 at 6.2, 16 at 6.4
  uA/cm^2; the test brackets the onset between 6.0 and 6.6.
- Traub-Miles as in Brian2's COBAHH (Brette et al. 2007): a class-I neuron whose onset is
  the saddle-node where the steady-state current stops having a zero, computed here from
  the rate functions written out independently of the package.
"""

import numpy as np
import pytest
from brian2 import Network, SpikeMonitor, StateMonitor, cm, ms, prefs, second, uA

from vr_brian.hh import SQUID, TRAUB_MILES, hh_group, poisson_input, resting_potential, run_hh


@pytest.fixture(autouse=True)
def numpy_target():
    previous, prefs.codegen.target = prefs.codegen.target, "numpy"
    yield
    prefs.codegen.target = previous


#: 0.05 ms keeps these tests short; the properties checked hold with margin at 0.025 ms too.
DT = 0.05 * ms


def _step_responses(model, currents, duration):
    group = hh_group(len(currents), model, I_ext=np.asarray(currents) * uA / cm**2, dt=DT)
    voltage = StateMonitor(group, "v", record=True)
    spikes = SpikeMonitor(group)
    Network(group, voltage, spikes).run(duration, namespace={})
    return np.asarray(voltage.v_), spikes.spike_trains(), float(DT / second)


def _threshold_voltage(v, dt, slope=10.0):
    """Voltage where dv/dt first exceeds ``slope`` V/s (10 mV/ms), the usual onset criterion."""
    dvdt = np.diff(v) / dt
    return v[np.argmax(dvdt > slope)]


@pytest.fixture(scope="module")
def squid_steps():
    prefs.codegen.target = "numpy"
    return _step_responses(SQUID, [0.0, 2.0, 3.0, 6.0, 6.6], 150 * ms)


def test_squid_rest(squid_steps):
    v, _, _ = squid_steps
    assert resting_potential(SQUID) == pytest.approx(-65e-3, abs=0.1e-3)
    assert v[0, -1] == pytest.approx(resting_potential(SQUID), abs=0.05e-3)  # stays at rest with no input


def test_squid_single_spike_threshold(squid_steps):
    v, spikes, dt = squid_steps
    assert len(spikes[1]) == 0  # 2 uA/cm^2: subthreshold
    assert len(spikes[2]) == 1  # 3 uA/cm^2: one spike, then rest (no repetitive firing)
    assert -60e-3 < _threshold_voltage(v[2], dt) < -50e-3
    assert v[2].max() > 30e-3  # full-size action potential, overshoot above +30 mV


def test_squid_repetitive_firing_onset(squid_steps):
    _, spikes, _ = squid_steps
    assert len(spikes[3]) <= 2  # 6.0 uA/cm^2: below the onset of repetitive firing
    isi = np.diff(spikes[4] / second)
    assert len(spikes[4]) >= 7  # 6.6 uA/cm^2: tonic firing
    assert 1 / isi[-1] > 45  # type II: it starts at a high rate


def _traub_miles_steady_current(v_mV):
    """Inward-positive steady-state current (uA/cm^2) of Traub-Miles plus its -0.5 holding
    current, from COBAHH's rate functions in their original x/(exp(x)-1) form."""
    VT = -63.0
    x = v_mV - VT
    a_m = 0.32 * (13 - x) / (np.exp((13 - x) / 4) - 1)
    b_m = 0.28 * (x - 40) / (np.exp((x - 40) / 5) - 1)
    a_h = 0.128 * np.exp((17 - x) / 18)
    b_h = 4 / (1 + np.exp((40 - x) / 5))
    a_n = 0.032 * (15 - x) / (np.exp((15 - x) / 5) - 1)
    b_n = 0.5 * np.exp((10 - x) / 40)
    m, h, n = a_m / (a_m + b_m), a_h / (a_h + b_h), a_n / (a_n + b_n)
    # mS/cm^2 times mV is uA/cm^2
    return 100 * m**3 * h * (50 - v_mV) + 30 * n**4 * (-90 - v_mV) + 0.05 * (-60 - v_mV) - 0.5


@pytest.mark.long
def test_traub_miles_rest_threshold_and_onset():
    v_grid = np.arange(-85.0, -50.0, 0.01) + 0.005  # avoids the removable singularities
    current = _traub_miles_steady_current(v_grid)
    rest = v_grid[np.argmin(np.abs(current[v_grid < -65]))]
    assert resting_potential(TRAUB_MILES) * 1e3 == pytest.approx(rest, abs=0.05)
    assert rest == pytest.approx(-70.0, abs=0.1)  # E_L + I_hold/g_L: window currents are tiny there
    rheobase = -current[(v_grid > -70)].min()  # the step at which the rest state disappears
    assert 0.2 < rheobase < 0.4
    v, spikes, dt = _step_responses(TRAUB_MILES, [0.0, 0.85 * rheobase, 1.5 * rheobase], 200 * ms)
    assert v[0, -1] * 1e3 == pytest.approx(rest, abs=0.05)
    assert len(spikes[1]) == 0
    assert len(spikes[2]) >= 2
    assert -62e-3 < _threshold_voltage(v[2], dt) < -45e-3


def test_synaptic_drive_is_linear_below_threshold():
    """One input spike of weight 1: the PSP peak doubles with J (to 2% while small), peaks
    after the synaptic current's decay began, and decays back to rest."""
    inputs = poisson_input(1, 0, rate=0.0, duration=60 * ms, seed=0)
    inputs = type(inputs)(indices=np.array([0]), times=np.array([5e-3]), weights=np.array([1.0]),
                          duration=inputs.duration, grid=inputs.grid)
    small = run_hh(SQUID, [inputs, inputs], np.array([0.2, 0.4]) * uA / cm**2, dt=DT)
    peaks = small.v.max(axis=1)
    assert peaks[1] / peaks[0] == pytest.approx(2.0, rel=0.02)
    t_peak = np.argmax(small.v[0]) * small.dt
    assert 5.5e-3 < t_peak < 15e-3
    assert abs(small.v[0, -1]) < 0.05 * peaks[0]
    assert all(len(s) == 0 for s in small.spikes)


def test_bad_input():
    with pytest.raises(ValueError, match="n must be"):
        hh_group(0, SQUID)
    with pytest.raises(ValueError, match="rate\\*grid"):
        poisson_input(rate=20000.0)
    inputs = poisson_input(2, 0, duration=10 * ms)
    with pytest.raises(ValueError, match="record_dt"):
        run_hh(SQUID, inputs, 1 * uA / cm**2, dt=0.03 * ms)
