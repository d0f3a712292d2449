"""AdEx against its analytic rheobase and its spike-frequency adaptation."""

import numpy as np
import pytest
from brian2 import Network, SpikeMonitor, ms, mV, prefs, second

from vr_brian.adex import BRETTE_GERSTNER_2005, AdExParams, adex_group, rheobase


@pytest.fixture(autouse=True)
def numpy_target():
    previous, prefs.codegen.target = prefs.codegen.target, "numpy"
    yield
    prefs.codegen.target = previous


def _run(params, currents, duration, dt=0.05 * ms):
    group = adex_group(len(currents), params, dt=dt, I_ext=np.asarray(currents) * 1e3 * mV)
    spikes = SpikeMonitor(group)
    Network(group, spikes).run(duration, namespace={})
    return [np.asarray(train / second) for train in spikes.spike_trains().values()]


def test_rheobase_formula_by_hand():
    """a = 0.05, V_T = 15 mV, Delta_T = 2 mV: (1.05) * (15 - 2 + 2 ln 1.05) mV = 13.7549 mV."""
    params = AdExParams(tau_m=20 * ms, tau_w=100 * ms, a=0.05, b=0 * mV, VT=15 * mV, DeltaT=2 * mV)
    assert rheobase(params) == pytest.approx(1.05 * (13 + 2 * np.log(1.05)) * 1e-3, rel=1e-12)
    with pytest.raises(ValueError, match="Hopf"):
        rheobase(BRETTE_GERSTNER_2005)  # a = 0.133 > tau_m/tau_w = 0.065


def test_firing_sets_in_at_the_rheobase():
    """Saddle-node case (a < tau_m/tau_w): no spike 3% below the analytic rheobase in 1 s,
    repetitive firing 3% above it."""
    params = AdExParams(tau_m=20 * ms, tau_w=100 * ms, a=0.05, b=0 * mV, VT=15 * mV, DeltaT=2 * mV)
    I_rh = rheobase(params)
    below, above = _run(params, [0.97 * I_rh, 1.03 * I_rh], 1 * second)
    assert len(below) == 0
    assert len(above) >= 3


def test_spike_frequency_adaptation():
    """Brette-Gerstner 2005 parameters under a step: the spike-triggered jump b makes every
    interspike interval longer than the last, from a short first one to a steady state."""
    (train,) = _run(BRETTE_GERSTNER_2005, [40e-3], 400 * ms)
    isi = np.diff(train)
    assert len(isi) >= 5
    assert np.all(np.diff(isi) >= -1e-4)  # non-decreasing, to within two steps (0.1 ms)
    assert isi[-1] > 2 * isi[0]
    # without adaptation (a = b = 0) the same step gives constant intervals
    (plain,) = _run(BRETTE_GERSTNER_2005.replace(a=0.0, b=0.0), [40e-3], 400 * ms)
    plain_isi = np.diff(plain)
    assert np.ptp(plain_isi[1:]) < 0.2e-3 and len(plain_isi) > len(isi)


def test_bad_parameters():
    with pytest.raises(ValueError, match="DeltaT must be > 0"):
        AdExParams(DeltaT=0.0)
    with pytest.raises(ValueError, match="tau_m must be in units"):
        AdExParams(tau_m=5 * mV)
