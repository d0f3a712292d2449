import json

import pytest

from studies.hh_comparison.run import PROTOCOLS, QUICK, main


@pytest.mark.long
def test_quick_run_fits_and_scores_every_model(tmp_path):
    """The quick configuration (Wang-Buzsaki only, both protocols, a tiny fit of three models: VR-C-LIF,
    AdEx, C-LIF + hold) runs end to end: a summary per protocol and model, the input-resistance
    measurement, and the figures."""
    assert main(["--quick", "--out-dir", str(tmp_path)]) == 0
    results = json.loads((tmp_path / "results.json").read_text())
    summary = results["summary"]
    assert set(summary) == {f"{p}/wang_buzsaki/{k}" for p in PROTOCOLS for k in QUICK["kinds"]}
    for scores in summary.values():
        assert scores["gamma_mean"] is None or -1.0 <= scores["gamma_mean"] <= 1.0
        assert scores["voltage_weight"] == 0.02
    resistance = results["input_resistance"]["wang_buzsaki"]
    assert resistance["R_rest_Mohm"] > 0 and set(resistance["alpha"]) == {"vrclif"}
    names = {p.name for p in tmp_path.iterdir()}
    assert {
        "hh_comparison_gamma.png",
        "hh_comparison_input_resistance.png",
        "hh_comparison_traces_current_wang_buzsaki.png",
        "hh_comparison_traces_synaptic_wang_buzsaki.png",
    } <= names
