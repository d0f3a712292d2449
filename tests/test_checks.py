import numpy as np
import pytest
from brian2 import ms, mV

from vr_brian import VRParams, simulate
from vr_brian.checks import check_network, check_spikes, check_weights

GOOD_WEIGHTS = [np.ones((3, 4)), np.ones((2, 3))]
GOOD_SPIKES = np.zeros((2, 10, 4), bool)


@pytest.mark.parametrize(
    "weights, match",
    [
        ([], "weights is empty"),
        ([np.ones(4)], r"weights\[0\] \(layer 1\) must be 2-D"),
        ([np.ones((0, 4))], r"weights\[0\] \(layer 1\) is empty"),
        ([np.ones((3, 4)), np.ones((2, 5))], "layer sizes do not chain: weights\\[1\\] has n_pre=5"),
        ([np.ones((3, 4)), np.full((2, 3), np.nan)], r"weights\[1\] \(layer 2\) contains NaN"),
        ([np.ones((3, 4)), np.full((2, 3), np.inf)], r"weights\[1\] \(layer 2\) contains NaN or infinite"),
    ],
)
def test_bad_weights(weights, match):
    with pytest.raises(ValueError, match=match):
        check_weights(weights)


def test_weights_as_quantities():
    np.testing.assert_array_equal(check_weights([np.ones((2, 3)) * mV])[0], np.full((2, 3), 1e-3))
    with pytest.raises(ValueError, match=r"weights\[0\] \(layer 1\) must be in volts"):
        check_weights([np.ones((2, 3)) * ms])


def test_weights_not_numbers():
    with pytest.raises(TypeError, match="weights\\[0\\]"):
        check_weights([np.array([["a"]])])
    with pytest.raises(TypeError, match="weights must be a sequence"):
        check_weights(3.0)


@pytest.mark.parametrize(
    "spikes, match",
    [
        (np.zeros((10, 4), bool), "spikes must be a 3-D array"),
        (np.zeros((0, 10, 4), bool), "spikes is empty"),
        (np.full((2, 10, 4), 0.5), "spikes must be binary"),
        (np.full((2, 10, 4), 2), "spikes must be binary"),
        (np.full((2, 10, 4), np.nan), "spikes contains NaN"),
        (np.zeros((2, 10, 5), bool), "spikes has 5 input channels but weights\\[0\\] expects n_pre=4"),
    ],
)
def test_bad_spikes(spikes, match):
    with pytest.raises(ValueError, match=match):
        check_network(GOOD_WEIGHTS, spikes)


def test_numeric_binary_spikes_accepted():
    assert check_spikes(np.ones((1, 2, 3), dtype=np.float32)).dtype == bool


@pytest.mark.parametrize("backend", ["numpy", "brian2"])
def test_simulate_rejects_before_any_work(backend):
    with pytest.raises(ValueError, match="layer sizes do not chain"):
        simulate([np.ones((3, 4)), np.ones((2, 5))], GOOD_SPIKES, VRParams(), backend=backend)
    with pytest.raises(ValueError, match="spikes must be binary"):
        simulate(GOOD_WEIGHTS, np.full((2, 10, 4), 3), VRParams(), backend=backend)
