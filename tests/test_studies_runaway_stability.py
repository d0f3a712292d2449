"""Runaway study: the map against MODEL.md's two data points, and the pieces against hand computations."""

import json
import math
import warnings

import numpy as np
import pytest

from studies.runaway_stability import run as study
from vr_brian import VRParams, forward


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("runaway")
    assert study.main(["--quick", "--out-dir", str(out)]) == 0
    return out, json.loads((out / "results.json").read_text())


def test_model_md_data_points(quick):
    # N(0.05, 0.2) at alpha 0.3 runs away in most seeds, to thousands of volts; N(0.05, 0.15) far less often
    out, results = quick
    wide, narrow = results["model_md_data_points"]["N(0.05,0.2)"], results["model_md_data_points"]["N(0.05,0.15)"]
    assert wide["runaway_fraction"] >= 0.5 and wide["lowest_U_median_V"] < -1000
    assert narrow["runaway_fraction"] < wide["runaway_fraction"]
    assert narrow["lowest_U_median_V"] > -9
    assert (out / "runaway_stability_map.png").exists() and (out / "runaway_stability_rule.png").exists()


def test_map_grows_with_alpha_and_sigma(quick):
    _, results = quick
    fraction = np.array(results["runaway_fraction"])[:, 0, :]  # (alpha 0.1, 0.3) x (sigma 0.05, 0.15, 0.2)
    assert fraction[0, 0] == 0 and fraction[1, 0] == 0
    assert fraction[1, 2] > fraction[0, 2]
    assert fraction[1, 2] >= fraction[1, 1] >= fraction[1, 0]


def test_per_neuron_index_separates_most_runs(quick):
    _, results = quick
    assert results["per_neuron_index_rule"]["accuracy_of_index_at_least_1"] > 0.85


def test_block_diagonal_cell_equals_separate_networks():
    params = VRParams(alpha=0.3)
    cell = study.run_cell(0.3, 0.05, 0.2, [0, 1, 2], p_in=0.1, steps=200, params=params)
    for seed in range(3):
        rng = np.random.default_rng(seed)
        weights = [rng.normal(0.05, 0.2, (o, i)) for i, o in zip(study.SIZES[:-1], study.SIZES[1:], strict=True)]
        spikes = rng.random((1, 200, 40)) < 0.1
        with warnings.catch_warnings(), np.errstate(over="ignore", invalid="ignore"):
            warnings.simplefilter("ignore")
            lowest = min(float(U.min()) for U in forward(weights, spikes, params).U)
        assert cell["lowest_U_V"][seed] == pytest.approx(lowest, rel=1e-9)
        assert cell["runaway"][seed] == (lowest < -9 / 0.3)


def test_index_by_hand():
    params = VRParams()
    S = sum(math.exp(-j / 20) - math.exp(-j / 5) for j in range(5000))
    z = math.sqrt(2 * math.log(30))
    expected = 0.3 * 0.1 * params.N0 * S * (z * 0.2 * math.sqrt(40) - 40 * 0.05)
    assert study.runaway_index(0.3, 0.05, 0.2, 0.1, params) == pytest.approx(expected, rel=1e-12)
    sigma = study.critical_sigma(0.3, 0.05, 0.1, params)
    assert study.runaway_index(0.3, 0.05, sigma, 0.1, params) == pytest.approx(1.0)
