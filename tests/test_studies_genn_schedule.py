import json

from studies.genn_schedule.run import main


def test_quick_run_separates_alpha_zero_from_alpha_nonzero(tmp_path):
    """At alpha = 0 GeNN's schedule is the iterative model to rounding; at alpha != 0 only R differs."""
    assert main(["--quick", "--out-dir", str(tmp_path)]) == 0
    runs = json.loads((tmp_path / "results.json").read_text())["results"]
    assert all(layer["rms_dU"] < 1e-12 for run in runs if run["alpha"] == 0 for layer in run["layers"])
    assert any(layer["rms_dU"] > 1e-3 for run in runs if run["alpha"] > 0 for layer in run["layers"])
