"""The rectangular surrogate and the validation of its width."""

import numpy as np
import pytest
from brian2 import ms, mV

from gradients.surrogate import DEFAULT_Q_OVER_V_THR, surrogate, surrogate_width
from vr_brian import VRParams


def test_box_of_unit_area_centred_on_threshold():
    U = np.array([0.74, 0.76, 1.0, 1.24, 1.26, -3.0])
    np.testing.assert_array_equal(surrogate(U, 1.0, 0.5), [0, 2, 2, 2, 0, 0])
    # strict inequality at the edges (exactly representable values)
    np.testing.assert_array_equal(surrogate(np.array([0.75, 1.25]), 1.0, 0.5), [0, 0])
    assert surrogate(U.astype(np.float32), 1.0, 0.5).dtype == np.float32
    grid = np.linspace(-1, 3, 400001)
    area = surrogate(grid, 1.0, 0.3).sum() * (grid[1] - grid[0])
    assert area == pytest.approx(1.0, abs=1e-4)


def test_width_accepts_quantities_and_rejects_bad_values():
    params = VRParams.from_si(v_thr=2.0)
    assert surrogate_width(None, params) == DEFAULT_Q_OVER_V_THR * 2.0
    assert surrogate_width(250 * mV, params) == pytest.approx(0.25)
    assert surrogate_width(0.1, params) == 0.1
    for bad in (0, -0.5, float("inf")):
        with pytest.raises(ValueError, match="q .surrogate width. must be a finite voltage > 0"):
            surrogate_width(bad, params)
    with pytest.raises(ValueError, match="q must be in units of"):
        surrogate_width(1 * ms, params)
    with pytest.raises(TypeError, match="q must be a number"):
        surrogate_width("wide", params)
