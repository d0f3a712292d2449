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
- Wang-Buzsaki (1996): its equations written out again here and integrated by scipy's
  solve_ivp (a different integrator, adaptive step), against Brian2's rk4.
"""

import numpy as np
import pytest
from brian2 import Network, SpikeMonitor, StateMonitor, cm, ms, prefs, second, uA

from vr_brian.hh import (
    AREA,
    SQUID,
    TRAUB_MILES,
    WANG_BUZSAKI,
    CurrentInput,
    hh_group,
    input_resistance,
    measure_input_resistance,
    ou_current,
    poisson_input,
    resting_potential,
    run_hh,
)


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
    inputs = type(inputs)(
        indices=np.array([0]),
        times=np.array([5e-3]),
        weights=np.array([1.0]),
        duration=inputs.duration,
        grid=inputs.grid,
    )
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


def _wang_buzsaki_rhs(t, y, current):
    """Wang and Buzsaki (1996), J. Neurosci. 16:6402, eqs. 1-4 with their constants (mV, ms, uA/cm^2)."""
    v, h, n = y
    a_m = 0.1 * (v + 35) / (1 - np.exp(-(v + 35) / 10))
    b_m = 4 * np.exp(-(v + 60) / 18)
    m = a_m / (a_m + b_m)
    a_h, b_h = 0.07 * np.exp(-(v + 58) / 20), 1 / (1 + np.exp(-(v + 28) / 10))
    a_n, b_n = 0.01 * (v + 34) / (1 - np.exp(-(v + 34) / 10)), 0.125 * np.exp(-(v + 44) / 80)
    dv = -35 * m**3 * h * (v - 55) - 9 * n**4 * (v + 90) - 0.1 * (v + 65) + current
    return [dv, 5 * (a_h * (1 - h) - b_h * h), 5 * (a_n * (1 - n) - b_n * n)]


def test_wang_buzsaki_against_an_independent_integration():
    """Rest from the written-out equations' steady state; a 1 uA/cm^2 step fires tonically with spike times
    within 0.1 ms of solve_ivp's (rtol 1e-8) over 120 ms."""
    from scipy.integrate import solve_ivp
    from scipy.optimize import brentq

    def steady(v):
        dv, _, _ = _wang_buzsaki_rhs(0, [v, 0, 0], 0.0)
        a_h, b_h = 0.07 * np.exp(-(v + 58) / 20), 1 / (1 + np.exp(-(v + 28) / 10))
        a_n, b_n = 0.01 * (v + 34) / (1 - np.exp(-(v + 34) / 10)), 0.125 * np.exp(-(v + 44) / 80)
        return _wang_buzsaki_rhs(0, [v, a_h / (a_h + b_h), a_n / (a_n + b_n)], 0.0)[0]

    rest = brentq(steady, -70, -60)
    assert resting_potential(WANG_BUZSAKI) * 1e3 == pytest.approx(rest, abs=0.01)
    v, spikes, dt = _step_responses(WANG_BUZSAKI, [1.0], 120 * ms)
    state = WANG_BUZSAKI.steady_state(rest * 1e-3)
    solution = solve_ivp(
        _wang_buzsaki_rhs,
        (0, 120),
        [rest, state["h"], state["n"]],
        args=(1.0,),
        rtol=1e-8,
        atol=1e-10,
        max_step=0.05,
        dense_output=True,
    )
    t = np.arange(0, 120, 0.005)
    trace = solution.sol(t)[0]
    crossings = t[1:][(trace[1:] > -20) & (trace[:-1] <= -20)] * 1e-3
    brian = np.asarray(spikes[0] / second)
    assert len(crossings) >= 4 and len(brian) == len(crossings)
    np.testing.assert_allclose(brian, crossings, atol=0.1e-3)


def test_input_resistance_by_steps_equals_the_iv_slope():
    """Small current steps in Brian2 at three holding voltages give the inverse slope of the steady-state
    I-V curve (to 3%); at the Traub-Miles rest, where the gated currents are negligible, it is
    1/(g_L * area) = 100 Mohm (to 1%)."""
    v_rest = resting_potential(TRAUB_MILES)
    assert input_resistance(TRAUB_MILES, v_rest, AREA) == pytest.approx(1 / (0.05e-3 * 1e4 * 20000e-12), rel=0.01)
    holds = v_rest + np.array([-8e-3, 0.0, 4e-3])
    measured = measure_input_resistance(
        TRAUB_MILES, holds, settle=150 * ms, dt=0.1 * ms
    )  # subthreshold: 0.1 ms is fine
    np.testing.assert_allclose(measured["v_before"], holds, atol=0.1e-3)
    np.testing.assert_allclose(
        measured["resistance"], input_resistance(TRAUB_MILES, measured["v_before"], AREA), rtol=0.03
    )
    assert not measured["fired"].any()
    assert measured["resistance"][2] > 1.05 * measured["resistance"][0]  # rises towards the saddle-node


def test_ou_current_statistics_and_units():
    """Mean, standard deviation and the autocorrelation at one correlation time (e^-1) of a long
    Ornstein-Uhlenbeck current; a bare number for a current is refused."""
    from brian2 import nA

    x = ou_current(0.3 * nA, 0.1 * nA, 5 * ms, 200 * second, grid=0.5 * ms, seed=0).current
    assert x.mean() == pytest.approx(0.3e-9, abs=0.004e-9)
    assert x.std() == pytest.approx(0.1e-9, rel=0.02)
    lag = 10  # 5 ms at 0.5 ms
    centred = x - x.mean()
    assert np.mean(centred[:-lag] * centred[lag:]) / centred.var() == pytest.approx(np.exp(-1), abs=0.02)
    with pytest.raises(TypeError, match="mean needs a Brian2 unit of amp"):
        ou_current(0.3, 0.1 * nA)
    with pytest.raises(ValueError, match="current contains NaN"):
        CurrentInput(np.array([0.0, np.nan]), 1e-4)
