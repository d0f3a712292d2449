import json

import pytest

from studies.hh_comparison.run import main


@pytest.mark.long
def test_quick_run_fits_and_scores_every_model(tmp_path):
    """The quick configuration (squid axon only, one tiny fit per model) runs end to end."""
    assert main(["--quick", "--out-dir", str(tmp_path)]) == 0
    summary = json.loads((tmp_path / "results.json").read_text())["summary"]
    assert set(summary) == {"squid/vrclif", "squid/clif", "squid/adex"}
    for scores in summary.values():
        assert -1.0 <= scores["gamma_mean"] <= 1.0 and scores["voltage_error_mean_mV"] > 0
    assert any(p.suffix == ".png" for p in tmp_path.iterdir())
