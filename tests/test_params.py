import math

import numpy as np
import pytest
from brian2 import ms, mV, second, volt

from vr_brian import VRParams, to_si


def test_example_from_the_docs_works_as_written():
    p = VRParams(tau_m=20 * ms, tau_s=5 * ms, v_thr=1 * volt, alpha=0.3, dt=1 * ms)
    assert (p.tau_m, p.tau_s, p.v_thr, p.alpha, p.dt) == pytest.approx((0.02, 0.005, 1.0, 0.3, 0.001))


def test_floats_in_si_equal_quantities():
    assert VRParams.from_si(tau_m=0.02, tau_s=0.005, v_thr=1.0, dt=1e-3) == VRParams(
        tau_m=20 * ms, tau_s=5 * ms, v_thr=1 * volt, dt=1 * ms
    )


def test_N0_makes_the_kernel_peak_equal_one():
    """Analytic: the kernel exp(-t/tm) - exp(-t/ts) peaks at t* = tm ts/(tm - ts) ln(tm/ts)."""
    for tau_m, tau_s in [(20e-3, 5e-3), (25e-3, 6.25e-3), (10e-3, 9e-3), (100e-3, 1e-3)]:
        p = VRParams.from_si(tau_m=tau_m, tau_s=tau_s)
        t_peak = tau_m * tau_s / (tau_m - tau_s) * math.log(tau_m / tau_s)
        assert p.N0 * (math.exp(-t_peak / tau_m) - math.exp(-t_peak / tau_s)) == pytest.approx(1, rel=1e-12)
        t = np.linspace(0, 10 * tau_m, 200001)  # and no higher value anywhere on a fine grid
        kernel_max = (p.N0 * (np.exp(-t / tau_m) - np.exp(-t / tau_s))).max()
        assert 1 - 1e-6 < kernel_max <= 1 + 1e-12


def test_decays():
    p = VRParams(tau_m=20 * ms, tau_s=5 * ms, dt=1 * ms)
    assert p.gamma_m == pytest.approx(math.exp(-1 / 20))
    assert p.gamma_s == pytest.approx(math.exp(-1 / 5))


def test_immutable_and_replace_validates():
    p = VRParams()
    with pytest.raises(AttributeError):
        p.alpha = 0.5
    assert p.replace(alpha=0.3).alpha == 0.3
    with pytest.raises(ValueError, match="tau_s"):
        p.replace(tau_s=-1 * ms)


@pytest.mark.parametrize(
    "changes, name",
    [
        (dict(tau_m=5 * ms, tau_s=5 * ms), "tau_m"),
        (dict(tau_m=4 * ms), "tau_m"),
        (dict(tau_s=0 * ms), "tau_s"),
        (dict(dt=0 * ms), "dt"),
        (dict(dt=-1 * ms), "dt"),
        (dict(v_thr=0 * volt), "v_thr"),
        (dict(v_thr=-1 * volt), "v_thr"),
        (dict(alpha=float("nan")), "alpha"),
        (dict(alpha=float("inf")), "alpha"),
        (dict(tau_m=float("nan") * ms), "tau_m"),
    ],
)
def test_invalid_values_name_the_parameter(changes, name):
    with pytest.raises(ValueError, match=name):
        VRParams(**changes)


@pytest.mark.parametrize(
    "changes, name",
    [
        (dict(tau_m=20 * mV), "tau_m"),
        (dict(v_thr=1 * ms), "v_thr"),
        (dict(alpha=3 * mV), "alpha"),
        (dict(dt=1 * volt), "dt"),
    ],
)
def test_wrong_units_name_the_parameter(changes, name):
    with pytest.raises(ValueError, match=f"{name} must be in units of"):
        VRParams(**changes)


def test_to_si():
    assert to_si(20 * ms, second, "tau") == pytest.approx(0.02)
    assert to_si(np.float32(0.5), volt, "q") == 0.5
    with pytest.raises(TypeError, match="q must be a number"):
        to_si("1V", volt, "q")
    with pytest.raises(ValueError, match="q must be a scalar"):
        to_si(np.ones(3) * volt, volt, "q")
