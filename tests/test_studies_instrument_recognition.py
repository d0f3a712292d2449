"""The instrument recognition data step writes .npz files the trainer reads."""

import json

import numpy as np
import pytest

from vr_brian.datasets.render import fluidsynth_missing_reason

missing = fluidsynth_missing_reason(("fluidr3", "timgm6mb"))


@pytest.mark.skipif(missing is not None, reason=f"needs FluidSynth and sound banks: {missing}")
def test_quick_run_writes_trainer_files(tmp_path):
    from gradients.data import load_npz
    from studies.instrument_recognition.run import main

    assert main(["--quick", "--out-dir", str(tmp_path), "--dt", "0.005"]) == 0
    train, test = load_npz(tmp_path / "train.npz"), load_npz(tmp_path / "test.npz")
    assert train.spikes.shape == (10, 300, 64) and train.spikes.dtype == bool
    np.testing.assert_array_equal(train.targets, np.eye(10, dtype=np.uint8))
    assert test.class_names == train.class_names and len(test.class_names) == 10
    assert train.spikes.sum() > 0 and test.spikes.sum() > 0
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["splits"]["test"]["clips"] == 10
