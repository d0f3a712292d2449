"""The piano data step writes chord and score .npz files with exact multi-hot key targets, for both protocols."""

import json

import numpy as np
import pytest

from vr_brian.datasets.render import fluidsynth_missing_reason

missing = fluidsynth_missing_reason(("fluidr3", "timgm6mb"))


@pytest.mark.skipif(missing is not None, reason=f"needs FluidSynth and sound banks: {missing}")
def test_quick_heldout_rate_run_writes_chords_and_scores(tmp_path):
    pytest.importorskip("music21")
    from gradients.data import load_npz
    from studies.piano_multipitch.run import N_CHANNELS, main

    assert (
        main(["--quick", "--out-dir", str(tmp_path), "--protocol", "heldout", "--encoder", "rate", "--dt", "10ms"]) == 0
    )
    train, test, scores = (load_npz(tmp_path / f"{name}.npz") for name in ("train", "test", "scores"))
    assert train.spikes.shape == (4, 100, N_CHANNELS) and train.targets.shape == (4, 88)
    # quick pool: 2 chords per polyphony (1, 3) on each of 2 pianos, split by piano
    assert sorted(train.targets.sum(axis=1)) == [1, 1, 3, 3] and sorted(test.targets.sum(axis=1)) == [1, 1, 3, 3]
    assert len(scores) == 2 and scores.targets.sum() > 0
    # a single key spikes most on its own semitone channel (channel k is key k)
    for one in np.flatnonzero(train.targets.sum(axis=1) == 1):
        assert train.spikes[one].sum(axis=0).argmax() == np.flatnonzero(train.targets[one])[0]
    build = json.loads((tmp_path / "results.json").read_text())["builds"]["heldout-rate"]
    assert build["parts"]["scores"]["clips"] == 2 and build["encoder"]["spacing"] == "semitone"
    assert build["pool_clips"] == 8 and build["split"] == {"kind": "held-out piano", "test_bank": "timgm6mb"}


@pytest.mark.skipif(missing is not None, reason=f"needs FluidSynth and sound banks: {missing}")
def test_quick_paper_spikegram_run_splits_every_polyphony_at_random(tmp_path):
    pytest.importorskip("music21")
    from gradients.data import load_npz
    from studies.piano_multipitch.run import main

    assert main(["--quick", "--out-dir", str(tmp_path), "--no-scores"]) == 0
    train, test = load_npz(tmp_path / "train.npz"), load_npz(tmp_path / "test.npz")
    # quick pool: 2 chords per polyphony (1, 3) on each of 2 pianos; a quarter of each level for testing
    assert train.spikes.shape == (6, 334, 384) and test.spikes.shape == (2, 334, 384)
    assert sorted(test.targets.sum(axis=1)) == [1, 3] and sorted(train.targets.sum(axis=1)) == [1, 1, 1, 3, 3, 3]
    build = json.loads((tmp_path / "results.json").read_text())["builds"]["paper-spikegram"]
    assert build["polyphony_counts"] == {"train": {"1": 3, "3": 3}, "test": {"1": 1, "3": 1}}
    assert build["pool_clips"] == 8 and "scores" not in build["parts"]
    # no chord is in both parts (8 distinct random chords, compared by their keys)
    keys = {tuple(np.flatnonzero(t)) for t in train.targets} | {tuple(np.flatnonzero(t)) for t in test.targets}
    assert len(keys) == 8
