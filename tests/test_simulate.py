import numpy as np
import pytest

from vr_brian import forward, simulate

from .conftest import make_case


@pytest.mark.parametrize("backend", ["numpy", "brian2"])
def test_backends_return_the_same_record(backend):
    weights, spikes, params = make_case(0.3, batch=2, steps=60)
    traces = simulate(weights, spikes, params, backend=backend)
    reference = forward(weights, spikes, params)
    assert [U.shape for U in traces.U] == [(2, 60, 30), (2, 60, 20), (2, 60, 6)]
    assert [P.dtype for P in traces.P] == [bool, bool]
    for U, U_ref in zip(traces.U, reference.U):
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
