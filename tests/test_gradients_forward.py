"""The layer-by-layer forward pass of the gradients package equals vr_brian.forward."""

import numpy as np
import pytest

from gradients.forward import SPARSE_BELOW, SpikeMatrix, input_currents, record_forward, replay
from vr_brian import VRParams, forward

from .conftest import VARIANT_CASES, make_case, variant_case


def test_equals_the_reference(alpha):
    weights, spikes, params = make_case(alpha, batch=3, steps=150)
    reference = forward(weights, spikes, params)
    recording = record_forward(weights, spikes, params)
    assert all(P.any() for P in reference.P)
    for got, expected in zip(recording.traces.U, reference.U, strict=True):
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
    for got, expected in zip(recording.traces.P, reference.P, strict=True):
        np.testing.assert_array_equal(got, expected)
    # the time-major arrays are the same numbers
    for U_tm, U in zip(recording.U, recording.traces.U, strict=True):
        assert U_tm.shape == (150, 3, U.shape[2]) and np.shares_memory(U_tm, U)


def test_float32_follows_float64(alpha):
    weights, spikes, params = make_case(alpha, batch=2, steps=150)
    reference = forward(weights, spikes, params)
    recording = record_forward([W.astype(np.float32) for W in weights], spikes, params)
    assert all(U.dtype == np.float32 for U in recording.traces.U)
    np.testing.assert_allclose(recording.traces.output, reference.output, rtol=0, atol=2e-4)
    mismatched = sum(int((a != b).sum()) for a, b in zip(recording.traces.P, reference.P, strict=True))
    assert mismatched <= 0.001 * sum(P.size for P in reference.P)


def test_currents_and_replay():
    weights, spikes, params = make_case(0.3, batch=2, steps=40)
    recording = record_forward(weights, spikes, params)
    expected = params.N0 * np.einsum("tbi,ji->tbj", spikes.transpose(1, 0, 2).astype(float), weights[0])
    np.testing.assert_allclose(input_currents(recording.spikes_tm, weights[0], params.N0), expected, atol=1e-13)
    replayed = replay(weights, recording.traces)
    for name in ("U", "P"):
        for a, b in zip(getattr(replayed, name), getattr(recording, name), strict=True):
            np.testing.assert_array_equal(a, b)
    for n in range(len(weights)):
        for a, b in zip(replayed.currents(n, weights, params), recording.currents(n, weights, params), strict=True):
            np.testing.assert_array_equal(a, b)
    assert replay([W.astype(np.float32) for W in weights], recording.traces).U[0].dtype == np.float32


@pytest.mark.parametrize("density", [0.05, 0.5], ids=["sparse", "dense"])
def test_spike_products_on_both_representations(density):
    """Event-driven (CSR) and BLAS products against einsum, including a truncated gradient sum."""
    rng = np.random.default_rng(4)
    spikes_tm = rng.random((30, 3, 50)) < density
    matrix = SpikeMatrix(spikes_tm)
    assert matrix.sparse == (density < SPARSE_BELOW)
    W = rng.normal(size=(20, 50))
    expected = 2.0 * np.einsum("tbi,ji->tbj", spikes_tm.astype(float), W)
    np.testing.assert_allclose(matrix.currents(W, 2.0), expected, rtol=1e-12, atol=1e-12)
    dI = rng.normal(size=(17, 3, 20))
    expected = 2.0 * np.einsum("tbj,tbi->ji", dI, spikes_tm[:17].astype(float))
    np.testing.assert_allclose(matrix.weight_gradient(dI, 2.0), expected, rtol=1e-12, atol=1e-12)
    got32 = matrix.weight_gradient(dI.astype(np.float32), 2.0)
    assert got32.dtype == np.float32
    np.testing.assert_allclose(got32, expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("params_kwargs", VARIANT_CASES)
def test_compiled_and_numpy_paths_agree(params_kwargs):
    """The event-driven kernels (gradients.kernels) against the numpy path: forward, loss and gradient, to
    rounding, two hidden layers, float32 and float64."""
    pytest.importorskip("numba")
    import gradients.forward as forward_module
    from gradients import loss_and_grad

    if not forward_module.COMPILED:
        pytest.skip("compiled loops disabled (VR_BRIAN_NO_NUMBA)")
    weights, spikes, params = variant_case(params_kwargs, seed=7, batch=5, steps=80, sizes=(30, 20, 15, 4))
    targets = np.random.default_rng(7).random((5, 4)) < 0.5
    methods = ("bptt", "paper") if params.variant == "paper" else ("bptt",)
    for dtype, tolerance in ((np.float64, 1e-12), (np.float32, 1e-4)):
        for method in methods:
            typed = [w.astype(dtype) for w in weights]
            compiled = loss_and_grad(typed, spikes, targets, params, q=0.5, method=method)
            recording = record_forward(typed, spikes, params)
            traces = recording.traces
            plain = loss_and_grad(typed, spikes, targets, params, q=0.5, method=method, compiled=False)
            plain_recording = record_forward(typed, spikes, params, compiled=False)
            plain_traces = plain_recording.traces
            # the hidden spikes' CSR form as the forward kernel lists it, against numpy's scan of the spikes
            for listed, scanned in zip(recording.inputs[1:], plain_recording.inputs[1:], strict=True):
                for a, b in zip(listed.csr, scanned.csr, strict=True):
                    assert a.dtype == np.int32
                    np.testing.assert_array_equal(a, b)
            for a, b in zip(traces.U, plain_traces.U, strict=True):
                np.testing.assert_allclose(a, b, rtol=0, atol=tolerance)
            assert compiled[0] == pytest.approx(plain[0], rel=tolerance)
            for a, b in zip(compiled[1], plain[1], strict=True):
                assert np.abs(b).max() > 0
                assert np.linalg.norm(a - b) <= tolerance * np.linalg.norm(b)


@pytest.mark.parametrize("gain, listed", [(0.5, True), (8.0, False)])
def test_forward_kernel_lists_the_spikes_of_sparse_layers(gain, listed):
    """The CSR form of a hidden layer's spikes, listed by the forward kernel while it runs (sparse layers)
    or left to a scan of the spikes (a sample denser than LISTED_DENSITY): both equal numpy's scan."""
    pytest.importorskip("numba")
    import gradients.forward as forward_module
    from gradients import kernels

    if not forward_module.COMPILED:
        pytest.skip("compiled loops disabled (VR_BRIAN_NO_NUMBA)")
    rng = np.random.default_rng(3)
    spikes_tm = rng.random((60, 4, 30)) < 0.2
    W = gain * rng.normal(0.05, 0.1, (25, 30))
    params = VRParams(alpha=0.3)
    U, P, csr = kernels.layer_forward(SpikeMatrix(spikes_tm), W, params, fires=True)
    densest_sample = P.mean(axis=(0, 2)).max()
    assert (csr is not None) == listed and (densest_sample <= kernels.LISTED_DENSITY) == listed and P.any()
    scanned = SpikeMatrix(P, compiled=False).csr
    for a, b in zip(csr if listed else SpikeMatrix(P).csr, scanned, strict=True):
        np.testing.assert_array_equal(a, b)
