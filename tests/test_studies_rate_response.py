"""Rate-response study: f-I curves from Poisson input, monotonicity and the rheobase shift."""

import json
import math

import numpy as np
import pytest

from studies.rate_response import run as study
from vr_brian import VRParams


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("rate")
    assert study.main(["--quick", "--out-dir", str(out)]) == 0
    return out, json.loads((out / "results.json").read_text())


def test_output_rate_is_monotone_in_input_rate_and_zero_without_input(quick):
    out, results = quick
    rates = np.array(results["output_rates_Hz"])  # (alpha, seed, input rate)
    mean = rates.mean(axis=1)
    assert np.all(np.diff(mean, axis=1) >= 0)
    assert np.all(rates[:, :, 0] == 0)
    assert np.all(mean[:, -1] > 20)
    assert (out / "rate_response_f_I.png").exists()


def test_rheobase_rises_with_alpha_about_as_mean_field_predicts(quick):
    _, results = quick
    table = {row["alpha"]: row for row in results["table"]}
    ratio = table[0.4]["rheobase_Hz_mean"] / table[0.0]["rheobase_Hz_mean"]
    assert 1 / (1 - 0.4) * 0.8 < ratio < 1 / (1 - 0.4) * 1.25
    # fluctuations let the neuron fire below the mean-field rheobase, not far below it
    for row in results["table"]:
        assert 0.6 * row["mean_field_rheobase_Hz"] < row["rheobase_Hz_mean"] <= row["mean_field_rheobase_Hz"]


def test_mean_field_rheobase_by_hand():
    params = VRParams()
    S = sum(math.exp(-j / 20) - math.exp(-j / 5) for j in range(5000))
    f = 4.0
    N0 = f ** (f / (f - 1)) / (f - 1)
    expected = 1.0 / ((1 - 0.3) * N0 * S * 0.02 * 100 * 1e-3)
    assert study.mean_field_rheobase(params, 0.3, 0.02, 100) == pytest.approx(expected, rel=1e-12)


def test_rheobase_interpolates_the_criterion_crossing():
    inputs = np.array([0.0, 10.0, 20.0, 30.0])
    assert study.rheobase(inputs, np.array([0.0, 0.0, 4.0, 9.0]), 2.0) == pytest.approx(15.0)
    assert study.rheobase(inputs, np.array([3.0, 4.0, 5.0, 6.0]), 2.0) == 0.0
    assert math.isnan(study.rheobase(inputs, np.zeros(4), 2.0))
