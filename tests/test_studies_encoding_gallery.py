"""The encoding gallery's quick run: results and one readable figure per clip."""

import json

import pytest

from vr_brian.datasets.render import fluidsynth_missing_reason

missing = fluidsynth_missing_reason(("fluidr3", "timgm6mb"))


@pytest.mark.skipif(missing is not None, reason=f"needs FluidSynth and sound banks: {missing}")
def test_quick_run_writes_results_and_figures(tmp_path):
    from studies.encoding_gallery.run import main

    assert main(["--quick", "--out-dir", str(tmp_path)]) == 0
    results = json.loads((tmp_path / "results.json").read_text())
    assert [row["clip"] for row in results["clips"]][:2] == ["flute", "cello"]
    for row in results["clips"]:
        assert row["spikegram_atoms"] == 200 and row["spikegram_spikes"] > 0 and row["crossing_spikes"] > 0
        assert abs(row["spikegram_snr_db"] - row["spikegram_snr_db_pursuit"]) < 1.0
    for name in results["figures"]:
        assert (tmp_path / name).stat().st_size > 10_000
    expansions = results["spikegram_384"]
    assert "encoding_gallery_spikegram384.png" in results["figures"]
    for row in expansions["clips"]:
        # one spike per atom at most (levels), three (delays: copies past the clip's end dropped)
        assert row["spikes"]["levels"] <= row["atoms"] and row["spikes"]["levels"] < row["spikes"]["delays"]
        assert row["spikes"]["delays"] <= 3 * row["atoms"]
        assert row["density"]["levels"] == pytest.approx(row["spikes"]["levels"] / (500 * 384))
