import json

from studies.hh_comparison.run import KINDS, PROTOCOLS, main


def test_quick_run_fits_and_scores_every_model(tmp_path):
    """The quick configuration (squid axon only, both protocols, one tiny fit per model) runs end to end:
    a summary per protocol and model, the input-resistance measurement, and the figures."""
    assert main(["--quick", "--out-dir", str(tmp_path)]) == 0
    results = json.loads((tmp_path / "results.json").read_text())
    summary = results["summary"]
    assert set(summary) == {f"{p}/squid/{k}" for p in PROTOCOLS for k in KINDS}
    for scores in summary.values():
        assert scores["gamma_mean"] is None or -1.0 <= scores["gamma_mean"] <= 1.0
        assert scores["voltage_weight"] == 0.02
    resistance = results["input_resistance"]["squid"]
    assert resistance["R_rest_Mohm"] > 0 and set(resistance["alpha"]) == {"vrclif", "vrclif_hold"}
    names = {p.name for p in tmp_path.iterdir()}
    assert {"hh_comparison_gamma.png", "hh_comparison_input_resistance.png",
            "hh_comparison_traces_current_squid.png", "hh_comparison_traces_synaptic_squid.png"} <= names
