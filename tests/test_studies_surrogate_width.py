"""The surrogate-width study runs in its quick configuration and writes one score per width."""

import json

from studies.surrogate_width.run import WIDTHS, main, template_task


def test_template_task_is_one_hot_and_binary():
    spikes, targets = template_task(0, samples=20)
    assert spikes.shape == (20, 60, 40) and spikes.dtype == bool
    assert (targets.sum(axis=1) == 1).all()


def test_quick_run_writes_results(tmp_path):
    assert main(["--quick", "--out-dir", str(tmp_path)]) == 0
    results = json.loads((tmp_path / "results.json").read_text())
    assert set(results["mean_exact_match"]) == {str(w) for w in WIDTHS}
    assert all(0 <= v <= 1 for v in results["mean_exact_match"].values())
