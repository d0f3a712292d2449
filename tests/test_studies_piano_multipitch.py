"""The piano data step writes chord and score .npz files with exact multi-hot key targets."""

import json

import numpy as np
import pytest

from vr_brian.datasets.render import fluidsynth_missing_reason

missing = fluidsynth_missing_reason(("fluidr3", "timgm6mb"))


@pytest.mark.skipif(missing is not None, reason=f"needs FluidSynth and sound banks: {missing}")
def test_quick_run_writes_chords_and_scores(tmp_path):
    pytest.importorskip("music21")
    from gradients.data import load_npz
    from studies.piano_multipitch.run import N_CHANNELS, main

    assert main(["--quick", "--out-dir", str(tmp_path)]) == 0
    train, test, scores = (load_npz(tmp_path / f"{name}.npz") for name in ("train", "test", "scores"))
    assert train.spikes.shape == (4, 100, N_CHANNELS) and train.targets.shape == (4, 88)
    # quick chords: polyphony 1 and 3, two of each in training, one of each in the test set
    assert sorted(train.targets.sum(axis=1)) == [1, 1, 3, 3] and sorted(test.targets.sum(axis=1)) == [1, 3]
    assert len(scores) == 2 and scores.targets.sum() > 0
    # a single key spikes most on its own semitone channel (channel k is key k)
    for one in np.flatnonzero(train.targets.sum(axis=1) == 1):
        assert train.spikes[one].sum(axis=0).argmax() == np.flatnonzero(train.targets[one])[0]
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["splits"]["scores"]["clips"] == 2 and results["config"]["encoder"]["spacing"] == "semitone"
